"""Snakemake adapter of rule table_2_17."""

from ganinv.experiments.face_set_tables import write_table_2_17
from ganinv.scripting import run


def main(smk):
    write_table_2_17(
        summaries=dict(zip(smk.params.methods, smk.input.summaries, strict=True)),
        own_summaries=dict(zip(smk.params.methods, smk.input.own, strict=True)),
        generator_name=smk.params.generator_name,
        csv_path=smk.output.csv,
        md_path=smk.output.md,
        tex_path=smk.output.tex,
        preset=smk.params.preset,
        alignment=smk.params.alignment,
        hybrid_iterations=smk.params.hybrid_iterations,
        timing_csv=smk.input.timing,
        own_timing_csv=smk.input.own_timing,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
