"""The time columns of the result tables, from a timing CSV (rules time_face_inversions and
time_audio_inversions; see :mod:`ganinv.timing`). No torch import: table jobs stay small.

Columns set (``<unit>``: image or clip): ``seconds_total`` and ``seconds_per_<unit>`` (wall time,
median over the timing rounds), ``cpu_seconds_per_<unit>`` (process time, all threads),
``time_spread`` ((slowest - fastest round) / median) and ``device``.
"""

from __future__ import annotations

import os

import pandas as pd

from ganinv.runtime import UserError

__all__ = ["apply_timing", "read_timing", "timing_note", "time_columns"]


def time_columns(unit: str) -> tuple[str, ...]:
    """The time columns :func:`apply_timing` writes, in table order."""
    return ("seconds_total", f"seconds_per_{unit}", f"cpu_seconds_per_{unit}", "time_spread")


def read_timing(timing_csv: str | os.PathLike) -> pd.DataFrame:
    """The timing CSV indexed by method label."""
    timing = pd.read_csv(timing_csv)
    if "method" not in timing.columns or timing["method"].duplicated().any():
        raise UserError(f"{timing_csv}: not a timing table (one row per method expected)")
    return timing.set_index("method")


def apply_timing(
    table: pd.DataFrame, timing_csv: str | os.PathLike, *, unit: str, skip: tuple[str, ...] = ()
) -> pd.DataFrame:
    """``table`` with its time columns taken from ``timing_csv`` (rows matched by ``method``).

    The time columns replace any already there and come after the quality columns, before
    ``generator`` / ``evaluator`` / ``device``; rows named in ``skip`` (e.g. the ceiling row
    ``targets``) get none.
    """
    timing = read_timing(timing_csv)
    wanted = [m for m in table["method"] if m not in skip]
    missing = [m for m in wanted if m not in timing.index]
    if missing:
        raise UserError(
            f"{timing_csv} has no timing of {', '.join(missing)} (it times "
            f"{', '.join(timing.index)}); rerun its timing rule"
        )
    out = table.drop(columns=[*time_columns(unit), "device"], errors="ignore").copy()
    methods = out["method"].where(~out["method"].isin(skip))
    per_target = methods.map(timing["seconds_per_target"])
    spread = (timing["seconds_per_target_max"] - timing["seconds_per_target_min"]) / timing[
        "seconds_per_target"
    ]
    values = {
        "seconds_total": methods.map(timing["seconds_total"]),
        f"seconds_per_{unit}": per_target,
        f"cpu_seconds_per_{unit}": methods.map(timing["cpu_seconds_per_target"]),
        "time_spread": methods.map(spread),
    }
    tail = [c for c in ("generator", "evaluator", "fid_features") if c in out.columns]
    position = out.columns.get_loc(tail[0]) if tail else len(out.columns)
    for offset, (name, column) in enumerate(values.items()):
        out.insert(position + offset, name, column.to_numpy())
    out["device"] = methods.map(timing["device"]).fillna("").to_numpy()
    return out


def timing_note(timing_csv: str | os.PathLike, *, unit: str) -> str:
    """How the table's times were measured, for its notes."""
    timing = read_timing(timing_csv)
    first = timing.iloc[0]
    n = int(first["n_targets"])
    return (
        f"Times: each method timed alone (no other job running) on the {n} targets in one call, "
        f"on {first['device']}: {int(first['warmup'])} warm-up round(s), then "
        f"{int(first['repeats'])} rounds with the methods interleaved; a GD or hybrid run of T "
        f"iterations = its run of 1 iteration + (T - 1) x its per-iteration cost (from runs of 1 "
        f"and {1 + int(first['block'])} iterations; runs that short are timed whole). "
        f"seconds_total / seconds_per_{unit}: wall time, median over the rounds; "
        f"cpu_seconds_per_{unit}: process (CPU) time, all threads (about the wall time x threads "
        "when nothing else runs); time_spread = (slowest - fastest round) / median."
    )
