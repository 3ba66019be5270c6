"""Metrics of one face inversion: per image (CSV) and for the set (one-row summary CSV).

Per image: PSNR (dB, data range 1), SSIM, FaceNet-style cosine distance between evaluator
embeddings of target and reconstruction (the paper's "FID"), latent error against the true z
(MAE and cosine of normalised z), and attribute recovery: the evaluator's attribute regressor
applied to target and reconstruction, compared in standardised units over the attributes it reads
reliably (validation R² >= 0.5; all of them, the pose ones, the identity ones).
Per set: Fréchet distance and KID between target and reconstruction features (pytorch-fid's
Inception when its weights file is present, else the evaluator network's pooled features; the
``fid_features`` column says which), wall time total and per image, device.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import torch

from ganinv.atomic import atomic_path
from ganinv.data.faces import ATTRIBUTE_NAMES, IDENTITY_ATTRIBUTES
from ganinv.data.h5io import check_latents, read_attrs, read_h5
from ganinv.metrics.distribution import (
    fid_inception_available,
    frechet_distance,
    inception_features,
    kernel_inception_distance,
)
from ganinv.metrics.image import psnr, ssim
from ganinv.metrics.latent import embedding_cosine, latent_cosine, latent_mae
from ganinv.models.facenet import FaceNet, load_face_network
from ganinv.models.files import read_model_file
from ganinv.runtime import UserError

log = logging.getLogger("ganinv")

POSE = ("yaw", "pitch", "roll", "shift_x", "shift_y", "scale")
READABLE_R2 = 0.5  # an attribute counts when the evaluator predicts it with validation R² >= this


def readable_attributes(evaluator_path: str | os.PathLike) -> list[str]:
    """Attributes the in-DAG evaluator reads reliably (validation R² >= READABLE_R2)."""
    meta = read_model_file(evaluator_path)["meta"]
    r2 = meta.get("val_attribute_r2_per_attribute", {})
    return [name for name in ATTRIBUTE_NAMES if r2.get(name, float("-inf")) >= READABLE_R2]


def batched(fn, images: torch.Tensor, device: torch.device, batch: int = 100) -> torch.Tensor:
    """``fn`` applied to ``images`` in batches on ``device`` without gradients; results on CPU."""
    with torch.no_grad():
        return torch.cat([fn(images[i : i + batch].to(device)).cpu()
                          for i in range(0, len(images), batch)])  # fmt: skip


def _pooled_features(net, x: torch.Tensor) -> torch.Tensor:
    """Global-average-pooled last feature map: the evaluator's stand-in for Inception features."""
    return net.features(x)[-1].mean(dim=(2, 3))


def attribute_errors(
    net: FaceNet, targets: torch.Tensor, recon: torch.Tensor, readable: list[str],
    device: torch.device,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Per-image attribute disagreement between target and reconstruction, as the evaluator sees
    them, in standardised units, over the attributes it reads reliably (NaN when none)."""
    a_t = batched(net.predict_attributes, targets, device)
    a_r = batched(net.predict_attributes, recon, device)
    std = net.attribute_std.detach().cpu().clamp_min(1e-6)
    diff = ((a_t - a_r) / std).abs()
    col = {name: i for i, name in enumerate(ATTRIBUTE_NAMES)}

    def mean_over(names) -> np.ndarray:
        use = [col[n] for n in names if n in readable]
        return diff[:, use].mean(1).numpy() if use else np.full(len(diff), np.nan)

    return {
        "attr_error": mean_over(ATTRIBUTE_NAMES),
        "attr_error_pose": mean_over(POSE),
        "attr_error_identity": mean_over(IDENTITY_ATTRIBUTES),
    }


def compute_face_metrics(
    inversion_h5: str | os.PathLike,
    targets_h5: str | os.PathLike,
    evaluator: tuple[str, str],
    per_image_csv: str | os.PathLike,
    summary_csv: str | os.PathLike,
    label: str,
    kid_subsets: int,
    seed: int,
    device: torch.device,
    inception_weights: str | os.PathLike | None = None,
) -> dict:
    """Write per-image and summary metrics of ``inversion_h5`` against ``targets_h5``.

    ``inception_weights``: pytorch-fid's Inception file; Frechet distance and KID use its
    features when the file exists (None: torch hub's cache), else the evaluator's pooled features.
    """
    inverted, _ = read_h5(inversion_h5, ["z", "reconstructions", "loss", "stopped_at"])
    attrs = read_attrs(inversion_h5)
    targets, _ = read_h5(targets_h5, ["z", "images"])
    check_latents(targets["z"], str(targets_h5))
    if inverted["reconstructions"].shape != targets["images"].shape:
        raise UserError(
            f"{inversion_h5} has reconstructions {inverted['reconstructions'].shape} but "
            f"{targets_h5} has targets {targets['images'].shape}: rerun the inversion"
        )
    x = torch.from_numpy(targets["images"]).float() / 255.0
    y = torch.from_numpy(inverted["reconstructions"]).float() / 255.0
    net = load_face_network(evaluator[0], evaluator[1], device)
    x_net, y_net = x * 2 - 1, y * 2 - 1  # networks take [-1, 1]
    per_image = pd.DataFrame({
        "image": np.arange(len(x)),
        "psnr_db": psnr(y, x).numpy(),
        "ssim": ssim(y, x).numpy(),
        "facenet_cosine": 1.0 - embedding_cosine(
            batched(net.embed, x_net, device), batched(net.embed, y_net, device)
        ).numpy(),
        "latent_mae": latent_mae(torch.from_numpy(inverted["z"]),
                                 torch.from_numpy(targets["z"])).numpy(),
        "latent_cosine": latent_cosine(torch.from_numpy(inverted["z"]),
                                       torch.from_numpy(targets["z"])).numpy(),
        "loss": inverted["loss"],
        "stopped_at": inverted["stopped_at"],
    })  # fmt: skip
    readable: list[str] = []
    if isinstance(net, FaceNet):
        readable = readable_attributes(evaluator[1])
        for key, values in attribute_errors(net, x_net, y_net, readable, device).items():
            per_image[key] = values
    if fid_inception_available(inception_weights):
        fid_source = "inception"
        feats_x = inception_features(x, device, weights_path=inception_weights)
        feats_y = inception_features(y, device, weights_path=inception_weights)
    else:
        fid_source = f"evaluator ({evaluator[0]})"
        feats_x = batched(lambda t: _pooled_features(net, t), x_net, device).numpy()
        feats_y = batched(lambda t: _pooled_features(net, t), y_net, device).numpy()
    # Subsets of half the set (at most 1000, the usual size): subsets of the whole set would all
    # be the same set, and the spread over subsets would say nothing.
    subset = max(2, min(1000, len(feats_x) // 2))
    kid_mean, kid_std = kernel_inception_distance(feats_x, feats_y, n_subsets=kid_subsets,
                                                  subset_size=subset, seed=seed)  # fmt: skip
    summary = {
        "method": label,
        "n_images": len(x),
        **{col: float(per_image[col].mean()) for col in per_image.columns
           if col not in ("image", "loss", "stopped_at")},
        "fid": frechet_distance(feats_x, feats_y),
        "kid": kid_mean,
        "kid_std": kid_std,
        "fid_features": fid_source,
        "n_stopped": int((inverted["stopped_at"] >= 0).sum()),
        "attributes_used": " ".join(readable),
        "seconds_total": float(attrs["seconds_total"]),
        "seconds_per_image": float(attrs["seconds_per_image"]),
        "device": attrs.get("device", ""),
    }  # fmt: skip
    for path, frame in ((per_image_csv, per_image), (summary_csv, pd.DataFrame([summary]))):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
    log.info("metrics of %s: %s", label, summary)
    return summary
