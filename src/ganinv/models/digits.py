"""The spoken-digit classifier: a small ResNet on an STFT representation of the waveform.

It plays two roles in the audio chapter, as in the thesis (there a ResNet-18 on the real part of
the STFT, frame 256, hop 128, stacked to 3 channels; 95.41 % validation accuracy on SC09):

* the perceptual network of the audio inversion losses: :meth:`DigitClassifier.features` returns
  the four stage activations, so :func:`ganinv.losses.perceptual_distance` (mean over
  stages of the activation MSE) works on it unchanged;
* separately seeded, the evaluation network of Inception Score and digit accuracy
  (:meth:`DigitClassifier.probabilities`).

Waveforms enter as float ``[N, 1, T]`` in ``[-1, 1]`` (16 kHz; T = 16384 in the workflow).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganinv.models.spectral import Spectral
from ganinv.runtime import UserError, check_int

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _stage(inplanes: int, planes: int, stride: int, blocks: int) -> nn.Sequential:
    from torchvision.models.resnet import BasicBlock  # ~2 s to import: only when built

    downsample = None
    if stride != 1 or inplanes != planes:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(planes),
        )
    layers = [BasicBlock(inplanes, planes, stride=stride, downsample=downsample)]
    layers += [BasicBlock(planes, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class DigitClassifier(nn.Module):
    """Spectral front end -> stem -> four BasicBlock stages -> global average pool -> linear.

    Stem: 3x3 convolution, stride 2, batch norm, ReLU, then 3x3 max pooling, stride 2 (the
    ResNet stem with a smaller kernel). Stages: ``blocks[i]`` BasicBlocks of widths ``w, 2w, 4w,
    8w`` and strides 1, 2, 2, 2, so the stage outputs lie at 1/4, 1/8, 1/16 and 1/32 of the
    spectrogram (129 x 129 -> 33, 17, 9, 5). ``blocks=(2, 2, 2, 2)`` with ``width=64`` is the
    thesis's ResNet-18 trunk.
    """

    STRIDES = (1, 2, 2, 2)

    def __init__(
        self,
        representation: str = "real",
        width: int = 16,
        blocks: Sequence[int] = (1, 1, 1, 1),
        n_classes: int = 10,
        n_fft: int = 256,
        hop: int = 128,
        n_mels: int = 64,
        channels: int = 3,
    ):
        super().__init__()
        width = check_int("DigitClassifier: width", width)
        n_classes = check_int("DigitClassifier: n_classes", n_classes)
        blocks = tuple(blocks)
        if len(blocks) != 4:
            raise UserError(f"DigitClassifier: blocks must list 4 stage depths, got {blocks}")
        for depth in blocks:
            check_int("DigitClassifier: blocks[i]", depth)
        self.n_classes = n_classes
        self.front_end = Spectral(representation, n_fft, hop, n_mels, channels=channels)
        widths = [width * 2**i for i in range(4)]
        self.stem = nn.Sequential(
            nn.Conv2d(channels, widths[0], kernel_size=3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        stages, inplanes = [], widths[0]
        for planes, stride, depth in zip(widths, self.STRIDES, blocks, strict=True):
            stages.append(_stage(inplanes, planes, stride, depth))
            inplanes = planes
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(widths[-1], n_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def features(self, wave: torch.Tensor) -> list[torch.Tensor]:
        """The four stage activations (the layers of the audio perceptual loss)."""
        # Channels-last memory runs the CPU convolutions and max pooling ~1.5x faster than NCHW
        # (other kernels, so not bit-equal to an NCHW run, but just as deterministic).
        h = self.stem(self.front_end(wave).contiguous(memory_format=torch.channels_last))
        outputs = []
        for stage in self.stages:
            h = stage(h)
            outputs.append(h)
        return outputs

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """Class logits ``[N, n_classes]``."""
        return self.head(self.features(wave)[-1].mean(dim=(2, 3)))

    def probabilities(self, wave: torch.Tensor) -> torch.Tensor:
        """Softmax class probabilities ``[N, n_classes]`` (the Inception Score's p(y|x))."""
        return torch.softmax(self.forward(wave), dim=1)
