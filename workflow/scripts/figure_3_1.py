"""Snakemake adapter of rule figure_3_1."""

from ganinv.audio_figures import plot_waveform_figure
from ganinv.scripting import run


def main(smk):
    plot_waveform_figure(
        audio_h5=smk.input.audio, out_png=smk.output.figure, index=smk.params.index
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
