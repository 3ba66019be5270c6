"""Snakemake adapter of rule target_features."""

from ganinv.experiments.face_metrics import write_target_features
from ganinv.runtime import resolve_device
from ganinv.scripting import run


def main(smk):
    write_target_features(
        images_h5=smk.input.images,
        out_h5=smk.output.h5,
        inception=(smk.params.fid_network, smk.input.inception),
        device=resolve_device(smk.params.device),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
