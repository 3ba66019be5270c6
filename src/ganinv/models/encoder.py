"""The thesis's inverse mapper: torchvision ResNet-18 (from scratch) with a linear head to z.

Head (thesis): global average pool -> linear 2048 -> linear 1024 -> linear z_dim, no activations.
Inputs of any size are resized (bilinear) to ``input_size`` (thesis: 224).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ganinv.models.spectral import Spectral


class ResNetEncoder(nn.Module):
    """x in [-1, 1], [N, in_channels, H, W] -> predicted latent [N, z_dim]."""

    def __init__(
        self,
        z_dim: int,
        input_size: int = 224,
        in_channels: int = 3,
        hidden: Sequence[int] = (2048, 1024),
    ) -> None:
        super().__init__()
        if z_dim < 1 or input_size < 16 or in_channels < 1:
            raise ValueError(
                f"ResNetEncoder: need z_dim >= 1, input_size >= 16, in_channels >= 1 "
                f"(got {z_dim}, {input_size}, {in_channels})"
            )
        self.z_dim = int(z_dim)
        self.input_size = int(input_size)
        from torchvision.models import resnet18  # imported here: ~2 s, only steps that build one

        backbone = resnet18(weights=None)
        if in_channels != 3:
            backbone.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        backbone.fc = nn.Identity()  # keep the global average pool, drop the classifier
        self.backbone = backbone
        widths = [512, *[int(h) for h in hidden], self.z_dim]
        self.head = nn.Sequential(
            *[nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False
            )
        return self.head(self.backbone(x))


class AudioEncoder(nn.Module):
    """Waveform [N, 1, T] in [-1, 1] -> predicted latent [N, z_dim] (thesis chapter 3).

    The waveform becomes a time-frequency image (:class:`ganinv.models.spectral.Spectral`: STFT
    frame 256, hop 128; the thesis stacked the real part to 3 channels), which a
    :class:`ResNetEncoder` maps to z. ``input_size`` 129 keeps the 129 x 129 STFT of a 16384-sample
    clip as it is; other sizes resize it.
    """

    def __init__(
        self,
        z_dim: int = 100,
        representation: str = "real",
        input_size: int = 129,
        n_fft: int = 256,
        hop: int = 128,
        n_mels: int = 64,
        channels: int = 3,
        hidden: Sequence[int] = (2048, 1024),
    ) -> None:
        super().__init__()
        self.z_dim = int(z_dim)
        self.frontend = Spectral(
            kind=representation, n_fft=n_fft, hop=hop, n_mels=n_mels, channels=channels
        )
        self.resnet = ResNetEncoder(z_dim, input_size, in_channels=channels, hidden=hidden)

    def forward(self, x: Tensor) -> Tensor:
        return self.resnet(self.frontend(x))
