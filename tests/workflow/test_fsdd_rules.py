"""The Free Spoken Digit Dataset in the workflow: the jobs it plans and what its rules write."""

from __future__ import annotations

import json

import pytest

from ganinv.data.h5io import read_h5
from tests.helpers.fsdd_copy import LOCAL_COPY, needs_copy

from .workflow_helpers import copy_workflow, planned_jobs, snakemake


@pytest.mark.workflow
@needs_copy
def test_fsdd_plans_the_same_downstream_jobs_and_its_rules_run(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    espeak = planned_jobs(snakemake(workdir, "-n"))
    folder = f"audio={{data: {{fsdd: {{folder: {LOCAL_COPY}}}}}}}"
    configfiles = ("presets/smoke.yaml", "presets/fsdd.yaml")
    fsdd_jobs = planned_jobs(snakemake(workdir, "-n", "--config", folder, configfiles=configfiles))
    assert espeak.pop("render_speech") == 3
    assert fsdd_jobs.pop("fetch_fsdd") == 1 and fsdd_jobs.pop("read_fsdd_split") == 3
    assert fsdd_jobs == espeak
    snakemake(workdir, "--config", folder, "--", "results/audio/data/real_test.h5",
              configfiles=configfiles, timeout=300)  # fmt: skip
    record = json.loads((workdir / "results/audio/fsdd/verified.json").read_text())
    assert record["origin"] == "local" and record["files"] == 3000
    data, attrs = read_h5(workdir / "results/audio/data/real_test.h5")
    assert data["audio"].shape == (10, 1, 16384) and attrs["split_speakers"] == ["jackson"]
    assert not (workdir / "results/audio/fsdd/download").exists()
