"""Snakemake adapter of rule figure_wavegan_quality."""

from ganinv.audio_figures import plot_generator_quality_curve
from ganinv.scripting import run


def main(smk):
    plot_generator_quality_curve(
        curve_csv=smk.input.curve,
        out_png=smk.output.png,
        floors=dict(smk.params.floors),
        title="WaveGAN during training",
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
