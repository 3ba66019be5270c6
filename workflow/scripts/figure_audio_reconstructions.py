"""Snakemake adapter of rule figure_audio_reconstructions."""

from ganinv.audio_figures import plot_audio_reconstructions
from ganinv.scripting import run


def main(smk):
    plot_audio_reconstructions(
        targets_h5=smk.input.targets,
        inversions=dict(zip(smk.params.methods, smk.input.inversions, strict=True)),
        out_png=smk.output.figure,
        title=smk.params.title,
        n_clips=smk.params.n_clips,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
