"""Audio reconstruction and generation metrics of the audio chapter (thesis chapter 3).

Inputs: clips ``[N, 1, T]`` as float tensors or arrays (audio in [-1, 1]); results are one float64
value per clip, a tensor of shape ``[N]`` on the input's device, unless stated otherwise. All
arithmetic is done in float64.

Spectrograms use a periodic Hann window of ``n_fft`` samples, hop ``hop``, ``center=True`` with
reflection padding (torch.stft's and torchaudio's defaults), and are scaled by ``2 / sum(window)``
so that a full-scale sinusoid (amplitude 1) reads 0 dB at its frequency. For clips in [-1, 1] no
bin can exceed +6.02 dB (``20 log10 2``). Levels are floored at ``floor_db`` (default
:data:`FLOOR_DB`, -80 dB), which keeps logarithms of silent bins finite.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ganinv.metrics.image import ssim
from ganinv.runtime import UserError, check_int

__all__ = [
    "FLOOR_DB",
    "SSIM_DB_RANGE",
    "digit_accuracy",
    "inception_score",
    "log_magnitude",
    "log_spectral_distance",
    "mean_log_spectrum",
    "spectral_distance",
    "stft_ssim",
    "waveform_mse",
]

FLOOR_DB = -80.0
SSIM_DB_RANGE = (FLOOR_DB, 20.0 * math.log10(2.0))  # every level a clip in [-1, 1] can reach


def _clips(x: Tensor | np.ndarray, name: str) -> Tensor:
    t = torch.as_tensor(x)
    if t.dim() != 3 or t.shape[1] != 1:
        raise ValueError(f"{name} must be mono clips [N, 1, T], got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise ValueError(f"{name} must be floating point audio in [-1, 1], got {t.dtype}")
    return t.to(torch.float64)


def _pair(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> tuple[Tensor, Tensor]:
    a = _clips(x, "x")
    b = _clips(y, "y").to(a.device)
    if a.shape != b.shape:
        raise ValueError(f"x and y differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    return a, b


def waveform_mse(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> Tensor:
    """Mean squared difference of the samples, per clip."""
    a, b = _pair(x, y)
    return (a - b).square().flatten(1).mean(dim=1)


def log_magnitude(
    x: Tensor | np.ndarray, n_fft: int = 256, hop: int = 128, floor_db: float = FLOOR_DB
) -> Tensor:
    """STFT magnitude in dB, ``[N, n_fft // 2 + 1, T // hop + 1]`` (0 dB: full-scale sinusoid).

    ``20 log10(max(|X| * 2 / sum(window), 10^(floor_db / 20)))``; see the module docstring.
    """
    a = _clips(x, "x")
    if a.shape[-1] <= n_fft // 2:
        raise ValueError(f"clips of {a.shape[-1]} samples are too short for an STFT of {n_fft}")
    window = torch.hann_window(n_fft, dtype=torch.float64, device=a.device)
    spec = torch.stft(
        a[:, 0], n_fft, hop_length=hop, window=window, center=True, return_complex=True
    )
    magnitude = spec.abs() * (2.0 / window.sum())
    return 20.0 * torch.log10(magnitude.clamp_min(10.0 ** (floor_db / 20.0)))


def stft_ssim(
    x: Tensor | np.ndarray, y: Tensor | np.ndarray, n_fft: int = 256, hop: int = 128
) -> Tensor:
    """SSIM of log-magnitude spectrograms, per clip (identical clips: 1).

    Levels are mapped linearly from :data:`SSIM_DB_RANGE` (-80 dB .. +6.02 dB) to [0, 1] and
    compared with :func:`ganinv.metrics.image.ssim` (Gaussian window, data range 1), the
    spectrogram being a one-channel image of frequency x time.
    """
    a, b = _pair(x, y)
    low, high = SSIM_DB_RANGE

    def image(clips: Tensor) -> Tensor:
        db = log_magnitude(clips, n_fft, hop, floor_db=low)
        return ((db - low) / (high - low)).clamp(0.0, 1.0)[:, None]

    return ssim(image(a), image(b), data_range=1.0)


def log_spectral_distance(
    x: Tensor | np.ndarray,
    y: Tensor | np.ndarray,
    n_fft: int = 256,
    hop: int = 128,
    floor_db: float = FLOOR_DB,
) -> Tensor:
    """Log-spectral distance in dB, per clip.

    Per frame, the root mean square over frequency of ``10 log10 P_x - 10 log10 P_y`` (power
    spectra, floored at ``floor_db``); then the mean over frames. Identical clips give 0; a clip
    twice as loud as the other gives ``20 log10 2`` = 6.02 dB (where no bin hits the floor).
    """
    a, b = _pair(x, y)
    diff = log_magnitude(a, n_fft, hop, floor_db) - log_magnitude(b, n_fft, hop, floor_db)
    return diff.square().mean(dim=1).sqrt().mean(dim=1)


def inception_score(probabilities: Tensor | np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Inception Score ``(mean, std)`` over ``splits`` contiguous parts of the samples.

    Per part: ``exp(mean_i KL(p(y|x_i) || p(y)))`` with ``p(y)`` the part's mean prediction. The
    N samples are cut into ``splits`` parts of sizes differing by at most one (no sample is
    dropped); ``std`` is the population standard deviation over the parts. A classifier that
    predicts the uniform distribution scores 1; one that is certain and spreads evenly over K
    classes scores K.
    """
    p = torch.as_tensor(probabilities).to(torch.float64)
    if p.dim() != 2 or p.shape[1] < 1:
        raise ValueError(f"probabilities must have shape [N, K], got {tuple(p.shape)}")
    splits = check_int("inception score: splits", splits)
    if p.shape[0] < splits:
        raise UserError(
            f"inception score over {splits} splits needs at least {splits} samples, got "
            f"{p.shape[0]}; generate more samples or lower the number of splits"
        )
    if not torch.all(torch.isfinite(p)) or p.min() < 0 or (p.sum(dim=1) - 1).abs().max() > 1e-4:
        raise ValueError("probabilities must be non-negative rows summing to 1 (apply softmax)")
    scores = []
    for part in torch.tensor_split(p, splits):
        marginal = part.mean(dim=0, keepdim=True)
        kl = (torch.xlogy(part, part) - torch.xlogy(part, marginal)).sum(dim=1)
        scores.append(torch.exp(kl.mean()))
    values = torch.stack(scores)
    return float(values.mean()), float(values.std(unbiased=False))


def digit_accuracy(scores: Tensor | np.ndarray, labels: Tensor | np.ndarray) -> float:
    """Fraction of clips whose highest score (probability or logit) is the true label."""
    s = torch.as_tensor(scores)
    y = torch.as_tensor(labels)
    if s.dim() != 2:
        raise ValueError(f"scores must have shape [N, K], got {tuple(s.shape)}")
    if y.shape != (s.shape[0],) or y.is_floating_point():
        raise ValueError(
            f"labels must be {s.shape[0]} integers (shape [N]), got {y.dtype} {tuple(y.shape)}"
        )
    if s.shape[0] == 0:
        raise ValueError("digit accuracy of zero clips is undefined")
    return float((s.argmax(dim=1) == y.to(s.device)).double().mean())


def mean_log_spectrum(audio: Tensor, n_fft: int = 512, hop: int = 128) -> Tensor:
    """Long-term average spectrum of ``audio`` [N, 1, T]: the STFT power averaged over all clips
    and frames, in dB (floor -100 dB), one value per frequency bin [n_fft // 2 + 1].

    The power is averaged before the logarithm, so frames of exact silence (the padding around a
    spoken word) lower the level but do not pin bins to the floor.
    """
    window = torch.hann_window(n_fft, device=audio.device)
    total = torch.zeros(n_fft // 2 + 1, dtype=torch.float64, device=audio.device)
    frames = 0
    for chunk in audio.reshape(-1, audio.shape[-1]).split(16):
        spec = torch.stft(chunk, n_fft, hop, window=window, return_complex=True)
        power = spec.abs().double().pow(2)  # [n, bins, frames]
        total += power.sum(dim=(0, 2))
        frames += power.shape[0] * power.shape[2]
    return (10.0 * torch.log10(total / frames + 1e-10)).float()


def spectral_distance(real: Tensor, fake: Tensor) -> float:
    """Mean absolute difference (dB, averaged over frequency bins) of the two clip sets'
    long-term average spectra (:func:`mean_log_spectrum`): 0 for the same spectral envelope;
    a clip set that is 6 dB quieter at every frequency is at 6.02 dB."""
    return float((mean_log_spectrum(real) - mean_log_spectrum(fake)).abs().mean())
