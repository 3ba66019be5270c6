"""Snakemake adapter of rule table_1_ablation."""

from ganinv.experiments.face_tables import write_table_1
from ganinv.scripting import run


def main(smk):
    write_table_1(
        summaries=dict(zip(smk.params.variants, smk.input.summaries, strict=True)),
        csv_path=smk.output.csv,
        md_path=smk.output.md,
        tex_path=smk.output.tex,
        preset=smk.params.preset,
        variants=smk.params.variants,
        judgement_csv=smk.input.judgement,
        timing_csv=smk.input.timing,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
