"""Snakemake adapter of rule listen_audio."""

from ganinv.audio_figures import write_listening_files
from ganinv.scripting import run


def main(smk):
    write_listening_files(
        targets_h5=smk.input.targets,
        inversions=dict(zip(smk.params.methods, smk.input.inversions, strict=True)),
        out_wavs=list(smk.output),
        n_clips=smk.params.n_clips,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
