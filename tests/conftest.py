"""Shared pytest set-up: matplotlib cache in a temporary folder, two torch threads, and the two
from-scratch smoke runs of the whole DAG that several modules read (never modify)."""

from __future__ import annotations

import os

import pytest
import torch

from .workflow_helpers import copy_workflow, snakemake


@pytest.fixture(autouse=True, scope="session")
def _environment(tmp_path_factory):
    os.environ.setdefault("MPLCONFIGDIR", str(tmp_path_factory.mktemp("mpl")))
    torch.set_num_threads(2)
    yield


@pytest.fixture()
def one_thread():
    """Small CPU workloads run fastest on one thread (and stay fast on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
