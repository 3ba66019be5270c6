"""Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, appendix D).

For each image set a Laplacian pyramid is built (5-tap binomial filter, reflect-101 borders,
as OpenCV's ``pyrDown``/``pyrUp``) from the input resolution down to ``min_resolution``; the
coarsest level is the low-pass residual. At every level ``patches_per_image`` random 7x7
neighbourhoods (all channels) are taken from each image, every channel of the descriptors is
standardised by its mean and standard deviation over that set, and the sliced Wasserstein
distance between the two descriptor sets is estimated with ``n_directions`` random unit
directions, repeated ``n_repeats`` times: project, sort, average the absolute differences.
Values are reported multiplied by 1e3, as in the ProGAN paper.

Input convention: NCHW arrays or tensors, either ``uint8`` in [0, 255] or floating point in
[0, 1]. Because descriptors are standardised per channel and per set, the result is invariant
to a positive per-channel affine rescaling of either set, so float images in [-1, 1] give the
same numbers as the same images in [0, 1] (up to float rounding).
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from ganinv.runtime import check_int

__all__ = ["sliced_wasserstein", "laplacian_pyramid"]

PATCH_SIZE = 7
_K = np.array([1.0, 4.0, 6.0, 4.0, 1.0], dtype=np.float32) / 16.0  # binomial filter


def _pad_reflect101(x: np.ndarray, axis: int, n: int) -> np.ndarray:
    width = [(0, 0)] * x.ndim
    width[axis] = (n, n)
    return np.pad(x, width, mode="reflect")


def _take(x: np.ndarray, axis: int, sl: slice) -> np.ndarray:
    index = [slice(None)] * x.ndim
    index[axis] = sl
    return x[tuple(index)]


def _down_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """Binomial blur along ``axis`` (reflect-101 border), keeping every second sample."""
    size = x.shape[axis]
    if size < 3:  # too small to reflect; nothing left to blur meaningfully
        return _take(x, axis, slice(0, None, 2)).copy()
    p = _pad_reflect101(x, axis, 2)
    out = _K[0] * _take(p, axis, slice(0, size, 2))
    for k in range(1, 5):
        out += _K[k] * _take(p, axis, slice(k, k + size, 2))
    return out


def _up_axis(y: np.ndarray, axis: int) -> np.ndarray:
    """Inverse of :func:`_down_axis` in the OpenCV ``pyrUp`` sense, written polyphase.

    Equivalent to inserting zeros between samples, padding reflect-101 and filtering with
    ``2 * K``: even outputs are ``(y[i-1] + 6 y[i] + y[i+1]) / 8``, odd outputs
    ``(y[i] + y[i+1]) / 2``, with ``y[-1] = y[1]`` and ``y[n] = y[n-1]``.
    """
    n = y.shape[axis]
    left = _take(y, axis, slice(1, 2) if n > 1 else slice(0, 1))
    p = np.concatenate([left, y, _take(y, axis, slice(n - 1, n))], axis=axis)
    centre = _take(p, axis, slice(1, n + 1))
    nxt = _take(p, axis, slice(2, n + 2))
    even = (_take(p, axis, slice(0, n)) + nxt) * np.float32(0.125) + centre * np.float32(0.75)
    odd = (centre + nxt) * np.float32(0.5)
    shape = list(y.shape)
    shape[axis] = 2 * n
    out = np.empty(shape, dtype=y.dtype)
    index = [slice(None)] * y.ndim
    index[axis] = slice(0, None, 2)
    out[tuple(index)] = even
    index[axis] = slice(1, None, 2)
    out[tuple(index)] = odd
    return out


def _pyr_down(x: np.ndarray) -> np.ndarray:
    return _down_axis(_down_axis(x, 2), 3)


def _pyr_up(x: np.ndarray) -> np.ndarray:
    return _up_axis(_up_axis(x, 2), 3)


def laplacian_pyramid(
    images: np.ndarray, min_resolution: int = 16, min_side: int = 1
) -> list[np.ndarray]:
    """Laplacian pyramid of float NCHW images, finest level first.

    The image is halved while its smaller side is larger than ``min_resolution``, both sides are
    even and the halved side is still at least ``min_side``; the last level is the Gaussian
    low-pass residual. Images no larger than ``min_resolution`` give a single level (the images
    themselves).
    """
    levels = []
    g = np.asarray(images, dtype=np.float32)
    while (
        min(g.shape[-2:]) > min_resolution
        and min(g.shape[-2:]) // 2 >= min_side
        and g.shape[-2] % 2 == 0
        and g.shape[-1] % 2 == 0
    ):
        down = _pyr_down(g)
        levels.append(g - _pyr_up(down))
        g = down
    levels.append(g)
    return levels


def _as_array(images: np.ndarray | Tensor, name: str) -> np.ndarray:
    """Validated NCHW numpy view of ``images`` (uint8 or float; converted chunk-wise later)."""
    if isinstance(images, Tensor):
        images = images.detach().cpu().numpy()
    x = np.asarray(images)
    if x.ndim != 4:
        raise ValueError(f"{name} must be NCHW (4-D), got shape {x.shape}")
    if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be uint8 or floating point, got {x.dtype}")
    if x.dtype != np.uint8 and not np.isfinite(x).all():
        raise ValueError(f"{name} contains non-finite values")
    return x


def _to_float(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    return x.astype(np.float32)


def _set_descriptors(
    images: np.ndarray,
    patches_per_image: int,
    min_resolution: int,
    rng: np.random.Generator,
    chunk: int = 256,
) -> tuple[list[tuple[int, int]], list[np.ndarray]]:
    """Standardised descriptors [N * P, C * 49] of every pyramid level of one image set.

    Patch positions are drawn level by level for the whole set (rows then columns), then the
    pyramid is built and sampled ``chunk`` images at a time to bound memory.
    """
    n = images.shape[0]
    shapes = [
        lv.shape[-2:] for lv in laplacian_pyramid(_to_float(images[:1]), min_resolution, PATCH_SIZE)
    ]
    positions = []
    for h, w in shapes:
        ys = rng.integers(0, h - PATCH_SIZE + 1, size=n * patches_per_image)
        xs = rng.integers(0, w - PATCH_SIZE + 1, size=n * patches_per_image)
        positions.append((ys, xs))
    parts: list[list[np.ndarray]] = [[] for _ in shapes]
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        pyr = laplacian_pyramid(_to_float(images[start:stop]), min_resolution, PATCH_SIZE)
        sl = slice(start * patches_per_image, stop * patches_per_image)
        for i, level in enumerate(pyr):
            ys, xs = positions[i]
            parts[i].append(_descriptors(level, patches_per_image, ys[sl], xs[sl]))
    return shapes, [_standardise(np.concatenate(p)) for p in parts]


def _descriptors(level: np.ndarray, patches_per_image: int, ys: np.ndarray, xs: np.ndarray):
    """7x7 neighbourhoods [N * P, C, 7, 7] of one pyramid level [N, C, H, W] at (ys, xs)."""
    n = level.shape[0]
    idx = np.repeat(np.arange(n), patches_per_image)
    offs = np.arange(PATCH_SIZE)
    rows = (ys[:, None] + offs)[:, :, None]  # [M, 7, 1]
    cols = (xs[:, None] + offs)[:, None, :]  # [M, 1, 7]
    patches = level[idx[:, None, None], :, rows, cols]  # [M, 7, 7, C]
    return np.ascontiguousarray(patches.transpose(0, 3, 1, 2))


def _standardise(desc: np.ndarray) -> np.ndarray:
    """Per-channel standardisation over all descriptors and pixels; flatten to [M, C*49]."""
    mean = desc.mean(axis=(0, 2, 3), keepdims=True, dtype=np.float64)
    std = desc.std(axis=(0, 2, 3), keepdims=True, dtype=np.float64)
    scale = (1.0 / np.maximum(std, 1e-8)).astype(np.float32)
    return ((desc - mean.astype(np.float32)) * scale).reshape(len(desc), -1)


def _swd(a: np.ndarray, b: np.ndarray, n_directions: int, n_repeats: int, rng):
    """Mean over repeats of the sliced Wasserstein-1 distance along random unit directions."""
    results = []
    for _ in range(n_repeats):
        dirs = rng.standard_normal((a.shape[1], n_directions))
        dirs = (dirs / np.linalg.norm(dirs, axis=0, keepdims=True)).astype(np.float32)
        pa = dirs.T @ a.T  # [D, M] with contiguous rows: numpy sorts these fast
        pb = dirs.T @ b.T
        pa.sort(axis=1)
        pb.sort(axis=1)
        np.subtract(pa, pb, out=pa)
        np.abs(pa, out=pa)
        results.append(float(pa.mean()))  # float32 pairwise summation
    return float(np.mean(results))


def sliced_wasserstein(
    real: np.ndarray | Tensor,
    fake: np.ndarray | Tensor,
    seed: int = 0,
    patches_per_image: int = 64,
    n_directions: int = 128,
    n_repeats: int = 4,
    min_resolution: int = 16,
) -> dict[str, float]:
    """Multi-scale sliced Wasserstein distance between two image sets (x 1e3).

    Args:
        real, fake: NCHW images, ``uint8`` in [0, 255] or float in [0, 1] (see module doc).
            They must share C, H and W; N may differ, in which case the larger descriptor set
            is randomly subsampled to the size of the smaller one at every level.
        seed: seeds numpy Generators for patch positions, subsampling and directions; the
            result is deterministic given the seed. Both sets draw positions from identically
            seeded streams (common random numbers: equal-size sets are sampled at the same
            positions, which lowers the variance and makes identical sets give exactly 0); the
            positions used for one set never depend on the other set's content.
        patches_per_image: 7x7 neighbourhoods drawn per image and pyramid level.
        n_directions, n_repeats: random unit projection directions per repeat; the distance
            is averaged over repeats.
        min_resolution: the pyramid stops at the first level whose side is <= this (or
            earlier, where halving would leave less than 7 pixels).

    Returns:
        ``{"swd_<res>": value, ..., "swd_mean": mean over levels}``, finest level first, with
        ``<res>`` the level's side (``<h>x<w>`` for non-square images).
    """
    for name, v in (
        ("patches_per_image", patches_per_image),
        ("n_directions", n_directions),
        ("n_repeats", n_repeats),
        ("min_resolution", min_resolution),
    ):
        check_int(name, v, error=ValueError)
    a = _as_array(real, "real")
    b = _as_array(fake, "fake")
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"real and fake must share C, H, W; got {tuple(a.shape)} and {tuple(b.shape)}"
        )
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise ValueError("real and fake must each contain at least one image")
    if min(a.shape[-2:]) < PATCH_SIZE:
        raise ValueError(f"images must be at least {PATCH_SIZE}x{PATCH_SIZE}, got {a.shape[-2:]}")

    ss = np.random.SeedSequence(seed)
    pos_seed, common_seed = ss.spawn(2)
    # Both sets draw patch positions from identically seeded streams (common random numbers):
    # equal-size sets are sampled at the same positions, so identical sets give exactly 0.
    shapes, desc_a = _set_descriptors(
        a, patches_per_image, min_resolution, np.random.default_rng(pos_seed)
    )
    _, desc_b = _set_descriptors(
        b, patches_per_image, min_resolution, np.random.default_rng(pos_seed)
    )
    rng_common = np.random.default_rng(common_seed)

    out: dict[str, float] = {}
    for (h, w), da, db in zip(shapes, desc_a, desc_b, strict=True):
        m = min(len(da), len(db))
        if len(da) > m:
            da = da[np.sort(rng_common.choice(len(da), m, replace=False))]
        if len(db) > m:
            db = db[np.sort(rng_common.choice(len(db), m, replace=False))]
        key = f"swd_{h}" if h == w else f"swd_{h}x{w}"
        out[key] = 1e3 * _swd(da, db, n_directions, n_repeats, rng_common)
    out["swd_mean"] = float(np.mean(list(out.values())))
    return out
