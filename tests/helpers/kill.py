"""Run a training script in a subprocess, optionally SIGKILL it once a checkpoint has a step."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import torch


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
