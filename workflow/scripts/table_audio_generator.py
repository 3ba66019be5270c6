"""Snakemake adapter of rule table_audio_generator."""

from ganinv.experiments.audio_generator_quality import write_audio_generator_table
from ganinv.metrics.audio_quality import QualityFloors
from ganinv.scripting import run


def main(smk):
    write_audio_generator_table(
        judgement=smk.input.judgement,
        csv_path=smk.output.csv,
        md_path=smk.output.md,
        tex_path=smk.output.tex,
        preset=smk.params.preset,
        floors=QualityFloors(**smk.params.floors),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
