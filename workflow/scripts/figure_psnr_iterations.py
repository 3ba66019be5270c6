"""Snakemake adapter of rule figure_psnr_iterations."""

from ganinv.plots import plot_psnr_iterations
from ganinv.scripting import run


def main(smk):
    plot_psnr_iterations(
        inversions=dict(zip(smk.params.methods, smk.input.inversions, strict=True)),
        timing_csv=smk.input.timing,
        out_png=smk.output.figure,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
