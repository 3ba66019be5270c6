"""Snakemake adapter of rule train_digit_classifier."""

from ganinv.runtime import resolve_device
from ganinv.scripting import run
from ganinv.train.checkpoint import discard_checkpoint
from ganinv.train.digits import DigitClassifierTraining, train_digit_classifier


def main(smk):
    train_digit_classifier(
        data_h5=smk.input.data,
        model_path=smk.output.model,
        curve_csv=smk.output.curve,
        work_dir=smk.params.work_dir,
        config=DigitClassifierTraining(**smk.params.training),
        device=resolve_device(smk.params.device),
    )
    discard_checkpoint(work_dir=smk.params.work_dir)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
