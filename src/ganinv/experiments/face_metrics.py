"""Metrics of one face inversion: per image (CSV) and for the set (one-row summary CSV).

Per image: PSNR (dB, data range 1), SSIM, identity measures between the identity network's
embeddings of target and reconstruction (cosine, 1 - cosine = the paper's "FID", Euclidean
distance; :mod:`ganinv.experiments.identity_networks`: dlib's pretrained recogniser for photoreal
faces, whose undetected targets are counted), latent error against the true z (MAE and cosine of
normalised z), and, with the in-DAG evaluator, attribute recovery: its attribute regressor applied
to target and reconstruction, compared in standardised units over the attributes it reads
reliably (validation R² >= 0.5; all of them, the pose ones, the identity ones).
Per set: Fréchet distance and KID between the Inception features of targets and reconstructions
(pytorch-fid's file or its TorchScript copy; ``fid_features`` says which), the generator, the
identity network, wall time total and per image, device.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import torch

from ganinv.atomic import atomic_path
from ganinv.data.faces import ATTRIBUTE_NAMES, IDENTITY_ATTRIBUTES
from ganinv.data.h5io import base_provenance, check_latents, read_attrs, read_h5, write_h5
from ganinv.experiments.identity_networks import batched, load_identity_network, pair_measures
from ganinv.metrics.distribution import (
    frechet_distance,
    inception_features_from,
    kernel_inception_distance,
)
from ganinv.metrics.image import psnr, ssim
from ganinv.metrics.latent import latent_cosine, latent_mae
from ganinv.models.facenet import FaceNet
from ganinv.models.files import read_model_file
from ganinv.runtime import UserError, file_sha256

log = logging.getLogger("ganinv")

POSE = ("yaw", "pitch", "roll", "shift_x", "shift_y", "scale")
READABLE_R2 = 0.5  # an attribute counts when the evaluator predicts it with validation R² >= this


def readable_attributes(evaluator_path: str | os.PathLike) -> list[str]:
    """Attributes the in-DAG evaluator reads reliably (validation R² >= READABLE_R2)."""
    meta = read_model_file(evaluator_path)["meta"]
    r2 = meta.get("val_attribute_r2_per_attribute", {})
    return [name for name in ATTRIBUTE_NAMES if r2.get(name, float("-inf")) >= READABLE_R2]


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


def write_target_features(
    *, images_h5: str | os.PathLike, out_h5: str | os.PathLike,
    inception: tuple[str, str | os.PathLike], device: torch.device,
) -> None:  # fmt: skip
    """Inception features of a target set, computed once for every method's metrics."""
    images = read_h5(images_h5, ["images"])[0]["images"]
    features = inception_features_from(images=images, weights_path=inception[1], device=device)
    write_h5(out_h5, {"features": features.astype(np.float64)},
             base_provenance(kind="inception-features", network=inception[0],
                             images_sha256=file_sha256(images_h5)))  # fmt: skip


def read_target_features(
    path: str | os.PathLike, images_h5: str | os.PathLike, network: str
) -> np.ndarray:
    """Features written by :func:`write_target_features`, checked against the images file."""
    arrays, attrs = read_h5(path, ["features"])
    if attrs.get("network") != network or attrs.get("images_sha256") != file_sha256(images_h5):
        raise UserError(
            f"{path} holds features of other images or of another network than {images_h5} "
            f"with {network}: delete it and rerun"
        )
    return arrays["features"]


def inception_distances(
    *, targets: torch.Tensor, reconstructions: torch.Tensor, inception_path: str | os.PathLike,
    kid_subsets: int, seed: int, device: torch.device, target_features: np.ndarray | None = None,
) -> dict[str, float]:  # fmt: skip
    """Fréchet distance and KID between Inception features of two image sets in [0, 1].

    ``target_features``: the targets' features when already computed (else computed here).
    """
    feats_x = target_features
    if feats_x is None:
        feats_x = inception_features_from(images=targets, weights_path=inception_path,
                                          device=device)  # fmt: skip
    if len(feats_x) != len(reconstructions):
        raise UserError(f"{len(feats_x)} target features for {len(reconstructions)} images")
    feats_y = inception_features_from(images=reconstructions, weights_path=inception_path,
                                      device=device)  # fmt: skip
    # Subsets of half the set (at most 1000, the usual size): subsets of the whole set would all
    # be the same set, and the spread over subsets would say nothing.
    subset = max(2, min(1000, len(feats_x) // 2))
    kid_mean, kid_std = kernel_inception_distance(feats_x, feats_y, n_subsets=kid_subsets,
                                                  subset_size=subset, seed=seed)  # fmt: skip
    return {"fid": frechet_distance(feats_x, feats_y), "kid": kid_mean, "kid_std": kid_std}


def compute_face_metrics(
    *,
    inversion_h5: str | os.PathLike,
    targets_h5: str | os.PathLike,
    evaluator: tuple[str, str],
    per_image_csv: str | os.PathLike,
    summary_csv: str | os.PathLike,
    label: str,
    generator: str,
    kid_subsets: int,
    seed: int,
    device: torch.device,
    inception: tuple[str, str | os.PathLike],
    landmarks_path: str | os.PathLike | None = None,
    target_features_h5: str | os.PathLike | None = None,
) -> dict:
    """Write per-image and summary metrics of ``inversion_h5`` against ``targets_h5``.

    ``evaluator``: (kind, file) of the identity network (dlib also needs ``landmarks_path``).
    ``inception``: (name, file) of the Inception features of the Fréchet distance and KID;
    ``target_features_h5``: the targets' features from :func:`write_target_features`.
    ``generator``: what made the targets, recorded in the summary for the tables.
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
    identity = load_identity_network(kind=evaluator[0], path=evaluator[1], device=device,
                                     landmarks_path=landmarks_path)  # fmt: skip
    emb_x, emb_y, found = identity.embed_pairs(targets["images"], inverted["reconstructions"])
    per_image = pd.DataFrame({
        "image": np.arange(len(x)),
        "psnr_db": psnr(y, x).numpy(),
        "ssim": ssim(y, x).numpy(),
        **pair_measures(emb_x, emb_y),
        "face_found": found,
        "latent_mae": latent_mae(torch.from_numpy(inverted["z"]),
                                 torch.from_numpy(targets["z"])).numpy(),
        "latent_cosine": latent_cosine(torch.from_numpy(inverted["z"]),
                                       torch.from_numpy(targets["z"])).numpy(),
        "loss": inverted["loss"],
        "stopped_at": inverted["stopped_at"],
    })  # fmt: skip
    readable: list[str] = []
    if isinstance(identity.net, FaceNet):
        readable = readable_attributes(evaluator[1])
        x_net, y_net = x * 2 - 1, y * 2 - 1  # networks take [-1, 1]
        for key, values in attribute_errors(identity.net, x_net, y_net, readable, device).items():
            per_image[key] = values
    cached = (
        None
        if target_features_h5 is None
        else read_target_features(target_features_h5, targets_h5, inception[0])
    )
    distances = inception_distances(targets=x, reconstructions=y, inception_path=inception[1],
                                    kid_subsets=kid_subsets, seed=seed, device=device,
                                    target_features=cached)  # fmt: skip
    summary = {
        "method": label,
        "n_images": len(x),
        **{col: float(per_image[col].mean()) for col in per_image.columns
           if col not in ("image", "loss", "stopped_at", "face_found")},
        **distances,
        "n_undetected": int((~found).sum()),
        "n_stopped": int((inverted["stopped_at"] >= 0).sum()),
        "attributes_used": " ".join(readable),
        # The inversion job's own clock (other jobs may have shared its cores); the tables' times
        # come from the timing rules, which run alone.
        "job_seconds_total": float(attrs["seconds_total"]),
        "generator": generator,
        "evaluator": evaluator[0],
        "fid_features": inception[0],
        "device": attrs.get("device", ""),
    }  # fmt: skip
    for path, frame in ((per_image_csv, per_image), (summary_csv, pd.DataFrame([summary]))):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
    log.info("metrics of %s: %s", label, summary)
    return summary
