"""Snakemake adapter of rule read_speech_folder."""

from ganinv.data.wav_folder import read_wav_folder
from ganinv.scripting import run


def main(smk):
    read_wav_folder(folder=smk.params.folder, out_h5=smk.output.h5, **smk.params.read)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
