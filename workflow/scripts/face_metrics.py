"""Snakemake adapter of rule face_metrics."""

from ganinv.experiments.face_metrics import compute_face_metrics
from ganinv.runtime import resolve_device
from ganinv.scripting import run


def main(smk):
    compute_face_metrics(
        inversion_h5=smk.input.inversion,
        targets_h5=smk.input.targets,
        evaluator=(smk.params.evaluator_kind, smk.input.evaluator),
        landmarks_path=dict(smk.input.items()).get("landmarks"),
        target_features_h5=smk.input.target_features,
        per_image_csv=smk.output.per_image,
        summary_csv=smk.output.summary,
        label=smk.params.label,
        generator=smk.params.generator,
        kid_subsets=smk.params.kid_subsets,
        seed=smk.params.seed,
        device=resolve_device(smk.params.device),
        inception=(smk.params.fid_network, smk.input.inception),
    )


run(snakemake, main)  # noqa: F821 - injected by Snakemake
