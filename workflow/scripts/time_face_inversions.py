"""Snakemake adapter of rule time_face_inversions."""

from ganinv.experiments.inversion_timing import run_face_timing
from ganinv.runtime import configure_torch, resolve_device
from ganinv.scripting import run


def main(smk):
    configure_torch(smk.params.torch_threads)  # the inversion jobs' threads, not the cores held
    inputs = dict(smk.input.items())
    methods = [
        {**spec, "encoder": inputs[spec["encoder"]] if spec["encoder"] else None}
        for spec in smk.params.methods
    ]
    run_face_timing(
        generator_path=smk.input.generator,
        targets_path=smk.input.targets,
        methods=methods,
        face_network=(smk.params.face_network_kind, inputs.get("face_network")),
        timing=smk.params.timing,
        chunk_size=smk.params.chunk_size,
        seed=smk.params.seed,
        device=resolve_device(smk.params.device),
        out_csv=smk.output.csv,
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
