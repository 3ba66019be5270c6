"""Figures: image grids (PNG) and training curves, written atomically."""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid

from ganinv.atomic import atomic_path


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map generator output in [-1, 1] (float NCHW) to uint8 [0, 255], rounding."""
    return ((images.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)


def save_image_grid(
    images: np.ndarray | torch.Tensor,
    path: str | os.PathLike,
    nrow: int = 8,
    padding: int = 2,
    upscale: int = 1,
) -> None:
    """Save uint8 NCHW images as one PNG grid (``upscale`` > 1 enlarges pixels for viewing)."""
    tensor = torch.as_tensor(np.asarray(images))
    if tensor.dtype != torch.uint8 or tensor.ndim != 4:
        raise ValueError(f"expected uint8 NCHW images, got {tensor.dtype} {tuple(tensor.shape)}")
    if upscale > 1:
        tensor = tensor.repeat_interleave(upscale, dim=2).repeat_interleave(upscale, dim=3)
    grid = make_grid(tensor, nrow=nrow, padding=padding, pad_value=255)
    array = grid.permute(1, 2, 0).numpy()
    with atomic_path(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")


def plot_gan_training(
    loss_csv: str | os.PathLike, quality_csv: str | os.PathLike, out_png: str | os.PathLike
) -> None:
    """Two panels: discriminator/generator losses, and the sliced Wasserstein distance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    losses = pd.read_csv(loss_csv)
    quality = pd.read_csv(quality_csv)
    fig, (ax_loss, ax_swd) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for column, label in (("d_loss", "discriminator"), ("g_loss", "generator")):
        ax_loss.plot(losses["step"], losses[column], label=label, linewidth=0.8)
    # Training logs the last step of every stage, so these are the exact stage boundaries.
    stage_ends = losses.groupby("stage")["step"].max().sort_index().to_numpy()[:-1]
    for axis in (ax_loss, ax_swd):
        for end in stage_ends:
            axis.axvline(end, color="grey", linewidth=0.5, linestyle=":")
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("WGAN-GP loss")
    ax_loss.set_title("ProGAN losses (dotted: new resolution stage)")
    ax_loss.legend()
    ax_swd.plot(quality["step"], quality["swd_mean"], marker="o")
    ax_swd.set_xlabel("step")
    ax_swd.set_ylabel("SWD x 1e3 (mean over pyramid levels)")
    ax_swd.set_title("Sliced Wasserstein distance to real faces (lower is better)")
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
