"""Run a training script in a subprocess, optionally SIGKILL it once a checkpoint has a step,
and compare what the killed-and-rerun training made with an uninterrupted one."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from ganinv.models.files import load_model

SCRIPT_START = """
import sys, torch
from ganinv.runtime import configure_torch, setup_logging
configure_torch(1)
out = sys.argv[2]
setup_logging(out + "/log.txt")
"""


def run_training(
    script: str, argv: list[str], checkpoint: Path, kill_after_step: int | None = None,
    timeout: float = 300,
) -> None:  # fmt: skip
    """Run ``python -c script *argv``; with ``kill_after_step``, SIGKILL it as soon as
    ``checkpoint`` records at least that step (the process may also finish first)."""
    command = [sys.executable, "-c", script, *argv]
    if kill_after_step is None:
        subprocess.run(command, check=True, timeout=timeout)
        return
    process = subprocess.Popen(command)
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if checkpoint.exists():
            try:
                state = torch.load(checkpoint, weights_only=True)
            except Exception:  # being replaced right now: look again
                state = {"step": -1}
            if state["step"] >= kill_after_step:
                break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()


def training_script(call: str) -> str:
    """A script for :func:`train_in_subprocess`: argv is the data file, the output folder
    ``out`` and the config's repr; one thread, the log in ``out/log.txt``, then ``call``
    (imports and one training call writing below ``out``, its work folder ``out/work``)."""
    return SCRIPT_START + textwrap.dedent(call)


def train_in_subprocess(
    script: str, data: Path, out: Path, config: dict, kill_after_step: int | None = None
) -> None:
    """Run a :func:`training_script` on ``data`` into ``out`` (see :func:`run_training`)."""
    out.mkdir(parents=True, exist_ok=True)
    run_training(script, [str(data), str(out), repr(config)], out / "work" / "checkpoint.pt",
                 kill_after_step)  # fmt: skip


def resumed_at(out: Path) -> int:
    """N of the line "resuming from ... at step N of M" in ``out/log.txt``."""
    log = (out / "log.txt").read_text()
    return int(log.split("resuming from")[1].split("at step")[1].split()[0])


def assert_same_weights(model_a: Path, model_b: Path) -> tuple[dict, dict]:
    """Assert that two model files hold equal tensors (bit for bit); return their metas."""
    a, meta_a = load_model(model_a)
    b, meta_b = load_model(model_b)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name
    return meta_a, meta_b


def curve_rows(path: Path, columns: Sequence[str]) -> list[tuple[str, ...]]:
    """The ``columns`` of every row of a training curve CSV, as written (for run comparisons)."""
    with open(path, newline="") as handle:
        return [tuple(row[c] for c in columns) for row in csv.DictReader(handle)]
