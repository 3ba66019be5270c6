"""Snakemake adapter of rule align_faces."""

from ganinv.data.real_faces import prepare_faces
from ganinv.runtime import resolve_device
from ganinv.scripting import run


def main(smk):
    prepare_faces(
        source=smk.params.source,
        out_h5=smk.output.h5,
        manifest_csv=smk.output.manifest,
        size=smk.params.size,
        align=smk.params.align,
        identities=smk.params.identities,
        alignment=smk.params.alignment,
        device=resolve_device(smk.params.device),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
