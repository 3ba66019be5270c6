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
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ganinv.curves import CurveWriter
from ganinv.data.h5io import check_images, read_h5
from ganinv.metrics.image import psnr_signed
from ganinv.metrics.latent import normalize_latent
from ganinv.models.encoder import ResNetEncoder
from ganinv.models.facenet import load_face_network, perceptual_distance
from ganinv.models.files import load_model, save_model
from ganinv.plots import from_uint8
from ganinv.progress import progress
from ganinv.runtime import UserError, device_description, file_sha256, params_hash, seed_everything
from ganinv.train.checkpoint import load_checkpoint, save_checkpoint

log = logging.getLogger("ganinv")

CURVE_COLUMNS = (
    "step", "phase", "loss", "z_loss", "pixel_loss", "perceptual_loss", "val_z_mae",
    "val_psnr_db", "seconds",
)  # fmt: skip


@dataclass(frozen=True)
class EncoderTraining:
    """Hyperparameters of one encoder variant (thesis: Adam 2e-4, beta1 0.5, batch 16)."""

    input_size: int = 224
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

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1 or self.phase_period < 1:
            raise UserError("encoder: steps, batch_size and phase_period must be at least 1")
        if min(self.z_weight, self.pixel_weight, self.perceptual_weight) < 0:
            raise UserError("encoder: loss weights must not be negative")
        if self.z_weight == 0 and not self.real_phase and self.perceptual_weight == 0:
            raise UserError("encoder: every loss weight is 0; nothing would be trained")

    @property
    def needs_face_network(self) -> bool:
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
    face_network: tuple[str, str | None] | None,
    model_path: str | os.PathLike,
    curve_csv: str | os.PathLike,
    work_dir: str | os.PathLike,
    config: EncoderTraining,
    device: torch.device,
) -> dict:
    """Train a :class:`ResNetEncoder` for the generator in ``generator_path``.

    ``generated_path``: HDF5 with ``z`` and ``images`` drawn from that generator (the last
    ``val_size`` pairs are held out for validation). ``real_path``: HDF5 of real faces (used by the
    real phase). ``face_network``: (kind, path) for :func:`load_face_network` when the perceptual
    weight is positive. Returns a summary dict; the model file's meta holds it too.
    """
    generator, _ = load_model(generator_path, "progan.Generator", device)
    for p in generator.parameters():
        p.requires_grad_(False)
    generated, _ = read_h5(generated_path, ["z", "images"])
    check_images(generated["images"], str(generated_path), generator.resolution)
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
    x_all = torch.from_numpy(generated["images"])
    z_train, x_train = z_all[: -config.val_size], x_all[: -config.val_size]
    z_val, x_val = z_all[-config.val_size :], x_all[-config.val_size :]
    real = None
    if config.real_phase:
        if real_path is None:
            raise UserError("encoder: real_phase is on but no real-face file was given")
        real = torch.from_numpy(read_h5(real_path, ["images"])[0]["images"])
        check_images(real.numpy(), str(real_path), generator.resolution)
    face_net = None
    if config.needs_face_network:
        if face_network is None:
            raise UserError("encoder: the perceptual loss needs a face network")
        face_net = load_face_network(face_network[0], face_network[1], device)

    hashed = {
        **asdict(config),
        "generator_sha256": file_sha256(generator_path),
        "generated_sha256": file_sha256(generated_path),
        "real_sha256": file_sha256(real_path) if real is not None else None,
        "face_network": (
            [face_network[0], file_sha256(face_network[1]) if face_network[1] else None]
            if face_net is not None else None
        ),
    }  # fmt: skip
    run_hash = params_hash(hashed)
    seed_everything(config.seed)
    kwargs = {"z_dim": generator.z_dim, "input_size": config.input_size}
    encoder = ResNetEncoder(**kwargs).to(device)
    betas = (float(config.betas[0]), float(config.betas[1]))
    # fused: one kernel for all 15 M parameters, ~6x faster than the default loop on CPU.
    optimizer = torch.optim.Adam(encoder.parameters(), lr=config.lr, betas=betas, fused=True)
    rng = torch.Generator().manual_seed(config.seed)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = work_dir / "checkpoint.pt"
    state = load_checkpoint(checkpoint_path, run_hash)
    step, previous_seconds = 0, 0.0
    if state is not None:
        encoder.load_state_dict(state["state"]["encoder"])
        optimizer.load_state_dict(state["state"]["optimizer"])
        rng.set_state(state["state"]["rng"])
        previous_seconds = float(state["state"]["elapsed"])
        step = int(state["step"])
        log.info("resuming from %s at step %d of %d", checkpoint_path, step, config.steps)
    curve = CurveWriter(work_dir / "curve.csv", CURVE_COLUMNS, step if state else None)
    started = time.perf_counter()

    def elapsed() -> float:
        return previous_seconds + time.perf_counter() - started

    def normalize(z: torch.Tensor) -> torch.Tensor:
        return normalize_latent(z) if config.normalize_z else z

    @torch.no_grad()
    def validate() -> tuple[float, float]:
        encoder.eval()
        x = from_uint8(x_val, device)
        z_hat = encoder(x)
        z_mae = float((normalize(z_hat) - normalize(z_val.to(device))).abs().mean())
        psnr = float(psnr_signed(generator(z_hat), x).mean())
        encoder.train()
        return z_mae, psnr

    log.info(
        "encoder: %d steps, batch %d, input %d px, weights z %.3g / pixel %.3g / perceptual %.3g,"
        " real phase %s, on %s", config.steps, config.batch_size, config.input_size,
        config.z_weight, config.pixel_weight, config.perceptual_weight, config.real_phase,
        device_description(device),
    )  # fmt: skip
    encoder.train()
    bar = progress(total=config.steps, initial=step, desc="encoder")
    while step < config.steps:
        phase = config.phase(step)
        if phase == "generated":
            index = torch.randint(len(z_train), (config.batch_size,), generator=rng)
            x = from_uint8(x_train[index], device)
            z = z_train[index].to(device)
        else:
            assert real is not None
            index = torch.randint(len(real), (config.batch_size,), generator=rng)
            x = from_uint8(real[index], device)
            z = None
        z_hat = encoder(x)
        zero = torch.zeros((), device=device)
        z_loss, pixel_loss, perceptual_loss = zero, zero, zero
        if z is not None and config.z_weight > 0:
            z_loss = (normalize(z_hat) - normalize(z)).abs().mean()
        needs_image = config.perceptual_weight > 0 or (z is None and config.pixel_weight > 0)
        if needs_image:
            reconstruction = generator(z_hat)
            if z is None and config.pixel_weight > 0:
                pixel_loss = (reconstruction - x).abs().mean()
            if face_net is not None:
                perceptual_loss = perceptual_distance(face_net, reconstruction, x).mean()
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
                "val_z_mae": val_z_mae, "val_psnr_db": val_psnr, "seconds": elapsed(),
            })  # fmt: skip
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint(checkpoint_path, run_hash, step, {
                "encoder": encoder.state_dict(), "optimizer": optimizer.state_dict(),
                "rng": rng.get_state(), "elapsed": elapsed(),
            })  # fmt: skip
    bar.close()
    val_z_mae, val_psnr = validate()
    curve.export(curve_csv)
    curve.close()
    summary = {
        "steps": step, "val_z_mae": val_z_mae, "val_psnr_db": val_psnr,
        "seconds": elapsed(), "params_hash": run_hash, "device": device_description(device),
    }  # fmt: skip
    if device.type == "cuda":
        summary["gpu_max_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    save_model(model_path, encoder.eval(), "encoder.ResNetEncoder", kwargs,
               meta={**summary, "training": asdict(config)})  # fmt: skip
    log.info("done: %s", summary)
    return summary
