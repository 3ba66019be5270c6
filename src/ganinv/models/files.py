"""Model files: a plain dict (format, version, architecture, constructor kwargs, state_dict, meta).

Loaded with ``torch.load(..., weights_only=True)`` so that opening a model file never runs code.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ganinv.atomic import atomic_path
from ganinv.models.checkpoints import check_state_dict
from ganinv.runtime import UserError

MODEL_FORMAT = "ganinv-model"
MODEL_FORMAT_VERSION = 1

# architecture name -> "module:attribute". Only these classes can be rebuilt from a file.
ARCHITECTURES: dict[str, str] = {
    "progan.Generator": "ganinv.models.progan:Generator",
    "progan.Discriminator": "ganinv.models.progan:Discriminator",
    "stylegan2.Generator": "ganinv.models.stylegan2:Generator",
    "stylegan2.Discriminator": "ganinv.models.stylegan2:Discriminator",
    "facenet.FaceNet": "ganinv.models.facenet:FaceNet",
    "encoder.ResNetEncoder": "ganinv.models.encoder:ResNetEncoder",
    "encoder.AudioEncoder": "ganinv.models.encoder:AudioEncoder",
    "wavegan.Generator": "ganinv.models.wavegan:Generator",
    "wavegan.Discriminator": "ganinv.models.wavegan:Discriminator",
    "digits.DigitClassifier": "ganinv.models.digits:DigitClassifier",
    "dcgan.Generator": "ganinv.models.dcgan:Generator",
}


# Generators of faces that the encoder, the inversion and the face metrics accept.
FACE_GENERATORS = ("progan.Generator", "dcgan.Generator")


def architecture_class(name: str) -> type[nn.Module]:
    """The module class registered under ``name``."""
    try:
        target = ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES))
        raise UserError(f"unknown architecture '{name}' (known: {known})") from None
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def save_model(
    path: str | os.PathLike,
    module: nn.Module,
    architecture: str,
    kwargs: Mapping[str, Any],
    meta: Mapping[str, Any] | None = None,
) -> None:
    """Write ``module`` atomically as a model file that :func:`load_model` can rebuild."""
    architecture_class(architecture)  # fail early on a typo
    payload = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "architecture": architecture,
        "kwargs": _plain(dict(kwargs)),
        "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "meta": _plain(dict(meta or {})),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_model_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a model file's dict without building the module."""
    if not os.path.exists(path):
        raise UserError(f"model file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, corrupt or pickled-code files
        raise UserError(
            f"cannot read model file {path}: {type(exc).__name__}: {str(exc).splitlines()[0]} "
            "(the file is truncated, corrupt or not a ganinv model file; delete it and rerun the "
            "rule that makes it)"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise UserError(f"{path} is not a ganinv model file (no '{MODEL_FORMAT}' format tag)")
    if payload.get("format_version") != MODEL_FORMAT_VERSION:
        raise UserError(
            f"{path} has model format version {payload.get('format_version')}, this ganinv reads "
            f"version {MODEL_FORMAT_VERSION}; rerun the rule that makes it"
        )
    return payload


def load_model(
    path: str | os.PathLike,
    expected_architecture: str | tuple[str, ...] | None = None,
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the module stored in a model file; returns ``(module.eval(), meta)``.

    ``expected_architecture``: one architecture name, or a tuple of the accepted ones.
    """
    payload = read_model_file(path)
    architecture = payload["architecture"]
    accepted = (
        (expected_architecture,)
        if isinstance(expected_architecture, str)
        else expected_architecture
    )
    if accepted is not None and architecture not in accepted:
        wanted = " or ".join(f"'{name}'" for name in accepted)
        raise UserError(f"{path} holds a '{architecture}' model, but a {wanted} was expected")
    module = architecture_class(architecture)(**payload["kwargs"])
    check_state_dict(
        module.state_dict(), payload["state_dict"], path, f"{architecture}({payload['kwargs']})"
    )
    module.load_state_dict(payload["state_dict"])
    return module.to(device).eval(), dict(payload.get("meta", {}))


def _plain(value: Any) -> Any:
    """Convert tuples to lists recursively so the dict round-trips through weights_only loads."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
