"""The start, checkpoints and finish that every resumable training run shares.

A run keeps its resume checkpoint (``checkpoint.pt``) and its running curves in a work folder.
Started again with the same parameters, it restores its networks, optimisers and RNGs from the
last checkpoint and logs "resuming from <checkpoint> at step N of M"; with other parameters it
starts afresh. Its clock counts training seconds across resumes, leaving out what runs inside
:meth:`TrainingRun.untimed` (quality measurements).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ganinv.curves import CurveWriter
from ganinv.runtime import device_description, file_sha256, params_hash
from ganinv.train.checkpoint import load_checkpoint, save_checkpoint

log = logging.getLogger("ganinv")


class TrainingRun:
    """One resumable training run: its work folder, parameter hash, step and clock.

    What a checkpoint holds is given as a mapping of names to parts: a part with a
    ``state_dict`` (networks, optimisers, :class:`LogWindow`) is stored as its state dict, a
    ``torch.Generator`` as its state, anything else (tensors, numbers, dicts) as it is.
    """

    def __init__(self, *, work_dir: str | os.PathLike, params_hash: str, total_steps: int) -> None:
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.checkpoint_path = self.work_dir / "checkpoint.pt"
        self.params_hash = params_hash
        self.total_steps = total_steps
        self.step = 0
        self.resumed = False
        self._previous_seconds = 0.0
        self._untimed_seconds = 0.0
        self._started = time.perf_counter()

    def start(self, parts: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """Resume from a checkpoint made with these parameters, or start afresh; start the clock.

        On resume the ``parts`` (networks, optimisers, RNGs, windows: what has a state) get their
        saved states back, and the whole saved state is returned (for what the caller restores
        itself); else None.
        """
        payload = load_checkpoint(self.checkpoint_path, self.params_hash)
        saved = None
        if payload is not None:
            saved = payload["state"]
            for name, part in (parts or {}).items():
                _restore(part, saved[name])
            self.step = int(payload["step"])
            self._previous_seconds = float(saved.get("elapsed", 0.0))
            self.resumed = True
            log.info(
                "resuming from %s at step %d of %d",
                self.checkpoint_path,
                self.step,
                self.total_steps,
            )
        self._started = time.perf_counter()
        return saved

    def curve(self, name: str, columns: Sequence[str]) -> CurveWriter:
        """The running curve ``<work_dir>/<name>``; on resume it keeps the rows up to the step."""
        return CurveWriter(self.work_dir / name, columns, self.step if self.resumed else None)

    def elapsed(self) -> float:
        """Training seconds so far, including those before a resume, without untimed blocks."""
        return self._previous_seconds + time.perf_counter() - self._started - self._untimed_seconds

    @contextlib.contextmanager
    def untimed(self) -> Iterator[None]:
        """A block whose seconds :meth:`elapsed` leaves out (e.g. measuring sample quality)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self._untimed_seconds += time.perf_counter() - began

    def save(self, step: int, parts: Mapping[str, Any]) -> None:
        """Checkpoint ``parts`` and the elapsed seconds at ``step`` (atomically)."""
        self.step = step
        state = {name: _state(part) for name, part in parts.items()}
        state["elapsed"] = self.elapsed()
        save_checkpoint(self.checkpoint_path, self.params_hash, step, state)

    def summary(self, device: torch.device, **results: Any) -> dict[str, Any]:
        """``results`` followed by the training seconds, the parameter hash and the device."""
        return {
            **results,
            "seconds": self.elapsed(),
            "params_hash": self.params_hash,
            "device": device_description(device),
        }


def config_hash(config: Any, *, data: str | os.PathLike, **extra: Any) -> str:
    """The parameter hash of a run: the fields of its ``config`` dataclass, the sha256 of its
    ``data`` file (as ``data_sha256``) and any ``extra`` values."""
    return params_hash({**asdict(config), "data_sha256": file_sha256(data), **extra})


def gpu_memory(device: torch.device) -> dict[str, float]:
    """``{"gpu_max_memory_mb": ...}`` (the peak allocated on ``device``) on CUDA, else ``{}``."""
    if device.type != "cuda":
        return {}
    return {"gpu_max_memory_mb": torch.cuda.max_memory_allocated(device) / 2**20}


class LogWindow:
    """Sums of the numbers a training loop logs once per window of steps.

    Checkpointed with the run (it has ``state_dict`` / ``load_state_dict``), so that a resumed
    run writes the same curve rows as an uninterrupted one.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = tuple(keys)
        self.reset()

    def reset(self) -> None:
        self.sums = dict.fromkeys(self.keys, 0.0)

    def add(self, **values: float) -> None:
        for key, value in values.items():
            self.sums[key] += value

    def state_dict(self) -> dict[str, float]:
        return dict(self.sums)

    def load_state_dict(self, state: Mapping[str, float]) -> None:
        self.sums = {key: float(state[key]) for key in self.keys}


def _state(part: Any) -> Any:
    if isinstance(part, torch.Generator):
        return part.get_state()
    if hasattr(part, "state_dict"):
        return part.state_dict()
    return part


def _restore(part: Any, state: Any) -> None:
    if isinstance(part, torch.Generator):
        part.set_state(state)
    else:
        part.load_state_dict(state)
