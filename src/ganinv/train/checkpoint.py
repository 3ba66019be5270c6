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
