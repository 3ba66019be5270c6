"""Run-time plumbing shared by every step: seeds, devices, threads, logging, hashing.

Nothing here knows about Snakemake; the workflow scripts call these helpers with plain values.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import random
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch  # ~2 s: the Snakefile, tables and figures import this module without it

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class UserError(Exception):
    """An error the user can fix (bad config, missing file, bad data).

    Workflow scripts print only its message, never a traceback.
    """


def check_int(
    name: str, value: object, *, minimum: int | None = 1, error: type[Exception] = UserError
) -> int:
    """``value`` if it is an integer (Python or NumPy; bools are refused) of at least ``minimum``
    (None: any), else ``error`` naming ``name``: the one integer check of configs and models."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise error(f"{name} must be an integer{bound}, got {value!r}")
    return int(value)


def check_number(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    error: type[Exception] = UserError,
) -> float:
    """``value`` if it is a finite real number (Python or NumPy; bools are refused) that is
    ``>= minimum``, ``> above`` and ``< below`` (None: no such bound), else ``error`` naming
    ``name``: the one number check of configs, beside :func:`check_int`."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value)
    ok = ok and (minimum is None or value >= minimum) and (above is None or value > above)
    if not ok or (below is not None and value >= below):
        raise error(
            f"{name} must be a finite number{_bounds(minimum, above, below)}, got {value!r}"
        )
    return float(value)


def _bounds(minimum: float | None, above: float | None, below: float | None) -> str:
    """The bounds of :func:`check_number` in words: ' in [0, 1)', ' >= 0', ' > 0', ' < 1', ''."""
    low = f"[{minimum}" if minimum is not None else f"({above}" if above is not None else ""
    if low and below is not None:
        return f" in {low}, {below})"
    if low:
        return f" {'>=' if minimum is not None else '>'} {low[1:]}"
    return f" < {below}" if below is not None else ""


def derive_seed(global_seed: int, *names: object) -> int:
    """A 31-bit seed derived from the global seed and a tuple of names (rule, split...).

    Stable across Python versions and processes (unlike ``hash``).
    """
    text = json.dumps([int(global_seed), *[str(n) for n in names]])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) for repeatable runs."""
    import torch  # ~2 s: the Snakefile, tables and figures import this module without it

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """Map the config's ``device`` (auto, cpu, cuda or cuda:N) to a torch device."""
    import torch  # ~2 s: the Snakefile, tables and figures import this module without it

    if _PENDING_TORCH_SETTINGS is not None:  # torch was imported after configure_torch
        configure_torch(*_PENDING_TORCH_SETTINGS)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(
            f"device '{name}' was requested but CUDA is not available on this machine; "
            "set device: auto (or cpu) in the config"
        )
    if name != "cpu" and not name.startswith("cuda"):
        raise UserError(f"unknown device '{name}': use auto, cpu, cuda or cuda:N")
    return torch.device(name)


def device_description(device: torch.device) -> str:
    """A human-readable name of the device (GPU model or CPU with thread count)."""
    import torch  # ~2 s: the Snakefile, tables and figures import this module without it

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({torch.get_num_threads()} threads)"


# Settings of configure_torch held back until torch is imported (see there).
_PENDING_TORCH_SETTINGS: tuple[int, bool] | None = None


def configure_torch(threads: int, deterministic: bool = True) -> None:
    """Set the CPU thread count and make CPU kernels deterministic.

    A step that has not imported torch (tables, most figures) is not made to import it: start-up of
    torch (and of its teardown at exit) costs ~2 s per job. The thread count still reaches a later
    import through OMP_NUM_THREADS / MKL_NUM_THREADS, and the rest is applied by
    :func:`resolve_device`, which every step that computes with torch calls first.
    """
    global _PENDING_TORCH_SETTINGS
    threads = max(1, int(threads))
    if "torch" not in sys.modules:
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
        _PENDING_TORCH_SETTINGS = (threads, deterministic)
        return
    _PENDING_TORCH_SETTINGS = None
    import torch  # ~2 s: the Snakefile, tables and figures import this module without it

    torch.set_num_threads(threads)
    if deterministic:
        # warn_only: a few CUDA kernels have no deterministic version; CPU runs are exact.
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False


def setup_logging(log_path: str | os.PathLike | None) -> logging.Logger:
    """Send the ``ganinv`` logger (and warnings) to a log file, or stderr when no path is given."""
    logger = logging.getLogger("ganinv")
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    if log_path is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").addHandler(handler)
    return logger


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no whitespace: the basis of parameter hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def _json_default(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (tuple, set)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot hash parameter of type {type(value).__name__}")


def params_hash(params: Mapping[str, object]) -> str:
    """sha256 (hex) of a step's parameters: the 'config hash' stored as provenance."""
    return hashlib.sha256(canonical_json(params).encode()).hexdigest()


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """sha256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_writable_folder(path: str | os.PathLike, what: str = "results folder") -> Path:
    """Create ``path`` if needed and prove a file can be written in it; else one clear UserError.

    Called before any job runs, so that an unwritable folder (permissions, a read-only mount, a
    file in the way) is reported once instead of as a failure of the first job that writes there.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".ganinv-write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(
            f"cannot write to the {what} '{folder.resolve()}' ({reason}); make it writable "
            f"(e.g. chmod -R u+w {folder}) or run snakemake in a folder you can write to "
            "(snakemake --directory DIR)"
        ) from None
    return folder
