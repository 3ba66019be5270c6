"""Faces of the pretrained 64 px DCGAN (the packaged tutorial generator): test images."""

from __future__ import annotations

import torch

from ganinv.models.dcgan_tutorial import load_dcgan_tutorial_generator
from ganinv.weights import REGISTRY, check_package_file


def dcgan_faces(n: int) -> torch.Tensor:
    """``n`` faces of the pretrained DCGAN, uint8 NCHW (test images for the evaluators)."""
    generator, _ = load_dcgan_tutorial_generator(check_package_file(REGISTRY["dcgan_digiface"]))
    with torch.no_grad():
        x = generator(torch.randn(n, 100, generator=torch.Generator().manual_seed(0)))
    return ((x + 1) * 127.5).round().clamp(0, 255).byte()
