"""pytorch_GAN_zoo PGAN checkpoints (facebookresearch/pytorch_GAN_zoo) as our ProGAN generator.

Facts of the public format (read from the repository, models/base_GAN.py, progressive_gan.py,
networks/progressive_conv_net.py, networks/custom_layers.py):

* The ``.pth`` file is a dict ``{"config": BaseConfig, "netG", "netD", "avgG"}`` (states);
  ``config`` is a pickled ``models.utils.config.BaseConfig`` (read here as an inert record) with
  ``depthScale0``, ``depthOtherScales`` (one width per added scale), ``latentVectorDim``,
  ``dimOutput``, ``equalizedlR``, ``perChannelNormalization``, ``leakyReluLeak``, ``alpha``,
  ``lossCriterion``. ``avgG`` is the moving-average generator the authors advise to sample from.
* Generator keys: ``formatLayer.module.{weight,bias}`` (linear z -> 16 * depthScale0),
  ``groupScale0.0.module.*`` (3x3 conv at 4 px), ``scaleLayers.{i}.{0,1}.module.*`` (two 3x3 convs
  after a nearest-neighbour x2 upsampling), ``toRGBLayers.{i}.module.*`` (1x1 convs).
* Equalised learning rate multiplies the layer's whole OUTPUT (weight and bias) by
  ``sqrt(2 / fan_in)``; ours multiplies only the weight, by ``gain / sqrt(fan_in)``. The import
  rescales weights and biases so that both forwards agree exactly.
* The forward pass is ProGAN's: pixel-norm z, dense, leaky ReLU, pixel-norm, conv, leaky,
  pixel-norm, then per scale: upsample, (conv, leaky, pixel-norm) x 2; the last scale's toRGB,
  linear output (WGAN-GP and logistic losses) in [-1, 1].
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any

import torch

from ganinv.models.checkpoints import (
    check_state_dict,
    config_dict,
    read_checkpoint,
    require_entry,
    tensor_dict,
)
from ganinv.models.progan import Generator
from ganinv.runtime import UserError

WHAT = "a pytorch_GAN_zoo PGAN checkpoint"
CONFIG_CLASS = "models.utils.config.BaseConfig"
LINEAR_OUTPUT_LOSSES = ("WGANGP", "Logistic")


def load_pgan_generator(
    path: str | os.PathLike, allow_pickle: bool = False, average: bool = True
) -> tuple[Generator, dict[str, Any]]:
    """Our ProGAN :class:`Generator` with the weights of a PGAN checkpoint (eval mode, CPU).

    ``average``: use the moving-average generator ``avgG`` when the file has one (else ``netG``).
    Returns ``(generator, info)``; ``info`` records the format, which state was used and the
    architecture read from the file.
    """
    checkpoint = read_checkpoint(
        path, WHAT, allow_pickle=allow_pickle, config_classes=[CONFIG_CLASS]
    )
    config = config_dict(require_entry(checkpoint, ["config"], path, WHAT))
    entry = "avgG" if average and "avgG" in checkpoint else "netG"
    state = _canonical_keys(
        tensor_dict(require_entry(checkpoint, [entry], path, WHAT), path, entry)
    )
    settings = _generator_settings(config, state, path)
    generator = Generator(**settings)
    expected = {_public_name(key): value for key, value in generator.state_dict().items()}
    check_state_dict(expected, state, path, f"{WHAT} ({entry}) as ProGAN {settings}")
    generator.load_state_dict(_to_ours(state, generator, config.get("equalizedlR", True)))
    info = {"format": "pytorch_gan_zoo-pgan", "state": entry, **settings}
    return generator.eval(), info


def _canonical_keys(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip a DataParallel ``module.`` prefix; old files lack the inner ``.module`` (the public
    loader adds it, ``loadStateDictCompatible``)."""
    out = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if ".module." not in key:
            key = re.sub(r"\.(weight|bias)$", r".module.\1", key)
        out[key] = value
    return out


def _generator_settings(
    config: Mapping[str, Any], state: Mapping[str, torch.Tensor], path: str | os.PathLike
) -> dict[str, Any]:
    """Constructor kwargs of our Generator from the file's config (cross-checked with shapes)."""
    problems = []
    if not config.get("perChannelNormalization", True):
        problems.append("perChannelNormalization is off (our ProGAN always pixel-normalises)")
    if float(config.get("alpha", 0) or 0) > 0:
        problems.append(
            f"alpha = {config['alpha']} (saved in the middle of a fade-in; use the checkpoint "
            "saved at the end of the scale)"
        )
    loss = config.get("lossCriterion", "WGANGP")
    if loss not in LINEAR_OUTPUT_LOSSES:
        problems.append(f"lossCriterion {loss!r} ends in tanh; supported: {LINEAR_OUTPUT_LOSSES}")
    if int(config.get("categoryVectorDim", 0) or 0) > 0:
        problems.append("the generator is conditional (categoryVectorDim > 0)")
    leak = float(config.get("leakyReluLeak", 0.2))
    if abs(leak - 0.2) > 1e-9:
        problems.append(f"leakyReluLeak = {leak} (ours is 0.2)")
    if problems:
        raise UserError(f"{path}: this PGAN cannot be imported: " + "; ".join(problems))

    try:
        channels = [int(config["depthScale0"]), *map(int, config.get("depthOtherScales", []))]
    except (KeyError, TypeError, ValueError):
        raise UserError(
            f"{path}: the PGAN config has no usable depthScale0/depthOtherScales"
        ) from None
    dense = state.get("formatLayer.module.weight")
    if dense is None or dense.dim() != 2:
        raise UserError(
            f"{path}: {WHAT} without formatLayer.module.weight (found {sorted(state)[:6]})"
        )
    z_dim = int(config.get("latentVectorDim", dense.shape[1]))
    return {
        "resolution": 4 * 2 ** (len(channels) - 1),
        "z_dim": z_dim,
        "channels": channels,
        "image_channels": int(config.get("dimOutput", 3)),
    }


def _public_name(ours: str) -> str:
    """Our generator key -> the PGAN key it comes from."""
    rules = [
        (r"^input_block\.dense\.", "formatLayer.module."),
        (r"^input_block\.conv\.", "groupScale0.0.module."),
        (r"^blocks\.(\d+)\.conv([01])\.", r"scaleLayers.\1.\2.module."),
        (r"^to_rgb\.(\d+)\.", r"toRGBLayers.\1.module."),
    ]
    for pattern, replacement in rules:
        if re.match(pattern, ours):
            return re.sub(pattern, replacement, ours)
    return ours


def _to_ours(
    state: Mapping[str, torch.Tensor], generator: Generator, equalized: bool
) -> dict[str, torch.Tensor]:
    """Rename PGAN keys to ours and move PGAN's output scaling into our weight/bias convention.

    ``state`` has exactly the expected keys and shapes (checked before).
    """
    modules = dict(generator.named_modules())
    mapped = {}
    for ours in generator.state_dict():
        public = _public_name(ours)
        layer_name, kind = ours.rsplit(".", 1)
        public_layer = public.rsplit(".", 1)[0]
        fan_in = math.prod(state[f"{public_layer}.weight"].shape[1:])
        their_scale = math.sqrt(2.0 / fan_in) if equalized else 1.0
        value = state[public].float()
        if kind == "weight":
            mapped[ours] = value * (their_scale / modules[layer_name].scale)
        else:
            mapped[ours] = value * their_scale
    return mapped
