"""Snakemake adapter of rule table_2_17."""

from ganinv.experiments.face_set_tables import write_table_2_17
from ganinv.scripting import run


def main(smk):
    write_table_2_17(
        directions=smk.params.directions,
        own=smk.params.own,
        csv_path=smk.output.csv,
        md_path=smk.output.md,
        tex_path=smk.output.tex,
        preset=smk.params.preset,
        alignment=smk.params.alignment,
        hybrid_iterations=smk.params.hybrid_iterations,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
