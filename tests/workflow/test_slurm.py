"""The SLURM profile, and the smoke preset run through a real one-node SLURM cluster.

The cluster (munged, slurmctld, slurmd) is started here from a temporary configuration; it needs
root and, where SLURM is not installed, apt-get (Debian/Ubuntu: slurm-wlm, munge). Its node has
no GPU, so the test profile is the shipped profiles/slurm with the GPU requests turned off (see
``slurm_test_profile``); everything else, groups included, is the shipped profile.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.helpers.paths import REPO

from .workflow_helpers import (
    SNAKEMAKE,
    assert_tables_equal,
    copy_workflow,
    planned_jobs,
)

PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
RULE_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]
# Wall-clock limit (2 busy cores): the smoke preset takes ~3-4 min locally.
SLURM_RUN_LIMIT_S = 1200
# Memory asked per job on the test node (the smoke jobs use well under 1 GB).
TEST_MEM_MB = 1500


def _rule_blocks() -> dict[str, str]:
    """Rule name -> the text of its definition, from the Snakefile and the rule files.

    ``use rule A as B with:`` gives B the text of A followed by its own (what B inherits).
    """
    blocks: dict[str, str] = {}
    derived: list[tuple[str, str, str]] = []
    pattern = re.compile(r"^\s*(?:rule (\w+)|use rule (\w+) as (\w+) with):", re.MULTILINE)
    for path in RULE_FILES:
        text = path.read_text()
        starts = list(pattern.finditer(text))
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            if match.group(1):
                blocks[match.group(1)] = text[match.start() : end]
            else:
                derived.append((match.group(2), match.group(3), text[match.start() : end]))
    for parent, name, own in derived:
        blocks[name] = blocks[parent] + own
    return blocks


def _gpu_rules() -> set[str]:
    return {name for name, block in _rule_blocks().items() if re.search(r"\bgpu=1\b", block)}


def _local_rules() -> set[str]:
    """Rules Snakemake runs on the submit host: localrule: True, or nothing to run (rule all)."""
    actions = re.compile(r"^\s*(script|shell|run|wrapper|notebook|cwl):", re.MULTILINE)
    return {
        name
        for name, block in _rule_blocks().items()
        if "localrule: True" in block or not actions.search(block)
    }


def _shipped_profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def test_profile_sizes_every_gpu_rule():
    """Every rule that declares gpu=1 asks SLURM for a GPU, with its CPUs; no global GPU cap."""
    profile = _shipped_profile()
    assert profile["executor"] == "slurm" and profile["jobs"] >= 1
    gpu_rules = _gpu_rules()
    assert {"train_progan", "train_encoder", "invert_faces", "invert_audio"} <= gpu_rules
    requested = profile["set-resources"]
    for rule in gpu_rules:
        assert requested.get(rule, {}).get("gpu") == 1, f"{rule} asks for no GPU"
        assert requested[rule]["cpus_per_gpu"] >= 1 and requested[rule]["runtime"] > 0
    # The timing jobs measure the tables' times: a whole node each, nothing beside them.
    for rule in ("time_face_inversions", "time_audio_inversions"):
        assert requested[rule]["slurm_extra"] == "'--exclusive'", rule
    # A gpu limit would throttle the whole cluster run; cpus_per_task would override cpus_per_gpu.
    assert "resources" not in profile
    assert not {"gpu", "cpus_per_task"} & set(profile["default-resources"])
    # Rules named in the profile exist, and grouped rules are not local (a group goes to SLURM).
    rules, local = set(_rule_blocks()), _local_rules()
    assert set(requested) <= rules and set(profile["groups"]) <= rules - local
    assert set(profile["group-components"]) == set(profile["groups"].values())


def slurm_test_profile():
    """The shipped profile as the GPU-less test cluster must see it (written to a folder)."""
    profile = _shipped_profile()
    for resources in profile["set-resources"].values():
        if "gpu" in resources:
            # Test override: the node has no GPU (sbatch --gpus would be refused).
            resources["gpu"] = 0
            resources.pop("cpus_per_gpu")
        # Test override: a few GB of node memory for every job instead of the paper-scale sizes.
        resources["mem_mb"] = min(resources.get("mem_mb", TEST_MEM_MB), TEST_MEM_MB)
    profile["default-resources"]["mem_mb"] = TEST_MEM_MB
    profile.update(
        {
            # No accounting database here: sacct fails and the plugin would wait forever.
            "slurm-status-command": "squeue",
            "slurm-init-seconds-before-status-checks": 1,
            # Keep every job's SLURM log: the test reads which jobs ran in SLURM.
            "slurm-keep-successful-logs": True,
            # A failure must fail the test, not be retried away; one shared disk.
            "retries": 0,
            "latency-wait": 5,
        }
    )
    return profile


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_by_pid_file(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


class Cluster:
    """A one-node SLURM cluster with its own munged, configured in a temporary folder."""

    def __init__(self, base: Path):
        self.base = base
        self.conf = base / "slurm" / "slurm.conf"
        # The slurm-jobstep plugin removes SLURM_CONF from the environment of the srun that it
        # starts inside each job (it keeps only a few SLURM_* variables), so that srun would look
        # for /etc/slurm/slurm.conf. A real cluster's configuration sits there; this test's does
        # not, so an srun first on PATH puts SLURM_CONF back (nothing else changes).
        self.bin = base / "bin"
        self.env = {
            **os.environ,
            "SLURM_CONF": str(self.conf),
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        self.munge = base / "munge"
        self.logs = base / "slurm" / "log"
        self.pid_files = [
            base / "slurm" / "slurmd.pid",
            base / "slurm" / "slurmctld.pid",
            self.munge / "munged.pid",
        ]

    def run(self, *command: str, timeout: float = 60) -> str:
        result = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\n{self.log_tail()}"
            )
        return result.stdout

    def log_tail(self) -> str:
        parts = []
        for name in ("slurmctld.log", "slurmd.log"):
            path = self.logs / name
            if path.exists():
                parts.append(f"--- {name}:\n" + "\n".join(path.read_text().splitlines()[-30:]))
        return "\n".join(parts)

    def start(self) -> None:
        self.base.chmod(0o755)  # munged (user munge) must reach its folder
        self.bin.mkdir()
        srun = self.bin / "srun"
        real_srun, conf = shlex.quote(str(shutil.which("srun"))), shlex.quote(str(self.conf))
        srun.write_text(f'#!/bin/sh\nSLURM_CONF={conf} exec {real_srun} "$@"\n')
        srun.chmod(0o755)
        self.munge.mkdir()
        shutil.chown(self.munge, "munge", "munge")
        self.munge.chmod(0o755)  # clients reach the socket; the key itself is 0400
        key = self.munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        shutil.chown(key, "munge", "munge")
        key.chmod(0o400)
        socket_path = self.munge / "munge.socket"
        subprocess.run(
            ["munged", f"--key-file={key}", f"--socket={socket_path}",
             f"--pid-file={self.munge / 'munged.pid'}", f"--log-file={self.munge / 'munged.log'}",
             f"--seed-file={self.munge / 'munged.seed'}"],
            user="munge", group="munge", extra_groups=[], check=True, timeout=30,
        )  # fmt: skip
        for name in ("state", "spool", "log"):
            (self.base / "slurm" / name).mkdir(parents=True)
        node = self.node_line()
        host = node.split()[0].split("=")[1]
        self.conf.write_text(
            "\n".join(
                [
                    "ClusterName=ganinvtest",
                    f"SlurmctldHost={host}",
                    f"SlurmctldPort={_free_port()}",
                    f"SlurmdPort={_free_port()}",
                    "SlurmUser=root",
                    "SlurmdUser=root",
                    "AuthType=auth/munge",
                    "CredType=cred/munge",
                    f"AuthInfo=socket={socket_path}",
                    f"StateSaveLocation={self.base / 'slurm' / 'state'}",
                    f"SlurmdSpoolDir={self.base / 'slurm' / 'spool'}",
                    f"SlurmctldPidFile={self.pid_files[1]}",
                    f"SlurmdPidFile={self.pid_files[0]}",
                    f"SlurmctldLogFile={self.logs / 'slurmctld.log'}",
                    f"SlurmdLogFile={self.logs / 'slurmd.log'}",
                    "SlurmctldDebug=info",
                    "SlurmdDebug=info",
                    "ProctrackType=proctrack/linuxproc",
                    "TaskPlugin=task/none",
                    "SelectType=select/cons_tres",
                    "SelectTypeParameters=CR_Core_Memory",
                    # Without a default, a job that asks no memory takes the whole node.
                    "DefMemPerCPU=1000",
                    # squeue still shows finished jobs for 5 minutes (the plugin's status query).
                    "MinJobAge=300",
                    "ReturnToService=2",
                    "MailProg=/bin/true",
                    "AccountingStorageType=accounting_storage/none",
                    "JobAcctGatherType=jobacct_gather/none",
                    "JobCompType=jobcomp/none",
                    "MpiDefault=none",
                    node + " State=UNKNOWN",
                    f"PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP",
                    "",
                ]
            )
        )
        self.run("slurmctld")
        self.run("slurmd")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.run("sinfo", "-h", "-N", "-o", "%T").split() == ["idle"]:
                return
            time.sleep(0.5)
        raise AssertionError(f"the SLURM node did not become idle within 60 s\n{self.log_tail()}")

    def node_line(self) -> str:
        """`slurmd -C`'s node line, with RealMemory as reported (the upper bound)."""
        reported = subprocess.run(
            ["slurmd", "-C"], env=self.env, capture_output=True, text=True, check=True
        ).stdout
        line = next(line for line in reported.splitlines() if line.startswith("NodeName="))
        return line.strip()

    def stop(self) -> None:
        if self.conf.exists() and self.pid_files[1].exists():
            jobs = subprocess.run(
                ["squeue", "-h", "-o", "%i"], env=self.env, capture_output=True, text=True
            ).stdout.split()
            if jobs:
                subprocess.run(["scancel", *jobs], env=self.env, capture_output=True)
        for pid_file in self.pid_files:
            _stop_by_pid_file(pid_file)


def _install_slurm() -> None:
    if shutil.which("slurmctld") and shutil.which("munged"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "slurm-wlm", "munge"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("needs root: installs SLURM and starts munged, slurmctld and slurmd")
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        pytest.skip("SLURM is not installed and apt-get is unavailable to install it")
    _install_slurm()
    # Under /tmp, not pytest's 0700 tmp folder: munged runs as user munge.
    base = Path(tempfile.mkdtemp(prefix="ganinv-slurm-"))
    running = Cluster(base)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    """The smoke preset through SLURM: (workdir, snakemake's output)."""
    base = tmp_path_factory.mktemp("slurm")
    profile_dir = base / "profile"
    profile_dir.mkdir()
    (profile_dir / "config.yaml").write_text(yaml.safe_dump(slurm_test_profile(), sort_keys=False))
    workdir = copy_workflow(base / "workflow")
    command = [
        "timeout", "-s", "KILL", str(SLURM_RUN_LIMIT_S), *SNAKEMAKE,
        "--workflow-profile", str(profile_dir), "--executor", "slurm", "--jobs", "4",
        # The node has 2 cores: a group job asks for at most 2 (its jobs share them in turn).
        "--cores", "2",
        "--configfile", "presets/smoke.yaml",
    ]  # fmt: skip
    env = {**cluster.env, "MPLCONFIGDIR": str(base / "mpl")}
    start = time.monotonic()
    result = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True,
        timeout=SLURM_RUN_LIMIT_S + 60,
    )  # fmt: skip
    print(f"SLURM smoke run: {time.monotonic() - start:.0f} s")
    output = result.stdout + result.stderr
    controller_log = (cluster.logs / "slurmctld.log").read_text()
    # Kept next to the workflow copy (the cluster's folder goes at teardown).
    (base / "snakemake.log").write_text(output)
    (base / "slurmctld.log").write_text(controller_log)
    if result.returncode != 0:
        raise AssertionError(
            f"snakemake through SLURM failed ({result.returncode}):\n{output[-8000:]}\n"
            f"{cluster.log_tail()}"
        )
    return workdir, output, controller_log


@pytest.mark.slurm
@pytest.mark.workflow
def test_every_non_local_job_runs_in_slurm(slurm_run):
    workdir, output, controller_log = slurm_run
    planned = planned_jobs(subprocess.CompletedProcess([], 0, output, ""))
    assert sum(planned.values()) > 50  # the whole smoke DAG
    local = _local_rules()
    expected = {rule: n for rule, n in planned.items() if rule not in local}
    assert expected and set(planned) - set(expected) >= {"all", "table_2_3"}
    # Each SLURM job writes its log to .snakemake/slurm_logs/.../<SLURM job id>.log. In it, the
    # job step's Snakemake prints "rule NAME:" for every Snakemake job of the SLURM job (several
    # for a group), and the Snakemake that srun starts for that job prints "localrule NAME:".
    logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    texts = [log.read_text() for log in logs]
    given = Counter(r for text in texts for r in re.findall(r"^rule (\w+):$", text, re.M))
    run = Counter(r for text in texts for r in re.findall(r"^localrule (\w+):$", text, re.M))
    assert dict(given) == expected and dict(run) == expected
    # The controller saw each of those SLURM jobs end with exit status 0, and no others.
    log_ids = {int(log.stem) for log in logs}
    completed = re.findall(r"_job_complete: JobId=(\d+) WEXITSTATUS (\d+)", controller_log)
    assert {int(job_id) for job_id, _ in completed} == log_ids
    assert {status for _, status in completed} == {"0"}
    submitted = set(map(int, re.findall(r"submitted with SLURM jobid (\d+)", output)))
    assert submitted == log_ids
    # The metrics jobs were packed into groups: fewer SLURM jobs than non-local jobs.
    grouped = sum(expected[rule] for rule in _shipped_profile()["groups"])
    assert len(log_ids) < sum(expected.values()) and grouped >= 6
    print(f"SLURM jobs: {len(log_ids)} for {sum(expected.values())} non-local Snakemake jobs")


@pytest.mark.slurm
@pytest.mark.workflow
def test_slurm_tables_equal_the_local_run(slurm_run, smoke_run):
    identical = assert_tables_equal(slurm_run[0], smoke_run)
    print(f"SLURM tables bit-identical to the local run: {identical}")
