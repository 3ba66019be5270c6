"""Snakemake adapter of rule table_2_3."""

from ganinv.experiments.face_tables import write_table_2_3
from ganinv.scripting import run


def main(smk):
    write_table_2_3(
        summaries=dict(zip(smk.params.methods, smk.input.summaries, strict=True)),
        csv_path=smk.output.csv,
        md_path=smk.output.md,
        tex_path=smk.output.tex,
        preset=smk.params.preset,
        hybrid_iterations=smk.params.hybrid_iterations,
        gd_iterations=smk.params.gd_iterations,
        gd_inversion_h5=smk.input.gd,
        judgement_csv=smk.input.judgement,
        timing_csv=smk.input.timing,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
