"""Snakemake adapter of rule render_faces."""

from ganinv.data.face_splits import render_face_split
from ganinv.scripting import run


def main(smk):
    render_face_split(smk.output.h5, smk.output.grid, smk.wildcards.split, **smk.params.render)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
