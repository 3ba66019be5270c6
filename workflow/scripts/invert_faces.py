"""Snakemake adapter of rules invert_faces and invert_faces_ablation."""

from ganinv.experiments.face_inversion import run_face_inversion
from ganinv.runtime import resolve_device
from ganinv.scripting import run


def main(smk):
    inputs = dict(smk.input.items())
    run_face_inversion(
        method=smk.params.method,
        generator_path=smk.input.generator,
        targets_path=smk.input.targets,
        out_h5=smk.output.h5,
        settings=smk.params.settings,
        chunk_size=smk.params.chunk_size,
        seed=smk.params.seed,
        device=resolve_device(smk.params.device),
        encoder_path=inputs.get("encoder"),
        face_network=(smk.params.face_network_kind, inputs.get("face_network")),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
