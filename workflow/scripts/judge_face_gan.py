"""Snakemake adapter of rule judge_face_gan."""

from ganinv.experiments.generator_quality import judge_face_generator
from ganinv.runtime import resolve_device
from ganinv.scripting import run


def main(smk):
    inputs = dict(smk.input.items())
    judge_face_generator(
        samples_h5=smk.input.samples,
        reference_h5=inputs.get("reference"),
        reference_label=smk.params.reference,
        out_csv=smk.output.csv,
        generator=smk.params.generator,
        inception=(smk.params.fid_network, smk.input.inception),
        evaluator=(smk.params.evaluator_kind, smk.input.evaluator),
        landmarks_path=inputs.get("landmarks"),
        n=smk.params.n,
        seed=smk.params.seed,
        min_diversity_ratio=smk.params.min_diversity_ratio,
        max_same_identity=smk.params.max_same_identity,
        device=resolve_device(smk.params.device),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
