"""ProGAN training loop: schedule, curves, resume after SIGKILL equals an uninterrupted run."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from ganinv.data.h5io import write_h5
from ganinv.runtime import UserError
from ganinv.train.progan import ProGANTraining
from tests.helpers.kill import (
    assert_same_weights,
    curve_rows,
    resumed_at,
    train_in_subprocess,
    training_script,
)

TINY = dict(
    resolution=8,
    z_dim=8,
    channels=[8, 8],
    batch_size=4,
    stage_steps=[6, 8],
    checkpoint_every=2,
    eval_every=4,
    eval_images=16,
    grid_size=4,
    seed=3,
)


def test_schedule_fades_each_new_stage_in():
    config = ProGANTraining(**{**TINY, "stage_steps": [4, 10], "fade_fraction": 0.5})
    assert [config.schedule(s) for s in range(4)] == [(0, 1.0)] * 4
    alphas = [config.schedule(s)[1] for s in range(4, 14)]
    assert alphas[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert alphas[5:] == [1.0] * 5
    assert config.total_steps == 14 and config.stage_end(0) == 4


def test_inconsistent_sizes_are_user_errors():
    with pytest.raises(UserError, match="channel widths give 16 px"):
        ProGANTraining(**{**TINY, "channels": [8, 8, 8]})
    with pytest.raises(UserError, match="stage_steps has 3 entries"):
        ProGANTraining(**{**TINY, "stage_steps": [1, 2, 3]})


@pytest.fixture()
def tiny_data(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (32, 3, 8, 8), dtype=np.uint8)
    path = tmp_path / "train.h5"
    write_h5(path, {"images": images})
    return path


SCRIPT = training_script(
    """
    from ganinv.train.progan import ProGANTraining, train_progan
    config = ProGANTraining(**eval(sys.argv[3]))
    train_progan(sys.argv[1], out + "/g.pt", out + "/loss.csv", out + "/q.csv",
                 [out + f"/grid{i}.png" for i in range(2)], out + "/work", config,
                 torch.device("cpu"))
    """
)


def _train(data: Path, out: Path, config: dict, kill_after_step: int | None = None) -> None:
    train_in_subprocess(SCRIPT, data, out, config, kill_after_step)


def test_resume_after_kill_matches_uninterrupted_run(tiny_data, tmp_path):
    config = {**TINY, "stage_steps": [40, 60]}
    _train(tiny_data, tmp_path / "whole", config)
    _train(tiny_data, tmp_path / "killed", config, kill_after_step=50)
    assert not (tmp_path / "killed" / "g.pt").exists()  # no final model from a killed run
    _train(tiny_data, tmp_path / "killed", config)
    resumed = resumed_at(tmp_path / "killed")
    assert resumed >= 50
    assert_same_weights(tmp_path / "whole" / "g.pt", tmp_path / "killed" / "g.pt")
    # The loss curve is continuous: one row per logged step, no duplicates after the resume.
    with open(tmp_path / "killed" / "loss.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert steps == sorted(set(steps)) and steps[-1] == 100
    whole_rows = curve_rows(tmp_path / "whole" / "loss.csv", ["d_loss"])
    resumed_rows = curve_rows(tmp_path / "killed" / "loss.csv", ["d_loss"])
    assert whole_rows == resumed_rows


def test_changed_parameters_do_not_resume(tiny_data, tmp_path):
    _train(tiny_data, tmp_path / "run", TINY)
    _train(tiny_data, tmp_path / "run", {**TINY, "lr": 0.002})
    log = (tmp_path / "run" / "log.txt").read_text()
    assert "other parameters; starting afresh" in log and "resuming" not in log
    assert os.path.exists(tmp_path / "run" / "g.pt")


def test_training_improves_sliced_wasserstein(tmp_path):
    """The reported quality number improves over training (16 px faces, ~40 s on 2 cores)."""
    import torch.nn.functional as F

    from ganinv.data.faces import render_split
    from ganinv.train.progan import train_progan

    faces = render_split(0, 50, 8, 32, seed=0)
    small = F.avg_pool2d(torch.from_numpy(faces.images).float(), 2).round().to(torch.uint8)
    write_h5(tmp_path / "faces16.h5", {"images": small.numpy()})
    config = ProGANTraining(
        resolution=16, z_dim=32, channels=[32, 32, 32], batch_size=16,
        stage_steps=[300, 400, 400], ema_beta=0.99, checkpoint_every=10_000,
        eval_every=10_000, eval_images=200, grid_size=16, seed=0,
    )  # fmt: skip
    summary = train_progan(
        tmp_path / "faces16.h5", tmp_path / "g.pt", tmp_path / "loss.csv", tmp_path / "q.csv",
        [tmp_path / f"grid{i}.png" for i in range(3)], tmp_path / "work", config,
        torch.device("cpu"),
    )  # fmt: skip
    assert summary["swd_final"] < 0.7 * summary["swd_first"], summary
