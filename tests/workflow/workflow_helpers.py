"""Run the workflow through the snakemake CLI in a subprocess, in a scratch copy of the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tests.helpers.paths import REPO

# The metric tables of the thesis (results/thesis/*.csv) compared between runs.
TABLES = (
    "table_2_3.csv", "table_1_ablation.csv", "table_real_faces.csv", "table_2_17.csv",
    "table_3_generated.csv", "table_3_real.csv",
)  # fmt: skip
WORKFLOW_FILES = ("Snakefile", "config.yaml", "workflow", "presets", "profiles", "envs")
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def copy_workflow(destination: Path) -> Path:
    """Copy the workflow definition (not results) into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name)
        else:
            shutil.copy2(source, destination / name)
    return destination


def snakemake(
    workdir: Path,
    *args: str,
    timeout: float = 900,
    check: bool = True,
    configfiles: tuple[str, ...] = ("presets/smoke.yaml",),
    env_extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir`` with the smoke preset (or ``configfiles``); output as text."""
    env = dict(os.environ)
    env.setdefault("MPLCONFIGDIR", str(workdir / ".mpl"))
    env.update(env_extra or {})
    command = [*SNAKEMAKE, "--cores", "2", "--configfile", *configfiles, *args]
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
        )
    return result


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """The 'Job stats' table of a (dry) run: rule -> count."""
    text = result.stdout + result.stderr
    jobs: dict[str, int] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Job stats:"):
            for row in lines[i + 3 :]:
                parts = row.split()
                if len(parts) != 2 or not parts[1].isdigit() or parts[0] == "total":
                    break
                jobs[parts[0]] = int(parts[1])
            break
    return jobs


def assert_tables_equal(run_a: Path, run_b: Path) -> bool:
    """The thesis tables of two runs agree in every column but the timing ones (``seconds*``,
    ``cpu_seconds*``, ``time_spread``); numbers within 1e-6 relative. Returns whether they are
    bit-identical."""
    identical = True
    for name in TABLES:
        a = pd.read_csv(run_a / "results" / "thesis" / name)
        b = pd.read_csv(run_b / "results" / "thesis" / name)
        assert list(a.columns) == list(b.columns), name
        timing = [c for c in a.columns
                  if c.startswith(("seconds", "cpu_seconds")) or c == "time_spread"]  # fmt: skip
        assert timing, name  # the timing columns exist and are the only ones left out
        a, b = a.drop(columns=timing), b.drop(columns=timing)
        numeric = a.select_dtypes("number").columns
        assert len(numeric) >= 4, name
        pd.testing.assert_frame_equal(a.drop(columns=numeric), b.drop(columns=numeric))
        x, y = a[numeric].to_numpy(float), b[numeric].to_numpy(float)
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-9, equal_nan=True, err_msg=name)
        identical &= bool(np.array_equal(x, y, equal_nan=True))
    return identical


def jobs_beside(workdir: Path, rules: tuple[str, ...]) -> list[tuple[str, str]]:
    """(rule, other rule) for every job that ran at the same time as a job of ``rules``, read
    from the latest Snakemake log of ``workdir`` (job starts and 'Finished jobid' lines)."""
    log = max((workdir / ".snakemake" / "log").glob("*.snakemake.log"))
    running: dict[str, str] = {}  # jobid -> rule
    beside: list[tuple[str, str]] = []
    rule = None
    for line in log.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith(("rule ", "localrule ")) and stripped.endswith(":"):
            rule = stripped.split()[1].rstrip(":")
        elif stripped.startswith("jobid:") and rule is not None:
            for other in running.values():
                if rule in rules or other in rules:
                    beside.append((rule, other) if rule in rules else (other, rule))
            running[stripped.split()[1]] = rule
            rule = None
        elif stripped.startswith("Finished jobid:"):
            running.pop(stripped.split()[2], None)
    return beside
