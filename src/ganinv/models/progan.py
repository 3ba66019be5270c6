"""Progressive Growing GAN (Karras et al. 2018) generator and discriminator.

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
* Every layer uses the equalised learning rate (:mod:`ganinv.models.layers`): weights are stored
  as N(0, 1) and multiplied at run time by the He constant ``gain / sqrt(fan_in)``.
* The generator output is linear (no tanh), as in ProGAN; training images live in [-1, 1].
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ganinv.models.layers import (
    SQRT2,
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    progressive_stages,
)
from ganinv.runtime import check_int

__all__ = ["Generator", "Discriminator"]

LEAKY_SLOPE = 0.2


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------
def _leaky() -> nn.LeakyReLU:
    return nn.LeakyReLU(LEAKY_SLOPE)


def _upsample(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


def _downsample(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, kernel_size=2)


def _validate_architecture(resolution: int, channels: Sequence[int], image_channels: int) -> int:
    """Validate common arguments; return the number of stages."""
    n_stages = progressive_stages(resolution, list(channels))
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
