"""Snakemake adapter of rule table_generators."""

from ganinv.experiments.generator_quality import write_generator_table
from ganinv.scripting import run


def main(smk):
    write_generator_table(
        judgements=list(smk.input.judgements),
        csv_path=smk.output.csv,
        md_path=smk.output.md,
        tex_path=smk.output.tex,
        preset=smk.params.preset,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
