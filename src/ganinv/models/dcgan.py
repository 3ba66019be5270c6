"""DCGAN generator (Radford et al. 2016) in the layout of the PyTorch DCGAN tutorial, 64 px.

The architecture of the tutorial's ``Generator`` (``nz`` -> ``z_dim``, ``ngf`` -> ``channels``,
``nc`` -> ``image_channels``), kept as an ``nn.Sequential`` named ``main`` with the tutorial's
indices so that a tutorial state dict loads key for key:

* ``main.0``: ConvTranspose2d(z_dim, 8c, 4, stride 1, padding 0, no bias) -> 8c x 4 x 4
* ``main.1``, ``main.2``: BatchNorm2d(8c), ReLU
* ``main.3``, ``main.6``, ``main.9``: ConvTranspose2d(4, stride 2, padding 1, no bias), widths
  8c -> 4c -> 2c -> c, resolution 8, 16, 32 px, each followed by BatchNorm2d and ReLU
  (``main.4``/``5``, ``main.7``/``8``, ``main.10``/``11``)
* ``main.12``: ConvTranspose2d(c, image_channels, 4, 2, 1, no bias) -> 64 x 64
* ``main.13``: Tanh: images in [-1, 1]

z ~ N(0, 1) (prior "normal"), fed to the first convolution as it is (no normalisation).

The generator is only ever used pretrained: its batch norms always normalise with their
running statistics (the tutorial model's eval-mode function), in ``train()`` mode too, so a
generator that some caller leaves in training mode still computes the same images, and a
gradient w.r.t. z (inversion) never depends on the other images of the batch.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ganinv.runtime import check_int

__all__ = ["Generator", "RunningStatsBatchNorm2d", "RESOLUTION", "N_UPSAMPLINGS"]

RESOLUTION = 64
N_UPSAMPLINGS = 4  # 4 px -> 64 px, one x2 transposed convolution each
KERNEL = 4


class RunningStatsBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` that always normalises with its running statistics (never updates them).

    Same parameters and buffers (hence state-dict keys) as ``nn.BatchNorm2d``.
    """

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
        )


class Generator(nn.Module):
    """Tutorial DCGAN generator: z [N, z_dim] (or [N, z_dim, 1, 1]) -> image [N, C, 64, 64]."""

    def __init__(self, *, z_dim: int = 100, channels: int = 64, image_channels: int = 3) -> None:
        super().__init__()
        check_int("z_dim", z_dim, error=ValueError)
        check_int("channels", channels, error=ValueError)
        check_int("image_channels", image_channels, error=ValueError)
        self.z_dim = int(z_dim)
        self.channels = int(channels)
        self.image_channels = int(image_channels)
        self.resolution = RESOLUTION

        widths = [self.channels * 2 ** (N_UPSAMPLINGS - 1 - i) for i in range(N_UPSAMPLINGS)]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(self.z_dim, widths[0], KERNEL, 1, 0, bias=False),
            RunningStatsBatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        for width_in, width_out in zip(widths[:-1], widths[1:], strict=True):
            layers += [
                nn.ConvTranspose2d(width_in, width_out, KERNEL, 2, 1, bias=False),
                RunningStatsBatchNorm2d(width_out),
                nn.ReLU(),
            ]
        layers += [
            nn.ConvTranspose2d(widths[-1], self.image_channels, KERNEL, 2, 1, bias=False),
            nn.Tanh(),
        ]
        self.main = nn.Sequential(*layers)

    @property
    def config(self) -> dict:
        """Constructor kwargs, enough to rebuild the module."""
        return {
            "z_dim": self.z_dim,
            "channels": self.channels,
            "image_channels": self.image_channels,
        }

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() == 4 and z.shape[2:] == (1, 1):
            z = z.flatten(1)
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(
                f"z must have shape [N, {self.z_dim}] or [N, {self.z_dim}, 1, 1], "
                f"got {tuple(z.shape)}"
            )
        return self.main(z[:, :, None, None])
