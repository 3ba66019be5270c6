"""Snakemake adapter of rule audio_metrics."""

from ganinv.experiments.audio_metrics import compute_audio_metrics
from ganinv.runtime import resolve_device
from ganinv.scripting import run


def main(smk):
    compute_audio_metrics(
        inversion_h5=smk.input.inversion,
        targets_h5=smk.input.targets,
        evaluator_path=smk.input.evaluator,
        per_clip_csv=smk.output.per_clip,
        summary_csv=smk.output.summary,
        label=smk.params.label,
        target_set=smk.params.target_set,
        is_splits=smk.params.is_splits,
        device=resolve_device(smk.params.device),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
