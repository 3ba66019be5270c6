"""Audio metrics: waveform MSE, log-magnitude spectrograms, STFT SSIM, LSD, IS, digit accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganinv.metrics.audio import (
    FLOOR_DB,
    digit_accuracy,
    inception_score,
    log_magnitude,
    log_spectral_distance,
    stft_ssim,
    waveform_mse,
)
from ganinv.runtime import UserError

SAMPLES = 16384


def _noise(n: int, seed: int, level: float = 0.3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, SAMPLES, generator=gen) * level


def _sine(amplitude: float, frequency: float) -> torch.Tensor:
    t = torch.arange(SAMPLES, dtype=torch.float64) / 16000
    return (amplitude * torch.sin(2 * math.pi * frequency * t)).view(1, 1, -1)


def test_waveform_mse():
    x = np.zeros((2, 1, 100), dtype=np.float32)
    y = np.stack([np.full((1, 100), 0.5), np.linspace(-1, 1, 100)[None]]).astype(np.float32)
    mse = waveform_mse(x, y)
    assert mse.shape == (2,) and mse.dtype == torch.float64
    assert mse[0] == 0.25
    assert mse[1] == pytest.approx(float(np.mean(np.linspace(-1, 1, 100) ** 2)), rel=1e-6)
    assert torch.equal(waveform_mse(torch.from_numpy(y), y), torch.zeros(2, dtype=torch.float64))


def test_log_magnitude_levels():
    # 2 kHz is bin 32 of a 256-point STFT at 16 kHz: a full-scale sine reads 0 dB there.
    spectrum = log_magnitude(torch.cat([_sine(1.0, 2000), _sine(0.1, 2000)]))
    assert spectrum.shape == (2, 129, 129)
    middle = spectrum[:, 32, 10:-10]
    assert torch.allclose(middle[0], torch.zeros_like(middle[0]), atol=0.01)
    assert torch.allclose(middle[1], torch.full_like(middle[1], -20.0), atol=0.01)
    assert spectrum[0, 100, 10:-10].max() < -60  # far from the tone: window sidelobes only
    silence = log_magnitude(torch.zeros(1, 1, SAMPLES))
    assert torch.equal(silence, torch.full_like(silence, FLOOR_DB))
    assert log_magnitude(torch.zeros(1, 1, 4096), n_fft=512, hop=256).shape == (1, 257, 17)


def test_stft_ssim():
    clean = _noise(1, 0).clamp(-1, 1)
    small = (clean + _noise(1, 1, level=0.01)).clamp(-1, 1)
    large = (clean + _noise(1, 1, level=0.3)).clamp(-1, 1)
    x = torch.cat([clean, clean, clean, clean])
    y = torch.cat([clean, small, large, torch.zeros_like(clean)])
    scores = stft_ssim(x, y)
    assert scores.shape == (4,)
    assert scores[0] == pytest.approx(1.0, abs=1e-12)
    assert 1.0 > scores[1] > scores[2] > scores[3]
    assert torch.allclose(stft_ssim(y, x), scores)


def test_log_spectral_distance():
    x = _noise(3, 2)
    assert torch.equal(log_spectral_distance(x, x), torch.zeros(3, dtype=torch.float64))
    lsd = log_spectral_distance(x, 2 * x)
    assert torch.allclose(lsd, torch.full((3,), 20 * math.log10(2), dtype=torch.float64))
    assert lsd[0] == pytest.approx(6.0206, abs=1e-4)
    other = _noise(3, 3)
    assert torch.allclose(log_spectral_distance(x, other), log_spectral_distance(other, x))
    assert torch.all(log_spectral_distance(x, other) > 1.0)


def test_inception_score_known_values():
    k = 10
    uniform = torch.full((50, k), 1.0 / k)
    assert inception_score(uniform, splits=5) == pytest.approx((1.0, 0.0), abs=1e-12)
    # Certain predictions, every contiguous part holding each class once: IS = K.
    confident = torch.eye(k)[torch.arange(100) % k]
    mean, std = inception_score(confident.numpy(), splits=10)
    assert mean == pytest.approx(k, rel=1e-12) and std == pytest.approx(0.0, abs=1e-9)
    # Certain but only two classes used: IS = 2.
    two = torch.eye(k)[torch.arange(40) % 2]
    assert inception_score(two, splits=4)[0] == pytest.approx(2.0, rel=1e-12)
    # Parts of different quality give a spread.
    mixed = torch.cat([torch.eye(k)[torch.arange(10) % k], torch.full((10, k), 1.0 / k)])
    mean, std = inception_score(mixed, splits=2)
    assert mean == pytest.approx((k + 1) / 2) and std == pytest.approx((k - 1) / 2)


def test_inception_score_errors():
    with pytest.raises(UserError, match="at least 10 samples, got 9"):
        inception_score(torch.full((9, 10), 0.1), splits=10)
    with pytest.raises(ValueError, match="softmax"):
        inception_score(torch.randn(20, 10), splits=2)
    with pytest.raises(ValueError, match=r"\[N, K\]"):
        inception_score(torch.full((20,), 0.1), splits=2)


def test_digit_accuracy():
    labels = torch.tensor([0, 1, 2, 3])
    logits = torch.tensor([[5.0, 0, 0, 0], [0, 5.0, 0, 0], [0, 0, 0, 5.0], [0, 0, 0, 5.0]])
    assert digit_accuracy(logits, labels) == 0.75
    assert digit_accuracy(torch.softmax(logits, dim=1).numpy(), labels.numpy()) == 0.75
    with pytest.raises(ValueError, match="labels"):
        digit_accuracy(logits, labels[:3])
    with pytest.raises(ValueError, match="labels"):
        digit_accuracy(logits, labels.float())


@pytest.mark.parametrize(
    "metric", [waveform_mse, stft_ssim, log_spectral_distance], ids=lambda f: f.__name__
)
def test_shape_errors(metric):
    x = torch.zeros(2, 1, SAMPLES)
    with pytest.raises(ValueError, match="differ in shape"):
        metric(x, torch.zeros(2, 1, SAMPLES - 1))
    with pytest.raises(ValueError, match=r"\[N, 1, T\]"):
        metric(torch.zeros(2, SAMPLES), torch.zeros(2, SAMPLES))
    with pytest.raises(ValueError, match="floating point"):
        metric(torch.zeros(2, 1, SAMPLES, dtype=torch.int16), x)
