"""Training of the ResNet-18 inverse mapper (thesis chapter 2), resumable like GAN training.

Two phases alternate every ``phase_period`` steps (the thesis alternated by epoch):

* generated phase: a batch (z, G(z)) from the generated training set;
  loss = z_weight · MAE(n(ẑ), n(z)) + perceptual_weight · P(G(ẑ), G(z)),
  where n is ProGAN's pixel norm (only the direction of z matters to ProGAN);
* real phase (only when ``real_phase``): a batch of real faces x without a latent;
  loss = pixel_weight · MAE(G(ẑ), x) + perceptual_weight · P(G(ẑ), x).

P is the mean over feature layers of the MSE between face-network features. The ablation variants
of the thesis are settings of these weights: z-loss only ("Pixel-ResNet"), z-loss + perceptual, and
the full model with the real phase.

The audio chapter (``domain="audio"``) trains the same way: a WaveGAN generator, an
:class:`~ganinv.models.encoder.AudioEncoder` on the STFT, the spoken-digit classifier's stage
activations as P, the z-loss as MSE on the raw z (WaveGAN does not normalise z), and a real phase of
held-out voices with the perceptual term only (``pixel_weight`` 0), alternating every step.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass

import torch

from ganinv.data.h5io import check_audio, check_images, check_latents, read_h5
from ganinv.images import from_uint8
from ganinv.losses import load_perceptual_network, perceptual_distance
from ganinv.metrics.image import psnr_signed
from ganinv.metrics.latent import normalize_latent
from ganinv.models.files import FACE_GENERATORS, architecture_class, load_model, save_model
from ganinv.progress import progress
from ganinv.runtime import (
    UserError,
    check_int,
    check_number,
    device_description,
    file_sha256,
    params_hash,
    seed_everything,
)
from ganinv.train.run import TrainingRun, gpu_memory

log = logging.getLogger("ganinv")

CURVE_COLUMNS = (
    "step", "phase", "loss", "z_loss", "pixel_loss", "perceptual_loss", "val_z_mae",
    "val_psnr_db", "seconds",
)  # fmt: skip


@dataclass(frozen=True)
class Domain:
    """What an encoder inverts: the generator, the dataset holding its samples, the encoder."""

    generator: str | tuple[str, ...]  # model-file architecture(s) of the generator
    data_key: str  # HDF5 dataset of the samples ("images" uint8 NCHW | "audio" float32 [N,1,T])
    encoder: str  # model-file architecture of the encoder


DOMAINS = {
    "faces": Domain(FACE_GENERATORS, "images", "encoder.ResNetEncoder"),
    "audio": Domain("wavegan.Generator", "audio", "encoder.AudioEncoder"),
}


def _check_samples(array, source: str, generator, key: str) -> None:
    if key == "images":
        check_images(array, source, generator.resolution)
    else:
        check_audio(array, source, getattr(generator, "output_samples", None))


def _to_input(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Stored samples -> the generator's output range on ``device`` (uint8 images -> [-1, 1])."""
    if batch.dtype == torch.uint8:
        return from_uint8(batch, device)
    return batch.to(device=device, dtype=torch.float32)


@dataclass(frozen=True)
class EncoderTraining:
    """Hyperparameters of one encoder variant (thesis: Adam 2e-4, beta1 0.5, batch 16)."""

    input_size: int | None = 224  # None: the generator's own resolution
    steps: int = 1000
    batch_size: int = 16
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    z_weight: float = 1.0
    pixel_weight: float = 1.0
    perceptual_weight: float = 1.0
    real_phase: bool = True
    phase_period: int = 1
    normalize_z: bool = True
    val_size: int = 100
    eval_every: int = 100
    checkpoint_every: int = 100
    log_every: int = 10
    seed: int = 0
    domain: str = "faces"  # "faces" (ProGAN, images) or "audio" (WaveGAN, waveforms)
    z_loss: str = "mae"  # "mae" (faces, thesis) or "mse" (audio, thesis)
    representation: str = "real"  # audio only: the encoder's STFT representation

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise UserError(f"encoder: unknown domain '{self.domain}' (use {', '.join(DOMAINS)})")
        if self.z_loss not in ("mae", "mse"):
            raise UserError(f"encoder: z_loss must be 'mae' or 'mse', got '{self.z_loss}'")
        for name in ("steps", "batch_size", "phase_period", "eval_every", "checkpoint_every",
                     "log_every"):  # fmt: skip
            check_int(f"encoder.{name}", getattr(self, name))
        for name in ("z_weight", "pixel_weight", "perceptual_weight"):
            check_number(f"encoder.{name}", getattr(self, name), minimum=0)
        if self.z_weight == 0 and not self.real_phase and self.perceptual_weight == 0:
            raise UserError("encoder: every loss weight is 0; nothing would be trained")

    @property
    def needs_perceptual_network(self) -> bool:
        return self.perceptual_weight > 0

    def phase(self, step: int) -> str:
        """'generated' or 'real' at a 0-based step."""
        if not self.real_phase:
            return "generated"
        return "generated" if (step // self.phase_period) % 2 == 0 else "real"


def train_encoder(
    generator_path: str | os.PathLike,
    generated_path: str | os.PathLike,
    real_path: str | os.PathLike | None,
    perceptual_network: tuple[str, str | None] | None,
    model_path: str | os.PathLike,
    curve_csv: str | os.PathLike,
    work_dir: str | os.PathLike,
    config: EncoderTraining,
    device: torch.device,
) -> dict:
    """Train an encoder (the domain's architecture) for the generator in ``generator_path``.

    ``generated_path``: HDF5 with ``z`` and the samples (``images`` or ``audio``) drawn from that
    generator (the last ``val_size`` pairs are held out for validation). ``real_path``: HDF5 of
    real samples (used by the real phase). ``perceptual_network``: (kind, path) for
    :func:`ganinv.losses.load_perceptual_network` when the perceptual
    weight is positive. Returns a summary dict; the model file's meta holds it too.
    """
    domain = DOMAINS[config.domain]
    key = domain.data_key
    generator, _ = load_model(generator_path, domain.generator, device)
    for p in generator.parameters():
        p.requires_grad_(False)
    generated, _ = read_h5(generated_path, ["z", key])
    _check_samples(generated[key], str(generated_path), generator, key)
    check_latents(generated["z"], str(generated_path))
    if generated["z"].shape[1] != generator.z_dim:
        raise UserError(
            f"{generated_path} holds {generated['z'].shape[1]}-d latents but the generator's "
            f"z is {generator.z_dim}-d: sample the training set from this generator"
        )
    n_total = len(generated["z"])
    if n_total <= config.val_size + config.batch_size:
        raise UserError(
            f"{generated_path} has {n_total} samples; need more than val_size + batch_size = "
            f"{config.val_size + config.batch_size}: draw a larger encoder training set"
        )
    z_all = torch.from_numpy(generated["z"])
    x_all = torch.from_numpy(generated[key])
    z_train, x_train = z_all[: -config.val_size], x_all[: -config.val_size]
    z_val, x_val = z_all[-config.val_size :], x_all[-config.val_size :]
    real = None
    if config.real_phase:
        if real_path is None:
            raise UserError("encoder: real_phase is on but no real-face file was given")
        real = torch.from_numpy(read_h5(real_path, [key])[0][key])
        _check_samples(real.numpy(), str(real_path), generator, key)
    net = None
    if config.needs_perceptual_network:
        if perceptual_network is None:
            raise UserError("encoder: the perceptual loss needs a perceptual network")
        net = load_perceptual_network(perceptual_network[0], perceptual_network[1], device)

    hashed = {
        **asdict(config),
        "generator_sha256": file_sha256(generator_path),
        "generated_sha256": file_sha256(generated_path),
        "real_sha256": file_sha256(real_path) if real is not None else None,
        "perceptual_network": (
            [perceptual_network[0],
             file_sha256(perceptual_network[1]) if perceptual_network[1] else None]
            if net is not None else None
        ),
    }  # fmt: skip
    seed_everything(config.seed)
    input_size = config.input_size or generator.resolution
    kwargs = {"z_dim": generator.z_dim, "input_size": input_size}
    if config.domain == "audio":
        kwargs["representation"] = config.representation
    encoder = architecture_class(domain.encoder)(**kwargs).to(device)
    betas = (float(config.betas[0]), float(config.betas[1]))
    # fused: one kernel for all 15 M parameters, ~6x faster than the default loop on CPU.
    optimizer = torch.optim.Adam(encoder.parameters(), lr=config.lr, betas=betas, fused=True)
    rng = torch.Generator().manual_seed(config.seed)
    run = TrainingRun(work_dir=work_dir, params_hash=params_hash(hashed), total_steps=config.steps)
    parts = {"encoder": encoder, "optimizer": optimizer, "rng": rng}
    run.start(parts)
    step = run.step
    curve = run.curve("curve.csv", CURVE_COLUMNS)

    def normalize(z: torch.Tensor) -> torch.Tensor:
        return normalize_latent(z) if config.normalize_z else z

    @torch.no_grad()
    def validate() -> tuple[float, float]:
        encoder.eval()
        x = _to_input(x_val, device)
        z_hat = encoder(x)
        z_mae = float((normalize(z_hat) - normalize(z_val.to(device))).abs().mean())
        psnr = float(psnr_signed(generator(z_hat), x).mean())
        encoder.train()
        return z_mae, psnr

    log.info(
        "encoder: %d steps, batch %d, input %d px, weights z %.3g / pixel %.3g / perceptual %.3g,"
        " real phase %s, on %s", config.steps, config.batch_size, input_size,
        config.z_weight, config.pixel_weight, config.perceptual_weight, config.real_phase,
        device_description(device),
    )  # fmt: skip
    encoder.train()
    bar = progress(total=config.steps, initial=step, desc="encoder")
    while step < config.steps:
        phase = config.phase(step)
        if phase == "generated":
            index = torch.randint(len(z_train), (config.batch_size,), generator=rng)
            x = _to_input(x_train[index], device)
            z = z_train[index].to(device)
        else:
            assert real is not None
            index = torch.randint(len(real), (config.batch_size,), generator=rng)
            x = _to_input(real[index], device)
            z = None
        z_hat = encoder(x)
        zero = torch.zeros((), device=device)
        z_loss, pixel_loss, perceptual_loss = zero, zero, zero
        if z is not None and config.z_weight > 0:
            z_diff = normalize(z_hat) - normalize(z)
            z_loss = z_diff.abs().mean() if config.z_loss == "mae" else z_diff.pow(2).mean()
        needs_image = config.perceptual_weight > 0 or (z is None and config.pixel_weight > 0)
        if needs_image:
            reconstruction = generator(z_hat)
            if z is None and config.pixel_weight > 0:
                pixel_loss = (reconstruction - x).abs().mean()
            if net is not None:
                perceptual_loss = perceptual_distance(net, reconstruction, x).mean()
        if z is None:
            loss = config.pixel_weight * pixel_loss + config.perceptual_weight * perceptual_loss
        else:
            loss = config.z_weight * z_loss + config.perceptual_weight * perceptual_loss
        if not torch.isfinite(loss):
            raise UserError(f"encoder training diverged at step {step} (loss {loss.item()}); "
                            "lower the learning rate")  # fmt: skip
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        bar.update(1)
        evaluate = step % config.eval_every == 0 or step == config.steps
        if step % config.log_every == 0 or evaluate:
            val_z_mae, val_psnr = validate() if evaluate else (float("nan"), float("nan"))
            curve.write({
                "step": step, "phase": phase, "loss": loss.item(), "z_loss": z_loss.item(),
                "pixel_loss": pixel_loss.item(), "perceptual_loss": perceptual_loss.item(),
                "val_z_mae": val_z_mae, "val_psnr_db": val_psnr, "seconds": run.elapsed(),
            })  # fmt: skip
        if step % config.checkpoint_every == 0 or step == config.steps:
            run.save(step, parts)
    bar.close()
    val_z_mae, val_psnr = validate()
    curve.export(curve_csv)
    curve.close()
    summary = run.summary(device, steps=step, val_z_mae=val_z_mae, val_psnr_db=val_psnr)
    summary.update(gpu_memory(device))
    save_model(model_path, encoder.eval(), domain.encoder, kwargs,
               meta={**summary, "training": asdict(config)})  # fmt: skip
    log.info("done: %s", summary)
    return summary
