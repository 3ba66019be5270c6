"""The workflow stays lint-clean (snakemake --lint) and snakefmt-formatted."""

import re
import subprocess
import sys

import pytest

from tests.helpers.paths import REPO


def test_snakemake_lint_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--cores", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Lints for" not in output, output


def test_snakefmt_check_is_clean():
    snakefmt = pytest.importorskip("snakefmt")
    del snakefmt
    result = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "workflow/rules"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_paper_preset_is_lint_clean():
    """The paper preset's rules (imports, fetches, Inception input) lint clean too."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--cores", "1",
         "--configfile", "presets/paper.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Lints for" not in output, output


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_is_clean(command):
    pytest.importorskip("ruff")
    folders = ["src", "tests", "workflow/scripts", "benchmarks"]
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *folders],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_rule_graph_is_current():
    """docs/rulegraph.svg (make rulegraph) shows exactly the rules of the default DAG."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--rulegraph", "--cores", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rules = set(re.findall(r'label = "(\w+)"', result.stdout))
    svg = (REPO / "docs" / "rulegraph.svg").read_text()
    drawn = set(re.findall(r">(\w+)</text>", svg))
    assert rules and rules == drawn, f"run `make rulegraph`: {rules ^ drawn}"
