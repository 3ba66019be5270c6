"""The HDF5 file of one inversion run, shared by the face and audio chapters.

Datasets: ``z``, ``reconstructions`` (in the chapter's storage format), ``loss``, ``loss_curve``,
the chapter's per-iteration quality curve (``psnr_curve`` / ``mse_curve``) and ``stopped_at``.
Attributes: provenance (sha256 of every input file, config hash), wall time and device.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ganinv.data.h5io import base_provenance, write_h5
from ganinv.invert import InversionResult
from ganinv.runtime import file_sha256, params_hash


def write_inversion_h5(
    result: InversionResult,
    *,
    out_h5: str | os.PathLike,
    reconstructions: np.ndarray,
    curve_name: str,
    kind: str,
    seconds_attr: str,
    inputs: Mapping[str, str | os.PathLike | None],
    params: Mapping[str, Any],
    **extra_attrs: Any,
) -> None:
    """Write ``result`` to ``out_h5``.

    ``inputs``: name -> file (``None`` when not used: its ``<name>_sha256`` attribute is "");
    ``seconds_attr``: the attribute name of the time per target (``seconds_per_image`` /
    ``seconds_per_clip``); ``params``: everything that determined the run (hashed into
    ``config_hash``); ``extra_attrs``: more attributes, written as given.
    """
    attrs = base_provenance(
        kind=kind, method=result.method, n=len(result.z),
        seconds_total=result.seconds_total, **{seconds_attr: result.seconds_per_target},
        device=result.device,
        **{f"{name}_sha256": file_sha256(path) if path is not None else ""
           for name, path in inputs.items()},
        n_stopped=int((result.stopped_at >= 0).sum()), config_hash=params_hash(params),
        **extra_attrs,
    )  # fmt: skip
    write_h5(out_h5, {
        "z": result.z.numpy().astype(np.float32),
        "reconstructions": reconstructions,
        "loss": result.loss.numpy().astype(np.float32),
        "loss_curve": result.loss_curve.numpy().astype(np.float32),
        curve_name: result.track_curve.numpy().astype(np.float32),
        "stopped_at": result.stopped_at.numpy().astype(np.int64),
    }, attrs)  # fmt: skip
