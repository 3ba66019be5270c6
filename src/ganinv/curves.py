"""CSV curves written row by row during training, truncatable on resume."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ganinv.atomic import atomic_path


class CurveWriter:
    """Append rows to a CSV; on resume keep only rows with ``step <= resume_step``."""

    def __init__(self, path: str | os.PathLike, columns: Sequence[str], resume_step: int | None):
        self.path = Path(path)
        self.columns = list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kept: list[dict[str, str]] = []
        if resume_step is not None and self.path.exists():
            with self.path.open(newline="") as handle:
                reader = csv.DictReader(handle)
                if reader.fieldnames == self.columns:
                    kept = [row for row in reader if int(float(row["step"])) <= resume_step]
        with atomic_path(self.path) as tmp:
            with tmp.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=self.columns)
                writer.writeheader()
                writer.writerows(kept)
        self._handle = self.path.open("a", newline="")
        self._writer = csv.DictWriter(self._handle, fieldnames=self.columns)

    def write(self, row: Mapping[str, object]) -> None:
        self._writer.writerow({key: _fmt(row[key]) for key in self.columns})
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def export(self, destination: str | os.PathLike) -> None:
        """Copy the finished curve atomically to its final place."""
        self._handle.flush()
        with atomic_path(destination) as tmp:
            shutil.copyfile(self.path, tmp)


def read_curve_column(path: str | os.PathLike, column: str) -> list[float]:
    """The values of one column of a curve CSV, in row order."""
    with open(path, newline="") as handle:
        return [float(row[column]) for row in csv.DictReader(handle)]


def _fmt(value: object) -> object:
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
