"""Snakemake adapter of rule train_wavegan."""

from ganinv.runtime import resolve_device
from ganinv.scripting import run
from ganinv.train.wavegan import WaveGANTraining, train_wavegan


def main(smk):
    train_wavegan(
        data_h5=smk.input.data,
        model_path=smk.output.model,
        curve_csv=smk.output.curve,
        samples_wav=smk.output.samples,
        work_dir=smk.params.work_dir,
        config=WaveGANTraining(**smk.params.training),
        device=resolve_device(smk.params.device),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
