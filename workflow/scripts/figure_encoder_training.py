"""Snakemake adapter of rule figure_encoder_training."""

from ganinv.plots import plot_encoder_training
from ganinv.scripting import run


def main(smk):
    plot_encoder_training(
        curves=dict(zip(smk.params.variants, smk.input.curves, strict=True)),
        out_png=smk.output.figure,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
