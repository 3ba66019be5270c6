"""Progressive-growing WGAN-GP training of the ProGAN generator on an HDF5 image set.

Schedule: stage s (resolution 4·2^s) runs ``stage_steps[s]`` optimiser steps; every stage after the
first spends its first ``fade_fraction`` of steps fading the new layers in (alpha 0 → 1, real images
blended the same way), the rest stable. One discriminator step and one generator step per step,
an exponential moving average of the generator (the model that is saved and sampled), checkpoints
every ``checkpoint_every`` steps, sliced Wasserstein distance against the real images every
``eval_every`` steps and at the end of each stage.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganinv.atomic import atomic_path
from ganinv.curves import read_curve_column
from ganinv.data.h5io import check_images, read_h5
from ganinv.images import from_uint8, save_image_grid, to_uint8
from ganinv.metrics.swd import sliced_wasserstein
from ganinv.models.files import save_model
from ganinv.models.progan import Discriminator, Generator
from ganinv.progress import progress
from ganinv.runtime import UserError, check_number, device_description, seed_everything
from ganinv.train.ema import update_ema
from ganinv.train.run import TrainingRun, config_hash, gpu_memory
from ganinv.train.wgan_gp import discriminator_loss, generator_loss, gradient_penalty

log = logging.getLogger("ganinv")

LOSS_COLUMNS = (
    "step",
    "stage",
    "resolution",
    "alpha",
    "d_loss",
    "g_loss",
    "gp",
    "d_real",
    "d_fake",
    "seconds",
)


@dataclass(frozen=True)
class ProGANTraining:
    """Every hyperparameter of a ProGAN training run (the thesis generator: 128 px, z 512)."""

    resolution: int
    z_dim: int = 512
    channels: Sequence[int] = (512, 512, 512, 512, 256, 128)
    mbstd_group_size: int = 4
    batch_size: int = 32
    stage_steps: Sequence[int] = (1000,) * 6
    fade_fraction: float = 0.5
    lr: float = 0.001
    betas: Sequence[float] = (0.0, 0.99)
    gp_weight: float = 10.0
    drift: float = 0.001
    ema_beta: float = 0.999
    checkpoint_every: int = 200
    eval_every: int = 500
    eval_images: int = 500
    log_every: int = 10
    grid_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        n_stages = len(self.channels)
        if 4 * 2 ** (n_stages - 1) != self.resolution:
            raise UserError(
                f"progan: {n_stages} channel widths give {4 * 2 ** (n_stages - 1)} px, but the "
                f"resolution is {self.resolution} px; give log2(resolution)-1 = "
                f"{int(np.log2(self.resolution)) - 1} channel widths"
            )
        if len(self.stage_steps) != n_stages:
            raise UserError(
                f"progan: stage_steps has {len(self.stage_steps)} entries but the generator has "
                f"{n_stages} stages (4 px .. {self.resolution} px): give one per stage"
            )
        check_number("progan.fade_fraction", self.fade_fraction, minimum=0, below=1)

    @property
    def total_steps(self) -> int:
        return int(sum(self.stage_steps))

    def schedule(self, step: int) -> tuple[int, float]:
        """(stage, alpha) used at global step ``step`` (0-based)."""
        start = 0
        for stage, steps in enumerate(self.stage_steps):
            if step < start + steps:
                fade = 0 if stage == 0 else int(round(self.fade_fraction * steps))
                into = step - start
                alpha = 1.0 if fade == 0 or into >= fade else (into + 1) / fade
                return stage, alpha
            start += steps
        return len(self.stage_steps) - 1, 1.0

    def stage_end(self, stage: int) -> int:
        """The global step at which ``stage`` ends (exclusive)."""
        return int(sum(self.stage_steps[: stage + 1]))


def _real_batch(
    images: torch.Tensor, index: torch.Tensor, stage: int, alpha: float, device: torch.device
) -> torch.Tensor:
    """Real images in [-1, 1] at the stage's resolution, faded like the generator's output."""
    batch = from_uint8(images[index], device)
    full = batch.shape[-1]
    size = 4 * 2**stage
    if size < full:
        batch = F.avg_pool2d(batch, kernel_size=full // size)
    if alpha < 1.0:
        low = F.interpolate(F.avg_pool2d(batch, 2), scale_factor=2, mode="nearest")
        batch = alpha * batch + (1.0 - alpha) * low
    return batch


@torch.no_grad()
def _generate_full(
    generator: Generator,
    z: torch.Tensor,
    stage: int,
    alpha: float,
    resolution: int,
    batch: int = 250,
) -> torch.Tensor:
    """Generator output at the current stage, nearest-upsampled to the final resolution, uint8."""
    out = []
    for start in range(0, len(z), batch):
        images = generator(z[start : start + batch], stage=stage, alpha=alpha)
        if images.shape[-1] < resolution:
            images = F.interpolate(images, size=resolution, mode="nearest")
        out.append(to_uint8(images).cpu())
    return torch.cat(out)


def train_progan(
    data_path: str | os.PathLike,
    model_path: str | os.PathLike,
    loss_csv: str | os.PathLike,
    quality_csv: str | os.PathLike,
    grid_paths: Sequence[str | os.PathLike],
    work_dir: str | os.PathLike,
    config: ProGANTraining,
    device: torch.device,
) -> dict:
    """Train ProGAN on the uint8 images in ``data_path`` and save the EMA generator.

    ``work_dir`` keeps the checkpoint and the running curves; a rerun with the same parameters
    resumes from the last checkpoint. Returns a summary dict (steps, final SWD, seconds).
    """
    arrays, _ = read_h5(data_path, ["images"])
    images = torch.from_numpy(arrays["images"])
    check_images(arrays["images"], str(data_path), config.resolution)
    if len(images) < config.batch_size:
        raise UserError(
            f"{data_path} has {len(images)} images, fewer than the batch size "
            f"{config.batch_size}; render more images or lower progan.batch_size"
        )
    if config.grid_size < 1 or len(grid_paths) != len(config.channels):
        raise UserError(
            f"need one grid path per stage ({len(config.channels)}), got {len(grid_paths)}"
        )
    run = TrainingRun(
        work_dir=work_dir,
        params_hash=config_hash(config, data=data_path),
        total_steps=config.total_steps,
    )

    seed_everything(config.seed)
    generator = Generator(config.resolution, config.z_dim, list(config.channels)).to(device)
    discriminator = Discriminator(
        config.resolution, list(config.channels), mbstd_group_size=config.mbstd_group_size
    ).to(device)
    ema = copy.deepcopy(generator).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt_g = torch.optim.Adam(
        generator.parameters(),
        lr=config.lr,
        betas=tuple(float(b) for b in config.betas),
        fused=True,
    )
    opt_d = torch.optim.Adam(
        discriminator.parameters(),
        lr=config.lr,
        betas=tuple(float(b) for b in config.betas),
        fused=True,
    )
    rng = torch.Generator().manual_seed(config.seed)
    # Fixed latents and real images for the quality number and the grids: same at every evaluation.
    eval_rng = torch.Generator().manual_seed(config.seed + 1)
    n_eval = min(config.eval_images, len(images))
    eval_z = torch.randn(n_eval, config.z_dim, generator=eval_rng)
    eval_real = images[torch.randperm(len(images), generator=eval_rng)[:n_eval]]
    grid_z = eval_z[: config.grid_size].to(device)

    parts = {
        "generator": generator,
        "discriminator": discriminator,
        "ema": ema,
        "opt_g": opt_g,
        "opt_d": opt_d,
        "rng": rng,
    }
    run.start(parts)
    step = run.step
    losses = run.curve("loss.csv", LOSS_COLUMNS)
    swd_columns = ["step", "stage", "resolution", "alpha", "swd_mean"] + [
        f"swd_{4 * 2**i}" for i in range(len(config.channels)) if 4 * 2**i >= 16
    ]
    quality = run.curve("quality.csv", swd_columns)

    def evaluate(stage: int, alpha: float) -> float:
        fake = _generate_full(ema, eval_z.to(device), stage, alpha, config.resolution)
        result = sliced_wasserstein(eval_real, fake, seed=config.seed)
        row = {"step": step, "stage": stage, "resolution": 4 * 2**stage, "alpha": alpha}
        row.update({key: result.get(key, float("nan")) for key in swd_columns[4:]})
        quality.write(row)
        log.info("step %d: SWD(x1e3, mean over levels) = %.2f", step, result["swd_mean"])
        return float(result["swd_mean"])

    log.info(
        "ProGAN %d px, z %d, channels %s, %d images, %d steps on %s",
        config.resolution,
        config.z_dim,
        list(config.channels),
        len(images),
        config.total_steps,
        device_description(device),
    )
    if step == 0:
        with run.untimed():
            evaluate(0, 1.0)
    bar = progress(total=config.total_steps, initial=step, desc="progan")
    while step < config.total_steps:
        stage, alpha = config.schedule(step)
        index = torch.randint(len(images), (config.batch_size,), generator=rng)
        real = _real_batch(images, index, stage, alpha, device)
        z = torch.randn(config.batch_size, config.z_dim, generator=rng).to(device)
        with torch.no_grad():
            fake = generator(z, stage=stage, alpha=alpha)
        d_real = discriminator(real, stage=stage, alpha=alpha)
        d_fake = discriminator(fake, stage=stage, alpha=alpha)
        gp = gradient_penalty(discriminator, real, fake, stage, alpha, generator=rng)
        d_loss = discriminator_loss(d_real, d_fake, gp, config.gp_weight, config.drift)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        z = torch.randn(config.batch_size, config.z_dim, generator=rng).to(device)
        for p in discriminator.parameters():
            p.requires_grad_(False)
        g_loss = generator_loss(
            discriminator(generator(z, stage=stage, alpha=alpha), stage=stage, alpha=alpha)
        )
        for p in discriminator.parameters():
            p.requires_grad_(True)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        update_ema(ema=ema, model=generator, beta=config.ema_beta)
        step += 1
        bar.update(1)

        if not (torch.isfinite(d_loss) and torch.isfinite(g_loss)):
            raise UserError(
                f"ProGAN training diverged at step {step} (d_loss {d_loss.item()}, g_loss "
                f"{g_loss.item()}); lower progan.lr or raise progan.gp_weight"
            )
        end_of_stage = step == config.stage_end(stage)
        if step % config.log_every == 0 or end_of_stage:
            losses.write(
                {
                    "step": step,
                    "stage": stage,
                    "resolution": 4 * 2**stage,
                    "alpha": alpha,
                    "d_loss": d_loss.item(),
                    "g_loss": g_loss.item(),
                    "gp": gp.item(),
                    "d_real": d_real.mean().item(),
                    "d_fake": d_fake.mean().item(),
                    "seconds": run.elapsed(),
                }
            )
        if step % config.eval_every == 0 or end_of_stage:
            evaluate(stage, alpha)
        if end_of_stage:
            grid = _generate_full(ema, grid_z, stage, 1.0, config.resolution)
            save_image_grid(grid, run.work_dir / f"grid_stage{stage}.png", nrow=8)
        if step % config.checkpoint_every == 0 or end_of_stage:
            run.save(step, parts)
    bar.close()

    losses.export(loss_csv)
    quality.export(quality_csv)
    for stage, path in enumerate(grid_paths):
        _copy_atomic(run.work_dir / f"grid_stage{stage}.png", path)
    losses.close()
    quality.close()
    swd = read_curve_column(quality_csv, "swd_mean")
    summary = run.summary(device, steps=step, swd_first=swd[0], swd_final=swd[-1])
    summary.update(gpu_memory(device))
    save_model(
        model_path,
        ema,
        "progan.Generator",
        {"resolution": config.resolution, "z_dim": config.z_dim, "channels": list(config.channels)},
        meta={**summary, "data": str(data_path), "prior": "normal"},
    )
    log.info("done: %s", summary)
    return summary


def _copy_atomic(source: Path, destination: str | os.PathLike) -> None:
    """Copy a stage grid into place atomically (it was written during training)."""
    if not source.exists():
        raise UserError(f"missing stage grid {source}: delete {source.parent} and rerun training")
    with atomic_path(destination) as tmp:
        tmp.write_bytes(source.read_bytes())
