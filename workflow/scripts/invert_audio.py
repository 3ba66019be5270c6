"""Snakemake adapter of rule invert_audio."""

from ganinv.experiments.audio_inversion import run_audio_inversion
from ganinv.runtime import resolve_device
from ganinv.scripting import run


def main(smk):
    inputs = dict(smk.input.items())
    run_audio_inversion(
        method=smk.params.method,
        generator_path=smk.input.generator,
        targets_path=smk.input.targets,
        out_h5=smk.output.h5,
        settings=smk.params.settings,
        loss_weights=smk.params.loss_weights,
        chunk_size=smk.params.chunk_size,
        seed=smk.params.seed,
        device=resolve_device(smk.params.device),
        encoder_path=inputs.get("encoder"),
        classifier_path=inputs.get("classifier"),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
