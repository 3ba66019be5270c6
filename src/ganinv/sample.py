"""Draw latents from a prior, run a generator, write z and the samples (images or audio) to HDF5."""

from __future__ import annotations

import logging
import os
import time

import numpy as np
import torch

from ganinv.data.h5io import H5Writer, base_provenance
from ganinv.images import to_uint8
from ganinv.models.files import load_model, read_model_file
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


# generator architecture -> (dataset name, HDF5 kind, converter from the generator's output)
SAMPLE_LAYOUTS = {
    "progan.Generator": ("images", "generated-images", lambda x: to_uint8(x)),
    "stylegan2.Generator": ("images", "generated-images", lambda x: to_uint8(x)),
    "dcgan.Generator": ("images", "generated-images", lambda x: to_uint8(x)),
    "wavegan.Generator": ("audio", "generated-audio", lambda x: x.float()),
}


def sample_to_h5(
    generator_path: str | os.PathLike,
    out_h5: str | os.PathLike,
    n: int,
    prior: str,
    seed: int,
    batch_size: int,
    device: torch.device,
) -> dict:
    """Write ``z`` float32 [n, z_dim] and the generated samples with provenance.

    A ProGAN, StyleGAN2 or DCGAN file gives ``images`` uint8 [n, 3, H, W]; a WaveGAN file gives
    ``audio`` float32 [n, 1, T] in [-1, 1]. Returns throughput figures (samples/s overall and of
    the generator alone).
    """
    if n < 1 or batch_size < 1:
        raise UserError(f"sample: n ({n}) and batch_size ({batch_size}) must be at least 1")
    architecture = read_model_file(generator_path)["architecture"]
    if architecture not in SAMPLE_LAYOUTS:
        raise UserError(
            f"{generator_path} holds a '{architecture}' model, not a generator "
            f"({', '.join(SAMPLE_LAYOUTS)})"
        )
    name, kind, convert = SAMPLE_LAYOUTS[architecture]
    generator, meta = load_model(generator_path, architecture, device)
    trained_prior = meta.get("prior")
    if trained_prior is not None and trained_prior != prior:
        log.warning(
            "%s was trained with z ~ %s but this set draws z ~ %s: set the sample set's prior to "
            "%s unless the mismatch is intended",
            generator_path, trained_prior, prior, trained_prior,
        )  # fmt: skip
    z_dim = generator.z_dim
    z = draw_latents(n, z_dim, prior, seed)
    params = {"n": n, "prior": prior, "seed": seed}
    with torch.no_grad():
        probe = convert(generator(z[:1].to(device))).cpu().numpy()
    shape_attrs = (
        {"resolution": generator.resolution} if name == "images" else {"samples": probe.shape[-1]}
    )
    attrs = base_provenance(
        kind=kind,
        generator=architecture,
        generator_sha256=file_sha256(generator_path),
        config_hash=params_hash(params),
        z_dim=z_dim,
        device=device_description(device),
        **shape_attrs,
        **params,
    )
    started = time.perf_counter()
    generator_seconds = 0.0
    with H5Writer(out_h5, attrs) as writer:
        writer.put("z", z.numpy().astype(np.float32))
        writer.create(name, (n, *probe.shape[1:]), probe.dtype)
        bar = progress(total=n, desc="sample")
        for start in range(0, n, batch_size):
            t0 = time.perf_counter()
            with torch.no_grad():
                samples = convert(generator(z[start : start + batch_size].to(device))).cpu()
            generator_seconds += time.perf_counter() - t0
            writer.write(name, start, samples.numpy())
            bar.update(len(samples))
        bar.close()
    total = time.perf_counter() - started
    summary = {
        "n": n,
        "seconds": total,
        "samples_per_second": n / total,
        "generator_samples_per_second": n / max(generator_seconds, 1e-9),
    }
    # The draw's parameters are logged: a removed temp() set can be told apart and drawn again.
    log.info("wrote %d samples (z ~ %s, seed %d) to %s: %s", n, prior, seed, out_h5, summary)
    return summary
