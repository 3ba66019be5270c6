"""The conda environment of `--sdm conda` installs exactly the pinned stack, for every rule."""

from __future__ import annotations

import re

import yaml

from tests.helpers.paths import REPO


def _lock_versions(text: str) -> dict[str, str]:
    """name -> version of every ``name==version`` requirement line."""
    pins = re.findall(r"^([A-Za-z0-9._-]+)==([^\s\\]+)", text, re.M)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_conda_env_installs_the_locked_versions():
    env = yaml.safe_load((REPO / "envs" / "ganinv.yaml").read_text())
    assert env["channels"][0] == "conda-forge"
    conda_packages = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    # The top-level requirements, constrained to the lock file's versions (relative to envs/).
    files = {line.split(maxsplit=1)[0]: (REPO / "envs" / line.split(maxsplit=1)[1]).resolve()
             for line in pip if line.startswith(("-r ", "-c "))}  # fmt: skip
    assert files == {"-r": (REPO / "requirements.txt").resolve(),
                     "-c": (REPO / "envs" / "requirements.pins").resolve()}  # fmt: skip
    assert "-e .." in pip  # the ganinv package itself
    # Nothing pinned on the conda side competes with the lock's pins.
    locked = _lock_versions((REPO / "requirements.lock").read_text())
    names = {re.split(r"[=<>!~ ]", p, maxsplit=1)[0].lower() for p in conda_packages}
    assert not (names - {"pip"}) & set(locked), names & set(locked)  # conda's pip: unpinned
    assert "python=3.11" in conda_packages  # the version the pins were measured on


def test_the_lock_file_pins_and_hashes_the_whole_stack():
    """requirements.lock: every package at one exact version with sha256 hashes; it covers every
    top-level requirement at its pinned version; requirements.pins holds the same versions."""
    lock = (REPO / "requirements.lock").read_text()
    locked = _lock_versions(lock)
    assert len(locked) > 100
    hashed = re.findall(r"^([A-Za-z0-9._-]+)==\S+ \\\n\s+--hash=sha256:[0-9a-f]{64}", lock, re.M)
    assert len(hashed) == len(locked), set(locked) - {h.lower() for h in hashed}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (REPO / name).read_text().splitlines():
            requirement = line.split("#")[0].strip()
            if not requirement or requirement.startswith("-"):
                continue
            package, _, version = requirement.partition("==")
            package = package.lower().replace("_", "-")
            assert package in locked, f"{name}: {package} is not in requirements.lock"
            assert not version or locked[package] == version, (package, version, locked[package])
    assert _lock_versions((REPO / "envs" / "requirements.pins").read_text()) == locked
    # The weights packages (installed without dependencies) are pinned and hashed too.
    weights = (REPO / "requirements-weights.txt").read_text()
    assert len(_lock_versions(weights)) == weights.count("--hash=sha256:") == 3


def test_every_script_rule_names_the_conda_env():
    missing = []
    for path in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=\s*rule \w+:)", path.read_text()):
            name = re.search(r"rule (\w+):", block)
            if name and re.search(r"\n\s+(script|shell):", block):
                if "conda:\n" not in block or "envs/ganinv.yaml" not in block:
                    missing.append(f"{path.name}:{name.group(1)}")
    assert not missing, missing
