"""Training checkpoints that survive a kill: state dicts, optimiser states, RNG state, step.

A checkpoint is tied to the hash of the parameters that produced it; a run with other parameters
starts afresh instead of resuming someone else's training.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from ganinv.atomic import atomic_path
from ganinv.runtime import derive_seed

CHECKPOINT_FORMAT = "ganinv-checkpoint"
CHECKPOINT_VERSION = 1
log = logging.getLogger("ganinv")


def save_checkpoint(path: str | os.PathLike, params_hash: str, step: int, state: dict) -> None:
    """Atomically write ``state`` (tensors, state dicts, plain values) for step ``step``."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "params_hash": params_hash,
        "step": int(step),
        "state": state,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def discard_checkpoint(*, work_dir: str | os.PathLike) -> int:
    """Remove a finished training's resume checkpoint (``<work_dir>/checkpoint.pt``).

    Called by a training rule after its model file is in place: nothing reads the checkpoint
    any more, and each holds the model, the optimiser and often a discriminator (about 165 MB
    for a face encoder). A job killed before this point keeps it and resumes. The running
    curves beside it stay (they are small). Returns the bytes freed."""
    path = Path(work_dir) / "checkpoint.pt"
    if not path.is_file():
        return 0
    size = path.stat().st_size
    path.unlink()
    log.info("removed the resume checkpoint %s (%.1f MB): training finished", path, size / 1e6)
    return size


def load_checkpoint(path: str | os.PathLike, params_hash: str) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists, is readable and matches ``params_hash``."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a checkpoint is an optimisation: never fatal
        log.warning("ignoring unreadable checkpoint %s (%s); starting afresh", path, exc)
        return None
    if (
        not isinstance(payload, dict)
        or payload.get("format") != CHECKPOINT_FORMAT
        or payload.get("format_version") != CHECKPOINT_VERSION
    ):
        log.warning("ignoring %s: not a ganinv checkpoint of this version", path)
        return None
    if payload.get("params_hash") != params_hash:
        log.info("checkpoint %s was made with other parameters; starting afresh", path)
        return None
    return payload


class BatchOrder:
    """Epoch-wise shuffles as a pure function of (seed, name, epoch): the batch of a step is fixed,
    so a resumed run draws exactly the batches an uninterrupted one would."""

    def __init__(self, n: int, batch_size: int, seed: int, name: str):
        self.n, self.batch_size, self.seed, self.name = n, batch_size, seed, name
        self._cache: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k >= epoch - 1}
            gen = torch.Generator().manual_seed(derive_seed(self.seed, f"{self.name}-order", epoch))
            self._cache[epoch] = torch.randperm(self.n, generator=gen)
        return self._cache[epoch]

    def indices(self, step: int) -> torch.Tensor:
        start = step * self.batch_size
        first, last = start // self.n, (start + self.batch_size - 1) // self.n
        if first == last:
            return self._perm(first)[start % self.n : start % self.n + self.batch_size]
        positions = range(start, start + self.batch_size)
        return torch.stack([self._perm(p // self.n)[p % self.n] for p in positions])
