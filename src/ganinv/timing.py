"""How long each inversion method takes: warm-up, interleaved repeats, median and spread.

The inversion jobs of the workflow share the machine with other jobs, so the clocks they read
measure the machine's load as much as the method. The tables' times come from here instead: the
rules that call :func:`time_methods` run alone (they reserve every core), on the targets and
models of the table, with the method settings of the table.

Model of a run. A GD or hybrid run of ``T`` iterations costs a fixed part (the starting point: a
random draw, or the encoder's pass; the generator pass that scores it, loss row 0; and the
one-off costs of the first iteration, such as the optimiser's state) plus ``T`` iterations of
equal cost (the same tensors every step). Each *round* times, through
:func:`ganinv.invert.invert` itself, the method with 1 and with ``1 + block`` iterations, and the
encoder method whole; the round's per-iteration cost is ``s = (t_{1+block} - t_1) / block``, its
estimate of the full run ``t_1 + (T - 1) s``, for wall time and for CPU (process) time alike. A run
of at most ``1 + block`` iterations is timed whole. Where an iteration costs less than the clocks'
noise (a tiny model), a round's ``s`` can come out negative; the full run contains the work of
both timed calls, so its estimate is never below the longer of the two (logged when that floor
is used). The timed calls of a round run in a rotating order, so that a slow phase of the machine
does not fall on one method only; ``warmup`` untimed rounds come first. Reported: the median over
``repeats`` rounds, with the fastest and slowest round. Each call reads its clocks around the
inversion only, after its own one-target warm-up, with CUDA synchronised (see :mod:`ganinv.invert`).

L-BFGS iterations differ in cost (line searches take a varying number of evaluations), so for
``optimizer: lbfgs`` the per-iteration cost is that of the first ``block`` iterations.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganinv.invert import InversionSettings, LossFn, invert
from ganinv.runtime import UserError, check_int

__all__ = ["TimedMethod", "TIMING_COLUMNS", "time_methods"]

log = logging.getLogger("ganinv")

# Columns of the timing table (one row per timed method), in this order. Seconds are for the
# whole target set in one call; *_per_target divides by n_targets.
TIMING_COLUMNS = (
    "method", "inverts", "iterations", "n_targets", "seconds_total", "seconds_per_target",
    "seconds_per_target_min", "seconds_per_target_max", "cpu_seconds_total",
    "cpu_seconds_per_target", "seconds_fixed", "seconds_per_iteration", "repeats", "warmup",
    "block", "device",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class TimedMethod:
    """One row of the timing table: a method with its settings, loss and (if any) encoder.

    ``label`` names the row (``gd``, ``encoder``, ``hybrid``, or an encoder variant inverted by
    the encoder method); ``settings`` say the method and its settings as :func:`invert` takes them.
    """

    label: str
    settings: InversionSettings
    loss_fn: LossFn
    encoder: nn.Module | None = None

    @property
    def method(self) -> str:
        """The method that inverts this row."""
        return self.settings.method


def _check_counts(repeats: int, warmup: int, block: int) -> None:
    for name, value, least in (("repeats", repeats, 1), ("warmup", warmup, 0), ("block", block, 1)):
        check_int(f"timing: {name}", value, minimum=least)


def _probes(timed: TimedMethod, block: int) -> list[tuple[str, int | None]]:
    """(label, iterations) of the calls a round makes for one method (None: the method whole)."""
    if timed.method == "encoder":
        return [(timed.label, None)]
    total = timed.settings.iterations
    if total <= 1 + block:
        return [(timed.label, total)]  # short enough to be timed whole
    return [(timed.label, 1), (timed.label, 1 + block)]


def time_methods(
    *,
    generator: nn.Module,
    targets: Tensor,
    methods: Sequence[TimedMethod],
    repeats: int = 5,
    warmup: int = 1,
    block: int = 3,
    seed: int = 0,
    chunk_size: int | None = None,
    device: torch.device | str | None = None,
) -> list[dict]:
    """Time every method of ``methods`` on ``targets``; one dict per method (``TIMING_COLUMNS``).

    See the module docstring for the model, the rounds and what is reported.
    """
    _check_counts(repeats, warmup, block)
    labels = [timed.label for timed in methods]
    if len(set(labels)) != len(labels):
        raise UserError(f"timing: method labels must be unique, got {labels}")
    by_label = {timed.label: timed for timed in methods}
    probes = [probe for timed in methods for probe in _probes(timed, block)]
    measured: dict[tuple[str, int | None], list[tuple[float, float]]] = {p: [] for p in probes}
    device_name = ""
    for round_index in range(warmup + repeats):
        shift = round_index % len(probes)
        for label, iterations in probes[shift:] + probes[:shift]:
            timed = by_label[label]
            settings = timed.settings
            if iterations is not None:
                settings = dataclasses.replace(settings, iterations=iterations)
            result = invert(generator, targets, settings=settings, encoder=timed.encoder,
                            seed=seed, loss_fn=timed.loss_fn, chunk_size=chunk_size,
                            device=device)  # fmt: skip
            device_name = result.device
            if round_index >= warmup:
                measured[(label, iterations)].append(
                    (result.seconds_total, result.cpu_seconds_total)
                )
        if round_index >= warmup:
            log.info("timing: round %d of %d done", round_index - warmup + 1, repeats)
    n = int(targets.shape[0])
    return [_row(timed, measured, block, repeats, warmup, n, device_name) for timed in methods]


def _full_run(first: float, longer: float, *, iterations: int, block: int) -> tuple[float, float]:
    """(per-iteration cost, estimate of the ``iterations`` run) from one round's calls of 1 and
    ``1 + block`` iterations; the estimate is never below either call (see the module docstring)."""
    step = (longer - first) / block
    return step, max(first + (iterations - 1) * step, first, longer)


def _row(
    timed: TimedMethod,
    measured: Mapping[tuple[str, int | None], list[tuple[float, float]]],
    block: int,
    repeats: int,
    warmup: int,
    n: int,
    device_name: str,
) -> dict:
    """Per-round estimates of the full run -> the method's row of the timing table."""
    probes = _probes(timed, block)
    fixed = per_iteration = float("nan")
    iterations = 0 if timed.method == "encoder" else timed.settings.iterations
    if len(probes) == 1:  # the method timed whole
        wall = [w for w, _ in measured[probes[0]]]
        cpu = [c for _, c in measured[probes[0]]]
    else:
        wall, cpu, fixed_rounds, step_rounds, floored = [], [], [], [], 0
        for (w1, c1), (wb, cb) in zip(measured[probes[0]], measured[probes[1]], strict=True):
            step_wall, wall_run = _full_run(w1, wb, iterations=iterations, block=block)
            step_cpu, cpu_run = _full_run(c1, cb, iterations=iterations, block=block)
            wall.append(wall_run)
            cpu.append(cpu_run)
            floored += step_wall < 0 or step_cpu < 0
            fixed_rounds.append(w1 - step_wall)
            step_rounds.append(step_wall)
        fixed, per_iteration = statistics.median(fixed_rounds), statistics.median(step_rounds)
        if floored:
            log.warning(
                "timing: %s: in %d of %d rounds the %d-iteration call was not slower than the "
                "1-iteration call (an iteration costs less than the clocks' noise); those rounds' "
                "estimates are the longer call's time",
                timed.label, floored, repeats, 1 + block,
            )  # fmt: skip
    seconds = statistics.median(wall)
    return {
        "method": timed.label,
        "inverts": timed.method,
        "iterations": iterations,
        "n_targets": n,
        "seconds_total": seconds,
        "seconds_per_target": seconds / n,
        "seconds_per_target_min": min(wall) / n,
        "seconds_per_target_max": max(wall) / n,
        "cpu_seconds_total": statistics.median(cpu),
        "cpu_seconds_per_target": statistics.median(cpu) / n,
        "seconds_fixed": fixed,
        "seconds_per_iteration": per_iteration,
        "repeats": repeats,
        "warmup": warmup,
        "block": block,
        "device": device_name,
    }
