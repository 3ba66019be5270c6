"""Snakemake adapter of rule figure_reconstructions."""

from ganinv.plots import plot_reconstruction_grid
from ganinv.scripting import run


def main(smk):
    plot_reconstruction_grid(
        targets_h5=smk.input.targets,
        inversions=dict(zip(smk.params.methods, smk.input.inversions, strict=True)),
        out_png=smk.output.figure,
        n_faces=smk.params.n_faces,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
