"""Tests of the multi-scale sliced Wasserstein distance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganinv.metrics.swd import laplacian_pyramid, sliced_wasserstein


def _blobs(n: int, seed: int, size: int = 32) -> np.ndarray:
    """uint8 NCHW images of a few coloured Gaussian blobs: one fixed random distribution."""
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    imgs = np.zeros((n, 3, size, size), np.float32)
    for _ in range(4):
        cy, cx = r.random((2, n, 1, 1))
        s = 0.05 + 0.2 * r.random((n, 1, 1))
        col = r.random((n, 3, 1, 1))
        imgs += col * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s**2))[:, None]
    return (np.clip(imgs / 2, 0, 1) * 255).astype(np.uint8)


def _stripes(n: int, seed: int, size: int = 32) -> np.ndarray:
    r = np.random.default_rng(seed)
    xx = np.arange(size)[None, None, None, :]
    freq = 0.2 + r.random((n, 1, 1, 1))
    phase = r.random((n, 3, 1, 1)) * 6.28
    imgs = 0.5 + 0.5 * np.sin(freq * xx + phase) * np.ones((1, 1, size, 1))
    return (imgs * 255).astype(np.uint8)


def _textured(n: int, seed: int) -> np.ndarray:
    """Blobs plus fine-grained noise texture (the texture is part of the distribution)."""
    a = _blobs(n, seed).astype(np.float32)
    a += np.random.default_rng(seed + 100).normal(0, 12, a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


def _box_blur(x: np.ndarray) -> np.ndarray:
    f = x.astype(np.float32)
    out = f.copy()
    h, w = f.shape[-2:]
    out[:, :, 1:-1, 1:-1] = (
        sum(
            f[:, :, 1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        / 9
    )
    return out.round().astype(np.uint8)


KW = {"patches_per_image": 32, "n_directions": 64, "n_repeats": 2}


def test_identical_sets_zero_and_far_below_different_sets():
    a = _blobs(200, 1)
    same = sliced_wasserstein(a, a, **KW)
    other = sliced_wasserstein(a, _stripes(200, 2), **KW)
    assert all(v == pytest.approx(0.0, abs=1e-6) for v in same.values())
    assert all(v > 20.0 for v in other.values())


def test_degraded_set_farther_than_independent_sample():
    a = _blobs(300, 1)
    b = _blobs(300, 2)  # independent sample, same distribution
    rng = np.random.default_rng(5)
    noisy = np.clip(a + rng.normal(0, 8, a.shape), 0, 255).astype(np.uint8)
    base = sliced_wasserstein(a, b, **KW)
    d_noise = sliced_wasserstein(a, noisy, **KW)
    assert d_noise["swd_mean"] > 3 * base["swd_mean"]
    assert d_noise["swd_32"] > 5 * base["swd_32"]  # noise lives in the finest level

    t, u = _textured(300, 1), _textured(300, 2)
    base_t = sliced_wasserstein(t, u, **KW)
    d_blur = sliced_wasserstein(t, _box_blur(t), **KW)
    assert d_blur["swd_32"] > 3 * base_t["swd_32"]  # blur removes the fine texture


def test_deterministic_given_seed():
    a, b = _blobs(100, 1), _blobs(100, 2)
    r1 = sliced_wasserstein(a, b, seed=3, **KW)
    r2 = sliced_wasserstein(a, b, seed=3, **KW)
    r3 = sliced_wasserstein(a, b, seed=4, **KW)
    assert r1 == r2
    assert r1 != r3


def test_keys_per_resolution():
    a64, b64 = _blobs(20, 1, 64), _blobs(20, 2, 64)
    r64 = sliced_wasserstein(a64, b64, **KW)
    assert list(r64) == ["swd_64", "swd_32", "swd_16", "swd_mean"]
    assert r64["swd_mean"] == pytest.approx(
        np.mean([r64[k] for k in ("swd_64", "swd_32", "swd_16")])
    )
    r32 = sliced_wasserstein(a64[:, :, ::2, ::2], b64[:, :, ::2, ::2], **KW)
    assert list(r32) == ["swd_32", "swd_16", "swd_mean"]
    r8 = sliced_wasserstein(_blobs(20, 1, 8), _blobs(20, 2, 8), **KW)
    assert list(r8) == ["swd_8", "swd_mean"]
    assert all(np.isfinite(v) and v >= 0 for v in r64.values())


def test_input_conventions_and_unequal_sizes():
    a, b = _blobs(100, 1), _blobs(60, 2)
    ref = sliced_wasserstein(a, b, **KW)
    as_float = sliced_wasserstein(a.astype(np.float32) / 255, torch.from_numpy(b) / 255.0, **KW)
    minus_one = sliced_wasserstein(a.astype(np.float64) / 127.5 - 1, torch.from_numpy(b), **KW)
    for k in ref:
        assert as_float[k] == pytest.approx(ref[k], rel=1e-3, abs=1e-3)
        assert minus_one[k] == pytest.approx(ref[k], rel=1e-3, abs=1e-3)


def test_laplacian_pyramid_levels():
    x = np.random.default_rng(0).random((2, 3, 64, 64)).astype(np.float32)
    levels = laplacian_pyramid(x, 16)
    assert [lv.shape[-1] for lv in levels] == [64, 32, 16]
    const = np.full((1, 3, 32, 32), 0.7, np.float32)
    lap = laplacian_pyramid(const, 16)
    assert np.allclose(lap[0], 0, atol=1e-6) and np.allclose(lap[-1], 0.7, atol=1e-6)


def test_validation():
    a = _blobs(4, 1)
    with pytest.raises(ValueError):
        sliced_wasserstein(a, a[:, :, :16, :16])
    with pytest.raises(ValueError):
        sliced_wasserstein(a[0], a[0])
    with pytest.raises(ValueError):
        sliced_wasserstein(a.astype(np.int64), a)
    with pytest.raises(ValueError):
        sliced_wasserstein(a, a, n_directions=0)
    with pytest.raises(ValueError):
        sliced_wasserstein(a[:, :, :5, :5], a[:, :, :5, :5])
