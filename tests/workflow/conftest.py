"""The two from-scratch smoke runs of the whole DAG that several workflow test modules only read."""

from __future__ import annotations

import pytest

from .workflow_helpers import copy_workflow, snakemake


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One full smoke run from scratch (workflow copy + results); tests only read it."""
    workdir = copy_workflow(tmp_path_factory.mktemp("smoke"))
    snakemake(workdir)
    return workdir


@pytest.fixture(scope="session")
def smoke_run_again(tmp_path_factory):
    """A second from-scratch smoke run in another folder: the determinism reference."""
    workdir = copy_workflow(tmp_path_factory.mktemp("smoke_again"))
    snakemake(workdir)
    return workdir
