"""Snakemake adapter of rule train_encoder."""

from ganinv.runtime import resolve_device
from ganinv.scripting import run
from ganinv.train.encoder import EncoderTraining, train_encoder


def main(smk):
    inputs = dict(smk.input.items())
    face_network = inputs.get("face_network")
    train_encoder(
        generator_path=smk.input.generator,
        generated_path=smk.input.generated,
        real_path=inputs.get("real"),
        face_network=(smk.params.face_network_kind, face_network) if face_network else None,
        model_path=smk.output.model,
        curve_csv=smk.output.curve,
        work_dir=smk.params.work_dir,
        config=EncoderTraining(**smk.params.training),
        device=resolve_device(smk.params.device),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
