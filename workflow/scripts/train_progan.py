"""Snakemake adapter of rule train_progan."""

from ganinv.runtime import resolve_device
from ganinv.scripting import run
from ganinv.train.checkpoint import discard_checkpoint
from ganinv.train.progan import ProGANTraining, train_progan


def main(smk):
    train_progan(
        data_path=smk.input.data,
        model_path=smk.output.generator,
        loss_csv=smk.output.loss,
        quality_csv=smk.output.quality,
        grid_paths=list(smk.output.grids),
        work_dir=smk.params.work_dir,
        config=ProGANTraining(**smk.params.training),
        device=resolve_device(smk.params.device),
    )
    discard_checkpoint(work_dir=smk.params.work_dir)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
