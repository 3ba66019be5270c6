"""Two from-scratch smoke runs on CPU with the same seed: byte-identical HDF5 data, equal tables."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from .workflow_helpers import assert_tables_equal

pytestmark = pytest.mark.workflow

# Attributes that legitimately differ between runs: wall-clock times, and file digests (a model
# file's metadata records its training time, and an HDF5 file's attributes carry the digests of the
# files it came from; the weights themselves are compared by the resume tests).
RUN_DEPENDENT_ATTRS = ("seconds", "_sha256")


def _datasets(path) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as handle:
        handle.visititems(
            lambda name, item: arrays.__setitem__(name, item[()])
            if isinstance(item, h5py.Dataset) else None
        )  # fmt: skip
    return arrays


def _attrs(path) -> dict[str, object]:
    with h5py.File(path, "r") as handle:
        return {
            key: value for key, value in handle.attrs.items()
            if not any(marker in key for marker in RUN_DEPENDENT_ATTRS)
        }  # fmt: skip


def _h5_files(workdir):
    return sorted(path.relative_to(workdir) for path in (workdir / "results").rglob("*.h5"))


def _same_bytes(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype == object:  # variable-length strings: compare the values, not the pointers
        return a.tolist() == b.tolist()
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def test_two_runs_from_scratch_give_identical_hdf5_and_tables(smoke_run, smoke_run_again):
    files = _h5_files(smoke_run)
    assert files == _h5_files(smoke_run_again) and len(files) >= 30
    compared, differing = 0, []
    for relative in files:
        first, second = _datasets(smoke_run / relative), _datasets(smoke_run_again / relative)
        assert sorted(first) == sorted(second), relative
        for name in first:
            compared += 1
            if not _same_bytes(first[name], second[name]):
                differing.append(f"{relative}:{name}")
        attrs_first, attrs_second = _attrs(smoke_run / relative), _attrs(smoke_run_again / relative)
        assert attrs_first.keys() == attrs_second.keys(), relative
        for key, value in attrs_first.items():
            if not np.array_equal(np.asarray(value), np.asarray(attrs_second[key])):
                differing.append(f"{relative}@{key}")
    assert not differing, f"{len(differing)} of {compared} datasets/attributes differ: {differing}"
    print(f"{compared} HDF5 datasets in {len(files)} files byte-identical")
    assert assert_tables_equal(smoke_run, smoke_run_again), "tables equal but not bit-identical"
