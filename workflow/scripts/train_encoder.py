"""Snakemake adapter of rules train_encoder (faces) and train_audio_encoder."""

from ganinv.runtime import resolve_device
from ganinv.scripting import run
from ganinv.train.checkpoint import discard_checkpoint
from ganinv.train.encoder import EncoderTraining, train_encoder


def main(smk):
    inputs = dict(smk.input.items())
    train_encoder(
        generator_path=smk.input.generator,
        generated_path=smk.input.generated,
        real_path=inputs.get("real"),
        perceptual_network=(smk.params.perceptual_kind, inputs.get("perceptual_network")),
        model_path=smk.output.model,
        curve_csv=smk.output.curve,
        work_dir=smk.params.work_dir,
        config=EncoderTraining(**smk.params.training),
        device=resolve_device(smk.params.device),
    )
    discard_checkpoint(work_dir=smk.params.work_dir)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
