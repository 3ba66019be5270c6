"""Snakemake adapter of rules figure_reconstructions, figure_real_faces and figure_2_17."""

from ganinv.plots import plot_reconstruction_grid
from ganinv.scripting import run


def main(smk):
    plot_reconstruction_grid(
        targets_h5=smk.input.targets,
        inversions=dict(zip(smk.params.methods, smk.input.inversions, strict=True)),
        out_png=smk.output.figure,
        n_faces=smk.params.n_faces,
        title=smk.params.title,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
