"""Image tensors: uint8 pixels <-> the networks' [-1, 1] floats, and PNG grids (atomic)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ganinv.atomic import atomic_path

# torch is imported by the functions: a job that only converts pixels (or only writes tables)
# does not pay torchvision's import.
if TYPE_CHECKING:
    import torch  # ~2 s to import: grids of uint8 arrays and PNG writers do not need it


def from_uint8(images: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """Map uint8 images [0, 255] to float32 in [-1, 1] (the networks' range), on ``device``."""
    import torch  # ~2 s to import: grids of uint8 arrays and PNG writers do not need it

    return images.to(device=device, dtype=torch.float32).div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map generator output in [-1, 1] (float NCHW) to uint8 [0, 255], rounding."""
    import torch  # ~2 s to import: grids of uint8 arrays and PNG writers do not need it

    return ((images.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)


def save_image_grid(
    images: np.ndarray | torch.Tensor,
    path: str | os.PathLike,
    nrow: int = 8,
    padding: int = 2,
    upscale: int = 1,
) -> None:
    """Save uint8 NCHW images as one PNG grid (``upscale`` > 1 enlarges pixels for viewing)."""
    import torch
    from torchvision.utils import make_grid  # ~2 s to import: only steps that draw grids pay it

    tensor = torch.as_tensor(np.asarray(images))
    if tensor.dtype != torch.uint8 or tensor.ndim != 4:
        raise ValueError(f"expected uint8 NCHW images, got {tensor.dtype} {tuple(tensor.shape)}")
    if upscale > 1:
        tensor = tensor.repeat_interleave(upscale, dim=2).repeat_interleave(upscale, dim=3)
    grid = make_grid(tensor, nrow=nrow, padding=padding, pad_value=255)
    array = grid.permute(1, 2, 0).numpy()
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
