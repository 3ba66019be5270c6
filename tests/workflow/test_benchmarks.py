"""The prepared GPU benchmark runs end to end (on the CPU at a tiny size) and reports its rows."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd

from tests.helpers.paths import REPO


def test_gpu_table_2_3_script_runs_at_a_small_size_on_the_cpu(tmp_path):
    out = tmp_path / "gpu.csv"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_gpu_table_2_3.py"), "--device", "cpu",
         "--small", "--repeats", "1", "--threads", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(out)
    assert len(table) == 6 and set(table["precision"]) == {"fp32", "tf32"}
    assert table["method"].tolist()[:3] == ["gd", "encoder", "hybrid"]
    assert (table["seconds_total"] > 0).all()
    assert table["thesis_seconds"].tolist()[:3] == [1135.24, 3.96, 32.55]
    assert "encoder vs GD" in result.stdout
    assert re.search(r"fp32 +eager +gd +[0-9.]+ s for 4 .* thesis +1135\.24 s", result.stdout)
