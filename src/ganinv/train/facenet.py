"""Training of the in-workflow face-recognition network (:class:`ganinv.models.facenet.FaceNet`).

Identity classification (normalised softmax with an additive cosine margin) plus regression of the
standardised face attributes, on one HDF5 split; the last ``val_images_per_identity`` images of
each identity are held out to measure identification accuracy and attribute R². Resumable: a
checkpoint every ``checkpoint_every`` steps holds the model, the optimiser, the augmentation RNG and
the running loss sums, and the batch order is a pure function of (seed, step), so a run killed and
rerun gives the same model as an uninterrupted one (bit-identical on CPU).
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ganinv.data.faces import DISCRETE_ATTRIBUTES, MAX_RESOLUTION, MIN_RESOLUTION
from ganinv.data.h5io import check_images, read_h5
from ganinv.images import from_uint8
from ganinv.models.facenet import FaceNet
from ganinv.models.files import save_model
from ganinv.runtime import UserError, check_int, check_number, device_description, seed_everything
from ganinv.train.classifier import Batch, ClassifierLoop, check_schedule, warmup_cosine
from ganinv.train.run import config_hash

log = logging.getLogger("ganinv")

CURVE_COLUMNS = (
    "step",
    "lr",
    "loss",
    "identity_loss",
    "attribute_loss",
    "train_accuracy",
    "val_accuracy",
    "val_attribute_r2",
    "seconds",
)
EVAL_BATCH = 500


@dataclass(frozen=True)
class FaceNetTraining:
    """Hyperparameters of one FaceNet training run (defaults: 32 px data, 2 CPU cores, ~40 s)."""

    input_size: int = 32
    width: int = 16
    embedding_dim: int = 128
    batch_size: int = 64
    steps: int = 600
    lr: float = 0.01
    weight_decay: float = 5e-4
    attribute_weight: float = 2.0
    val_images_per_identity: int = 4
    checkpoint_every: int = 100
    seed: int = 0
    augment: bool = True
    max_shift: float = 0.0625  # largest random translation, fraction of the image side
    margin: float = 0.1  # additive cosine margin of the identity loss (0: plain normalised softmax)
    warmup_steps: int = 20  # linear warm-up, then cosine decay to 0 at ``steps``
    eval_every: int = 200
    log_every: int = 10

    def __post_init__(self) -> None:
        for name in ("input_size", "width", "embedding_dim", "val_images_per_identity"):
            check_int(f"facenet.{name}", getattr(self, name))
        if self.input_size < 16:
            raise UserError(f"facenet.input_size must be >= 16 px, got {self.input_size}")
        check_schedule(self, prefix="facenet")
        for name in ("attribute_weight", "max_shift", "margin"):
            check_number(f"facenet.{name}", getattr(self, name), minimum=0)
        if self.max_shift >= 0.5:
            raise UserError(
                f"facenet.max_shift is a fraction of the image (< 0.5): {self.max_shift}"
            )
        if self.margin >= 1:
            raise UserError(f"facenet.margin is a cosine margin (< 1), got {self.margin}")

    def learning_rate(self, step: int) -> float:
        """Learning rate of step ``step`` (0-based): linear warm-up, then cosine decay."""
        return warmup_cosine(step, lr=self.lr, warmup_steps=self.warmup_steps, steps=self.steps)


@dataclass
class _Split:
    images: torch.Tensor  # uint8 [N, 3, H, W]
    labels: torch.Tensor  # int64 [N], 0..K-1
    attributes: torch.Tensor  # float32 [N, A], original units


def _load_data(
    data_path: str | os.PathLike, config: FaceNetTraining
) -> tuple[_Split, _Split, list[int], list[str]]:
    arrays, attrs = read_h5(data_path, ["images", "identity", "attributes"])
    images, identity, attributes = arrays["images"], arrays["identity"], arrays["attributes"]
    check_images(images, str(data_path))
    n, _, height, width = images.shape
    if height != width or not MIN_RESOLUTION <= height <= MAX_RESOLUTION:
        raise UserError(
            f"{data_path}: images are {height}x{width} px; FaceNet training needs square images "
            f"of {MIN_RESOLUTION}..{MAX_RESOLUTION} px"
        )
    if identity.shape != (n,) or not np.issubdtype(identity.dtype, np.integer):
        raise UserError(
            f"{data_path}: 'identity' must be integers of shape [{n}], found "
            f"{identity.dtype} {identity.shape}"
        )
    if attributes.ndim != 2 or attributes.shape[0] != n:
        raise UserError(
            f"{data_path}: 'attributes' must have shape [{n}, A], found {attributes.shape}"
        )
    if not np.all(np.isfinite(attributes)):
        raise UserError(f"{data_path}: 'attributes' holds NaN or infinite values")
    names = attrs.get("attribute_names")
    if not isinstance(names, list) or len(names) != attributes.shape[1]:
        raise UserError(
            f"{data_path}: the file attribute 'attribute_names' must list the "
            f"{attributes.shape[1]} attribute columns, found {names!r}"
        )
    k = config.val_images_per_identity
    identity_ids, counts = np.unique(identity, return_counts=True)
    if len(identity_ids) < 2:
        raise UserError(f"{data_path}: FaceNet training needs at least 2 identities")
    few = identity_ids[counts <= k]
    if len(few):
        raise UserError(
            f"{data_path}: identities {few[:5].tolist()} have <= {k} images, but the last {k} "
            "images of each identity are held out for validation; render more images per "
            "identity or lower facenet.val_images_per_identity"
        )
    labels = np.searchsorted(identity_ids, identity)
    val_mask = np.zeros(n, dtype=bool)
    for label in range(len(identity_ids)):
        val_mask[np.flatnonzero(labels == label)[-k:]] = True

    def split(mask: np.ndarray) -> _Split:
        return _Split(
            torch.from_numpy(np.ascontiguousarray(images[mask])),
            torch.from_numpy(labels[mask].astype(np.int64)),
            torch.from_numpy(attributes[mask].astype(np.float32)),
        )

    return split(~val_mask), split(val_mask), identity_ids.tolist(), [str(x) for x in names]


def _translate(
    x: torch.Tensor, shift: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift each image by a random integer offset in [-shift, shift]² (edge pixels repeated).

    Returns the shifted images and the offsets ``[N, 2]`` (dx right, dy down) in pixels.
    """
    n, c, h, w = x.shape
    offsets = torch.randint(-shift, shift + 1, (n, 2), generator=generator)
    padded = F.pad(x, (shift, shift, shift, shift), mode="replicate")
    dx, dy = offsets[:, 0].to(x.device), offsets[:, 1].to(x.device)
    rows = (shift - dy)[:, None] + torch.arange(h, device=x.device)[None, :]
    cols = (shift - dx)[:, None] + torch.arange(w, device=x.device)[None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]], offsets


@torch.no_grad()
def _evaluate(
    model: FaceNet, split: _Split, attribute_names: list[str], device: torch.device
) -> dict:
    """Identification accuracy and attribute R² (per attribute, in original units) on ``split``.

    Discrete attributes (category indices) are regressed like the others; their prediction rounded
    to the nearest index also gives an accuracy.
    """
    was_training = model.training
    model.eval()
    correct = 0
    predictions = []
    for start in range(0, len(split.labels), EVAL_BATCH):
        x = from_uint8(split.images[start : start + EVAL_BATCH], device)
        logits, _ = model(x)
        labels = split.labels[start : start + EVAL_BATCH].to(device)
        correct += int((logits.argmax(dim=1) == labels).sum())
        predictions.append(model.predict_attributes(x).double().cpu())
    model.train(was_training)
    predicted = torch.cat(predictions)
    truth = split.attributes.double()
    residual = (predicted - truth).pow(2).sum(dim=0)
    total = (truth - truth.mean(dim=0)).pow(2).sum(dim=0)
    r2 = {}
    for i, name in enumerate(attribute_names):
        r2[name] = float(1.0 - residual[i] / total[i]) if total[i] > 0 else float("nan")
    discrete = {
        name: float((predicted[:, i].round() == truth[:, i]).double().mean())
        for i, name in enumerate(attribute_names)
        if name in DISCRETE_ATTRIBUTES
    }
    return {
        "accuracy": correct / max(1, len(split.labels)),
        "attribute_r2": _nanmean(r2.values()),
        "attribute_r2_continuous": _nanmean(v for k, v in r2.items() if k not in discrete),
        "attribute_r2_per_attribute": r2,
        "discrete_accuracy": discrete,
    }


def _nanmean(values) -> float:
    defined = [v for v in values if math.isfinite(v)]
    return float(np.mean(defined)) if defined else float("nan")


def train_facenet(
    data_path: str | os.PathLike,
    model_path: str | os.PathLike,
    curve_csv: str | os.PathLike,
    work_dir: str | os.PathLike,
    config: FaceNetTraining,
    device: torch.device,
) -> dict:
    """Train a :class:`FaceNet` on an HDF5 split and save it as a ganinv model file.

    ``work_dir`` keeps the checkpoint and the running curve; a rerun with the same parameters and
    data resumes from the last checkpoint. Returns the summary also stored in the model's meta.
    """
    train, val, identity_ids, attribute_names = _load_data(data_path, config)
    resolution = int(train.images.shape[-1])
    shift = int(round(config.max_shift * resolution)) if config.augment else 0

    seed_everything(config.seed)
    kwargs = {
        "n_identities": len(identity_ids),
        "n_attributes": len(attribute_names),
        "input_size": config.input_size,
        "width": config.width,
        "embedding_dim": config.embedding_dim,
    }
    model = FaceNet(**kwargs)
    mean = train.attributes.mean(dim=0)
    std = train.attributes.std(dim=0)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    model.attribute_mean.copy_(mean)
    model.attribute_std.copy_(std)
    model = model.to(device).train()
    # Translating the image moves the face: keep the shift attributes consistent with the pixels.
    shift_columns = [
        (attribute_names.index(name), axis)
        for axis, name in enumerate(("shift_x", "shift_y"))
        if name in attribute_names
    ]
    loop = ClassifierLoop(model, name="facenet", config=config, n_train=len(train.labels),
                          work_dir=work_dir, params_hash=config_hash(config, data=data_path),
                          loss_keys=("loss", "identity_loss", "attribute_loss"),
                          curve_columns=CURVE_COLUMNS)  # fmt: skip

    log.info(
        "FaceNet: %d identities, %d training / %d validation images at %d px, input %d px, "
        "width %d, %d steps of %d on %s",
        len(identity_ids),
        len(train.labels),
        len(val.labels),
        resolution,
        config.input_size,
        config.width,
        config.steps,
        config.batch_size,
        device_description(device),
    )

    def batch_loss(index: torch.Tensor, rng: torch.Generator) -> Batch:
        x = from_uint8(train.images[index], device)
        labels = train.labels[index].to(device)
        target = train.attributes[index].clone()
        if shift > 0:
            x, offsets = _translate(x, shift, rng)
            for column, axis in shift_columns:
                target[:, column] += offsets[:, axis].float() * (2.0 / resolution)
        target = ((target.to(device) - model.attribute_mean) / model.attribute_std).detach()
        logits, predicted = model(x)
        margin = F.one_hot(labels, logits.shape[1]).to(logits.dtype)
        identity_loss = F.cross_entropy(logits - model.LOGIT_SCALE * config.margin * margin, labels)
        attribute_loss = F.mse_loss(predicted, target)
        loss = identity_loss + config.attribute_weight * attribute_loss
        losses = {"loss": loss, "identity_loss": identity_loss, "attribute_loss": attribute_loss}
        return Batch(losses, logits, labels)

    def evaluate(step: int) -> dict:
        metrics = _evaluate(model, val, attribute_names, device)
        log.info(
            "step %d: validation accuracy %.3f, attribute R² %.3f",
            step,
            metrics["accuracy"],
            metrics["attribute_r2"],
        )
        return {"val_accuracy": metrics["accuracy"], "val_attribute_r2": metrics["attribute_r2"]}

    loop.train(batch_loss=batch_loss, evaluate=evaluate, title="FaceNet")

    metrics = _evaluate(model, val, attribute_names, device)
    loop.export_curve(curve_csv)
    summary = loop.run.summary(
        device,
        val_accuracy=metrics["accuracy"],
        val_attribute_r2=metrics["attribute_r2"],
        val_attribute_r2_continuous=metrics["attribute_r2_continuous"],
        val_attribute_r2_per_attribute=metrics["attribute_r2_per_attribute"],
        val_discrete_accuracy=metrics["discrete_accuracy"],
        chance_accuracy=1.0 / len(identity_ids),
        n_identities=len(identity_ids),
        n_train=len(train.labels),
        n_val=len(val.labels),
        steps=loop.step,
    )
    save_model(
        model_path,
        model,
        "facenet.FaceNet",
        kwargs,
        meta={
            **summary,
            "identity_ids": identity_ids,
            "attribute_names": attribute_names,
            "data": str(data_path),
            "config": asdict(config),
        },
    )
    log.info(
        "done: validation accuracy %.3f (chance %.4f), attribute R² %.3f, %d steps in %.1f s",
        summary["val_accuracy"],
        summary["chance_accuracy"],
        summary["val_attribute_r2"],
        loop.step,
        summary["seconds"],
    )
    return summary
