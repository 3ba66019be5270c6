"""Metrics of one audio inversion: per clip (CSV) and for the set (one-row summary CSV).

Per clip: waveform MSE, SSIM of the log-magnitude STFTs, log-spectral distance (dB), the digit the
evaluator classifier hears in the reconstruction against the target's digit (for held-out voices the
rendered word's label; for generated clips, which have no label, the evaluator's reading of the
target), and for generated targets the latent error against the true z (MSE, MAE; WaveGAN's z is
used as it is, uniform in [-1, 1]). Per set: Inception Score of the reconstructions (and of the
targets, for reference) from the evaluator classifier over ``is_splits`` splits, digit accuracy,
and the inversion's wall time total and per clip.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd
import torch

from ganinv.atomic import atomic_path
from ganinv.data.h5io import check_latents, read_attrs, read_h5
from ganinv.metrics.audio import (
    digit_accuracy,
    inception_score,
    log_spectral_distance,
    stft_ssim,
    waveform_mse,
)
from ganinv.models.files import load_model
from ganinv.runtime import UserError

log = logging.getLogger("ganinv")
TARGET_SETS = ("generated", "real")


def _probabilities(net, audio: torch.Tensor, device: torch.device, batch: int = 100):
    with torch.no_grad():
        return torch.cat([net.probabilities(audio[i : i + batch].to(device)).cpu()
                          for i in range(0, len(audio), batch)])  # fmt: skip


def compute_audio_metrics(
    inversion_h5: str | os.PathLike,
    targets_h5: str | os.PathLike,
    evaluator_path: str | os.PathLike,
    per_clip_csv: str | os.PathLike,
    summary_csv: str | os.PathLike,
    label: str,
    target_set: str,
    is_splits: int,
    device: torch.device,
) -> dict:
    """Write per-clip and summary metrics of ``inversion_h5`` against ``targets_h5``."""
    if target_set not in TARGET_SETS:
        raise UserError(f"unknown target set '{target_set}': use one of {', '.join(TARGET_SETS)}")
    inverted, _ = read_h5(inversion_h5, ["z", "reconstructions", "loss", "stopped_at"])
    attrs = read_attrs(inversion_h5)
    wanted = ["audio", "z"] if target_set == "generated" else ["audio", "label"]
    targets, _ = read_h5(targets_h5, wanted)
    if "z" in targets:
        check_latents(targets["z"], str(targets_h5))
    if inverted["reconstructions"].shape != targets["audio"].shape:
        raise UserError(
            f"{inversion_h5} has reconstructions {inverted['reconstructions'].shape} but "
            f"{targets_h5} has targets {targets['audio'].shape}: rerun the inversion"
        )
    x = torch.from_numpy(targets["audio"])
    y = torch.from_numpy(inverted["reconstructions"])
    net, _ = load_model(evaluator_path, "digits.DigitClassifier", device)
    p_target = _probabilities(net, x, device)
    p_recon = _probabilities(net, y, device)
    if target_set == "real":
        labels = torch.from_numpy(targets["label"]).long()
        label_source = "rendered word"
    else:
        labels = p_target.argmax(dim=1)
        label_source = "evaluator's reading of the target"
    predicted = p_recon.argmax(dim=1)
    per_clip = pd.DataFrame({
        "clip": np.arange(len(x)),
        "waveform_mse": waveform_mse(y, x).numpy(),
        "stft_ssim": stft_ssim(y, x).numpy(),
        "lsd_db": log_spectral_distance(y, x).numpy(),
        "target_digit": labels.numpy(),
        "reconstruction_digit": predicted.numpy(),
        "digit_correct": (predicted == labels).numpy().astype(np.int64),
        "loss": inverted["loss"],
        "stopped_at": inverted["stopped_at"],
    })  # fmt: skip
    if target_set == "generated":
        diff = torch.from_numpy(inverted["z"]) - torch.from_numpy(targets["z"])
        per_clip["latent_mse"] = diff.pow(2).mean(dim=1).numpy()
        per_clip["latent_mae"] = diff.abs().mean(dim=1).numpy()
    is_mean, is_std = inception_score(p_recon.numpy(), splits=is_splits)
    is_target, _ = inception_score(p_target.numpy(), splits=is_splits)
    summary = {
        "method": label,
        "target_set": target_set,
        "n_clips": len(x),
        **{col: float(per_clip[col].mean()) for col in
           ("waveform_mse", "stft_ssim", "lsd_db", "latent_mse", "latent_mae")
           if col in per_clip.columns},
        "inception_score": is_mean,
        "inception_score_std": is_std,
        "inception_score_targets": is_target,
        "digit_accuracy": digit_accuracy(p_recon, labels),
        "label_source": label_source,
        "n_stopped": int((inverted["stopped_at"] >= 0).sum()),
        # The inversion job's own clock (other jobs may have shared its cores); the tables' times
        # come from the timing rules, which run alone.
        "job_seconds_total": float(attrs["seconds_total"]),
        "device": attrs.get("device", ""),
    }  # fmt: skip
    for path, frame in ((per_clip_csv, per_clip), (summary_csv, pd.DataFrame([summary]))):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False)
    log.info("audio metrics of %s (%s): %s", label, target_set, summary)
    return summary
