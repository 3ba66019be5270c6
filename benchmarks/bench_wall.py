"""Wall time of the whole DAG from scratch (targets on 2 cores: smoke <= 4 min, default <= 25 min).

Usage: python benchmarks/bench_wall.py [--preset smoke|default] [--cores 2] [--keep]
Copies the workflow definition into a scratch folder, runs ``snakemake --cores N`` there from
nothing and prints the wall time against the target, the sum and mean of the jobs' own wall times
(from the ``benchmark:`` files) and the five longest jobs. Shared machines change speed from hour
to hour, so it also prints the time of ``import torch`` in a fresh interpreter (median of 3) as a
reference: most small jobs of the smoke preset are dominated by it."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_dag import peak_rss

REPO = Path(__file__).resolve().parents[1]
TARGET_S = {"smoke": 240, "default": 1500}


def import_torch_seconds(repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(TARGET_S), default="smoke")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))  # the tests' copy of the workflow definition: one list of files
    from tests.workflow.workflow_helpers import copy_workflow

    scratch = copy_workflow(Path(tempfile.mkdtemp(prefix=f"ganinv-wall-{args.preset}-")) / "run")
    command = [sys.executable, "-m", "snakemake", "--cores", str(args.cores)]
    if args.preset != "default":
        command += ["--configfile", f"presets/{args.preset}.yaml"]
    reference = import_torch_seconds()
    print(f"machine reference: import torch {reference:.2f} s (median of 3)")
    print(f"running {' '.join(command[2:])} in {scratch} ...", flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"the run failed:\n{result.stderr[-4000:]}")
    jobs = peak_rss(scratch)
    target = TARGET_S[args.preset]
    print(f"wall time           {wall // 60:.0f} min {wall % 60:04.1f} s for {len(jobs)} jobs "
          f"({wall / target:.2f} of the {target // 60} min target)")  # fmt: skip
    seconds = jobs["seconds"]
    print(f"sum of job times    {seconds.sum():.0f} s, mean {seconds.mean():.2f} s, "
          f"median {seconds.median():.2f} s")  # fmt: skip
    alone = jobs[jobs["job"].str.contains("timing_")]
    print(f"timing jobs         {len(alone)} jobs, {alone['seconds'].sum():.0f} s with all cores "
          "reserved (no other job beside them)")  # fmt: skip
    longest = jobs.sort_values("seconds", ascending=False).head(5)
    print(longest[["job", "seconds"]].to_string(index=False))
    if args.keep:
        print(f"kept {scratch}")
    else:
        shutil.rmtree(scratch.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
