"""Snakemake adapter of rule plot_gan_training."""

from ganinv.plots import plot_gan_training
from ganinv.scripting import run


def main(smk):
    plot_gan_training(
        smk.input.loss,
        smk.input.quality,
        smk.output.figure,
        name=smk.params.name,
        loss_label=smk.params.loss_label,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
