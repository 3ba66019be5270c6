"""Every training rule, killed with SIGKILL mid-training through Snakemake, resumes on the rerun.

Each test hard-links the finished smoke run into a new folder (inputs in place, up to date), forces
one training job, SIGKILLs Snakemake and the job's process tree as soon as the job's checkpoint
records a step, then does what a user does after a crash: ``snakemake --unlock`` and rerun. The
rerun must resume from that checkpoint (no step before it is redone) and end with the same weights
as the uninterrupted smoke run (same seed, CPU).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import torch

from .workflow_helpers import SNAKEMAKE, snakemake

pytestmark = pytest.mark.workflow

# rule, one instance's model file, its checkpoint folder (the rule's work_dir), its log.
TRAINING_JOBS = [
    ("train_progan", "faces/progan/generator.pt", "faces/progan/work", "faces/train_progan"),
    ("train_stylegan2", "faces/stylegan2/generator.pt", "faces/stylegan2/work",
     "faces/train_stylegan2"),
    ("train_wavegan", "audio/wavegan/generator.pt", "audio/wavegan/work", "audio/train_wavegan"),
    ("train_facenet", "faces/facenet/perceptual.pt", "faces/facenet/work_perceptual",
     "faces/train_facenet_perceptual"),
    ("train_digit_classifier", "audio/classifier/perceptual.pt",
     "audio/classifier/work_perceptual", "audio/train_classifier_perceptual"),
    ("train_encoder", "faces/dcgan/encoder/full.pt", "faces/dcgan/encoder/work_full",
     "faces/train_encoder_dcgan_full"),
    ("train_audio_encoder", "audio/encoder/encoder.pt", "audio/encoder/work",
     "audio/train_encoder"),
]  # fmt: skip
RESUMED = re.compile(r"resuming from \S+ at step (\d+) of (\d+)")


# Rewritten in place by a rerun (not replaced by rename): copied, not hard-linked.
COPIED = (".snakemake", "logs", "benchmarks")


def _link_copy(source: Path, destination: Path) -> Path:
    """The finished run, hard-linked (same bytes and mtimes, no copying). Outputs are replaced by
    rename, so the shared run is never modified; Snakemake's metadata, logs and benchmark files,
    which are rewritten in place, are real copies."""
    shutil.copytree(source, destination, copy_function=os.link,
                    ignore=shutil.ignore_patterns(*COPIED))  # fmt: skip
    shutil.copytree(source / ".snakemake", destination / ".snakemake")
    for folder in ("logs", "benchmarks"):
        shutil.copytree(source / "results" / folder, destination / "results" / folder)
    return destination


def _checkpoint_step(path: Path) -> int:
    if not path.exists():
        return -1
    try:  # mmap: an encoder's checkpoint is ~165 MB, only its step is read
        return int(torch.load(path, weights_only=True, mmap=True)["step"])
    except Exception:  # absent, or being renamed into place right now
        return -1


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL Snakemake and every process below it (the job's Python), as a dying node would."""
    family = [psutil.Process(process.pid)]
    family += family[0].children(recursive=True)
    for member in family:
        try:
            member.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    process.wait(timeout=60)


def _state_dict(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.mark.parametrize(("rule", "model", "work_dir", "log"), TRAINING_JOBS,
                         ids=[job[0] for job in TRAINING_JOBS])  # fmt: skip
def test_sigkilled_training_resumes_from_its_checkpoint(
    smoke_run, tmp_path, rule, model, work_dir, log
):
    workdir = _link_copy(smoke_run, tmp_path / "run")
    results = workdir / "results"
    checkpoint = results / work_dir / "checkpoint.pt"
    shutil.rmtree(results / work_dir)  # train from scratch, as in the smoke run
    target = f"results/{model}"
    command = [*SNAKEMAKE, "--cores", "2", "--configfile", "presets/smoke.yaml",
               "--forcerun", rule, "--", target]  # fmt: skip
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")}
    with open(tmp_path / "killed_run.txt", "w") as output:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=output, stderr=output)
        deadline, killed_at = time.monotonic() + 600, -1
        while time.monotonic() < deadline and process.poll() is None:
            killed_at = _checkpoint_step(checkpoint)
            if killed_at > 0:
                _kill_tree(process)
                break
            time.sleep(0.02)
    assert killed_at > 0 and process.returncode == -signal.SIGKILL, (
        f"{rule} was not killed mid-training:\n{(tmp_path / 'killed_run.txt').read_text()[-3000:]}"
    )
    assert not (workdir / target).exists()  # nothing under the final name

    # What a user sees after the crash, and does.
    locked = snakemake(workdir, "--", target, check=False)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    snakemake(workdir, "--unlock")
    rerun = snakemake(workdir, "--printshellcmds", "--", target)
    assert f"rule {rule}:" in rerun.stdout + rerun.stderr
    assert "1 of 1 steps (100%) done" in rerun.stdout + rerun.stderr  # nothing else was redone

    resumed = RESUMED.findall((results / "logs" / f"{log}.log").read_text())
    assert resumed, f"{rule} did not resume from {checkpoint}"
    step, total = map(int, resumed[-1])
    # Work done before the kill is not redone: the rerun starts at the checkpoint the kill left.
    assert killed_at <= step < total
    # Same seed, same steps: the weights equal the uninterrupted smoke run's.
    expected, resumed_state = _state_dict(smoke_run / target), _state_dict(workdir / target)
    assert expected.keys() == resumed_state.keys()
    for key, value in expected.items():
        torch.testing.assert_close(resumed_state[key], value, rtol=1e-5, atol=1e-6, msg=key)
    identical = all(torch.equal(resumed_state[key], value) for key, value in expected.items())
    print(f"{rule}: killed at step {killed_at}, resumed at {step} of {total}; "
          f"weights bit-identical: {identical}")  # fmt: skip
