"""Snakemake adapter of rule render_speech."""

from ganinv.data.speech import render_speech_split
from ganinv.scripting import run


def main(smk):
    render_speech_split(out_h5=smk.output.h5, workers=smk.threads, **smk.params.render)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
