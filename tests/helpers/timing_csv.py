"""A timing CSV for table tests, in the format of the timing rules (time_*_inversions)."""

from __future__ import annotations

from pathlib import Path

from ganinv.experiments.inversion_timing import write_timing_csv


def timing_csv(path: Path, seconds_per_target: dict[str, float], n: int = 10) -> Path:
    """Write a timing table: per-target wall seconds by method; CPU 0.8x, spread -10 %/+20 %."""
    rows = [{"method": m, "inverts": m, "iterations": 10, "n_targets": n, "seconds_total": s * n,
             "seconds_per_target": s, "seconds_per_target_min": 0.9 * s,
             "seconds_per_target_max": 1.2 * s, "cpu_seconds_total": 0.8 * s * n,
             "cpu_seconds_per_target": 0.8 * s, "seconds_fixed": 0.1, "seconds_per_iteration": s,
             "repeats": 5, "warmup": 1, "block": 3, "device": "cpu (1 threads)"}
            for m, s in seconds_per_target.items()]  # fmt: skip
    write_timing_csv(rows, out_csv=path)
    return path
