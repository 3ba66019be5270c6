"""DAG overheads and memory of a finished run: dry-run DAG build, no-op rerun, peak RSS per rule.

Usage: python benchmarks/bench_dag.py WORKDIR [--configfile presets/smoke.yaml] [--repeats 3]
WORKDIR is a folder where the workflow has finished (e.g. the repository after `make run`, or a
`make smoke` folder). The no-op rerun must find nothing to do (target <= 5 s); peak RSS comes from
the `benchmark:` files Snakemake wrote (max_rss, MB) and is compared with 24 GiB.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

MACHINE_MB = 24 * 1024


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return elapsed, result.stdout + result.stderr


def peak_rss(workdir: Path) -> pd.DataFrame:
    """max_rss (MB) and wall seconds of every benchmark file, largest first."""
    rows = []
    for path in sorted((workdir / "results" / "benchmarks").rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        rows.append({
            "job": str(path.relative_to(workdir / "results" / "benchmarks"))[:-4],
            "max_rss_mb": float(pd.to_numeric(frame["max_rss"], errors="coerce").max()),
            "seconds": float(frame["s"].max()),
        })  # fmt: skip
    return pd.DataFrame(rows).sort_values("max_rss_mb", ascending=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    base = [sys.executable, "-m", "snakemake", "all", "--cores", "2"]
    configs = ["--configfile", *args.configfile] if args.configfile else []
    dry, noop = [], []
    for _ in range(args.repeats):
        seconds, _ = timed([*base, "-n", *configs], args.workdir)
        dry.append(seconds)
        seconds, output = timed([*base, *configs], args.workdir)
        if "Nothing to be done" not in output:
            sys.exit(f"the run in {args.workdir} is not finished (the rerun had work to do)")
        noop.append(seconds)
    print(f"dry-run DAG build   {statistics.median(dry):6.2f} s (median of {args.repeats})")
    print(f"no-op rerun         {statistics.median(noop):6.2f} s (median of {args.repeats}), "
          "target <= 5 s")  # fmt: skip
    rss = peak_rss(args.workdir)
    top = rss.iloc[0]
    print(f"peak RSS            {top['max_rss_mb']:8.0f} MB ({top['job']}), "
          f"{top['max_rss_mb'] / MACHINE_MB:.1%} of 24 GiB")  # fmt: skip
    print(rss.head(10).to_string(index=False))


if __name__ == "__main__":
    main()
