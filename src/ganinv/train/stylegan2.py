"""StyleGAN2 training (non-saturating logistic loss, lazy R1 and path-length regularisation).

Per step: one discriminator step on a real and a generated batch, every ``r1_every`` steps an
extra discriminator step on the R1 penalty (scaled by ``r1_gamma / 2 * r1_every``), one generator
step, and (when ``pl_weight > 0``) every ``pl_every`` steps an extra generator step on the
path-length penalty (half batch, scaled by ``pl_weight * pl_every``). As in the paper, the Adam
learning rate and betas of a lazily regularised network are adjusted by ``c = every / (every + 1)``
(:func:`lazy_adam_hyperparameters`). An exponential moving average of the generator is the model
that is evaluated, saved and sampled (eval mode: fixed noise images).

Resumable: a checkpoint every ``checkpoint_every`` steps holds both networks, the EMA generator,
both optimisers, the data RNG, the global torch RNG (training-mode noise), the running mean path
length and the last regulariser values, so a run killed and rerun gives the same model as an
uninterrupted one (bit-identical on CPU).
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ganinv.curves import read_curve_column
from ganinv.data.h5io import check_images, read_h5
from ganinv.images import from_uint8, save_image_grid, to_uint8
from ganinv.metrics.swd import sliced_wasserstein
from ganinv.models.files import save_model
from ganinv.models.stylegan2 import (
    Discriminator,
    Generator,
    d_logistic_loss,
    g_nonsaturating_loss,
    paper_channels,
    path_length_penalty,
    r1_penalty,
)
from ganinv.progress import progress
from ganinv.runtime import UserError, check_int, check_number, device_description, seed_everything
from ganinv.train.ema import update_ema
from ganinv.train.run import TrainingRun, config_hash, gpu_memory

log = logging.getLogger("ganinv")

LOSS_COLUMNS = ("step", "d_loss", "g_loss", "r1", "pl", "d_real", "d_fake", "seconds")
PL_DECAY = 0.01  # running-mean rate of the path length (paper)
PL_BATCH_SHRINK = 2  # the path-length step uses batch_size // 2 samples (paper)


@dataclass(frozen=True)
class StyleGAN2Training:
    """Every hyperparameter of a StyleGAN2 training run (defaults: the paper's config-f)."""

    resolution: int
    z_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 8
    channels: Sequence[int] | None = None  # None: the paper's widths for ``resolution``
    mapping_lr_mul: float = 0.01
    batch_size: int = 32
    steps: int = 10_000
    lr: float = 0.002
    betas: Sequence[float] = (0.0, 0.99)
    r1_gamma: float = 10.0
    r1_every: int = 16
    pl_weight: float = 2.0
    pl_every: int = 4
    ema_beta: float = 0.999
    mbstd_group_size: int = 4
    checkpoint_every: int = 200
    eval_every: int = 500
    eval_images: int = 500
    log_every: int = 10
    grid_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        r = self.resolution
        if isinstance(r, bool) or not isinstance(r, int) or r < 4 or r > 1024 or r & (r - 1):
            raise UserError(f"stylegan2: resolution must be a power of two in [4, 1024], got {r}")
        n_res = int(math.log2(r)) - 1
        if self.channels is None:
            object.__setattr__(self, "channels", tuple(paper_channels(r)))
        if len(self.channels) != n_res:
            raise UserError(
                f"stylegan2: {len(self.channels)} channel widths give "
                f"{4 * 2 ** (len(self.channels) - 1)} px, but the resolution is {r} px; give "
                f"log2(resolution)-1 = {n_res} channel widths (one per resolution 4, 8, ... {r})"
            )
        _check_counts(self)
        _check_rates(self)


def _check_counts(config: StyleGAN2Training) -> None:
    for name in (
        "z_dim", "w_dim", "mapping_layers", "batch_size", "steps", "r1_every", "pl_every",
        "mbstd_group_size", "checkpoint_every", "eval_every", "eval_images", "log_every",
        "grid_size",
    ):  # fmt: skip
        check_int(f"stylegan2.{name}", getattr(config, name))
    for i, width in enumerate(config.channels):
        check_int(f"stylegan2.channels[{i}]", width)


def _check_rates(config: StyleGAN2Training) -> None:
    check_number("stylegan2.lr", config.lr, above=0)
    check_number("stylegan2.mapping_lr_mul", config.mapping_lr_mul, above=0)
    if len(config.betas) != 2:
        raise UserError(f"stylegan2.betas must be two numbers in [0, 1), got {config.betas}")
    for beta in config.betas:
        check_number("stylegan2.betas", beta, minimum=0, below=1)
    check_number("stylegan2.r1_gamma", config.r1_gamma, minimum=0)  # 0: off
    check_number("stylegan2.pl_weight", config.pl_weight, minimum=0)  # 0: off
    check_number("stylegan2.ema_beta", config.ema_beta, minimum=0, below=1)


def generator_kwargs(config: StyleGAN2Training) -> dict:
    """Constructor kwargs of the generator a config trains (stored in the model file)."""
    return {
        "resolution": config.resolution,
        "z_dim": config.z_dim,
        "w_dim": config.w_dim,
        "mapping_layers": config.mapping_layers,
        "channels": list(config.channels),
        "mapping_lr_mul": float(config.mapping_lr_mul),
    }


def lazy_adam_hyperparameters(
    lr: float, betas: Sequence[float], every: int | None
) -> tuple[float, tuple[float, float]]:
    """Adam lr and betas for a network regularised every ``every`` steps (None: not lazily).

    With ``c = every / (every + 1)`` the paper uses ``lr * c`` and ``betas ** c``, so that the
    extra regulariser steps leave the optimiser's effective time constants unchanged.
    """
    if every is None:
        return float(lr), (float(betas[0]), float(betas[1]))
    c = every / (every + 1)
    return float(lr) * c, (float(betas[0]) ** c, float(betas[1]) ** c)


def _adam(module: torch.nn.Module, config: StyleGAN2Training, every: int | None):
    lr, betas = lazy_adam_hyperparameters(config.lr, config.betas, every)
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, fused=True)


@torch.no_grad()
def _generate(generator: Generator, z: torch.Tensor, batch: int = 250) -> torch.Tensor:
    """uint8 images of an eval-mode generator, on CPU."""
    return torch.cat([to_uint8(generator(z[s : s + batch])).cpu() for s in range(0, len(z), batch)])


def _load_images(data_path: str | os.PathLike, config: StyleGAN2Training) -> torch.Tensor:
    arrays, _ = read_h5(data_path, ["images"])
    check_images(arrays["images"], str(data_path), config.resolution)
    if len(arrays["images"]) < config.batch_size:
        raise UserError(
            f"{data_path} has {len(arrays['images'])} images, fewer than the batch size "
            f"{config.batch_size}; render more images or lower stylegan2.batch_size"
        )
    return torch.from_numpy(arrays["images"])


class _Trainer:
    """Networks, optimisers, RNGs and regulariser state of one run, and its training step."""

    def __init__(self, config: StyleGAN2Training, device: torch.device) -> None:
        seed_everything(config.seed)
        self.config, self.device = config, device
        self.generator = Generator(**generator_kwargs(config)).to(device)
        self.discriminator = Discriminator(
            config.resolution, list(config.channels), config.mbstd_group_size
        ).to(device)
        self.ema = copy.deepcopy(self.generator).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        pl_on, r1_on = config.pl_weight > 0, config.r1_gamma > 0
        self.opt_g = _adam(self.generator, config, config.pl_every if pl_on else None)
        self.opt_d = _adam(self.discriminator, config, config.r1_every if r1_on else None)
        self.rng = torch.Generator().manual_seed(config.seed)
        self.mean_path_length = torch.zeros((), device=device)
        self.last = {"r1": 0.0, "pl": 0.0}
        self.step = 0

    def in_place(self) -> dict:
        """The parts of a checkpoint restored in place: networks, optimisers, the data RNG."""
        names = ("generator", "discriminator", "ema", "opt_g", "opt_d", "rng")
        return {name: getattr(self, name) for name in names}

    def parts(self) -> dict:
        """All a checkpoint holds: :meth:`in_place`, the global torch RNG (training-mode noise),
        the running mean path length and the last regulariser values."""
        parts = {
            **self.in_place(),
            "torch_rng": torch.get_rng_state(),
            "mean_path_length": self.mean_path_length.cpu(),
            "last": dict(self.last),
        }
        if self.device.type == "cuda":
            parts["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return parts

    def restore(self, saved: dict) -> None:
        """Take back the rest of a checkpoint's :meth:`parts` (after :meth:`in_place`)."""
        torch.set_rng_state(saved["torch_rng"])
        if self.device.type == "cuda" and "cuda_rng" in saved:
            torch.cuda.set_rng_state(saved["cuda_rng"], self.device)
        self.mean_path_length = saved["mean_path_length"].to(self.device)
        self.last = {key: float(value) for key, value in saved["last"].items()}

    def latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.z_dim, generator=self.rng).to(self.device)

    def train_step(self, images: torch.Tensor) -> dict[str, float]:
        """One discriminator and one generator step (plus due regulariser steps)."""
        config, step = self.config, self.step
        index = torch.randint(len(images), (config.batch_size,), generator=self.rng)
        real = from_uint8(images[index], self.device)
        row = self._discriminator_step(real)
        if config.r1_gamma > 0 and step % config.r1_every == 0:
            self.last["r1"] = self._r1_step(real)
        self.discriminator.requires_grad_(False)
        row["g_loss"] = self._generator_step()
        if config.pl_weight > 0 and step % config.pl_every == 0:
            self.last["pl"] = self._path_length_step()
        self.discriminator.requires_grad_(True)
        update_ema(ema=self.ema, model=self.generator, beta=config.ema_beta)
        self.step += 1
        row.update(self.last)
        if not all(math.isfinite(value) for value in row.values()):
            raise UserError(
                f"StyleGAN2 training diverged at step {self.step} ({row}); lower stylegan2.lr "
                "or raise stylegan2.r1_gamma"
            )
        return row

    def _discriminator_step(self, real: torch.Tensor) -> dict[str, float]:
        with torch.no_grad():
            fake = self.generator(self.latents(len(real)))
        d_real, d_fake = self.discriminator(real), self.discriminator(fake)
        loss = d_logistic_loss(d_real, d_fake)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {
            "d_loss": loss.item(),
            "d_real": d_real.mean().item(),
            "d_fake": d_fake.mean().item(),
        }

    def _r1_step(self, real: torch.Tensor) -> float:
        r1 = r1_penalty(self.discriminator, real)
        self.opt_d.zero_grad(set_to_none=True)
        (r1 * (self.config.r1_gamma / 2 * self.config.r1_every)).backward()
        self.opt_d.step()
        return r1.item()

    def _generator_step(self) -> float:
        loss = g_nonsaturating_loss(
            self.discriminator(self.generator(self.latents(self.config.batch_size)))
        )
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return loss.item()

    def _path_length_step(self) -> float:
        g = self.generator
        w = g.mapping(self.latents(max(1, self.config.batch_size // PL_BATCH_SHRINK)))
        ws = w.unsqueeze(1).repeat(1, g.num_ws, 1)
        penalty, self.mean_path_length, _ = path_length_penalty(
            g.synthesis(ws), ws, self.mean_path_length, PL_DECAY, generator=self.rng
        )
        self.opt_g.zero_grad(set_to_none=True)
        (penalty * (self.config.pl_weight * self.config.pl_every)).backward()
        self.opt_g.step()
        return penalty.item()


def train_stylegan2(
    data_path: str | os.PathLike,
    model_path: str | os.PathLike,
    loss_csv: str | os.PathLike,
    quality_csv: str | os.PathLike,
    grid_path: str | os.PathLike,
    work_dir: str | os.PathLike,
    config: StyleGAN2Training,
    device: torch.device,
) -> dict:
    """Train StyleGAN2 on the uint8 images in ``data_path`` and save the EMA generator.

    Writes the loss curve (``LOSS_COLUMNS``), the sliced Wasserstein distance of the EMA
    generator against the real images (every ``eval_every`` steps and at the end), an 8-column
    sample grid and the model file (architecture ``stylegan2.Generator``, prior ``normal``).
    ``work_dir`` keeps the checkpoint and the running curves; a rerun with the same parameters
    resumes from the last checkpoint. Returns a summary dict (steps, first/final SWD, seconds).
    """
    images = _load_images(data_path, config)
    run = TrainingRun(
        work_dir=work_dir,
        params_hash=config_hash(config, data=data_path),
        total_steps=config.steps,
    )
    trainer = _Trainer(config, device)
    # Fixed latents and real images for the quality number and the grid: same at every evaluation.
    eval_rng = torch.Generator().manual_seed(config.seed + 1)
    n_eval = min(config.eval_images, len(images))
    eval_z = torch.randn(n_eval, config.z_dim, generator=eval_rng).to(device)
    eval_real = images[torch.randperm(len(images), generator=eval_rng)[:n_eval]]
    grid_z = torch.randn(config.grid_size, config.z_dim, generator=eval_rng).to(device)

    saved = run.start(trainer.in_place())
    if saved is not None:
        trainer.restore(saved)
        trainer.step = run.step
    losses = run.curve("loss.csv", LOSS_COLUMNS)
    levels = [f"swd_{config.resolution >> i}" for i in range(8) if config.resolution >> i >= 16]
    quality = run.curve("quality.csv", ["step", "swd_mean", *levels])

    def evaluate() -> None:
        result = sliced_wasserstein(eval_real, _generate(trainer.ema, eval_z), seed=config.seed)
        quality.write(
            {"step": trainer.step, **{k: result.get(k, float("nan")) for k in quality.columns[1:]}}
        )
        log.info("step %d: SWD(x1e3, mean over levels) = %.2f", trainer.step, result["swd_mean"])

    log.info(
        "StyleGAN2 %d px, z %d, w %d, mapping %d, channels %s, %d images, %d steps on %s",
        config.resolution, config.z_dim, config.w_dim, config.mapping_layers,
        list(config.channels), len(images), config.steps, device_description(device),
    )  # fmt: skip
    if trainer.step == 0:
        evaluate()
    bar = progress(total=config.steps, initial=trainer.step, desc="stylegan2")
    while trainer.step < config.steps:
        row = trainer.train_step(images)
        bar.update(1)
        step, last = trainer.step, trainer.step == config.steps
        if step % config.log_every == 0 or last:
            losses.write({"step": step, **row, "seconds": run.elapsed()})
        if step % config.eval_every == 0 or last:
            evaluate()
        if step % config.checkpoint_every == 0 and not last:
            run.save(step, trainer.parts())
    bar.close()

    save_image_grid(_generate(trainer.ema, grid_z), grid_path, nrow=8)
    losses.export(loss_csv)
    quality.export(quality_csv)
    losses.close()
    quality.close()
    swd = read_curve_column(quality_csv, "swd_mean")
    summary = run.summary(device, steps=trainer.step, swd_first=swd[0], swd_final=swd[-1])
    summary.update(gpu_memory(device))
    save_model(
        model_path,
        trainer.ema,
        "stylegan2.Generator",
        generator_kwargs(config),
        meta={**summary, "data": str(data_path), "prior": "normal"},
    )
    run.save(trainer.step, trainer.parts())
    log.info("done: %s", summary)
    return summary
