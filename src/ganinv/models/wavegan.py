"""WaveGAN (Donahue, McAuley & Puckette 2019): 1-D DCGAN for 16384-sample (~1 s at 16 kHz) audio.

The same code builds the paper-size model (``d=64``) and the small CPU model of the embedded
default (``d`` of 8..16). Neither network uses batch normalisation, so every output depends on its
own input only.

* Generator: z ~ U[-1, 1]^z_dim -> dense -> [16d, 16] -> ReLU -> five transposed convolutions
  (kernel 25, stride 4) 16d -> 8d -> 4d -> 2d -> d -> channels with ReLU between and tanh at the
  end: [N, channels, 16384]. Options for imported models: ``upsample="nearest"`` replaces each
  transposed convolution by nearest-neighbour upsampling x4 and a stride-1 convolution with
  ``kernel_size // 2`` zeros of padding on each side (the paper's alternative); ``prior="normal"``
  draws z ~ N(0, 1) instead.
* Discriminator: five convolutions (kernel 25, stride 4) channels -> d -> 2d -> 4d -> 8d -> 16d,
  LeakyReLU(0.2), phase shuffle after each of the first four; flatten [16d * 16] -> linear -> 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganinv.runtime import check_int

__all__ = [
    "Generator",
    "Discriminator",
    "init_glorot",
    "phase_shuffle",
    "OUTPUT_SAMPLES",
    "SAMPLE_RATE",
]

OUTPUT_SAMPLES = 16384
SAMPLE_RATE = 16000
STRIDE = 4
N_LAYERS = 5
INITIAL_LENGTH = OUTPUT_SAMPLES // STRIDE**N_LAYERS  # 16
UPSAMPLE_MODES = ("transposed", "nearest")
PRIORS = ("uniform", "normal")


def _check_kernel(kernel_size: object) -> int:
    check_int("wavegan: kernel_size", kernel_size, minimum=STRIDE + 1, error=ValueError)
    if kernel_size % 2 == 0:
        raise ValueError(f"wavegan: kernel_size must be odd, got {kernel_size}")
    return int(kernel_size)


def init_glorot(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases for every conv and linear layer (the initialisers
    of the paper's TensorFlow layers; PyTorch's defaults start the critic with tiny gradients)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)


def phase_shuffle(x: Tensor, rad: int, generator: torch.Generator | None = None) -> Tensor:
    """Shift each sample of ``x`` [N, C, L] in time by its own random integer k in [-rad, rad].

    ``out[n, :, t] = x[n, :, t - k_n]``; the samples shifted in at the edge are the reflection of
    the signal (``x[k - t]`` on the left, like ``F.pad(..., mode="reflect")``), so the length
    is kept. ``rad=0`` returns ``x`` unchanged. The shifts come from ``generator`` (on its own
    device; default: the global RNG), so a seeded generator gives the same shuffle every time.
    """
    rad = check_int("wavegan: rad", rad, minimum=0, error=ValueError)
    if rad == 0:
        return x
    n, _, length = x.shape
    if rad >= length:
        raise ValueError(f"phase_shuffle: rad {rad} must be smaller than the length {length}")
    gen_device = generator.device if generator is not None else torch.device("cpu")
    shifts = torch.randint(-rad, rad + 1, (n,), generator=generator, device=gen_device)
    shifts = shifts.to(x.device)
    padded = F.pad(x, (rad, rad), mode="reflect")
    index = torch.arange(length, device=x.device)[None, :] + (rad - shifts)[:, None]
    return torch.gather(padded, 2, index[:, None, :].expand(-1, x.shape[1], -1))


class Generator(nn.Module):
    """WaveGAN generator: z [N, z_dim] -> audio [N, channels, 16384] in [-1, 1].

    ``upsample``: "transposed" (default; ``convs`` are ConvTranspose1d, weights [in, out, k]) or
    "nearest" (x4 nearest upsampling, then Conv1d, weights [out, in, k]); the state-dict keys are
    the same. ``prior``: "uniform" (default, U[-1, 1]) or "normal" (N(0, 1)), used by
    :meth:`sample_z`. Both appear in :attr:`config` only when they differ from the default.
    """

    prior = "uniform"  # the default; an instance built with prior="normal" overrides it
    output_samples = OUTPUT_SAMPLES

    def __init__(
        self,
        z_dim: int = 100,
        d: int = 64,
        channels: int = 1,
        kernel_size: int = 25,
        upsample: str = "transposed",
        prior: str = "uniform",
    ) -> None:
        super().__init__()
        self.z_dim = check_int("wavegan: z_dim", z_dim, minimum=1, error=ValueError)
        self.d = check_int("wavegan: d", d, minimum=1, error=ValueError)
        self.channels = check_int("wavegan: channels", channels, minimum=1, error=ValueError)
        self.kernel_size = _check_kernel(kernel_size)
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"wavegan: upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        if prior not in PRIORS:
            raise ValueError(f"wavegan: prior must be one of {PRIORS}, got {prior!r}")
        self.upsample = upsample
        self.prior = prior
        self.dense = nn.Linear(z_dim, INITIAL_LENGTH * 16 * d)
        widths = [16 * d, 8 * d, 4 * d, 2 * d, d, channels]
        pairs = zip(widths[:-1], widths[1:], strict=True)
        if upsample == "transposed":
            padding = (kernel_size - STRIDE + 1) // 2  # 11 for kernel 25: output length x4 exactly
            self.convs = nn.ModuleList(
                nn.ConvTranspose1d(a, b, kernel_size, STRIDE, padding=padding, output_padding=1)
                for a, b in pairs
            )
        else:  # odd kernel, kernel // 2 zeros each side: the length of the upsampled input
            self.convs = nn.ModuleList(
                nn.Conv1d(a, b, kernel_size, padding=kernel_size // 2) for a, b in pairs
            )
        init_glorot(self)

    @property
    def config(self) -> dict:
        """Constructor kwargs, enough to rebuild the module."""
        config = {
            "z_dim": self.z_dim,
            "d": self.d,
            "channels": self.channels,
            "kernel_size": self.kernel_size,
        }
        if self.upsample != "transposed":
            config["upsample"] = self.upsample
        if self.prior != "uniform":
            config["prior"] = self.prior
        return config

    def sample_z(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | None = None
    ) -> Tensor:
        """``n`` latents from the prior, U[-1, 1]^z_dim or N(0, 1)^z_dim (drawn on the CPU, moved
        to ``device``)."""
        if self.prior == "normal":
            z = torch.randn(n, self.z_dim, generator=generator)
        else:
            z = torch.rand(n, self.z_dim, generator=generator) * 2.0 - 1.0
        return z.to(device) if device is not None else z

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape [N, {self.z_dim}], got {tuple(z.shape)}")
        h = F.relu(self.dense(z).view(z.shape[0], 16 * self.d, INITIAL_LENGTH))
        for i, conv in enumerate(self.convs):
            if self.upsample == "nearest":
                h = F.interpolate(h, scale_factor=STRIDE, mode="nearest")
            h = conv(h)
            h = torch.tanh(h) if i == len(self.convs) - 1 else F.relu(h)
        return h


class Discriminator(nn.Module):
    """WaveGAN critic: audio [N, channels, 16384] -> score [N, 1] (unbounded, WGAN)."""

    def __init__(
        self,
        d: int = 64,
        channels: int = 1,
        kernel_size: int = 25,
        phase_shuffle: int = 2,
        leaky: float = 0.2,
    ) -> None:
        super().__init__()
        self.d = check_int("wavegan: d", d, minimum=1, error=ValueError)
        self.channels = check_int("wavegan: channels", channels, minimum=1, error=ValueError)
        self.kernel_size = _check_kernel(kernel_size)
        self.phase_shuffle = check_int(
            "wavegan: phase_shuffle", phase_shuffle, minimum=0, error=ValueError
        )
        if isinstance(leaky, bool) or not isinstance(leaky, (int, float)) or not 0 <= leaky < 1:
            raise ValueError(f"wavegan: leaky must be a slope in [0, 1), got {leaky!r}")
        self.leaky = float(leaky)
        widths = [channels, d, 2 * d, 4 * d, 8 * d, 16 * d]
        padding = (kernel_size - STRIDE + 1) // 2
        self.convs = nn.ModuleList(
            nn.Conv1d(a, b, kernel_size, stride=STRIDE, padding=padding)
            for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.linear = nn.Linear(16 * d * INITIAL_LENGTH, 1)
        init_glorot(self)

    @property
    def config(self) -> dict:
        """Constructor kwargs, enough to rebuild the module."""
        return {
            "d": self.d,
            "channels": self.channels,
            "kernel_size": self.kernel_size,
            "phase_shuffle": self.phase_shuffle,
            "leaky": self.leaky,
        }

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Scores of ``x``; ``generator`` draws the phase-shuffle shifts (reproducible runs)."""
        if x.dim() != 3 or x.shape[1:] != (self.channels, OUTPUT_SAMPLES):
            raise ValueError(
                f"x must have shape [N, {self.channels}, {OUTPUT_SAMPLES}], got {tuple(x.shape)}"
            )
        h = x
        for i, conv in enumerate(self.convs):
            h = F.leaky_relu(conv(h), self.leaky)
            if i < len(self.convs) - 1:
                h = phase_shuffle(h, self.phase_shuffle, generator)
        return self.linear(h.flatten(1))
