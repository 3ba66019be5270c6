"""Tests of the tables' timing: the rounds, the fixed + per-iteration model, the table columns."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import ganinv.timing as timing_module
from ganinv.experiments.timing_tables import apply_timing, timing_note
from ganinv.invert import InversionSettings, pixel_mae
from ganinv.runtime import UserError
from ganinv.timing import TIMING_COLUMNS, TimedMethod, time_methods
from tests.helpers.timing_csv import timing_csv


class LinearGenerator(nn.Module):
    """image = softsign(W z), [N, 1, 4, 4]."""

    z_dim = 3

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(16, 3, generator=torch.Generator().manual_seed(0)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return nn.functional.softsign(z @ self.weight.t()).view(-1, 1, 4, 4)


class FlatEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


# Cost model of the fake inversion below: seconds = FIXED[method] + PER_IT[method] x iterations.
FIXED = {"gd": 0.5, "hybrid": 0.2, "encoder": 0.1}
PER_IT = {"gd": 0.01, "hybrid": 0.012}


class FakeInvert:
    """A clock-free inversion whose cost is exactly FIXED + PER_IT x iterations, except that its
    first ``slow`` calls take 100x as long; CPU time is half the wall time. Records its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.slow = 0

    def __call__(self, generator, targets, *, settings, **kwargs):
        method = settings.method
        iterations = settings.iterations if method != "encoder" else 0
        seconds = FIXED[method] + PER_IT.get(method, 0.0) * iterations
        if len(self.calls) < self.slow:
            seconds *= 100
        self.calls.append((method, iterations))
        return SimpleNamespace(seconds_total=seconds, cpu_seconds_total=seconds / 2, device="fake")


@pytest.fixture()
def fake_invert(monkeypatch):
    fake = FakeInvert()
    monkeypatch.setattr(timing_module, "invert", fake)
    return fake


def _methods(encoder=None):
    return [
        TimedMethod(
            label="gd",
            loss_fn=pixel_mae,
            settings=InversionSettings(method="gd", iterations=200, lr=0.01),
        ),
        TimedMethod(
            label="encoder",
            loss_fn=pixel_mae,
            encoder=encoder,
            settings=InversionSettings(method="encoder"),
        ),
    ]


def test_full_runs_are_the_fixed_part_plus_iterations_and_warm_up_is_left_out(fake_invert):
    targets = torch.zeros(4, 1, 4, 4)
    fake_invert.slow = 3  # the warm-up round: gd with 1 and 4 iterations, the encoder
    rows = time_methods(generator=None, targets=targets, methods=_methods(), repeats=4,
                        warmup=1, block=3)  # fmt: skip
    by = {row["method"]: row for row in rows}
    assert list(rows[0]) == list(TIMING_COLUMNS)
    assert by["gd"]["seconds_total"] == pytest.approx(0.5 + 0.01 * 200)
    assert by["gd"]["seconds_per_target"] == pytest.approx((0.5 + 2.0) / 4)
    assert by["gd"]["cpu_seconds_total"] == pytest.approx((0.5 + 2.0) / 2)
    assert by["gd"]["seconds_fixed"] == pytest.approx(0.5)
    assert by["gd"]["seconds_per_iteration"] == pytest.approx(0.01)
    assert by["encoder"]["seconds_total"] == pytest.approx(0.1)
    assert math.isnan(by["encoder"]["seconds_per_iteration"])
    # every round makes the same calls (1 and 4 iterations of gd, the encoder), order rotated
    calls = fake_invert.calls
    rounds = [calls[i : i + 3] for i in range(0, len(calls), 3)]
    assert len(rounds) == 5
    assert all(sorted(r) == [("encoder", 0), ("gd", 1), ("gd", 4)] for r in rounds)
    assert rounds[0] != rounds[1]  # interleaved: a different method goes first
    # min and max span the rounds (here identical: no spread)
    assert by["gd"]["seconds_per_target_min"] == pytest.approx(by["gd"]["seconds_per_target_max"])


def test_an_iteration_below_the_clock_noise_never_gives_a_negative_time(monkeypatch, caplog):
    """The CPU clock read less for 4 iterations than for 1 (noise on a tiny model): the full run
    is estimated at the longer call's time, never below it, and the log says so."""

    def noisy_invert(generator, targets, *, settings, **kwargs):
        iterations = settings.iterations
        cpu = 0.05 if iterations == 1 else 0.01  # a GC pause fell on the 1-iteration call
        return SimpleNamespace(seconds_total=0.1 + 0.001 * iterations, cpu_seconds_total=cpu,
                               device="fake")  # fmt: skip

    monkeypatch.setattr(timing_module, "invert", noisy_invert)
    gd = _methods()[0]
    with caplog.at_level("WARNING", logger="ganinv"):
        (row,) = time_methods(generator=None, targets=torch.zeros(2, 1, 4, 4), methods=[gd],
                              repeats=3, warmup=0, block=3)  # fmt: skip
    assert row["cpu_seconds_total"] == pytest.approx(0.05)  # not 0.05 + 199 x (-0.04 / 3)
    assert row["seconds_total"] == pytest.approx(0.1 + 0.001 * 200)  # wall time unaffected
    assert "gd: in 3 of 3 rounds the 4-iteration call was not slower" in caplog.text


def test_short_runs_and_bad_settings(fake_invert):
    targets = torch.zeros(2, 1, 4, 4)
    short = TimedMethod(label="h", loss_fn=pixel_mae,
                        settings=InversionSettings(method="hybrid", iterations=2))  # fmt: skip
    (row,) = time_methods(generator=None, targets=targets, methods=[short], repeats=1, warmup=0,
                          block=5)  # fmt: skip
    assert fake_invert.calls == [("hybrid", 2)]  # at most 1 + block iterations: timed whole
    assert row["seconds_total"] == pytest.approx(0.2 + 0.012 * 2)
    assert math.isnan(row["seconds_per_iteration"])
    assert row["block"] == 5
    none = TimedMethod(label="g0", loss_fn=pixel_mae, settings=InversionSettings(method="gd"))
    (row,) = time_methods(generator=None, targets=targets, methods=[none], repeats=1, warmup=0)
    assert row["iterations"] == 0 and row["seconds_total"] == pytest.approx(0.5)
    with pytest.raises(UserError, match="repeats must be an integer >= 1"):
        time_methods(generator=None, targets=targets, methods=[none], repeats=0)
    with pytest.raises(UserError, match="labels must be unique"):
        time_methods(generator=None, targets=targets, methods=[none, none])
    with pytest.raises(UserError, match="unknown inversion method 'sgd'"):
        InversionSettings(method="sgd")


def test_real_inversions_are_timed_in_wall_and_cpu_time(one_thread):
    generator, encoder = LinearGenerator(), FlatEncoder()
    with torch.no_grad():
        targets = generator(torch.randn(5, 3, generator=torch.Generator().manual_seed(1)))
    methods = _methods(encoder) + [
        TimedMethod(
            label="hybrid",
            loss_fn=pixel_mae,
            encoder=encoder,
            settings=InversionSettings(method="hybrid", iterations=20, lr=0.01),
        ),
    ]
    rows = time_methods(generator=generator, targets=targets, methods=methods, repeats=3)
    for row in rows:
        assert row["n_targets"] == 5 and row["device"].startswith("cpu (1 threads)")
        assert 0 < row["seconds_per_target_min"] <= row["seconds_per_target"]
        assert row["seconds_per_target"] <= row["seconds_per_target_max"]
        assert row["cpu_seconds_total"] > 0
    assert [row["iterations"] for row in rows] == [200, 0, 20]
    assert generator.training and generator.weight.requires_grad  # modules left as they were


def test_tables_take_their_times_from_the_timing_csv(tmp_path):
    csv = timing_csv(tmp_path / "timing.csv", {"gd": 2.0, "encoder": 0.01})
    table = pd.DataFrame({"method": ["targets", "gd", "encoder"], "psnr_db": [None, 20.0, 18.0],
                          "seconds_total": [None, 99.0, 99.0], "generator": "G",
                          "device": "old"})  # fmt: skip
    out = apply_timing(table, csv, unit="image", skip=("targets",))
    assert out.columns.tolist() == ["method", "psnr_db", "seconds_total", "seconds_per_image",
                                    "cpu_seconds_per_image", "time_spread", "generator",
                                    "device"]  # fmt: skip
    assert out["seconds_total"].tolist()[1:] == [20.0, 0.1]
    assert math.isnan(out.loc[0, "seconds_per_image"])
    assert out.loc[1, "cpu_seconds_per_image"] == pytest.approx(1.6)
    assert out.loc[1, "time_spread"] == pytest.approx(0.3)
    assert out["device"].tolist() == ["", "cpu (1 threads)", "cpu (1 threads)"]
    note = timing_note(csv, unit="image")
    assert "timed alone" in note and "5 rounds" in note and "runs of 1 and 4 iterations" in note
    with pytest.raises(UserError, match="has no timing of hybrid .*rerun its timing rule"):
        apply_timing(pd.DataFrame({"method": ["gd", "hybrid"]}), csv, unit="image")
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(UserError, match="not a timing table"):
        apply_timing(table, tmp_path / "bad.csv", unit="image")


def test_psnr_figure_is_drawn_from_the_timing_table_also_for_runs_timed_whole(tmp_path):
    from ganinv.data.h5io import write_h5
    from ganinv.plots import plot_psnr_iterations

    csv = timing_csv(tmp_path / "timing.csv", {"gd": 0.5, "encoder": 0.01, "hybrid": 0.1})
    frame = pd.read_csv(csv)
    frame.loc[frame["method"] == "hybrid", "seconds_per_iteration"] = float("nan")  # timed whole
    frame.to_csv(csv, index=False)
    inversions = {}
    for method, rows in (("gd", 11), ("encoder", 1), ("hybrid", 3)):
        inversions[method] = tmp_path / f"{method}.h5"
        curve = np.linspace(10, 20, rows)[:, None].repeat(4, axis=1).astype(np.float32)
        write_h5(inversions[method], {"psnr_curve": curve}, {})
    plot_psnr_iterations(inversions, csv, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000
