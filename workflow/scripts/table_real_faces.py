"""Snakemake adapter of rule table_real_faces."""

from ganinv.experiments.face_set_tables import write_table_real_faces
from ganinv.scripting import run


def main(smk):
    write_table_real_faces(
        summaries=dict(zip(smk.params.methods, smk.input.summaries, strict=True)),
        csv_path=smk.output.csv,
        md_path=smk.output.md,
        tex_path=smk.output.tex,
        preset=smk.params.preset,
        source=smk.params.source,
        gd_iterations=smk.params.gd_iterations,
        hybrid_iterations=smk.params.hybrid_iterations,
        timing_csv=smk.input.timing,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
