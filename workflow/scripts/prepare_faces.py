"""Snakemake adapter of rule align_faces."""

from ganinv.data.real_faces import prepare_faces
from ganinv.runtime import resolve_device
from ganinv.scripting import run


def main(smk):
    # [start, stop) of the sorted photos, or None for all of them.
    start, stop = smk.params.select or (None, None)
    prepare_faces(
        source=smk.params.source,
        out_h5=smk.output.h5,
        manifest_csv=smk.output.manifest,
        size=smk.params.size,
        align=smk.params.align,
        identities=smk.params.identities,
        alignment=smk.params.alignment,
        device=resolve_device(smk.params.device),
        start=start,
        stop=stop,
        keep_undetected=smk.params.keep_undetected,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
