"""Losses shared by the face and audio chapters: feature-space (perceptual) distance, STFT and
waveform MAE, and per-sample weighted sums of them for inversion.

Every loss here is per sample: ``loss(reconstructions, targets) -> [N]`` (the convention of
:mod:`ganinv.invert`). Perceptual networks expose ``features(x) -> list[Tensor]``: the face
networks (:mod:`ganinv.models.facenet`, :mod:`ganinv.models.mtcnn_features`) and the
spoken-digit classifier
(:mod:`ganinv.models.digits`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from ganinv.models.facenet import load_face_network
from ganinv.models.files import load_model
from ganinv.models.mtcnn_features import OnetFeatures
from ganinv.runtime import UserError

LossFn = Callable[[Tensor, Tensor], Tensor]
PERCEPTUAL_KINDS = ("in_dag", "vggface2", "mtcnn_onet", "digits")


def feature_targets(net: nn.Module, y: Tensor) -> list[Tensor]:
    """Features of fixed targets, computed once without gradients."""
    with torch.no_grad():
        return [f.detach() for f in net.features(y)]


def perceptual_distance(net: nn.Module, x: Tensor, y: Tensor | Sequence[Tensor]) -> Tensor:
    """Per-sample ``[N]`` mean over feature layers of the mean squared activation difference.

    ``y``: targets, or the list :func:`feature_targets` returned (a batch of 1 broadcasts).
    Gradients flow into ``x`` (the network itself should be frozen).
    """
    targets = feature_targets(net, y) if torch.is_tensor(y) else list(y)
    feats = net.features(x)
    if len(feats) != len(targets):
        raise ValueError(f"{len(targets)} target feature layers for {len(feats)} layers")
    total = x.new_zeros(x.shape[0])
    for f, t in zip(feats, targets, strict=True):
        total = total + (f - t).pow(2).flatten(1).mean(dim=1)
    return total / len(feats)


def perceptual_loss(net: nn.Module) -> LossFn:
    """:func:`perceptual_distance` as an inversion loss, with the targets' features computed once.

    The cache holds the target tensor itself (not its ``id``), so a recycled id cannot fool it;
    a new chunk of targets recomputes the features.
    """
    cache: dict[str, object] = {"targets": None, "features": None}

    def loss(reconstructions: Tensor, targets: Tensor) -> Tensor:
        if cache["targets"] is not targets:
            cache["targets"] = targets
            cache["features"] = feature_targets(net, targets)
        return perceptual_distance(net, reconstructions, cache["features"])

    return loss


def stft_magnitude(x: Tensor, n_fft: int = 256, hop: int = 128) -> Tensor:
    """|STFT| of waveforms ``[N, 1, T]`` (Hann window, centred frames): ``[N, n_fft//2+1, F]``."""
    window = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    spec = torch.stft(x.flatten(1), n_fft, hop_length=hop, window=window, return_complex=True)
    return spec.abs()


def _check_same_clips(reconstructions: Tensor, targets: Tensor) -> None:
    if reconstructions.shape != targets.shape:
        raise UserError(
            f"reconstructions {tuple(reconstructions.shape)} and targets "
            f"{tuple(targets.shape)} differ in shape (wrong clip length?)"
        )


def waveform_mae(reconstructions: Tensor, targets: Tensor) -> Tensor:
    """Per-clip mean absolute difference of the waveform samples ``[N]`` (the thesis's
    "waveform MAE")."""
    _check_same_clips(reconstructions, targets)
    return (reconstructions - targets).abs().flatten(1).mean(dim=1)


def stft_mae(reconstructions: Tensor, targets: Tensor, n_fft: int = 256, hop: int = 128) -> Tensor:
    """Per-sample mean absolute difference of STFT magnitudes (the thesis's "STFT MAE")."""
    _check_same_clips(reconstructions, targets)
    diff = stft_magnitude(reconstructions, n_fft, hop) - stft_magnitude(targets, n_fft, hop)
    return diff.abs().flatten(1).mean(dim=1)


def weighted_sum(terms: Sequence[tuple[float, LossFn]]) -> LossFn:
    """``sum_i w_i * loss_i`` per sample; terms with weight 0 are never evaluated."""
    active = [(float(w), fn) for w, fn in terms if float(w) != 0.0]
    if not active:
        raise UserError("every loss weight is 0: the inversion would have nothing to minimise")
    if any(w < 0 for w, _ in active):
        raise UserError("loss weights must not be negative")

    def loss(reconstructions: Tensor, targets: Tensor) -> Tensor:
        total = None
        for weight, fn in active:
            term = fn(reconstructions, targets)
            term = term if weight == 1.0 else weight * term
            total = term if total is None else total + term
        return total

    return loss


def load_perceptual_network(
    kind: str, path: str | os.PathLike | None, device: torch.device | str = "cpu"
) -> nn.Module:
    """A frozen network in eval mode whose ``features`` define a perceptual loss.

    ``kind`` "in_dag" / "vggface2": a face network
    (:func:`ganinv.models.facenet.load_face_network`); "mtcnn_onet": MTCNN's pretrained ONet
    (:mod:`ganinv.models.mtcnn_features`; its weights ship in facenet-pytorch, ``path`` unused);
    "digits": a ganinv model file of a trained :class:`ganinv.models.digits.DigitClassifier`.
    """
    if kind == "mtcnn_onet":
        return OnetFeatures().to(device)
    if kind in ("in_dag", "vggface2"):
        return load_face_network(kind, path, device)
    if kind != "digits":
        raise UserError(f"unknown perceptual network kind '{kind}' (use one of {PERCEPTUAL_KINDS})")
    if path is None or not os.path.exists(path):
        raise UserError(
            f"digit classifier model file not found: {path} (it is made by the workflow's "
            "train_digit_classifier rule; run that rule first, or give the right path)"
        )
    net, _ = load_model(path, "digits.DigitClassifier", device)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net
