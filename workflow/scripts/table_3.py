"""Snakemake adapter of rule table_3."""

from ganinv.experiments.audio_tables import write_table_3
from ganinv.scripting import run


def main(smk):
    write_table_3(
        summaries=dict(zip(smk.params.methods, smk.input.summaries, strict=True)),
        target_set=smk.params.target_set,
        csv_path=smk.output.csv,
        md_path=smk.output.md,
        tex_path=smk.output.tex,
        preset=smk.params.preset,
        gd_settings=smk.params.gd_settings,
        hybrid_settings=smk.params.hybrid_settings,
        timing_csv=smk.input.timing,
        judgement_csv=smk.input.judgement,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
