"""Snakemake adapter of rule train_facenet."""

from ganinv.runtime import resolve_device
from ganinv.scripting import run
from ganinv.train.checkpoint import discard_checkpoint
from ganinv.train.facenet import FaceNetTraining, train_facenet


def main(smk):
    train_facenet(
        data_path=smk.input.data,
        model_path=smk.output.model,
        curve_csv=smk.output.curve,
        work_dir=smk.params.work_dir,
        config=FaceNetTraining(**smk.params.training),
        device=resolve_device(smk.params.device),
    )
    discard_checkpoint(work_dir=smk.params.work_dir)


run(snakemake, main)  # noqa: F821 - injected by Snakemake
