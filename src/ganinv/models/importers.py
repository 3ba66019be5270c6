"""Turn a public generator checkpoint into a ganinv model file that the rest of the DAG reads.

Formats: ``pytorch_gan_zoo`` (PGAN ``.pth`` -> ProGAN), ``rosinality`` (StyleGAN2 ``.pt`` ->
StyleGAN2), ``wavegan_port`` (PyTorch WaveGAN port -> WaveGAN), ``dcgan_tutorial`` (PyTorch
DCGAN-tutorial generator, e.g. gan-face-generate's ``weights.tar`` -> DCGAN). The written file
records where the weights came from (path, sha256, format, which state) in its ``meta``.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Mapping
from typing import Any

from ganinv.models.files import save_model
from ganinv.runtime import UserError, file_sha256

log = logging.getLogger(__name__)

# format -> (architecture written, "module:loader")
FORMATS: dict[str, tuple[str, str]] = {
    "pytorch_gan_zoo": ("progan.Generator", "ganinv.models.pgan_zoo:load_pgan_generator"),
    "rosinality": ("stylegan2.Generator", "ganinv.models.rosinality:load_rosinality_generator"),
    "wavegan_port": ("wavegan.Generator", "ganinv.models.wavegan_port:load_wavegan_port_generator"),
    "dcgan_tutorial": (
        "dcgan.Generator",
        "ganinv.models.dcgan_tutorial:load_dcgan_tutorial_generator",
    ),
}


def import_generator(
    checkpoint: str | os.PathLike,
    checkpoint_format: str,
    model_path: str | os.PathLike,
    allow_pickle: bool = False,
    expected: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Load ``checkpoint`` in ``checkpoint_format``, check it, write our model file.

    ``expected``: constructor settings the rest of the configuration relies on (e.g.
    ``{"resolution": 128}``); a checkpoint that differs is refused with the key to change.
    Returns the model's meta dict.
    """
    if checkpoint_format not in FORMATS:
        raise UserError(
            f"unknown checkpoint format '{checkpoint_format}' (known: {', '.join(FORMATS)})"
        )
    architecture, target = FORMATS[checkpoint_format]
    module_name, attribute = target.split(":")
    loader = getattr(importlib.import_module(module_name), attribute)
    generator, info = loader(checkpoint, allow_pickle=allow_pickle)
    config = generator.config
    mismatched = {
        key: (config.get(key), value)
        for key, value in (expected or {}).items()
        if config.get(key) != value
    }
    if mismatched:
        details = "; ".join(
            f"{key}: the checkpoint has {found!r}, the config says {wanted!r}"
            for key, (found, wanted) in mismatched.items()
        )
        raise UserError(f"{checkpoint} does not match the configuration: {details}")
    meta = {
        **info,
        "imported_from": os.path.abspath(checkpoint),
        "checkpoint_sha256": file_sha256(checkpoint),
        "checkpoint_format": checkpoint_format,
    }
    save_model(model_path, generator, architecture, config, meta=meta)
    log.info("imported %s (%s) as %s %s", checkpoint, checkpoint_format, architecture, config)
    return meta
