"""Metrics of inverting faces that are not the generator's own (real faces, StyleGAN2 faces).

There is no true z, so the measures are in image and identity space. Per image: PSNR, SSIM, the
cosine similarity and Euclidean distance between the identity network's embeddings of target and
reconstruction; with a gallery, the rank at which the reconstruction (and, for reference, the
target itself) is identified among the gallery identities. Per set: means, top-1 and top-5
identification accuracy, Fréchet distance and KID on Inception features, wall time, and which
generator, identity network and feature network produced the numbers.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import torch

from ganinv.atomic import atomic_path
from ganinv.data.h5io import read_attrs, read_h5
from ganinv.experiments.face_metrics import inception_distances, read_target_features
from ganinv.experiments.identity_networks import load_identity_network, pair_measures
from ganinv.metrics.identity import identification_ranks, identity_centroids, top_k
from ganinv.metrics.image import psnr, ssim
from ganinv.runtime import UserError

log = logging.getLogger("ganinv")

RANKS = (1, 5)


def compute_face_set_metrics(
    *,
    inversion_h5: str | os.PathLike,
    targets_h5: str | os.PathLike,
    evaluator: tuple[str, str],
    per_image_csv: str | os.PathLike,
    summary_csv: str | os.PathLike,
    label: str,
    generator: str,
    inception: tuple[str, str | os.PathLike],
    kid_subsets: int,
    seed: int,
    device: torch.device,
    gallery_h5: str | os.PathLike | None = None,
    landmarks_path: str | os.PathLike | None = None,
    target_features_h5: str | os.PathLike | None = None,
) -> dict:
    """Write per-image and summary metrics of ``inversion_h5`` against ``targets_h5``.

    ``evaluator``: (kind, path) of the identity network (in_dag, vggface2 or dlib, which also
    needs ``landmarks_path``). ``inception``: (name, file) of the Fréchet distance's features
    (``target_features_h5``: the targets' features, computed once for every method).
    ``gallery_h5``: identity-labelled gallery; the targets then need an ``identity`` dataset.
    Faces the identity network finds no face in are counted (``n_undetected``; gallery images
    too) and left out of the identity measures.
    """
    recon = read_h5(inversion_h5, ["reconstructions"])[0]["reconstructions"]
    attrs = read_attrs(inversion_h5)
    names = ["images", "identity"] if gallery_h5 is not None else ["images"]
    targets = read_h5(targets_h5, names)[0]
    if recon.shape != targets["images"].shape:
        raise UserError(
            f"{inversion_h5} has reconstructions {recon.shape} but {targets_h5} has targets "
            f"{targets['images'].shape}: rerun the inversion"
        )
    identity = load_identity_network(kind=evaluator[0], path=evaluator[1], device=device,
                                     landmarks_path=landmarks_path)  # fmt: skip
    emb_x, emb_y, found = identity.embed_pairs(targets["images"], recon)
    x = torch.from_numpy(targets["images"]).float() / 255.0
    y = torch.from_numpy(recon).float() / 255.0
    measures = pair_measures(emb_x, emb_y)
    per_image = pd.DataFrame({
        "image": np.arange(len(x)),
        "psnr_db": psnr(y, x).numpy(),
        "ssim": ssim(y, x).numpy(),
        "identity_cosine": measures["identity_cosine"],
        "identity_distance": measures["identity_distance"],
        "face_found": found,
    })  # fmt: skip
    summary: dict[str, object] = {"method": label, "n_images": len(x)}
    if gallery_h5 is not None:
        gallery = read_h5(gallery_h5, ["images", "identity"])[0]
        emb_gallery = identity.embed(gallery["images"])
        usable = np.isfinite(emb_gallery).all(1)
        centroids, labels = identity_centroids(
            torch.from_numpy(emb_gallery[usable]), gallery["identity"][usable]
        )
        per_image["identity"] = targets["identity"]
        rank = np.zeros(len(x), dtype=np.float64)
        target_rank = np.zeros(len(x), dtype=np.float64)
        rank[~found] = target_rank[~found] = np.nan
        rows = np.flatnonzero(found)
        if len(rows):
            ids = targets["identity"][rows]
            rank[rows] = identification_ranks(torch.from_numpy(emb_y[rows]), ids, centroids,
                                              labels)  # fmt: skip
            target_rank[rows] = identification_ranks(torch.from_numpy(emb_x[rows]), ids,
                                                     centroids, labels)  # fmt: skip
        per_image["rank"], per_image["target_rank"] = rank, target_rank
        summary["n_identities"] = len(labels)
        summary["gallery_images"] = int(usable.sum())
        summary["gallery_undetected"] = int((~usable).sum())
    for column in ("psnr_db", "ssim", "identity_cosine", "identity_distance"):
        summary[column] = float(per_image[column].mean())
    if gallery_h5 is not None:
        for k in RANKS:
            for prefix, column in (("", "rank"), ("target_", "target_rank")):
                ranks = per_image[column].to_numpy()
                ranks = ranks[np.isfinite(ranks)]
                summary[f"{prefix}top{k}"] = float(top_k(ranks, k).mean()) if len(ranks) else np.nan
    cached = (
        None
        if target_features_h5 is None
        else read_target_features(target_features_h5, targets_h5, inception[0])
    )
    summary.update({
        **inception_distances(targets=x, reconstructions=y, inception_path=inception[1],
                              kid_subsets=kid_subsets, seed=seed, device=device,
                              target_features=cached),
        "n_undetected": int((~found).sum()),
        # The inversion job's own clock (other jobs may have shared its cores); the tables' times
        # come from the timing rules, which run alone.
        "job_seconds_total": float(attrs["seconds_total"]),
        "generator": generator,
        "evaluator": evaluator[0],
        "fid_features": inception[0],
        "device": attrs.get("device", ""),
    })  # fmt: skip
    for path, frame in ((per_image_csv, per_image), (summary_csv, pd.DataFrame([summary]))):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
    log.info("metrics of %s: %s", label, summary)
    return summary
