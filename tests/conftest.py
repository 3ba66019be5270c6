"""Shared pytest set-up: matplotlib cache in a temporary folder, two torch threads (the fixtures of
the workflow tests are in tests/workflow/conftest.py)."""

from __future__ import annotations

import os

import pytest
import torch


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
