"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

The same code builds the tiny CPU model trained inside the workflow (e.g. 32 px, channels
``(128, 128, 64, 32)``) and the paper's 1024 px config-f generator::

    Generator(1024, 512, 512, 8, channels=[512, 512, 512, 512, 512, 256, 128, 64, 32])

Conventions
-----------
* ``channels[i]`` is the feature width at resolution ``4 * 2**i``, one entry per resolution
  4, 8, ..., R (``log2(R) - 1`` entries), as in :mod:`ganinv.models.progan` (both checked by
  :func:`ganinv.models.layers.progressive_stages`).
* Equalised learning rate everywhere: weights are stored as N(0, 1) (divided by the learning-rate
  multiplier in the mapping network) and scaled at run time by ``lr_mul / sqrt(fan_in)``;
  activations are leaky ReLU(0.2) times sqrt(2) (the gain lives in the activation, not the weight).
* Generator ("skip" architecture): a learned constant 4x4 input; per resolution a styled conv
  (upsampling x2 except at 4 px) and a styled conv, each with per-pixel noise (one learned
  strength per layer), bias and activation; a ToRGB (modulated 1x1 conv, no demodulation, bias)
  at every resolution whose output is added to the upsampled RGB of the previous resolution.
  The output is linear (no tanh); images live in [-1, 1].
* Upsampling is the paper's: in a styled conv a stride-2 transposed convolution followed by the
  [1, 3, 3, 1] FIR low-pass filter (gain 4); for the RGB skip path zero insertion followed by the
  same filter. Downsampling in the discriminator: FIR filter then a stride-2 convolution.
* Layer layout follows rosinality/stylegan2-pytorch so that its ``g_ema`` weights map one to one:
  ``conv1``/``to_rgb1`` at 4 px, then ``convs`` (pairs per resolution) and ``to_rgbs``; modulated
  weights are stored as ``[1, out, in, k, k]``; the noise strengths are scalars ``noise.weight``;
  the fixed evaluation noise images are buffers ``noise_const_<i>``.
* Noise: in training mode each styled conv draws a fresh noise image from the global torch RNG; in
  eval mode it uses its ``noise_const_<i>`` buffer (drawn once at construction with a fixed seed),
  so an eval-mode generator is a deterministic function of z.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganinv.models.layers import (
    SQRT2,
    EqualizedConv2d,
    PixelNorm,
    minibatch_stddev,
    progressive_stages,
)
from ganinv.runtime import check_int

__all__ = [
    "ScaledLinear",
    "MappingNetwork",
    "ModulatedConv2d",
    "modulate_weights",
    "NoiseInjection",
    "StyledConv",
    "ToRGB",
    "Generator",
    "Discriminator",
    "paper_channels",
    "d_logistic_loss",
    "g_nonsaturating_loss",
    "r1_penalty",
    "path_length_penalty",
]

LEAKY_SLOPE = 0.2
FIR = (1.0, 3.0, 3.0, 1.0)  # the paper's resampling filter (binomial, separable)
NOISE_SEED = 20200101  # seed of the fixed eval-mode noise images
W_AVG_BETA = 0.995  # decay of the tracked mean of w (truncation trick)


def _act(x: Tensor) -> Tensor:
    """Leaky ReLU(0.2) times sqrt(2) (StyleGAN2's gain-preserving activation)."""
    return F.leaky_relu(x, LEAKY_SLOPE) * SQRT2


def paper_channels(resolution: int) -> list[int]:
    """StyleGAN2 config-f widths: 512 up to 64 px, then halving (1024 px: 32)."""
    return [min(512, 2**15 // (4 * 2**i)) for i in range(int(math.log2(resolution)) - 1)]


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------
class ScaledLinear(nn.Module):
    """Equalised linear layer with a learning-rate multiplier ``lr_mul``.

    Parameters are stored divided by ``lr_mul`` and multiplied back at run time (weight by
    ``lr_mul / sqrt(in_features)``, bias by ``lr_mul``), so Adam's step on the effective values
    is ``lr * lr_mul``. ``bias_init`` is the effective initial bias; ``activation`` applies
    leaky ReLU(0.2) x sqrt(2).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        lr_mul: float = 1.0,
        bias_init: float = 0.0,
        activation: bool = False,
    ) -> None:
        super().__init__()
        check_int("in_features", in_features, error=ValueError)
        check_int("out_features", out_features, error=ValueError)
        if not lr_mul > 0:
            raise ValueError(f"lr_mul must be positive, got {lr_mul}")
        self.in_features, self.out_features = in_features, out_features
        self.lr_mul = float(lr_mul)
        self.activation = bool(activation)
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / self.lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / self.lr_mul))
        self.weight_gain = self.lr_mul / math.sqrt(in_features)

    def effective_weight(self) -> Tensor:
        """The weight the layer applies: ``weight * lr_mul / sqrt(in_features)``."""
        return self.weight * self.weight_gain

    def effective_bias(self) -> Tensor:
        """The bias the layer applies: ``bias * lr_mul``."""
        return self.bias * self.lr_mul

    def forward(self, x: Tensor) -> Tensor:
        out = F.linear(x, self.effective_weight(), self.effective_bias())
        return _act(out) if self.activation else out

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, lr_mul={self.lr_mul:.4g}, "
            f"activation={self.activation}"
        )


class MappingNetwork(nn.Module):
    """z [N, z_dim] -> w [N, w_dim]: pixel norm, then ``n_layers`` ScaledLinear + activation."""

    def __init__(self, z_dim: int, w_dim: int, n_layers: int, lr_mul: float = 0.01) -> None:
        super().__init__()
        check_int("n_layers", n_layers, error=ValueError)
        self.z_dim, self.w_dim = z_dim, w_dim
        self.pixnorm = PixelNorm()
        self.layers = nn.ModuleList(
            [
                ScaledLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=lr_mul, activation=True)
                for i in range(n_layers)
            ]
        )

    def forward(self, z: Tensor) -> Tensor:
        x = self.pixnorm(z)
        for layer in self.layers:
            x = layer(x)
        return x


def modulate_weights(
    weight: Tensor, styles: Tensor, demodulate: bool = True, eps: float = 1e-8
) -> Tensor:
    """Per-sample convolution weights of a modulated convolution.

    Args:
        weight: the (already scaled) shared weight ``[out, in, k, k]`` or ``[1, out, in, k, k]``.
        styles: one scale per input channel and sample, ``[B, in]``.
        demodulate: divide each sample's output filter by its L2 norm
            ``sqrt(sum_{in,k,k} w'^2 + eps)`` (unit norm per output channel).

    Returns:
        ``[B, out, in, k, k]`` with ``w'[b, o, i] = weight[o, i] * styles[b, i]``.
    """
    if weight.dim() == 5:
        weight = weight.squeeze(0)
    if weight.dim() != 4 or styles.dim() != 2 or styles.shape[1] != weight.shape[1]:
        raise ValueError(
            f"weight [out, in, k, k] and styles [B, in] do not fit: {tuple(weight.shape)}, "
            f"{tuple(styles.shape)}"
        )
    coef = styles[:, None, :].expand(-1, weight.shape[0], -1)  # [B, out, in]
    if demodulate:
        # sum_{i,k,k} (W[o,i] s[b,i])^2 = sum_i s[b,i]^2 sum_{k,k} W[o,i]^2: a [B,in]@[in,out]
        # product instead of a pass over the [B, out, in, k, k] tensor.
        norms = styles.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t()
        coef = coef * torch.rsqrt(norms + eps)[:, :, None]
    return weight.unsqueeze(0) * coef[..., None, None]


class _Blur(nn.Module):
    """Depthwise FIR filter [1, 3, 3, 1] (outer product, normalised, times ``gain``), padded."""

    def __init__(self, pad: tuple[int, int], gain: float = 1.0) -> None:
        super().__init__()
        taps = torch.tensor(FIR)
        kernel = torch.outer(taps, taps)
        self.register_buffer("kernel", kernel / kernel.sum() * gain, persistent=False)
        self.pad = pad

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        x = F.pad(x, [self.pad[0], self.pad[1], self.pad[0], self.pad[1]])
        kernel = self.kernel.to(x.dtype).expand(c, 1, *self.kernel.shape)
        return F.conv2d(x, kernel, groups=c)


class _UpsampleFIR(nn.Module):
    """x2 upsampling of the RGB skip path: zero insertion, then the FIR filter with gain 4."""

    def __init__(self) -> None:
        super().__init__()
        self.blur = _Blur(pad=(2, 1), gain=4.0)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        up = F.pad(x.reshape(b, c, h, 1, w, 1), [0, 1, 0, 0, 0, 1]).reshape(b, c, 2 * h, 2 * w)
        return self.blur(up)


class ModulatedConv2d(nn.Module):
    """Modulated convolution: style from w, weight (de)modulation, one grouped conv over the batch.

    ``forward(x [B, in, H, W], w [B, w_dim]) -> [B, out, H', W']`` with ``H' = 2H`` when
    ``upsample`` (stride-2 transposed conv + FIR blur), else ``H``. The affine style layer
    (``modulation``) starts with bias 1, so every style starts near 1.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        w_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        for name, value in (("in_ch", in_ch), ("out_ch", out_ch), ("kernel", kernel)):
            check_int(name, value, error=ValueError)
        self.in_ch, self.out_ch, self.kernel = in_ch, out_ch, kernel
        self.demodulate, self.upsample, self.eps = bool(demodulate), bool(upsample), eps
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.weight = nn.Parameter(torch.randn(1, out_ch, in_ch, kernel, kernel))
        self.modulation = ScaledLinear(w_dim, in_ch, bias_init=1.0)
        if upsample:
            p = (len(FIR) - 2) - (kernel - 1)
            self.blur = _Blur(pad=((p + 1) // 2 + 1, p // 2 + 1), gain=4.0)

    def per_sample_weights(self, w: Tensor) -> Tensor:
        """``[B, out, in, k, k]``: the weights this layer applies to each sample of ``w``."""
        return modulate_weights(
            self.weight * self.scale, self.modulation(w), self.demodulate, self.eps
        )

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        b, _, h, width = x.shape
        weights = self.per_sample_weights(w)
        k = self.kernel
        x = x.reshape(1, b * self.in_ch, h, width)
        if self.upsample:
            weights = weights.transpose(1, 2).reshape(b * self.in_ch, self.out_ch, k, k)
            out = F.conv_transpose2d(x, weights, stride=2, groups=b)
            return self.blur(out.reshape(b, self.out_ch, *out.shape[-2:]))
        weights = weights.reshape(b * self.out_ch, self.in_ch, k, k)
        out = F.conv2d(x, weights, padding=k // 2, groups=b)
        return out.reshape(b, self.out_ch, h, width)

    def extra_repr(self) -> str:
        return (
            f"{self.in_ch}, {self.out_ch}, kernel={self.kernel}, demodulate={self.demodulate}, "
            f"upsample={self.upsample}"
        )


class NoiseInjection(nn.Module):
    """Adds ``weight * noise`` (one learned scalar strength, initially 0) to a feature map."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor, noise: Tensor | None = None) -> Tensor:
        if noise is None:  # fresh noise from the global torch RNG
            noise = torch.randn(x.shape[0], 1, *x.shape[-2:], device=x.device, dtype=x.dtype)
        return x + self.weight * noise


class StyledConv(nn.Module):
    """Modulated 3x3 conv (optionally upsampling) -> noise -> bias -> leaky ReLU x sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim, demodulate=True, upsample=upsample)
        self.noise = NoiseInjection()
        self.bias = nn.Parameter(torch.zeros(out_ch))

    def forward(self, x: Tensor, w: Tensor, noise: Tensor | None = None) -> Tensor:
        out = self.noise(self.conv(x, w), noise)
        return _act(out + self.bias.view(1, -1, 1, 1))


class ToRGB(nn.Module):
    """Modulated 1x1 conv to RGB (no demodulation) + bias, plus the upsampled previous RGB."""

    def __init__(self, in_ch: int, w_dim: int, upsample: bool = True) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, 3, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))
        self.upsample = _UpsampleFIR() if upsample else None

    def forward(self, x: Tensor, w: Tensor, skip: Tensor | None = None) -> Tensor:
        out = self.conv(x, w) + self.bias
        if skip is not None:
            out = out + self.upsample(skip)
        return out


# --------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------
class Generator(nn.Module):
    """StyleGAN2 generator: z [N, z_dim] -> image [N, 3, R, R] (linear output, about [-1, 1])."""

    def __init__(
        self,
        resolution: int = 1024,
        z_dim: int = 512,
        w_dim: int = 512,
        mapping_layers: int = 8,
        channels: Sequence[int] | None = None,
        mapping_lr_mul: float = 0.01,
    ) -> None:
        super().__init__()
        channels = paper_channels(resolution) if channels is None else list(channels)
        self.n_res = progressive_stages(resolution, channels)
        for name, value in (("z_dim", z_dim), ("w_dim", w_dim)):
            check_int(name, value, error=ValueError)
        self.resolution, self.z_dim, self.w_dim = resolution, z_dim, w_dim
        self.mapping_layers, self.mapping_lr_mul = mapping_layers, float(mapping_lr_mul)
        self.channels = tuple(int(c) for c in channels)

        self.mapping_network = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul)
        self.const = nn.Parameter(torch.randn(1, self.channels[0], 4, 4))
        self.conv1 = StyledConv(self.channels[0], self.channels[0], w_dim)
        self.to_rgb1 = ToRGB(self.channels[0], w_dim, upsample=False)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        for i in range(1, self.n_res):
            self.convs.append(StyledConv(self.channels[i - 1], self.channels[i], w_dim, True))
            self.convs.append(StyledConv(self.channels[i], self.channels[i], w_dim))
            self.to_rgbs.append(ToRGB(self.channels[i], w_dim))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        rng = torch.Generator().manual_seed(NOISE_SEED)
        for i in range(self.num_noise_layers):
            size = 4 * 2 ** ((i + 1) // 2)
            self.register_buffer(f"noise_const_{i}", torch.randn(1, 1, size, size, generator=rng))

    @property
    def config(self) -> dict:
        """Constructor kwargs, enough to rebuild the module."""
        return {
            "resolution": self.resolution,
            "z_dim": self.z_dim,
            "w_dim": self.w_dim,
            "mapping_layers": self.mapping_layers,
            "channels": list(self.channels),
            "mapping_lr_mul": self.mapping_lr_mul,
        }

    @property
    def num_ws(self) -> int:
        """Number of w vectors the synthesis network consumes (W+): ``2 * log2(R) - 2``."""
        return 2 * self.n_res

    @property
    def num_noise_layers(self) -> int:
        """Number of styled convs (each with its noise input)."""
        return 2 * self.n_res - 1

    def mapping(self, z: Tensor, truncation_psi: float = 1.0) -> Tensor:
        """w [N, w_dim] for z [N, z_dim], optionally truncated towards ``w_avg``."""
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape [N, {self.z_dim}], got {tuple(z.shape)}")
        w = self.mapping_network(z)
        if truncation_psi != 1.0:
            w = torch.lerp(self.w_avg.to(w.dtype), w, float(truncation_psi))
        return w

    def _noise(self, i: int) -> Tensor | None:
        return None if self.training else getattr(self, f"noise_const_{i}")

    def synthesis(self, w: Tensor) -> Tensor:
        """Images from w ``[N, w_dim]`` (same w for every layer) or W+ ``[N, num_ws, w_dim]``."""
        if w.dim() == 2 and w.shape[1] == self.w_dim:
            w = w.unsqueeze(1).expand(-1, self.num_ws, -1)
        if w.dim() != 3 or w.shape[1:] != (self.num_ws, self.w_dim):
            raise ValueError(
                f"w must have shape [N, {self.w_dim}] or [N, {self.num_ws}, {self.w_dim}], "
                f"got {tuple(w.shape)}"
            )
        x = self.const.expand(w.shape[0], -1, -1, -1)
        x = self.conv1(x, w[:, 0], self._noise(0))
        rgb = self.to_rgb1(x, w[:, 1])
        for r, to_rgb in enumerate(self.to_rgbs):
            i = 2 * r + 1  # index of the upsampling conv (noise layer) and of its w
            x = self.convs[2 * r](x, w[:, i], self._noise(i))
            x = self.convs[2 * r + 1](x, w[:, i + 1], self._noise(i + 1))
            rgb = to_rgb(x, w[:, i + 2], rgb)
        return rgb

    @torch.no_grad()
    def update_w_avg(self, w: Tensor, beta: float = W_AVG_BETA) -> None:
        """Move the tracked mean of w towards this batch's mean (decay ``beta``)."""
        self.w_avg.lerp_(w.detach().mean(dim=0).to(self.w_avg.dtype), 1.0 - beta)

    def forward(self, z: Tensor, truncation_psi: float = 1.0) -> Tensor:
        """Images [N, 3, R, R] for z [N, z_dim]; in training mode also tracks ``w_avg``."""
        w = self.mapping(z)
        if self.training:
            self.update_w_avg(w)
        if truncation_psi != 1.0:
            w = torch.lerp(self.w_avg.to(w.dtype), w, float(truncation_psi))
        return self.synthesis(w)


# --------------------------------------------------------------------------------------------
# Discriminator
# --------------------------------------------------------------------------------------------
class _ConvLayer(nn.Module):
    """[FIR blur ->] equalised conv (stride 2 when downsampling) [-> leaky ReLU x sqrt(2)]."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        downsample: bool = False,
        activate: bool = True,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.conv = EqualizedConv2d(
            in_ch, out_ch, kernel, padding=0 if downsample else kernel // 2, gain=1.0, bias=bias
        )
        self.activate = activate
        self.blur = None
        if downsample:
            p = (len(FIR) - 2) + (kernel - 1)
            self.blur = _Blur(pad=((p + 1) // 2, p // 2))

    def forward(self, x: Tensor) -> Tensor:
        if self.blur is None:
            out = self.conv(x)
        else:
            conv = self.conv
            out = F.conv2d(self.blur(x), conv.weight * conv.scale, conv.bias, stride=2)
        return _act(out) if self.activate else out


class _ResBlock(nn.Module):
    """conv3x3 -> conv3x3 (downsampling), plus a 1x1 downsampling skip; sum / sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = _ConvLayer(in_ch, in_ch, 3)
        self.conv2 = _ConvLayer(in_ch, out_ch, 3, downsample=True)
        self.skip = _ConvLayer(in_ch, out_ch, 1, downsample=True, activate=False, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / SQRT2


class Discriminator(nn.Module):
    """StyleGAN2 residual discriminator: image [N, 3, R, R] -> one logit per image [N]."""

    def __init__(
        self,
        resolution: int = 1024,
        channels: Sequence[int] | None = None,
        mbstd_group_size: int = 4,
    ) -> None:
        super().__init__()
        channels = paper_channels(resolution) if channels is None else list(channels)
        self.n_res = progressive_stages(resolution, channels)
        check_int("mbstd_group_size", mbstd_group_size, error=ValueError)
        self.resolution, self.mbstd_group_size = resolution, mbstd_group_size
        self.channels = tuple(int(c) for c in channels)
        self.from_rgb = _ConvLayer(3, self.channels[-1], 1)
        self.blocks = nn.ModuleList(
            [
                _ResBlock(self.channels[i], self.channels[i - 1])
                for i in range(self.n_res - 1, 0, -1)
            ]
        )
        c = self.channels[0]
        self.final_conv = _ConvLayer(c + 1, c, 3)
        self.final_linear = ScaledLinear(16 * c, c, activation=True)
        self.out = ScaledLinear(c, 1)

    @property
    def config(self) -> dict:
        """Constructor kwargs, enough to rebuild the module."""
        return {
            "resolution": self.resolution,
            "channels": list(self.channels),
            "mbstd_group_size": self.mbstd_group_size,
        }

    def forward(self, x: Tensor) -> Tensor:
        r = self.resolution
        if x.dim() != 4 or x.shape[1:] != (3, r, r):
            raise ValueError(f"x must have shape [N, 3, {r}, {r}], got {tuple(x.shape)}")
        h = self.from_rgb(x)
        for block in self.blocks:
            h = block(h)
        h = self.final_conv(minibatch_stddev(h, self.mbstd_group_size))
        return self.out(self.final_linear(h.flatten(1))).squeeze(1)


# --------------------------------------------------------------------------------------------
# Losses and regularisers
# --------------------------------------------------------------------------------------------
def d_logistic_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator logistic loss ``mean(softplus(D(fake))) + mean(softplus(-D(real)))``."""
    return F.softplus(fake_logits).mean() + F.softplus(-real_logits).mean()


def g_nonsaturating_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss ``mean(softplus(-D(G(z))))``."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(discriminator: Callable[[Tensor], Tensor], real_images: Tensor) -> Tensor:
    """R1: mean over the batch of ``||grad_x D(x)||^2`` at the real images.

    The gradient is taken with ``create_graph=True``, so the result back-propagates into the
    discriminator's parameters. ``real_images`` is detached first.
    """
    x = real_images.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
    return grad.pow(2).reshape(len(x), -1).sum(dim=1).mean()


def path_length_penalty(
    images: Tensor,
    ws: Tensor,
    mean_path_length: Tensor | float,
    decay: float = 0.01,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Path-length regulariser of StyleGAN2.

    ``images`` must have been synthesised from ``ws`` ``[N, num_ws, w_dim]`` (with grad). With
    ``y ~ N(0, I) / sqrt(H W)`` (drawn from ``generator``), the path length of sample ``i`` is
    ``a_i = sqrt(mean_layers(sum_w (J_i^T y)^2))``; the running mean ``m`` moves by ``decay``
    towards ``mean(a)``. Returns ``(mean((a - m)^2), m (detached), mean(a) (detached))``; the
    caller keeps ``m`` between calls (start at 0).
    """
    n, _, h, w = images.shape
    gen_device = generator.device if generator is not None else images.device
    noise = torch.randn(images.shape, generator=generator, device=gen_device, dtype=images.dtype)
    noise = noise.to(images.device) / math.sqrt(h * w)
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    lengths = grad.pow(2).sum(dim=2).mean(dim=1).sqrt()
    mean = torch.as_tensor(mean_path_length, dtype=lengths.dtype, device=lengths.device)
    mean = (mean + decay * (lengths.mean().detach() - mean)).detach()
    return (lengths - mean).pow(2).mean(), mean, lengths.mean().detach()
