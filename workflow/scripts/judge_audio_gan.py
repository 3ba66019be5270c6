"""Snakemake adapter of rule judge_audio_gan."""

from ganinv.experiments.audio_generator_quality import judge_audio_generator
from ganinv.metrics.audio_quality import QualityFloors
from ganinv.runtime import resolve_device
from ganinv.scripting import run


def main(smk):
    judge_audio_generator(
        samples_h5=smk.input.samples,
        real_h5=smk.input.real,
        evaluator_path=smk.input.evaluator,
        out_csv=smk.output.csv,
        generator=smk.params.generator,
        evaluator=smk.params.evaluator,
        n=smk.params.n,
        seed=smk.params.seed,
        is_splits=smk.params.is_splits,
        floors=QualityFloors(**smk.params.floors),
        device=resolve_device(smk.params.device),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
