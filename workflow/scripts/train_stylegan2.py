"""Snakemake adapter of rule train_stylegan2."""

from ganinv.runtime import resolve_device
from ganinv.scripting import run
from ganinv.train.checkpoint import discard_checkpoint
from ganinv.train.stylegan2 import StyleGAN2Training, train_stylegan2


def main(smk):
    train_stylegan2(
        data_path=smk.input.data,
        model_path=smk.output.generator,
        loss_csv=smk.output.loss,
        quality_csv=smk.output.quality,
        grid_path=smk.output.grid,
        work_dir=smk.params.work_dir,
        config=StyleGAN2Training(**smk.params.training),
        device=resolve_device(smk.params.device),
    )
    discard_checkpoint(work_dir=smk.params.work_dir)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
