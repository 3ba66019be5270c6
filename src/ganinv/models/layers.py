"""Layers the GANs share: equalised-learning-rate convolution and linear layers, pixel norm,
the minibatch standard-deviation feature, the check of a progressive architecture's widths, and a
parameter count.

Used by the ProGAN (:mod:`ganinv.models.progan`) and StyleGAN2 (:mod:`ganinv.models.stylegan2`)
generators and discriminators. An equalised layer stores its weights as N(0, 1) and multiplies
them at run time by the He constant ``gain / sqrt(fan_in)`` (attribute ``.scale``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganinv.runtime import check_int

__all__ = [
    "SQRT2",
    "EqualizedConv2d",
    "EqualizedLinear",
    "PixelNorm",
    "MinibatchStdDev",
    "minibatch_stddev",
    "progressive_stages",
    "count_parameters",
]

SQRT2 = math.sqrt(2.0)


class EqualizedConv2d(nn.Module):
    """2-D convolution with equalised learning rate (weights N(0,1) scaled by ``.scale``)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        padding: int | None = None,
        gain: float = SQRT2,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_int("in_channels", in_channels, error=ValueError)
        check_int("out_channels", out_channels, error=ValueError)
        check_int("kernel_size", kernel_size, error=ValueError)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.padding = kernel_size // 2 if padding is None else padding
        self.gain = float(gain)
        fan_in = in_channels * kernel_size * kernel_size
        self.scale = self.gain / math.sqrt(fan_in)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"padding={self.padding}, gain={self.gain:.4g}, scale={self.scale:.4g}"
        )


class EqualizedLinear(nn.Module):
    """Fully connected layer with equalised learning rate (weights N(0,1) scaled by ``.scale``)."""

    def __init__(
        self, in_features: int, out_features: int, gain: float = SQRT2, bias: bool = True
    ) -> None:
        super().__init__()
        check_int("in_features", in_features, error=ValueError)
        check_int("out_features", out_features, error=ValueError)
        self.in_features = in_features
        self.out_features = out_features
        self.gain = float(gain)
        self.scale = self.gain / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, gain={self.gain:.4g}, scale={self.scale:.4g}"
        )


class PixelNorm(nn.Module):
    """Normalise each feature vector (dim 1) to unit mean square: x / sqrt(mean(x^2) + eps)."""

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)


def minibatch_stddev(x: Tensor, group_size: int = 4, eps: float = 1e-8) -> Tensor:
    """Append the minibatch standard-deviation feature map (one extra channel).

    Samples are split into ``M = max(1, N // G)`` groups with ``G = min(group_size, N)``, sample
    ``i`` belonging to group ``i % M`` (the strided grouping of the official implementation).
    When ``N`` is divisible by ``G`` every group has exactly ``G`` members, as in the paper;
    otherwise the ``N % G`` leftover samples join the first groups, so group sizes differ by at
    most one and every group has at least ``G`` members (never a degenerate group of one).
    For each group the (biased) standard deviation of every feature over the group members is
    averaged over channels and pixels; the scalar is broadcast to an ``H x W`` map for each
    member of the group.
    """
    n, c, h, w = x.shape
    g = max(1, min(group_size, n))
    m = max(1, n // g)
    flat = x.reshape(n, c * h * w)
    if n % m == 0:  # equal-size groups: fast reshape path
        grouped = flat.reshape(n // m, m, c * h * w)  # [G', M, F], sample i -> group i % M
        var = (grouped - grouped.mean(dim=0, keepdim=True)).pow(2).mean(dim=0)  # [M, F]
        std = torch.sqrt(var + eps).mean(dim=1)  # [M]
        per_sample = std.repeat(n // m)  # sample i -> std[i % M]
    else:
        group_id = torch.arange(n, device=x.device) % m
        onehot = F.one_hot(group_id, m).to(flat.dtype)  # [N, M]
        counts = onehot.sum(dim=0)  # [M]
        mean = (onehot.t() @ flat) / counts[:, None]  # [M, F]
        diff2 = (flat - mean[group_id]).pow(2)
        var = (onehot.t() @ diff2) / counts[:, None]
        std = torch.sqrt(var + eps).mean(dim=1)  # [M]
        per_sample = std[group_id]
    feat = per_sample.to(x.dtype).view(n, 1, 1, 1).expand(n, 1, h, w)
    return torch.cat([x, feat], dim=1)


class MinibatchStdDev(nn.Module):
    """Module wrapper of :func:`minibatch_stddev`."""

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        check_int("group_size", group_size, error=ValueError)
        self.group_size = group_size

    def forward(self, x: Tensor) -> Tensor:
        return minibatch_stddev(x, self.group_size)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


def progressive_stages(resolution: int, channels: Sequence[int]) -> int:
    """Check a power-of-two ``resolution`` with one width per resolution 4, 8, ..., R; return
    their number ``log2(R) - 1``."""
    check_int("resolution", resolution, error=ValueError)
    if resolution < 4 or resolution > 1024 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two in [4, 1024], got {resolution}")
    n_stages = int(math.log2(resolution)) - 1
    if len(channels) != n_stages:
        raise ValueError(
            f"len(channels) must be log2(resolution) - 1 = {n_stages} for resolution "
            f"{resolution} (one width per resolution 4, 8, ..., {resolution}), "
            f"got {len(channels)}: {list(channels)}"
        )
    for i, c in enumerate(channels):
        check_int(f"channels[{i}]", c, error=ValueError)
    return n_stages


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of (optionally only trainable) parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
