"""Per-image reconstruction metrics: PSNR and SSIM, batched with torch.

Input convention (both functions): two NCHW tensors (or arrays) of the same shape, either
floating point in [0, 1] or ``uint8`` in [0, 255] (divided by 255, so ``data_range`` stays 1).
The two inputs may mix these types. Results are one value per image, a float64 tensor of
shape [N] on the input's device; all arithmetic is done in float64.

``ssim`` reproduces ``skimage.metrics.structural_similarity(a, b, data_range=1, channel_axis=0,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` on each CHW image (Wang et
al. 2004): an 11-tap Gaussian window (sigma 1.5 truncated at 3.5 sigma, as scikit-image and
``scipy.ndimage`` do), K1 = 0.01, K2 = 0.03, population (co)variances, the SSIM map averaged
over the region at least 5 pixels from every border, then over channels. Because that region
is exactly where the window lies wholly inside the image, the border mode of scikit-image's
filter never matters and a "valid" convolution gives the same numbers (to ~1e-12, given
float64 inputs; scikit-image itself computes in float32 when given float32 arrays).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganinv.runtime import UserError

__all__ = ["psnr", "ssim", "SSIM_SIGMA", "SSIM_WINDOW"]

SSIM_SIGMA = 1.5
_SSIM_TRUNCATE = 3.5  # scikit-image's value for gaussian_weights=True
_SSIM_RADIUS = int(_SSIM_TRUNCATE * SSIM_SIGMA + 0.5)  # radius rule of scipy.ndimage
SSIM_WINDOW = 2 * _SSIM_RADIUS + 1  # 11: the smallest image side SSIM accepts
_K1 = 0.01
_K2 = 0.03


def _as_float64(images: Tensor | np.ndarray, name: str) -> Tensor:
    t = torch.as_tensor(images)
    if t.dim() != 4:
        raise ValueError(f"{name} must be NCHW (4-D), got shape {tuple(t.shape)}")
    if t.dtype == torch.uint8:
        return t.to(torch.float64) / 255.0
    if not t.is_floating_point():
        raise ValueError(f"{name} must be floating point in [0, 1] or uint8, got {t.dtype}")
    return t.to(torch.float64)


def _pair(x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> tuple[Tensor, Tensor]:
    a = _as_float64(x, "x")
    b = _as_float64(y, "y").to(a.device)
    if a.shape != b.shape:
        raise ValueError(f"x and y differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
    return a, b


def psnr(x: Tensor | np.ndarray, y: Tensor | np.ndarray, data_range: float = 1.0) -> Tensor:
    """Peak signal-to-noise ratio in dB per image: ``10 log10(data_range² / MSE)``.

    The MSE is taken over all channels and pixels of each image (as
    ``skimage.metrics.peak_signal_noise_ratio``). Identical images have MSE 0 and give
    ``+inf`` (no epsilon is added), so a mean over images containing an exact reconstruction
    is ``inf``: callers that average should decide how to treat that case.
    """
    a, b = _pair(x, y)
    mse = (a - b).square().flatten(1).mean(dim=1)
    return 10.0 * torch.log10(float(data_range) ** 2 / mse)  # mse == 0 -> +inf, no warning


def psnr_signed(reconstructions: Tensor, targets: Tensor) -> Tensor:
    """Per-image PSNR (dB) of generator-range images in [-1, 1], reconstructions clamped to it.

    Same definition as :func:`psnr` after mapping to [0, 1] (data range 1), computed in the
    inputs' dtype on their device and with the MSE floored at 1e-12, so that the per-iteration
    curves of an inversion stay finite and cheap.
    """
    diff = (reconstructions.clamp(-1, 1) - targets) / 2
    mse = diff.pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return -10.0 * torch.log10(mse)


def _gaussian_window(device: torch.device) -> Tensor:
    offsets = torch.arange(-_SSIM_RADIUS, _SSIM_RADIUS + 1, dtype=torch.float64, device=device)
    w = torch.exp(-0.5 / SSIM_SIGMA**2 * offsets.square())
    return w / w.sum()


def _filter_valid(x: Tensor, window: Tensor) -> Tensor:
    """Separable Gaussian filter of every channel of NCHW ``x``, 'valid' part only."""
    n, c, h, w = x.shape
    flat = x.reshape(n * c, 1, h, w)
    k = window.numel()
    flat = F.conv2d(flat, window.view(1, 1, k, 1))
    flat = F.conv2d(flat, window.view(1, 1, 1, k))
    return flat.view(n, c, h - k + 1, w - k + 1)


def ssim(x: Tensor | np.ndarray, y: Tensor | np.ndarray, data_range: float = 1.0) -> Tensor:
    """Structural similarity per image (Gaussian window, scikit-image conventions).

    See the module docstring for the exact definition. Images must be at least
    ``SSIM_WINDOW`` (11) pixels on each side, like scikit-image, which raises ``ValueError``
    for smaller ones; here that is a :class:`UserError` because image size comes from the
    configuration.
    """
    a, b = _pair(x, y)
    h, w = a.shape[-2:]
    if min(h, w) < SSIM_WINDOW:
        raise UserError(
            f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels "
            f"(Gaussian window sigma {SSIM_SIGMA}), got {h}x{w}"
        )
    window = _gaussian_window(a.device)
    mu_x = _filter_valid(a, window)
    mu_y = _filter_valid(b, window)
    var_x = _filter_valid(a * a, window) - mu_x * mu_x
    var_y = _filter_valid(b * b, window) - mu_y * mu_y
    cov = _filter_valid(a * b, window) - mu_x * mu_y
    c1 = (_K1 * data_range) ** 2
    c2 = (_K2 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x.square() + mu_y.square() + c1) * (var_x + var_y + c2)
    )
    # mean over the cropped map per channel, then over channels == mean over both
    return s.flatten(2).mean(dim=2).mean(dim=1)
