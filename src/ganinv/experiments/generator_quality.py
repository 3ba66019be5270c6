"""Judge a face GAN before inverting it: quality, diversity, collapse.

A GAN that draws one face cannot be inverted meaningfully, so every face GAN the workflow inverts
is measured first on a sample of its faces:

- *Inception diversity*: mean pairwise Euclidean distance between the Inception features of the
  samples. With reference faces at hand (a GAN trained here: its training faces; an imported one:
  real photos of the run), the same for as many reference faces, their ratio (a collapsed GAN is
  far below 1), and the Fréchet distance and KID to them.
- *Identity diversity*: the identity network's view (dlib's recogniser for photoreal faces, the
  in-DAG evaluator for procedural ones): the median pairwise identity distance, and, with dlib,
  the share of sample pairs it calls the same person (distance < 0.6) and the share of samples in
  which it finds a face at all.

The verdict is ``collapsed`` when the diversity ratio falls below ``min_diversity_ratio`` or the
same-person share exceeds ``max_same_identity``; the log then carries one warning, and the table
says so. With neither reference faces nor dlib no floor applies: the verdict is ``not judged`` (and
says why), never ``ok``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import torch
from scipy.spatial.distance import pdist

from ganinv.data.h5io import read_h5
from ganinv.experiments.identity_networks import load_identity_network
from ganinv.experiments.verdict import record_verdict
from ganinv.metrics.distribution import (
    frechet_distance,
    inception_features_from,
    kernel_inception_distance,
)
from ganinv.models.dlib_face import SAME_PERSON_DISTANCE
from ganinv.runtime import UserError
from ganinv.tables import write_table


def _pairwise(features: np.ndarray) -> np.ndarray:
    """Euclidean distances of all unordered pairs of rows (NaN rows, faces not found, left out)."""
    return pdist(features[np.isfinite(features).all(1)])


def _first_images(path: str | os.PathLike, n: int, seed: int) -> np.ndarray:
    images = read_h5(path, ["images"])[0]["images"]
    if len(images) < 2:
        raise UserError(f"{path} holds {len(images)} images; judging a GAN needs at least 2")
    if len(images) <= n:
        return images
    order = np.random.default_rng(seed).choice(len(images), n, replace=False)
    return images[np.sort(order)]


def judge_face_generator(
    *,
    samples_h5: str | os.PathLike,
    out_csv: str | os.PathLike,
    generator: str,
    inception: tuple[str, str | os.PathLike],
    evaluator: tuple[str, str],
    n: int,
    seed: int,
    min_diversity_ratio: float,
    max_same_identity: float,
    device: torch.device,
    reference_h5: str | os.PathLike | None = None,
    reference_label: str | None = None,
    landmarks_path: str | os.PathLike | None = None,
) -> dict:
    """Measure ``n`` faces of ``samples_h5`` (see the module docstring); one-row CSV.

    ``reference_h5``: faces to compare the diversity with; ``reference_label`` says what they are
    (e.g. "training faces"; recorded in the row)."""
    samples = _first_images(samples_h5, n, seed)
    feats = inception_features_from(images=samples, weights_path=inception[1], device=device)
    diversity = float(_pairwise(feats).mean())
    row: dict[str, object] = {
        "generator": generator,
        "n_samples": len(samples),
        "resolution": int(samples.shape[-1]),
        "inception_diversity": diversity,
    }
    ratio = np.nan
    if reference_h5 is not None:
        reference = _first_images(reference_h5, len(samples), seed + 1)
        ref_feats = inception_features_from(images=reference, weights_path=inception[1],
                                            device=device)  # fmt: skip
        reference_diversity = float(_pairwise(ref_feats).mean())
        ratio = diversity / reference_diversity
        subset = max(2, len(feats) // 2)
        kid, _ = kernel_inception_distance(feats, ref_feats, n_subsets=20, subset_size=subset,
                                           seed=seed)  # fmt: skip
        row.update({"reference": reference_label or str(reference_h5),
                    "reference_diversity": reference_diversity,
                    "diversity_ratio": ratio,
                    "fid_to_reference": frechet_distance(feats, ref_feats),
                    "kid_to_reference": kid})  # fmt: skip
    identity = load_identity_network(kind=evaluator[0], path=evaluator[1], device=device,
                                     landmarks_path=landmarks_path)  # fmt: skip
    embeddings = identity.embed(samples)
    found = np.isfinite(embeddings).all(1)
    distances = _pairwise(embeddings)
    if evaluator[0] != "dlib":  # unit-norm embeddings: report 1 - cosine = d^2 / 2
        distances = distances**2 / 2.0
    same = float((distances < SAME_PERSON_DISTANCE).mean()) if evaluator[0] == "dlib" else np.nan
    row.update({
        "face_detection_rate": float(found.mean()) if evaluator[0] == "dlib" else np.nan,
        "identity_diversity": float(np.median(distances)) if len(distances) else np.nan,
        "same_identity_pairs": same,
        "evaluator": evaluator[0],
        "fid_features": inception[0],
    })  # fmt: skip
    reasons = []
    if np.isfinite(ratio) and ratio < min_diversity_ratio:
        compared = reference_label or "reference faces"
        reasons.append(
            f"Inception diversity {ratio:.2f} of that of the {compared} "
            f"(floor {min_diversity_ratio})"
        )
    if np.isfinite(same) and same > max_same_identity:
        reasons.append(f"{same:.0%} of sample pairs are the same person to dlib "
                       f"(ceiling {max_same_identity:.0%})")  # fmt: skip
    unjudged = None
    if not np.isfinite(ratio) and not np.isfinite(same):
        unjudged = (
            "no reference faces to compare its diversity with, and no same-person threshold "
            f"for the {evaluator[0]} identity network (dlib has one)"
        )
    return record_verdict(
        row=row, reasons=reasons, generator=generator, out_csv=out_csv, unjudged=unjudged
    )


def write_generator_table(
    *,
    judgements: list[str | os.PathLike],
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike,
    tex_path: str | os.PathLike,
    preset: str,
) -> pd.DataFrame:
    """One row per face GAN this run inverts, with its verdict (see the module docstring)."""
    table = pd.concat([pd.read_csv(path) for path in judgements], ignore_index=True)
    notes = [
        f"Preset: {preset}. Each face GAN is measured on a sample of its faces before its "
        "inversions are read.",
        "inception_diversity = mean pairwise distance of Inception features (fid_features); "
        "with reference faces (a GAN trained here: its training faces; an imported one: the "
        "run's real photos, when it has them; column reference) diversity_ratio = that of the "
        "samples over that of as many reference faces, and the Fréchet distance / KID to them.",
        "identity_diversity = median pairwise identity distance (dlib: Euclidean, same person "
        "below 0.6; in_dag: 1 - cosine); same_identity_pairs = share of pairs dlib calls the same "
        "person; face_detection_rate = share of samples in which dlib finds a face.",
        "verdict: collapsed when diversity_ratio is below its floor or same_identity_pairs above "
        "its ceiling (config faces.judge); not judged when neither can be measured.",
    ]
    write_table(table, csv_path=csv_path, md_path=md_path, tex_path=tex_path,
                title="Face GANs judged before inversion", notes=notes)  # fmt: skip
    return table
