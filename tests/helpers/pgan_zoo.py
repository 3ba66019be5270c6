"""pytorch_GAN_zoo PGAN checkpoints fabricated in the public layout (random values, tiny sizes)."""

from __future__ import annotations

import sys
import types

import torch

DEPTHS = [16, 16, 8]  # depthScale0 + depthOtherScales: 4, 8, 16 px
Z_DIM = 12


class _Config:
    """Pickled like pytorch_GAN_zoo's models.utils.config.BaseConfig."""


_Config.__module__ = "models.utils.config"
_Config.__qualname__ = "BaseConfig"
_Config.__name__ = "BaseConfig"


def pgan_state(depths=DEPTHS, z_dim=Z_DIM, seed=0) -> dict[str, torch.Tensor]:
    """Generator keys and shapes as GNet (progressive_conv_net.py) names them; random values."""
    g = torch.Generator().manual_seed(seed)

    def layer(prefix, shape):
        return {
            f"{prefix}.module.weight": torch.randn(*shape, generator=g),
            f"{prefix}.module.bias": 0.1 * torch.randn(shape[0], generator=g),
        }

    state = {}
    state.update(layer("formatLayer", (16 * depths[0], z_dim)))
    state.update(layer("groupScale0.0", (depths[0], depths[0], 3, 3)))
    state.update(layer("toRGBLayers.0", (3, depths[0], 1, 1)))
    for i, (a, b) in enumerate(zip(depths[:-1], depths[1:], strict=True)):
        state.update(layer(f"scaleLayers.{i}.0", (b, a, 3, 3)))
        state.update(layer(f"scaleLayers.{i}.1", (b, b, 3, 3)))
        state.update(layer(f"toRGBLayers.{i + 1}", (3, b, 1, 1)))
    return state


def write_pgan(path, state=None, **config_overrides):
    """A .pth file like base_GAN.getStateDict: config object + netG + netD + avgG."""
    config = _Config()
    config.depthScale0 = DEPTHS[0]
    config.depthOtherScales = list(DEPTHS[1:])
    config.latentVectorDim = Z_DIM
    config.noiseVectorDim = Z_DIM
    config.categoryVectorDim = 0
    config.dimOutput = 3
    config.equalizedlR = True
    config.perChannelNormalization = True
    config.leakyReluLeak = 0.2
    config.alpha = 0.0
    config.lossCriterion = "WGANGP"
    for key, value in config_overrides.items():
        setattr(config, key, value)
    avg = state if state is not None else pgan_state(seed=1)
    package = types.ModuleType("models.utils.config")
    package.BaseConfig = _Config
    names = ["models", "models.utils", "models.utils.config"]
    saved = {name: sys.modules.get(name) for name in names}
    sys.modules.update({"models": types.ModuleType("models")})
    sys.modules.update({"models.utils": types.ModuleType("models.utils")})
    sys.modules["models.utils.config"] = package
    try:
        torch.save({"config": config, "netG": pgan_state(seed=2), "netD": {}, "avgG": avg}, path)
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return path
