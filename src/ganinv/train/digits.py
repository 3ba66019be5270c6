"""Training of the spoken-digit classifier (:class:`ganinv.models.digits.DigitClassifier`).

Data: one HDF5 file with ``audio`` float ``[N, 1, T]`` in [-1, 1], ``label`` int ``[N]`` in 0..9
and ``speaker`` int ``[N]``. A seeded choice of whole speakers (``val_speaker_fraction`` of them)
is held out, so the validation accuracy measures generalisation to voices never heard in training.
Augmentation per clip: a random time shift (zero-padded, up to ``max_shift_s``), a random gain
(uniform in ±``max_gain_db``) and white noise of a random level (standard deviation uniform in
[0, ``noise_std``]).

Resumable: a checkpoint every ``checkpoint_every`` steps holds the model, the optimiser, the
augmentation RNG, the running sums of the curve and the elapsed time; the batch order is a pure
function of (seed, step). A run killed and rerun gives the same model as an uninterrupted one
(bit-identical on CPU).
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ganinv.data.h5io import read_h5
from ganinv.models.digits import DIGIT_NAMES, DigitClassifier
from ganinv.models.files import save_model
from ganinv.models.spectral import KINDS
from ganinv.runtime import (
    UserError,
    check_int,
    check_number,
    derive_seed,
    device_description,
    seed_everything,
)
from ganinv.train.classifier import Batch, ClassifierLoop, check_schedule, warmup_cosine
from ganinv.train.run import config_hash

log = logging.getLogger("ganinv")

CURVE_COLUMNS = ("step", "lr", "loss", "train_accuracy", "val_accuracy", "seconds")
EVAL_BATCH = 256
N_CLASSES = len(DIGIT_NAMES)
DEFAULT_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class DigitClassifierTraining:
    """Hyperparameters of one classifier run.

    Defaults: ~2000 one-second espeak clips train in ~20 s on one CPU thread to ~98-100 %
    accuracy on held-out speakers (thesis: ResNet-18 on the real part of the STFT, 95.41 % on
    SC09). ``representation="magnitude"`` generalised better to new voices in our measurements.
    """

    representation: str = "real"
    width: int = 8
    blocks: tuple[int, ...] = (1, 1, 1, 1)
    n_fft: int = 256
    hop: int = 128
    n_mels: int = 64
    batch_size: int = 32
    steps: int = 300
    lr: float = 3e-3
    weight_decay: float = 5e-4
    warmup_steps: int = 20  # linear warm-up, then cosine decay to 0 at ``steps``
    val_speaker_fraction: float = 0.2
    augment: bool = True
    max_shift_s: float = 0.1
    max_gain_db: float = 6.0
    noise_std: float = 0.005
    checkpoint_every: int = 50
    eval_every: int = 100
    log_every: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.representation not in KINDS:
            raise UserError(
                f"digits.representation must be one of {KINDS}, got {self.representation!r}"
            )
        if isinstance(self.blocks, (str, bytes)) or not hasattr(self.blocks, "__len__"):
            raise UserError(f"digits.blocks must list 4 stage depths, got {self.blocks!r}")
        object.__setattr__(self, "blocks", tuple(self.blocks))
        if len(self.blocks) != 4:
            raise UserError(f"digits.blocks must be 4 integers >= 1, got {list(self.blocks)}")
        for stage, depth in enumerate(self.blocks):
            check_int(f"digits.blocks[{stage}]", depth)
        for name in ("width", "n_fft", "hop", "n_mels"):
            check_int(f"digits.{name}", getattr(self, name), minimum=1)
        check_schedule(self, prefix="digits")
        if self.hop > self.n_fft:
            raise UserError(f"digits.hop ({self.hop}) must be <= digits.n_fft ({self.n_fft})")
        for name in ("max_shift_s", "max_gain_db", "noise_std"):
            check_number(f"digits.{name}", getattr(self, name), minimum=0)
        fraction = self.val_speaker_fraction
        check_number("digits.val_speaker_fraction", fraction)
        if not 0 < fraction < 1:
            raise UserError(
                f"digits.val_speaker_fraction is the share of speakers held out for validation "
                f"and must lie in (0, 1), got {fraction}"
            )

    def learning_rate(self, step: int) -> float:
        """Learning rate of step ``step`` (0-based): linear warm-up, then cosine decay."""
        return warmup_cosine(step, lr=self.lr, warmup_steps=self.warmup_steps, steps=self.steps)

    def model_kwargs(self) -> dict:
        """Constructor kwargs of the :class:`DigitClassifier` this run trains."""
        return {
            "representation": self.representation,
            "width": self.width,
            "blocks": list(self.blocks),
            "n_classes": N_CLASSES,
            "n_fft": self.n_fft,
            "hop": self.hop,
            "n_mels": self.n_mels,
            "channels": 3,
        }


@dataclass
class _Split:
    audio: torch.Tensor  # float32 [N, 1, T]
    labels: torch.Tensor  # int64 [N]
    speakers: list[int]


def _read_checked(
    path: str | os.PathLike, min_samples: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``audio``, ``label``, ``speaker`` and the sample rate of a data file, checked."""
    arrays, attrs = read_h5(path, ["audio", "label", "speaker"])
    audio, label, speaker = arrays["audio"], arrays["label"], arrays["speaker"]
    if audio.ndim != 3 or audio.shape[1] != 1 or audio.shape[0] < 1:
        raise UserError(
            f"{path}: 'audio' must have shape [N, 1, T] (mono clips), found {audio.shape}"
        )
    if not np.issubdtype(audio.dtype, np.floating):
        raise UserError(f"{path}: 'audio' must be float32 in [-1, 1], found {audio.dtype}")
    if audio.shape[2] <= min_samples:
        raise UserError(
            f"{path}: clips of {audio.shape[2]} samples are too short for the STFT "
            f"(n_fft {2 * min_samples}); lower digits.n_fft or render longer clips"
        )
    n = audio.shape[0]
    for name, values in (("label", label), ("speaker", speaker)):
        if values.shape != (n,) or not np.issubdtype(values.dtype, np.integer):
            raise UserError(
                f"{path}: '{name}' must be integers of shape [{n}], found "
                f"{values.dtype} {values.shape}"
            )
    bad = np.unique(label[(label < 0) | (label >= N_CLASSES)])
    if len(bad):
        raise UserError(
            f"{path}: labels {bad[:5].tolist()} lie outside 0..{N_CLASSES - 1} "
            f"(the digits {DIGIT_NAMES[0]}..{DIGIT_NAMES[-1]})"
        )
    if not np.all(np.isfinite(audio)):
        raise UserError(f"{path}: 'audio' holds NaN or infinite values")
    sample_rate = int(attrs.get("sample_rate", DEFAULT_SAMPLE_RATE))
    return audio.astype(np.float32, copy=False), label.astype(np.int64), speaker, sample_rate


def _load_data(
    path: str | os.PathLike, config: DigitClassifierTraining
) -> tuple[_Split, _Split, int]:
    """Train and validation splits (disjoint speakers) and the sample rate."""
    audio, label, speaker, sample_rate = _read_checked(path, config.n_fft // 2)
    speakers = np.unique(speaker)
    if len(speakers) < 2:
        raise UserError(
            f"{path}: holds clips of {len(speakers)} speaker(s); the classifier's validation "
            "holds out whole speakers, so render clips of at least 2 speakers"
        )
    n_val = min(len(speakers) - 1, max(1, round(config.val_speaker_fraction * len(speakers))))
    gen = torch.Generator().manual_seed(derive_seed(config.seed, "digits-val-speakers"))
    chosen = speakers[torch.randperm(len(speakers), generator=gen)[:n_val].numpy()]
    val_mask = np.isin(speaker, chosen)

    def split(mask: np.ndarray) -> _Split:
        return _Split(
            torch.from_numpy(np.ascontiguousarray(audio[mask])),
            torch.from_numpy(label[mask]),
            sorted(int(s) for s in np.unique(speaker[mask])),
        )

    return split(~val_mask), split(val_mask), sample_rate


def _augment(
    x: torch.Tensor, config: DigitClassifierTraining, sample_rate: int, gen: torch.Generator
) -> torch.Tensor:
    """Random zero-padded time shift, gain and white noise, per clip (CPU, from ``gen``)."""
    n, _, length = x.shape
    shift = min(int(round(config.max_shift_s * sample_rate)), length - 1)
    if shift > 0:
        offsets = torch.randint(-shift, shift + 1, (n,), generator=gen)
        padded = F.pad(x, (shift, shift))
        index = (shift - offsets)[:, None] + torch.arange(length)[None, :]
        x = padded.gather(2, index[:, None, :])
    gain_db = (torch.rand(n, generator=gen) * 2 - 1) * config.max_gain_db
    x = x * torch.pow(10.0, gain_db / 20.0)[:, None, None]
    level = torch.rand(n, generator=gen) * config.noise_std
    return x + torch.randn(x.shape, generator=gen) * level[:, None, None]


@torch.no_grad()
def evaluate_classifier(
    model: DigitClassifier, audio: torch.Tensor, labels: torch.Tensor, device: torch.device
) -> dict:
    """Accuracy (overall and per digit) of ``model`` in eval mode on clips ``[N, 1, T]``."""
    was_training = model.training
    model.eval()
    predictions = []
    for start in range(0, len(labels), EVAL_BATCH):
        logits = model(audio[start : start + EVAL_BATCH].to(device))
        predictions.append(logits.argmax(dim=1).cpu())
    model.train(was_training)
    predicted = torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.long)
    correct = predicted == labels
    per_class = {}
    for k, name in enumerate(DIGIT_NAMES):
        mask = labels == k
        per_class[name] = float(correct[mask].double().mean()) if mask.any() else float("nan")
    accuracy = float(correct.double().mean()) if len(labels) else float("nan")
    return {"accuracy": accuracy, "per_class": per_class}


def train_digit_classifier(
    data_h5: str | os.PathLike,
    model_path: str | os.PathLike,
    curve_csv: str | os.PathLike,
    work_dir: str | os.PathLike,
    config: DigitClassifierTraining,
    device: torch.device,
) -> dict:
    """Train a :class:`DigitClassifier` on an HDF5 file of clips and save it as a model file.

    ``work_dir`` keeps the checkpoint and the running curve; a rerun with the same parameters and
    data resumes from the last checkpoint. Returns the summary also stored in the model's meta
    (``val_accuracy`` on the held-out speakers, per-digit accuracies, split sizes, seconds...).
    """
    train, val, sample_rate = _load_data(data_h5, config)
    missing = sorted(set(range(N_CLASSES)) - set(train.labels.tolist()))
    if missing:
        log.warning("no training clips of digit(s) %s", [DIGIT_NAMES[k] for k in missing])

    seed_everything(config.seed)
    kwargs = config.model_kwargs()
    model = DigitClassifier(**kwargs).to(device).train()
    loop = ClassifierLoop(model, name="digits", config=config, n_train=len(train.labels),
                          work_dir=work_dir, params_hash=config_hash(config, data=data_h5),
                          loss_keys=("loss",), curve_columns=CURVE_COLUMNS)  # fmt: skip

    log.info(
        "digit classifier (%s, width %d, blocks %s): %d training clips of %d speakers, "
        "%d validation clips of %d held-out speakers, %d steps of %d on %s",
        config.representation,
        config.width,
        list(config.blocks),
        len(train.labels),
        len(train.speakers),
        len(val.labels),
        len(val.speakers),
        config.steps,
        config.batch_size,
        device_description(device),
    )

    def batch_loss(index: torch.Tensor, rng: torch.Generator) -> Batch:
        x = train.audio[index]
        if config.augment:
            x = _augment(x, config, sample_rate, rng)
        labels = train.labels[index].to(device)
        logits = model(x.to(device))
        return Batch({"loss": F.cross_entropy(logits, labels)}, logits, labels)

    def evaluate(step: int) -> dict:
        accuracy = evaluate_classifier(model, val.audio, val.labels, device)["accuracy"]
        log.info("step %d: validation accuracy %.3f", step, accuracy)
        return {"val_accuracy": accuracy}

    loop.train(batch_loss=batch_loss, evaluate=evaluate, title="digit classifier")

    metrics = evaluate_classifier(model, val.audio, val.labels, device)
    loop.export_curve(curve_csv)
    summary = loop.run.summary(
        device,
        val_accuracy=metrics["accuracy"],
        val_accuracy_per_digit=metrics["per_class"],
        chance_accuracy=1.0 / N_CLASSES,
        n_train=len(train.labels),
        n_val=len(val.labels),
        train_speakers=train.speakers,
        val_speakers=val.speakers,
        steps=loop.step,
    )
    save_model(
        model_path,
        model,
        "digits.DigitClassifier",
        kwargs,
        meta={
            **summary,
            "class_names": list(DIGIT_NAMES),
            "sample_rate": sample_rate,
            "samples": int(train.audio.shape[-1]),
            "data": str(data_h5),
            "config": asdict(config),
        },
    )
    log.info(
        "done: validation accuracy %.3f on %d clips of %d unseen speakers, %d steps in %.1f s",
        summary["val_accuracy"],
        summary["n_val"],
        len(val.speakers),
        loop.step,
        summary["seconds"],
    )
    return summary
