"""Snakemake adapter of rule train_wavegan."""

from ganinv.experiments.audio_generator_quality import load_clip_quality, quality_key
from ganinv.metrics.audio_quality import QualityFloors
from ganinv.runtime import resolve_device
from ganinv.scripting import run
from ganinv.train.checkpoint import discard_checkpoint
from ganinv.train.wavegan import WaveGANTraining, train_wavegan


def main(smk):
    device = resolve_device(smk.params.device)
    config = WaveGANTraining(**smk.params.training)
    quality = load_clip_quality(
        evaluator_path=smk.input.evaluator,
        real_h5=smk.input.data,
        n=config.quality_clips,
        seed=config.seed,
        is_splits=smk.params.is_splits,
        floors=QualityFloors(**smk.params.floors),
        device=device,
    )
    train_wavegan(
        data_h5=smk.input.data,
        model_path=smk.output.model,
        curve_csv=smk.output.curve,
        samples_wav=smk.output.samples,
        work_dir=smk.params.work_dir,
        config=config,
        device=device,
        quality=quality,
        quality_csv=smk.output.quality,
        quality_key=quality_key(smk.input.evaluator),
    )
    discard_checkpoint(work_dir=smk.params.work_dir)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
