"""The training loop of the classifiers (the spoken-digit classifier, FaceNet).

Both train one network with AdamW under a linear warm-up and cosine decay of the learning rate,
on batches drawn in a :class:`~ganinv.train.checkpoint.BatchOrder`. Every ``log_every`` steps a
curve row holds the window means of the losses and the training accuracy, every ``eval_every``
steps and at the end also the validation numbers; a checkpoint every ``checkpoint_every`` steps
and at the end holds the network, the optimiser, the augmentation RNG and the window sums, so a
run killed and rerun gives the same network as an uninterrupted one (bit-identical on CPU).
What differs between the classifiers (data, augmentation, the loss of a batch, the evaluation)
comes in as functions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import torch

from ganinv.progress import progress
from ganinv.runtime import UserError, check_int, check_number, derive_seed
from ganinv.train.checkpoint import BatchOrder
from ganinv.train.run import LogWindow, TrainingRun


class ClassifierSchedule(Protocol):
    """The fields of a classifier config that the loop and :func:`check_schedule` read."""

    steps: int
    batch_size: int
    lr: float
    weight_decay: float
    warmup_steps: int
    checkpoint_every: int
    eval_every: int
    log_every: int
    seed: int
    augment: bool

    def learning_rate(self, step: int) -> float: ...


def warmup_cosine(step: int, *, lr: float, warmup_steps: int, steps: int) -> float:
    """Learning rate of step ``step`` (0-based): linear warm-up over ``warmup_steps``, then
    cosine decay to 0 at ``steps``."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    done = (step - warmup_steps) / max(1, steps - warmup_steps)
    return lr * 0.5 * (1.0 + math.cos(math.pi * done))


def check_schedule(config: ClassifierSchedule, *, prefix: str) -> None:
    """UserError naming ``<prefix>.<field>`` unless the schedule fields of ``config`` are valid."""
    for name in ("batch_size", "steps", "checkpoint_every", "eval_every", "log_every"):
        check_int(f"{prefix}.{name}", getattr(config, name), minimum=1)
    check_int(f"{prefix}.warmup_steps", config.warmup_steps, minimum=0)
    if config.warmup_steps >= config.steps:
        raise UserError(
            f"{prefix}.warmup_steps must be < steps={config.steps}, got {config.warmup_steps}"
        )
    check_int(f"{prefix}.seed", config.seed, minimum=None)
    check_number(f"{prefix}.lr", config.lr, above=0)
    check_number(f"{prefix}.weight_decay", config.weight_decay, minimum=0)
    if not isinstance(config.augment, bool):
        raise UserError(f"{prefix}.augment must be true or false, got {config.augment!r}")


class Batch(NamedTuple):
    """What the loss of one training batch gives the loop."""

    losses: dict[str, torch.Tensor]  # "loss" (minimised) first, then any of its terms to log
    logits: torch.Tensor  # [B, classes], for the training accuracy
    labels: torch.Tensor  # [B]


class ClassifierLoop:
    """Optimiser, augmentation RNG, batch order and resumable run of one classifier training.

    Made after the network; resumes from a checkpoint of the same parameters in ``work_dir``.
    ``name`` ("digits", "facenet") names the progress bar, the RNG streams and the config
    section in messages; ``loss_keys`` are the losses of :attr:`Batch.losses`, in curve order.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        name: str,
        config: ClassifierSchedule,
        n_train: int,
        work_dir: str | os.PathLike,
        params_hash: str,
        loss_keys: Sequence[str],
        curve_columns: Sequence[str],
    ) -> None:
        self.model, self.name, self.config = model, name, config
        self.optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True
        )
        self.rng = torch.Generator().manual_seed(derive_seed(config.seed, f"{name}-augment"))
        self.order = BatchOrder(n_train, config.batch_size, config.seed, name)
        self.loss_keys = tuple(loss_keys)
        self.window = LogWindow((*self.loss_keys, "correct", "seen", "steps"))
        self.parts = {
            "model": model,
            "optimizer": self.optimizer,
            "rng": self.rng,
            "window": self.window,
        }
        self.run = TrainingRun(work_dir=work_dir, params_hash=params_hash, total_steps=config.steps)
        self.run.start(self.parts)
        self.step = self.run.step
        self.curve = self.run.curve("curve.csv", curve_columns)

    def train(
        self,
        *,
        batch_loss: Callable[[torch.Tensor, torch.Generator], Batch],
        evaluate: Callable[[int], dict[str, Any]],
        title: str,
    ) -> None:
        """Train to ``config.steps``. ``batch_loss(index, rng)``: the :class:`Batch` of the
        training examples ``index`` (augmented from ``rng``); ``evaluate(step)``: the validation
        cells of a curve row (it logs them); ``title`` names the network in errors."""
        config, window = self.config, self.window
        step = self.step
        bar = progress(total=config.steps, initial=step, desc=self.name)
        while step < config.steps:
            lr = config.learning_rate(step)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            batch = batch_loss(self.order.indices(step), self.rng)
            loss = batch.losses["loss"]
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            step += 1
            bar.update(1)
            if not torch.isfinite(loss):
                raise UserError(
                    f"{title} training diverged at step {step} (loss {loss.item()}); "
                    f"lower {self.name}.lr"
                )
            window.add(
                **{key: value.item() for key, value in batch.losses.items()},
                correct=float((batch.logits.argmax(dim=1) == batch.labels).sum()),
                seen=len(batch.labels),
                steps=1,
            )

            evaluate_now = step % config.eval_every == 0 or step == config.steps
            if step % config.log_every == 0 or evaluate_now:
                row: dict[str, Any] = dict.fromkeys(self.curve.columns, "")
                row.update(step=step, lr=lr, **self._window_means())
                if evaluate_now:
                    row.update(evaluate(step))
                row["seconds"] = self.run.elapsed()
                self.curve.write(row)
            if step % config.checkpoint_every == 0 or step == config.steps:
                self.run.save(step, self.parts)
        bar.close()
        self.step = step

    def _window_means(self) -> dict[str, float]:
        """Mean losses and training accuracy over the window, then start a new window."""
        sums = self.window.sums
        means = {key: sums[key] / sums["steps"] for key in self.loss_keys}
        means["train_accuracy"] = sums["correct"] / sums["seen"]
        self.window.reset()
        return means

    def export_curve(self, destination: str | os.PathLike) -> None:
        """Copy the finished curve to ``destination`` and close it."""
        self.curve.export(destination)
        self.curve.close()
