"""Reading other projects' checkpoint files safely and checking them against our modules.

Every file is opened with ``torch.load(weights_only=True)``: tensors, containers and plain values
only, no code. Two public formats pickle small configuration objects next to the weights
(pytorch_GAN_zoo's ``models.utils.config.BaseConfig``, rosinality's ``argparse.Namespace``);
:class:`ConfigRecord` stands in for them, so their attributes are read without importing or
running anything from the file. Files that need more (NVIDIA's ``.pkl`` network pickles, other
classes) are refused unless the caller allows pickles; then they are unpickled with a warning.
"""

from __future__ import annotations

import logging
import os
import pickle
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from ganinv.runtime import UserError

log = logging.getLogger(__name__)

PICKLE_SUFFIXES = (".pkl", ".pickle")
# Shown in every refusal: how to allow pickles for one run.
ALLOW_PICKLE_HINT = (
    "set weights.allow_pickle: true in the config only if you trust the file "
    "(unpickling runs code from it)"
)


class ConfigRecord:
    """An inert attribute bag standing in for a pickled configuration object.

    The weights-only unpickler creates it with ``__new__`` and fills ``__dict__`` from the
    file's state; it has no behaviour of its own.
    """

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots) form
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise pickle.UnpicklingError(f"unexpected state for a config object: {type(state)}")
        self.__dict__.update(state)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __repr__(self) -> str:
        return f"ConfigRecord({self.__dict__!r})"


def config_dict(value: Any) -> dict[str, Any]:
    """A checkpoint's configuration as a dict (ConfigRecord, dict, or None -> {})."""
    if value is None:
        return {}
    if isinstance(value, ConfigRecord):
        return value.as_dict()
    if isinstance(value, Mapping):
        return dict(value)
    raise UserError(f"unexpected configuration object of type {type(value).__name__}")


def read_checkpoint(
    path: str | os.PathLike,
    what: str,
    allow_pickle: bool = False,
    config_classes: Iterable[str] = (),
) -> Any:
    """Load a checkpoint file without running code from it.

    ``what`` names the expected content in messages (e.g. "a pytorch_GAN_zoo PGAN checkpoint").
    ``config_classes``: fully qualified names of pickled configuration classes to read as
    :class:`ConfigRecord` (e.g. ``"models.utils.config.BaseConfig"``).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} not found: {path}")
    if path.suffix.lower() in PICKLE_SUFFIXES:
        if not allow_pickle:
            raise UserError(
                f"{path} is a Python pickle ({path.suffix}); opening it would run code stored in "
                f"the file, so it is refused. Use {what} saved as a state dict instead (e.g. "
                f"StyleGAN2 .pkl -> rosinality's convert_weight.py -> .pt), or "
                f"{ALLOW_PICKLE_HINT}"
            )
        return _unpickle(path, what)
    stand_ins = [(ConfigRecord, name) for name in config_classes]
    try:
        with torch.serialization.safe_globals(stand_ins):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        refused = _refused_global(str(exc))
        if not allow_pickle:
            raise UserError(
                f"{path} holds Python objects beyond tensors and plain values"
                + (f" ({refused})" if refused else "")
                + f", so it is not read as {what} without running code from it; "
                + ALLOW_PICKLE_HINT
            ) from None
        return _unpickle(path, what)
    except Exception as exc:  # truncated zip, bad magic number, EOF...
        raise UserError(
            f"cannot read {path} as {what}: {type(exc).__name__}: "
            f"{(str(exc).splitlines() or [''])[0]} (the file is truncated, corrupt or of another "
            "format; download it again)"
        ) from None


def _unpickle(path: Path, what: str) -> Any:
    message = (
        f"unpickling {path} ({what}): this runs code stored in the file (weights.allow_pickle)"
    )
    warnings.warn(message, stacklevel=3)
    log.warning(message)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (ModuleNotFoundError, AttributeError) as exc:
        raise UserError(
            f"{path} pickles classes from another project ({exc}); put that project's code on "
            f"PYTHONPATH, or convert the file to a state dict first"
        ) from None
    except Exception as exc:
        raise UserError(f"cannot unpickle {path}: {type(exc).__name__}: {exc}") from None


def _refused_global(message: str) -> str:
    """The 'Unsupported global: GLOBAL x.y' part of torch's weights-only refusal, if any."""
    for line in message.splitlines():
        if "Unsupported global" in line or "Unsupported operand" in line:
            line = line.strip().removeprefix("WeightsUnpickler error:").strip()
            return line.split(" was not an allowed global")[0]
    return ""


def require_entry(checkpoint: Any, keys: Iterable[str], path: str | os.PathLike, what: str) -> Any:
    """The first of ``keys`` present in the checkpoint dict; a clear error if none is."""
    keys = list(keys)
    if not isinstance(checkpoint, Mapping):
        raise UserError(
            f"{path} is not {what}: expected a dict with {' or '.join(map(repr, keys))}, "
            f"found {type(checkpoint).__name__}"
        )
    for key in keys:
        if key in checkpoint:
            return checkpoint[key]
    found = sorted(map(str, checkpoint))[:10]
    raise UserError(f"{path} is not {what}: none of the entries {keys} is present (found {found})")


def check_state_dict(
    expected: Mapping[str, Any],
    found: Mapping[str, Any],
    path: str | os.PathLike,
    what: str,
    limit: int = 8,
) -> None:
    """One clear error naming missing / unexpected keys and shape mismatches, if any.

    ``expected`` and ``found`` map key -> tensor (or shape tuple).
    """
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    shapes = [
        f"{key}: file {tuple(_shape(found[key]))}, expected {tuple(_shape(expected[key]))}"
        for key in sorted(set(expected) & set(found))
        if tuple(_shape(found[key])) != tuple(_shape(expected[key]))
    ]
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f"missing keys ({len(missing)}): {missing[:limit]}")
    if unexpected:
        parts.append(f"unexpected keys ({len(unexpected)}): {unexpected[:limit]}")
    if shapes:
        parts.append(f"shape mismatches ({len(shapes)}): {shapes[:limit]}")
    raise UserError(f"{path} does not fit {what}: " + "; ".join(parts))


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(value.shape) if hasattr(value, "shape") else tuple(value)


def tensor_dict(value: Any, path: str | os.PathLike, what: str) -> dict[str, torch.Tensor]:
    """A state dict with only tensors (Parameters unwrapped); error on anything else."""
    if not isinstance(value, Mapping):
        raise UserError(f"{path}: {what} is a {type(value).__name__}, not a state dict")
    out = {}
    for key, tensor in value.items():
        if not isinstance(tensor, torch.Tensor):
            raise UserError(
                f"{path}: {what} entry {key!r} is a {type(tensor).__name__}, not a tensor"
            )
        out[str(key)] = tensor.detach()
    return out
