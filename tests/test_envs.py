"""The conda environment of `--sdm conda` installs exactly the pinned stack, for every rule."""

from __future__ import annotations

import re

import yaml

from .workflow_helpers import REPO


def test_conda_env_installs_the_pinned_requirements():
    env = yaml.safe_load((REPO / "envs" / "ganinv.yaml").read_text())
    assert env["channels"][0] == "conda-forge"
    conda_packages = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # The pins come from requirements.txt itself (relative to envs/): they cannot drift.
    requirement_files = [line.split(maxsplit=1)[1] for line in pip if line.startswith("-r ")]
    assert [(REPO / "envs" / f).resolve() for f in requirement_files] == [
        (REPO / "requirements.txt").resolve()
    ]
    assert "-e .." in pip  # the ganinv package itself
    # Nothing pinned on the conda side competes with requirements.txt's pins.
    pinned = {
        re.split(r"[=<>!~ ]", line, maxsplit=1)[0].lower()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    names = {re.split(r"[=<>!~ ]", p, maxsplit=1)[0].lower() for p in conda_packages}
    assert not names & pinned, names & pinned
    assert "python=3.11" in conda_packages  # the version the pins were measured on


def test_every_script_rule_names_the_conda_env():
    missing = []
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=\s*rule \w+:)", path.read_text()):
            name = re.search(r"rule (\w+):", block)
            if name and re.search(r"\n\s+(script|shell):", block):
                if "conda:\n" not in block or "envs/ganinv.yaml" not in block:
                    missing.append(f"{path.name}:{name.group(1)}")
    assert not missing, missing
