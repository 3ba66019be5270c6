"""A pretrained face network for the perceptual loss: the activations of MTCNN's ONet.

facenet-pytorch ships the weights of MTCNN's three networks inside its wheel
(``facenet_pytorch/data/onet.pt``), so this network is available offline. ONet (Zhang et al.
2016) is the last MTCNN stage: it sees a 48x48 face crop and classifies face / no face, refines
the box and places five landmarks, so its convolutional features describe face geometry and
appearance. It is used as the perceptual network of encoders trained on photoreal faces; it is
not the network that scores them (dlib's recogniser and Inception do that).
"""

from __future__ import annotations

import torch
from torch import nn

INPUT_SIZE = 48  # ONet's input side (MTCNN feeds it 48x48 crops)


class OnetFeatures(nn.Module):
    """Frozen ONet; :meth:`features` returns its four convolution stages' activations."""

    FEATURE_LAYERS = ("prelu1", "prelu2", "prelu3", "prelu4")

    def __init__(self) -> None:
        super().__init__()
        # facenet-pytorch imports torchvision (~2 s): only a built ONet pays it
        from facenet_pytorch.models.mtcnn import ONet

        self.net = ONet(pretrained=True)  # reads the weights file inside the installed wheel
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after each PReLU of the trunk, for faces ``x`` in [-1, 1] (any size).

        MTCNN scales pixels p to (p - 127.5) / 128, i.e. 127.5/128 of our [-1, 1] range.
        """
        h = nn.functional.interpolate(
            x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False,
            antialias=x.shape[-1] > INPUT_SIZE,
        ) * (127.5 / 128.0)  # fmt: skip
        outputs = []
        for name in ("conv1", "prelu1", "pool1", "conv2", "prelu2", "pool2", "conv3", "prelu3",
                     "pool3", "conv4", "prelu4"):  # fmt: skip
            h = getattr(self.net, name)(h)
            if name in self.FEATURE_LAYERS:
                outputs.append(h)
        return outputs

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.features(x)
