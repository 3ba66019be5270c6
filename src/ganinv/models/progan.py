"""Progressive Growing GAN (Karras et al. 2018) generator, discriminator and WGAN-GP losses.

The same code builds a tiny CPU model (e.g. 32 px, channels ``(128, 128, 64, 32)``) and the
128 px thesis generator (512-d z, channels ``(512, 512, 512, 512, 256, 128)``, the layout of
pytorch_GAN_zoo's CelebA PGAN).

Conventions
-----------
* ``channels[i]`` is the feature width at resolution ``4 * 2**i``; ``len(channels)`` equals
  ``n_stages = log2(resolution) - 1``.
* ``stage`` 0 is the 4x4 network, ``stage = n_stages - 1`` (or ``None``) the full resolution.
* During a fade-in (``alpha < 1``) the newest block is blended with the upsampled (generator)
  or downsampled (discriminator) path of the previous stage; ``alpha`` is ignored at stage 0.
* Every layer uses the equalised learning rate: weights are stored as N(0, 1) and multiplied at
  run time by the He constant ``gain / sqrt(fan_in)`` (attribute ``.scale``).
* The generator output is linear (no tanh), as in ProGAN; training images live in [-1, 1].
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganinv.runtime import check_int

__all__ = [
    "EqualizedConv2d",
    "EqualizedLinear",
    "PixelNorm",
    "MinibatchStdDev",
    "minibatch_stddev",
    "Generator",
    "Discriminator",
    "gradient_penalty",
    "discriminator_loss",
    "generator_loss",
    "count_parameters",
]

LEAKY_SLOPE = 0.2
SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------
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


def _leaky() -> nn.LeakyReLU:
    return nn.LeakyReLU(LEAKY_SLOPE)


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def _downsample(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, kernel_size=2)


# --------------------------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------------------------
def _validate_architecture(resolution: int, channels: Sequence[int], image_channels: int) -> int:
    """Validate common arguments; return the number of stages."""
    check_int("resolution", resolution, error=ValueError)
    if resolution < 4 or resolution > 1024 or resolution & (resolution - 1):
        raise ValueError(f"resolution must be a power of two in [4, 1024], got {resolution}")
    n_stages = int(math.log2(resolution)) - 1
    channels = list(channels)
    if len(channels) != n_stages:
        raise ValueError(
            f"len(channels) must be log2(resolution) - 1 = {n_stages} for resolution "
            f"{resolution} (one width per resolution 4, 8, ..., {resolution}), "
            f"got {len(channels)}: {channels}"
        )
    for i, c in enumerate(channels):
        check_int(f"channels[{i}]", c, error=ValueError)
    check_int("image_channels", image_channels, error=ValueError)
    return n_stages


class _ProgressiveMixin:
    n_stages: int

    def resolution_at(self, stage: int) -> int:
        """Image side length produced / consumed at ``stage`` (``4 * 2**stage``)."""
        return 4 * 2 ** self._check_stage(stage)

    def _check_stage(self, stage: int | None) -> int:
        if stage is None:
            return self.n_stages - 1
        if isinstance(stage, bool):
            raise ValueError(f"stage must be an int or None, got {stage!r}")
        try:
            stage = operator.index(stage)
        except TypeError:
            raise ValueError(f"stage must be an int or None, got {stage!r}") from None
        if not 0 <= stage < self.n_stages:
            raise ValueError(f"stage must be in [0, {self.n_stages - 1}], got {stage}")
        return stage

    @staticmethod
    def _check_alpha(alpha: float) -> float:
        alpha = float(alpha)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        return alpha


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------
class _GeneratorInput(nn.Module):
    """4x4 block: pixnorm(z) -> linear -> reshape -> leaky -> pixnorm -> conv3x3 -> leaky -> pn."""

    def __init__(self, z_dim: int, out_channels: int) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.pixnorm = PixelNorm()
        # gain sqrt(2)/4 as in the official ProGAN code (the dense layer feeds 16 pixels).
        self.dense = EqualizedLinear(z_dim, 16 * out_channels, gain=SQRT2 / 4)
        self.act = _leaky()
        self.conv = EqualizedConv2d(out_channels, out_channels, 3)

    def forward(self, z: Tensor) -> Tensor:
        h = self.dense(self.pixnorm(z)).view(z.shape[0], self.out_channels, 4, 4)
        h = self.pixnorm(self.act(h))
        return self.pixnorm(self.act(self.conv(h)))


class _GeneratorBlock(nn.Module):
    """upsample x2 -> conv3x3 -> leaky -> pixnorm -> conv3x3 -> leaky -> pixnorm."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(in_channels, out_channels, 3)
        self.conv1 = EqualizedConv2d(out_channels, out_channels, 3)
        self.act = _leaky()
        self.pixnorm = PixelNorm()

    def forward(self, x: Tensor) -> Tensor:
        h = self.pixnorm(self.act(self.conv0(_upsample(x))))
        return self.pixnorm(self.act(self.conv1(h)))


class Generator(_ProgressiveMixin, nn.Module):
    """ProGAN generator: z [N, z_dim] -> image [N, image_channels, R, R] (linear output)."""

    def __init__(
        self,
        resolution: int = 128,
        z_dim: int = 512,
        channels: Sequence[int] = (512, 512, 512, 512, 256, 128),
        image_channels: int = 3,
    ) -> None:
        super().__init__()
        self.n_stages = _validate_architecture(resolution, channels, image_channels)
        check_int("z_dim", z_dim, error=ValueError)
        self.resolution = resolution
        self.z_dim = z_dim
        self.channels = tuple(int(c) for c in channels)
        self.image_channels = image_channels

        self.input_block = _GeneratorInput(z_dim, self.channels[0])
        self.blocks = nn.ModuleList(
            [
                _GeneratorBlock(self.channels[i - 1], self.channels[i])
                for i in range(1, self.n_stages)
            ]
        )  # blocks[i - 1] produces resolution 4 * 2**i
        self.to_rgb = nn.ModuleList(
            [EqualizedConv2d(c, image_channels, 1, gain=1.0) for c in self.channels]
        )

    @property
    def config(self) -> dict:
        """Constructor kwargs, enough to rebuild the module."""
        return {
            "resolution": self.resolution,
            "z_dim": self.z_dim,
            "channels": list(self.channels),
            "image_channels": self.image_channels,
        }

    def forward(self, z: Tensor, stage: int | None = None, alpha: float = 1.0) -> Tensor:
        stage = self._check_stage(stage)
        alpha = self._check_alpha(alpha)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape [N, {self.z_dim}], got {tuple(z.shape)}")
        h = self.input_block(z)
        if stage == 0:
            return self.to_rgb[0](h)
        for i in range(1, stage):
            h = self.blocks[i - 1](h)
        new = self.to_rgb[stage](self.blocks[stage - 1](h))
        if alpha >= 1.0:
            return new
        old = _upsample(self.to_rgb[stage - 1](h))
        return alpha * new + (1.0 - alpha) * old


# --------------------------------------------------------------------------------------------
# Discriminator
# --------------------------------------------------------------------------------------------
class _FromRGB(nn.Module):
    def __init__(self, image_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = EqualizedConv2d(image_channels, out_channels, 1)
        self.act = _leaky()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.conv(x))


class _DiscriminatorBlock(nn.Module):
    """conv3x3 -> leaky -> conv3x3 -> leaky -> avgpool 2x."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualizedConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualizedConv2d(in_channels, out_channels, 3)
        self.act = _leaky()

    def forward(self, x: Tensor) -> Tensor:
        h = self.act(self.conv0(x))
        return _downsample(self.act(self.conv1(h)))


class _DiscriminatorOutput(nn.Module):
    """mbstd -> conv3x3 (C+1 -> C) -> leaky -> linear (16C -> C) -> leaky -> linear (C -> 1)."""

    def __init__(self, in_channels: int, mbstd_group_size: int) -> None:
        super().__init__()
        self.mbstd = MinibatchStdDev(mbstd_group_size)
        self.conv = EqualizedConv2d(in_channels + 1, in_channels, 3)
        self.dense0 = EqualizedLinear(16 * in_channels, in_channels)
        self.dense1 = EqualizedLinear(in_channels, 1, gain=1.0)
        self.act = _leaky()

    def forward(self, x: Tensor) -> Tensor:
        h = self.act(self.conv(self.mbstd(x)))
        h = self.act(self.dense0(h.flatten(1)))
        return self.dense1(h).squeeze(1)


class Discriminator(_ProgressiveMixin, nn.Module):
    """ProGAN discriminator (critic): image [N, C, r, r] at ``stage`` -> score [N]."""

    def __init__(
        self,
        resolution: int = 128,
        channels: Sequence[int] = (512, 512, 512, 512, 256, 128),
        image_channels: int = 3,
        mbstd_group_size: int = 4,
    ) -> None:
        super().__init__()
        self.n_stages = _validate_architecture(resolution, channels, image_channels)
        check_int("mbstd_group_size", mbstd_group_size, error=ValueError)
        self.resolution = resolution
        self.channels = tuple(int(c) for c in channels)
        self.image_channels = image_channels
        self.mbstd_group_size = mbstd_group_size

        self.from_rgb = nn.ModuleList([_FromRGB(image_channels, c) for c in self.channels])
        self.blocks = nn.ModuleList(
            [
                _DiscriminatorBlock(self.channels[i], self.channels[i - 1])
                for i in range(1, self.n_stages)
            ]
        )  # blocks[i - 1] consumes resolution 4 * 2**i and outputs 4 * 2**(i - 1)
        self.output_block = _DiscriminatorOutput(self.channels[0], mbstd_group_size)

    @property
    def config(self) -> dict:
        """Constructor kwargs, enough to rebuild the module."""
        return {
            "resolution": self.resolution,
            "channels": list(self.channels),
            "image_channels": self.image_channels,
            "mbstd_group_size": self.mbstd_group_size,
        }

    def forward(self, x: Tensor, stage: int | None = None, alpha: float = 1.0) -> Tensor:
        stage = self._check_stage(stage)
        alpha = self._check_alpha(alpha)
        res = self.resolution_at(stage)
        if x.dim() != 4 or x.shape[1] != self.image_channels or x.shape[-2:] != (res, res):
            raise ValueError(
                f"x must have shape [N, {self.image_channels}, {res}, {res}] at stage {stage}, "
                f"got {tuple(x.shape)}"
            )
        h = self.from_rgb[stage](x)
        if stage > 0:
            h = self.blocks[stage - 1](h)
            if alpha < 1.0:
                old = self.from_rgb[stage - 1](_downsample(x))
                h = alpha * h + (1.0 - alpha) * old
            for i in range(stage - 1, 0, -1):
                h = self.blocks[i - 1](h)
        return self.output_block(h)


# --------------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------------
def gradient_penalty(
    discriminator: Callable[..., Tensor],
    real: Tensor,
    fake: Tensor,
    stage: int | None,
    alpha: float,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP penalty: mean over the batch of (||grad_x D(x_hat)||_2 - 1)^2.

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per sample drawn from
    ``generator`` (a ``torch.Generator``; on its own device, then moved to ``real``'s device).
    The gradient is taken with ``create_graph=True`` so the penalty can be back-propagated into
    the discriminator's parameters. ``real`` and ``fake`` are detached.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake shapes differ: {tuple(real.shape)} vs {tuple(fake.shape)}")
    n = real.shape[0]
    shape = (n,) + (1,) * (real.dim() - 1)
    gen_device = generator.device if generator is not None else real.device
    eps = torch.rand(shape, generator=generator, device=gen_device, dtype=real.dtype)
    eps = eps.to(real.device)
    x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    scores = discriminator(x_hat, stage=stage, alpha=alpha)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.reshape(n, -1).norm(2, dim=1)
    return (norms - 1.0).pow(2).mean()


def discriminator_loss(
    d_real: Tensor, d_fake: Tensor, gp: Tensor, gp_weight: float = 10.0, drift: float = 0.001
) -> Tensor:
    """WGAN-GP critic loss with ProGAN's drift term.

    ``mean(d_fake) - mean(d_real) + gp_weight * gp + drift * mean(d_real^2)``.
    """
    return d_fake.mean() - d_real.mean() + gp_weight * gp + drift * d_real.pow(2).mean()


def generator_loss(d_fake: Tensor) -> Tensor:
    """WGAN generator loss ``-mean(d_fake)``."""
    return -d_fake.mean()


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of (optionally only trainable) parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
