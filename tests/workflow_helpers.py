"""Run the workflow through the snakemake CLI in a subprocess, in a scratch copy of the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
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
