"""Snakemake adapter of rule split_gallery_probes."""

from ganinv.data.real_faces import split_gallery_probes
from ganinv.scripting import run


def main(smk):
    split_gallery_probes(
        faces_h5=smk.input.faces,
        gallery_h5=smk.output.gallery,
        probes_h5=smk.output.probes,
        gallery_per_identity=smk.params.gallery_per_identity,
        probes_per_identity=smk.params.probes_per_identity,
        max_identities=smk.params.max_identities,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
