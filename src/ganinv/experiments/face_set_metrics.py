"""Metrics of inverting faces that are not the generator's own (real faces, StyleGAN2 faces).

There is no true z, so the measures are in image and identity space. Per image: PSNR, SSIM and
the cosine similarity between the evaluator's embeddings of target and reconstruction; with a
gallery, the rank at which the reconstruction (and, for reference, the target itself) is
identified among the gallery identities. Per set: means, top-1 and top-5 identification
accuracy, wall time, and which evaluator network measured identity.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import torch

from ganinv.atomic import atomic_path
from ganinv.data.h5io import read_attrs, read_h5
from ganinv.experiments.face_metrics import batched
from ganinv.metrics.identity import identification_ranks, identity_centroids, top_k
from ganinv.metrics.image import psnr, ssim
from ganinv.metrics.latent import embedding_cosine
from ganinv.models.facenet import load_face_network
from ganinv.runtime import UserError

log = logging.getLogger("ganinv")

RANKS = (1, 5)


def _signed(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float() / 127.5 - 1.0


def compute_face_set_metrics(
    inversion_h5: str | os.PathLike,
    targets_h5: str | os.PathLike,
    evaluator: tuple[str, str],
    per_image_csv: str | os.PathLike,
    summary_csv: str | os.PathLike,
    label: str,
    device: torch.device,
    gallery_h5: str | os.PathLike | None = None,
) -> dict:
    """Write per-image and summary metrics of ``inversion_h5`` against ``targets_h5``.

    ``evaluator``: (kind, path) of the face network that embeds faces (in_dag or vggface2).
    ``gallery_h5``: identity-labelled gallery; the targets then need an ``identity`` dataset.
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
    net = load_face_network(evaluator[0], evaluator[1], device)
    x, y = _signed(targets["images"]), _signed(recon)
    emb_x, emb_y = batched(net.embed, x, device), batched(net.embed, y, device)
    per_image = pd.DataFrame({
        "image": np.arange(len(x)),
        "psnr_db": psnr((y + 1) / 2, (x + 1) / 2).numpy(),
        "ssim": ssim((y + 1) / 2, (x + 1) / 2).numpy(),
        "identity_cosine": embedding_cosine(emb_x, emb_y).numpy(),
    })  # fmt: skip
    summary: dict[str, object] = {"method": label, "n_images": len(x)}
    if gallery_h5 is not None:
        gallery = read_h5(gallery_h5, ["images", "identity"])[0]
        centroids, labels = identity_centroids(
            batched(net.embed, _signed(gallery["images"]), device), gallery["identity"]
        )
        per_image["identity"] = targets["identity"]
        per_image["rank"] = identification_ranks(emb_y, targets["identity"], centroids, labels)
        per_image["target_rank"] = identification_ranks(
            emb_x, targets["identity"], centroids, labels
        )
        summary["n_identities"] = len(labels)
        summary["gallery_images"] = len(gallery["images"])
    for column in ("psnr_db", "ssim", "identity_cosine"):
        summary[column] = float(per_image[column].mean())
    if gallery_h5 is not None:
        for k in RANKS:
            summary[f"top{k}"] = float(top_k(per_image["rank"].to_numpy(), k).mean())
            summary[f"target_top{k}"] = float(top_k(per_image["target_rank"].to_numpy(), k).mean())
    summary.update({
        "seconds_total": float(attrs["seconds_total"]),
        "seconds_per_image": float(attrs["seconds_per_image"]),
        "evaluator": evaluator[0],
        "device": attrs.get("device", ""),
    })  # fmt: skip
    for path, frame in ((per_image_csv, per_image), (summary_csv, pd.DataFrame([summary]))):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
    log.info("metrics of %s: %s", label, summary)
    return summary
