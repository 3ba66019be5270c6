"""Latent-space and embedding metrics of an inversion: how close is ẑ to the true z?

ProGAN's generator pixel-normalises its input latent (``z / sqrt(mean(z²) + 1e-8)``), so only
the direction of z matters to the image; :func:`latent_mae` therefore compares normalised
latents by default. All functions take [N, ...] tensors (or arrays; any trailing shape, e.g.
[N, D] or [N, D, 1, 1]), compare row by row and return a float64 tensor [N].
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

__all__ = ["normalize_latent", "latent_mae", "latent_cosine", "embedding_cosine"]

PIXEL_NORM_EPS = 1e-8


def normalize_latent(z: Tensor | np.ndarray) -> Tensor:
    """ProGAN's pixel norm of z over dim 1: ``z / sqrt(mean(z², dim=1) + 1e-8)``.

    Keeps the input's dtype (floating point) and shape.
    """
    z = torch.as_tensor(z)
    if not z.is_floating_point():
        z = z.to(torch.get_default_dtype())
    return z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + PIXEL_NORM_EPS)


def _rows(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> tuple[Tensor, Tensor]:
    x = torch.as_tensor(a).to(torch.float64)
    y = torch.as_tensor(b).to(device=x.device, dtype=torch.float64)
    if x.shape != y.shape or x.dim() < 2:
        raise ValueError(
            f"expected two [N, ...] tensors of equal shape, got {tuple(x.shape)} "
            f"and {tuple(y.shape)}"
        )
    return x.flatten(1), y.flatten(1)


def latent_mae(
    z_hat: Tensor | np.ndarray, z: Tensor | np.ndarray, normalize: bool = True
) -> Tensor:
    """Mean absolute error per row between ẑ and z, after pixel norm when ``normalize``.

    With ``normalize`` the value is (up to the 1e-8 epsilon) invariant to positive scaling
    of either latent: ``latent_mae(3 * z, z) ≈ 0``.
    """
    x, y = _rows(z_hat, z)
    if normalize:
        x, y = normalize_latent(x), normalize_latent(y)
    return (x - y).abs().mean(dim=1)


def latent_cosine(z_hat: Tensor | np.ndarray, z: Tensor | np.ndarray) -> Tensor:
    """Cosine similarity per row between ẑ and z (1 parallel, -1 opposite)."""
    return embedding_cosine(z_hat, z)


def embedding_cosine(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> Tensor:
    """Row-wise cosine similarity of two embedding batches (e.g. face-recognition features).

    A zero row gives 0 (torch's ``cosine_similarity`` clamps the norm at 1e-8).
    """
    x, y = _rows(a, b)
    return torch.nn.functional.cosine_similarity(x, y, dim=1, eps=1e-8)
