"""WGAN-GP training of WaveGAN on an HDF5 file of one-second clips (``audio`` [N, 1, 16384]).

One step is ``n_critic`` critic updates followed by one generator update (Donahue et al. 2019:
Adam lr 1e-4, betas (0.5, 0.9), n_critic 5, gradient-penalty weight 10, phase shuffle 2, batch 64).
All randomness of the loop (real batches, latents, phase shuffles, penalty interpolation) comes
from one ``torch.Generator`` whose state is checkpointed with the models and optimisers, so a run
killed and rerun gives the same model as an uninterrupted one (bit-identical on CPU).

Quality numbers: the mean distance (dB) between the long-term average spectra of real and generated
clips (:func:`ganinv.metrics.audio.spectral_distance`), reported for the untrained and the final
generator; and, when a :class:`~ganinv.metrics.audio_quality.ClipQuality` is given, its
Inception Score, digit coverage and STFT diversity of ``quality_clips`` clips from fixed latents
every ``quality_every`` steps (and at steps 0 and the last): the quality curve. A final
generator past a floor of the :class:`~ganinv.metrics.audio_quality.QualityFloors` ends the run
with one warning.
"""

from __future__ import annotations

import copy
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ganinv.data.h5io import open_h5, read_h5
from ganinv.data.wav import write_wav_sequence
from ganinv.metrics.audio import spectral_distance
from ganinv.metrics.audio_quality import QUALITY_CURVE_COLUMNS, ClipQuality
from ganinv.models.files import save_model
from ganinv.models.layers import count_parameters
from ganinv.models.wavegan import OUTPUT_SAMPLES, SAMPLE_RATE, Discriminator, Generator
from ganinv.progress import progress
from ganinv.runtime import (
    UserError,
    check_int,
    check_number,
    derive_seed,
    device_description,
    seed_everything,
)
from ganinv.train.ema import update_ema
from ganinv.train.run import LogWindow, TrainingRun, config_hash, gpu_memory
from ganinv.train.wgan_gp import discriminator_loss, generator_loss, gradient_penalty

log = logging.getLogger("ganinv")

CURVE_COLUMNS = ("step", "d_loss", "g_loss", "gp", "wasserstein", "seconds")
EVAL_CLIPS = 64  # clips (real and generated) behind the reported spectral distance
GAP_SECONDS = 0.25  # silence between the clips of the samples WAV
_WINDOW_KEYS = ("d_loss", "g_loss", "gp", "wasserstein", "critic_updates", "steps")


@dataclass(frozen=True)
class WaveGANTraining:
    """Every hyperparameter of a WaveGAN run; the defaults are the paper's (d=64, batch 64)."""

    steps: int
    z_dim: int = 100
    d: int = 64
    kernel_size: int = 25
    phase_shuffle: int = 2
    batch_size: int = 64
    lr: float = 1e-4
    betas: Sequence[float] = (0.5, 0.9)
    n_critic: int = 5
    gp_weight: float = 10.0
    ema_beta: float = 0.0  # EMA of the generator (0: off); warm-up see ema_decay
    checkpoint_every: int = 100
    log_every: int = 10
    sample_count: int = 8
    quality_every: int = 250
    quality_clips: int = 250
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "z_dim", "d", "batch_size", "n_critic", "checkpoint_every",
                     "log_every", "sample_count", "quality_every"):  # fmt: skip
            check_int(f"wavegan.{name}", getattr(self, name), minimum=1)
        check_int("wavegan.seed", self.seed, minimum=0)
        check_int("wavegan.quality_clips", self.quality_clips, minimum=10)
        check_int("wavegan.phase_shuffle", self.phase_shuffle, minimum=0)
        if self.phase_shuffle >= 64:
            raise UserError(
                f"wavegan.phase_shuffle must be < 64 (the shortest shuffled feature map), "
                f"got {self.phase_shuffle}; the paper uses 2"
            )
        check_int("wavegan.kernel_size", self.kernel_size, minimum=5)
        if self.kernel_size % 2 == 0:
            raise UserError(f"wavegan.kernel_size must be odd (paper: 25), got {self.kernel_size}")
        check_number("wavegan.lr", self.lr, above=0)
        check_number("wavegan.gp_weight", self.gp_weight, minimum=0)
        check_number("wavegan.ema_beta", self.ema_beta, minimum=0, below=1)
        betas = list(self.betas) if isinstance(self.betas, (list, tuple)) else None
        if betas is None or len(betas) != 2:
            raise UserError(f"wavegan.betas must be two numbers in [0, 1), got {self.betas!r}")
        for beta in betas:
            check_number("wavegan.betas", beta, minimum=0, below=1)


def load_audio(data_h5: str | os.PathLike) -> tuple[torch.Tensor, int]:
    """The ``audio`` dataset of ``data_h5`` as float32 [N, 1, 16384] and its sample rate.

    Raises UserError when the dataset is missing, has another shape, or holds values outside
    [-1, 1] (the generator's tanh range).
    """
    expected = f"float32 audio of shape [N, 1, {OUTPUT_SAMPLES}] in [-1, 1]"
    with open_h5(data_h5) as handle:
        if "audio" not in handle:
            raise UserError(
                f"{data_h5} has no 'audio' dataset (it holds {sorted(handle.keys())}); WaveGAN "
                f"training needs {expected}: render the speech data with the data rule"
            )
    arrays, attrs = read_h5(data_h5, ["audio"])
    audio = arrays["audio"]
    if audio.ndim != 3 or audio.shape[1:] != (1, OUTPUT_SAMPLES) or len(audio) == 0:
        raise UserError(
            f"{data_h5}: 'audio' has shape {list(audio.shape)}, WaveGAN training needs "
            f"{expected} (mono clips of {OUTPUT_SAMPLES} samples, N >= 1)"
        )
    if not np.issubdtype(audio.dtype, np.floating):
        raise UserError(f"{data_h5}: 'audio' is {audio.dtype}, WaveGAN training needs {expected}")
    audio = audio.astype(np.float32, copy=False)
    if not np.all(np.isfinite(audio)) or np.abs(audio).max() > 1.0:
        raise UserError(
            f"{data_h5}: 'audio' holds values outside [-1, 1] (or NaN); WaveGAN training needs "
            f"{expected}: rescale the clips"
        )
    rate = attrs.get("sample_rate", SAMPLE_RATE)
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise UserError(
            f"{data_h5}: attribute sample_rate must be a positive integer, got {rate!r}"
        )
    return torch.from_numpy(audio), rate


@torch.no_grad()
def _generate(generator: Generator, z: torch.Tensor, device: torch.device) -> torch.Tensor:
    was_training = generator.training
    generator.eval()
    clips = torch.cat([generator(chunk.to(device)).cpu() for chunk in z.split(64)])
    generator.train(was_training)
    return clips


def ema_decay(beta: float, step: int) -> float:
    """EMA decay after generator update ``step`` (1-based): ``min(beta, (1 + step) / (10 + step))``,
    so that the untrained initial weights are forgotten quickly in short runs."""
    return min(beta, (1.0 + step) / (10.0 + step))


class _Models:
    """Generator, critic, optional EMA generator and their optimisers."""

    def __init__(self, config: WaveGANTraining, device: torch.device):
        seed_everything(config.seed)
        self.g_kwargs = {"z_dim": config.z_dim, "d": config.d, "kernel_size": config.kernel_size}
        self.generator = Generator(**self.g_kwargs).to(device)
        self.critic = Discriminator(
            d=config.d, kernel_size=config.kernel_size, phase_shuffle=config.phase_shuffle
        ).to(device)
        self.ema = None
        if config.ema_beta > 0:
            self.ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        betas = tuple(float(b) for b in config.betas)
        self.opt_g = torch.optim.Adam(
            self.generator.parameters(), lr=config.lr, betas=betas, fused=True
        )
        self.opt_d = torch.optim.Adam(
            self.critic.parameters(), lr=config.lr, betas=betas, fused=True
        )

    @property
    def output(self) -> Generator:
        """The generator that is sampled and saved (the EMA one when enabled)."""
        return self.ema if self.ema is not None else self.generator

    def state_dict(self) -> dict:
        state = {
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
        }
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])


def _train_step(
    models: _Models,
    audio: torch.Tensor,
    config: WaveGANTraining,
    rng: torch.Generator,
    device: torch.device,
    step: int,
) -> dict[str, torch.Tensor]:
    """Step ``step`` (1-based): ``n_critic`` critic updates and one generator update.

    Returns the critic numbers summed over the critic updates and the generator loss (detached).
    """
    generator, critic = models.generator, models.critic

    def critic_fn(x: torch.Tensor, stage: object = None, alpha: object = None) -> torch.Tensor:
        return critic(x, generator=rng)

    sums = {key: torch.zeros((), device=device) for key in ("d_loss", "gp", "wasserstein")}
    for _ in range(config.n_critic):
        index = torch.randint(len(audio), (config.batch_size,), generator=rng)
        real = audio[index].to(device)
        with torch.no_grad():
            fake = generator(generator.sample_z(config.batch_size, rng, device))
        scores = critic(torch.cat([real, fake]), generator=rng)
        d_real, d_fake = scores[: config.batch_size], scores[config.batch_size :]
        gp = gradient_penalty(critic_fn, real, fake, None, 1.0, generator=rng)
        d_loss = discriminator_loss(d_real, d_fake, gp, config.gp_weight, drift=0.0)
        models.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        models.opt_d.step()
        sums["d_loss"] += d_loss.detach()
        sums["gp"] += gp.detach()
        sums["wasserstein"] += (d_real.mean() - d_fake.mean()).detach()

    critic.requires_grad_(False)
    z = generator.sample_z(config.batch_size, rng, device)
    g_loss = generator_loss(critic(generator(z), generator=rng))
    critic.requires_grad_(True)
    models.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    models.opt_g.step()
    if models.ema is not None:
        update_ema(ema=models.ema, model=generator, beta=ema_decay(config.ema_beta, step))
    sums["g_loss"] = g_loss.detach()
    return sums


def train_wavegan(
    *,
    data_h5: str | os.PathLike,
    model_path: str | os.PathLike,
    curve_csv: str | os.PathLike,
    samples_wav: str | os.PathLike,
    work_dir: str | os.PathLike,
    config: WaveGANTraining,
    device: torch.device,
    quality: ClipQuality | None = None,
    quality_csv: str | os.PathLike | None = None,
    quality_key: str = "",
) -> dict:
    """Train WaveGAN on the clips of ``data_h5``; save the generator (EMA one if enabled).

    Writes the model file ``model_path`` (architecture "wavegan.Generator", summary in its meta),
    the loss curve ``curve_csv`` and ``samples_wav``: ``sample_count`` clips from fixed latents
    with 0.25 s of silence between them. With ``quality`` (and ``quality_csv``), the quality curve
    of the generator that is saved (:data:`QUALITY_CURVE_COLUMNS`); ``quality_key`` names what
    the quality numbers depend on besides the run (the evaluator's digest), so that a checkpoint
    is resumed only with the same judge. ``work_dir`` keeps the checkpoint and the running curves;
    a rerun with the same parameters and data resumes from the last checkpoint.
    Returns the summary dict (with the final quality numbers and ``quality_shortfalls``).
    """
    if (quality is None) != (quality_csv is None):
        raise ValueError("train_wavegan: give quality and quality_csv together, or neither")
    audio, sample_rate = load_audio(data_h5)
    run = TrainingRun(
        work_dir=work_dir,
        params_hash=config_hash(config, data=data_h5, quality=quality_key),
        total_steps=config.steps,
    )
    models = _Models(config, device)
    rng = torch.Generator().manual_seed(derive_seed(config.seed, "wavegan-train"))
    fixed = torch.Generator().manual_seed(derive_seed(config.seed, "wavegan-fixed"))
    sample_z = models.generator.sample_z(config.sample_count, fixed)
    eval_z = models.generator.sample_z(EVAL_CLIPS, fixed)
    eval_real = audio[torch.randperm(len(audio), generator=fixed)[:EVAL_CLIPS]]

    window = LogWindow(_WINDOW_KEYS)
    parts = {"models": models, "rng": rng, "window": window}
    saved = run.start(parts)
    step = run.step
    if saved is not None:
        initial_distance = float(saved["spectral_distance_initial"])
    else:
        initial_distance = spectral_distance(eval_real, _generate(models.output, eval_z, device))
    curve = run.curve("curve.csv", CURVE_COLUMNS)
    quality_curve = None
    quality_z = models.generator.sample_z(config.quality_clips, fixed)
    if quality is not None:
        quality_curve = run.curve("quality.csv", QUALITY_CURVE_COLUMNS)

    def judge() -> dict:
        with run.untimed():
            row = quality.measure(_generate(models.output, quality_z, device))
        quality_curve.write({"step": step, "seconds": run.elapsed(), **row})
        log.info(
            "step %d: Inception Score %.2f (%.0f%% of real), %d digits read (top share %.0f%%), "
            "STFT diversity %.0f%% of real",
            step,
            row["inception_score"],
            100 * row["inception_ratio"],
            row["digits_read"],
            100 * row["max_digit_share"],
            100 * row["diversity_ratio"],
        )
        return row

    log.info(
        "WaveGAN d=%d, z %d, %d clips at %d Hz, %d steps of %d critic + 1 generator updates, "
        "batch %d, EMA %s on %s",
        config.d,
        config.z_dim,
        len(audio),
        sample_rate,
        config.steps,
        config.n_critic,
        config.batch_size,
        config.ema_beta or "off",
        device_description(device),
    )
    bar = progress(total=config.steps, initial=step, desc="wavegan")
    final_quality = None
    if quality is not None and saved is None:
        judge()
    while step < config.steps:
        step += 1
        sums = _train_step(models, audio, config, rng, device, step)
        bar.update(1)
        d_loss, g_loss = sums["d_loss"].item(), sums["g_loss"].item()
        if not (math.isfinite(d_loss) and math.isfinite(g_loss)):
            raise UserError(
                f"WaveGAN training diverged at step {step} (d_loss {d_loss}, g_loss {g_loss}); "
                "lower wavegan.lr or raise wavegan.gp_weight"
            )
        window.add(
            **{key: sums[key].item() for key in ("d_loss", "gp", "wasserstein")},
            g_loss=g_loss,
            critic_updates=config.n_critic,
            steps=1,
        )
        if step % config.log_every == 0 or step == config.steps:
            curve.write(_curve_row(step, window.sums, run.elapsed()))
            window.reset()
        if quality is not None and (step % config.quality_every == 0 or step == config.steps):
            final_quality = judge()
        if step % config.checkpoint_every == 0 or step == config.steps:
            run.save(step, {**parts, "spectral_distance_initial": initial_distance})
    bar.close()
    if quality is not None and final_quality is None:  # resumed after the last step's checkpoint
        final_quality = quality.measure(_generate(models.output, quality_z, device))

    output = models.output
    final_distance = spectral_distance(eval_real, _generate(output, eval_z, device))
    curve.export(curve_csv)
    curve.close()
    if quality_curve is not None:
        quality_curve.export(quality_csv)
        quality_curve.close()
    summary = {
        "steps": step,
        "seconds": run.elapsed(),
        "generator_parameters": count_parameters(models.generator),
        "critic_parameters": count_parameters(models.critic),
        "spectral_distance_initial": initial_distance,
        "spectral_distance_final": final_distance,
        "n_clips": len(audio),
        "sample_rate": sample_rate,
        "params_hash": run.params_hash,
        "device": device_description(device),
    }
    if final_quality is not None:
        shortfalls = quality.floors.shortfalls(final_quality)
        summary.update({f"quality_{key}": value for key, value in final_quality.items()})
        summary["quality_shortfalls"] = "; ".join(shortfalls)
        if shortfalls:
            log.warning(
                "the trained WaveGAN looks mode-collapsed after %d steps: %s; its inversions "
                "say little (see the quality curve %s)",
                step,
                "; ".join(shortfalls),
                quality_csv,
            )
    summary.update(gpu_memory(device))
    save_model(
        model_path,
        output,
        "wavegan.Generator",
        models.g_kwargs,
        meta={**summary, "data": str(data_h5), "prior": Generator.prior, "ema": config.ema_beta},
    )
    clips = _generate(output, sample_z, device).numpy()
    write_wav_sequence(samples_wav, clips, sample_rate, GAP_SECONDS)
    log.info("done: %s", summary)
    return summary


def _curve_row(step: int, window: dict[str, float], seconds: float) -> dict[str, object]:
    """Window means: critic numbers per critic update, generator loss per step."""
    updates, steps = max(1.0, window["critic_updates"]), max(1.0, window["steps"])
    return {
        "step": step,
        "d_loss": window["d_loss"] / updates,
        "g_loss": window["g_loss"] / steps,
        "gp": window["gp"] / updates,
        "wasserstein": window["wasserstein"] / updates,
        "seconds": seconds,
    }
