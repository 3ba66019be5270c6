"""Draw latents from a prior, run a generator, write z and uint8 images to HDF5."""

from __future__ import annotations

import logging
import os
import time

import numpy as np
import torch

from ganinv.data.h5io import H5Writer, base_provenance
from ganinv.models.files import load_model
from ganinv.plots import to_uint8
from ganinv.progress import progress
from ganinv.runtime import UserError, device_description, file_sha256, params_hash

log = logging.getLogger("ganinv")

PRIORS = ("normal", "uniform")


def draw_latents(n: int, z_dim: int, prior: str, seed: int) -> torch.Tensor:
    """``n`` latents from N(0, 1) ('normal', ProGAN) or U[-1, 1] ('uniform', WaveGAN), on CPU.

    The draw depends only on (n, z_dim, prior, seed), not on batch size or device.
    """
    rng = torch.Generator().manual_seed(int(seed))
    if prior == "normal":
        return torch.randn(n, z_dim, generator=rng)
    if prior == "uniform":
        return torch.rand(n, z_dim, generator=rng).mul_(2.0).sub_(1.0)
    raise UserError(f"unknown latent prior '{prior}': use one of {', '.join(PRIORS)}")


def sample_to_h5(
    generator_path: str | os.PathLike,
    out_h5: str | os.PathLike,
    n: int,
    prior: str,
    seed: int,
    batch_size: int,
    device: torch.device,
) -> dict:
    """Write ``z`` float32 [n, z_dim] and ``images`` uint8 [n, 3, H, W] with provenance.

    Returns throughput figures (images/s overall and of the generator alone).
    """
    if n < 1 or batch_size < 1:
        raise UserError(f"sample: n ({n}) and batch_size ({batch_size}) must be at least 1")
    generator, meta = load_model(generator_path, "progan.Generator", device)
    z_dim, resolution = generator.z_dim, generator.resolution
    z = draw_latents(n, z_dim, prior, seed)
    params = {"n": n, "prior": prior, "seed": seed}
    attrs = base_provenance(
        kind="generated-images",
        generator="progan.Generator",
        generator_sha256=file_sha256(generator_path),
        config_hash=params_hash(params),
        z_dim=z_dim,
        resolution=resolution,
        device=device_description(device),
        **params,
    )
    started = time.perf_counter()
    generator_seconds = 0.0
    with H5Writer(out_h5, attrs) as writer:
        writer.put("z", z.numpy().astype(np.float32))
        writer.create("images", (n, 3, resolution, resolution), np.uint8)
        bar = progress(total=n, desc="sample")
        for start in range(0, n, batch_size):
            t0 = time.perf_counter()
            with torch.no_grad():
                images = to_uint8(generator(z[start : start + batch_size].to(device))).cpu()
            generator_seconds += time.perf_counter() - t0
            writer.write("images", start, images.numpy())
            bar.update(len(images))
        bar.close()
    total = time.perf_counter() - started
    summary = {
        "n": n,
        "seconds": total,
        "images_per_second": n / total,
        "generator_images_per_second": n / max(generator_seconds, 1e-9),
    }
    log.info("wrote %d samples to %s: %s", n, out_h5, summary)
    return summary
