"""rosinality/stylegan2-pytorch generator checkpoints as our StyleGAN2 :class:`Generator`.

Facts of the public format (read from the repository: model.py, train.py, convert_weight.py,
generate.py, op/fused_act.py, op/upfirdn2d.py):

* ``train.py`` saves ``{"g", "d", "g_ema", "g_optim", "d_optim", "args", "ada_aug_p"}`` with
  ``args`` a pickled ``argparse.Namespace`` (``size``, ``latent``, ``n_mlp``,
  ``channel_multiplier``, ...); ``convert_weight.py`` (official TF pickles -> .pt) saves
  ``{"g_ema", "latent_avg"}`` (optionally ``"g"``, ``"d"``) with ``latent_avg`` the ``[512]``
  ``dlatent_avg`` of the official network. ``g_ema`` is the generator to sample from.
* Generator keys: ``style.{1..n_mlp}.{weight,bias}`` (``style.0`` is the PixelNorm of z),
  ``input.input`` ``[1, C4, 4, 4]``, ``conv1.*`` and ``to_rgb1.*`` at 4 px, ``convs.{2r}`` (the
  upsampling conv) and ``convs.{2r+1}`` per further resolution, ``to_rgbs.{r}``,
  ``noises.noise_{i}`` ``[1, 1, s, s]`` (fixed noise images), non-learned FIR buffers
  ``convs.{2r}.conv.blur.kernel`` and ``to_rgbs.{r}.upsample.kernel`` (``[1,3,3,1]`` outer
  product, normalised, times 4). A styled conv has ``conv.weight`` ``[1, out, in, 3, 3]``,
  ``conv.modulation.{weight,bias}``, ``noise.weight`` ``[1]`` and ``activate.bias`` ``[out]``.
* Channel table ``{4..32: 512, 64: 256 m, 128: 128 m, 256: 64 m, 512: 32 m, 1024: 16 m}``
  (``m`` = channel_multiplier); it is read here from the tensor shapes instead, so any table works.
* Numerics (the same as our module's, so the keys map one to one with no rescaling):
  ``EqualLinear`` stores ``weight / lr_mul`` and applies ``weight * lr_mul / sqrt(in)`` and
  ``bias * lr_mul``; the mapping MLP uses ``lr_mlp = 0.01`` (the constructor default, used by
  train.py and convert_weight.py), the modulation ``lr_mul = 1``. ``FusedLeakyReLU``:
  ``leaky_relu(x + bias, 0.2) * sqrt(2)``. Modulated conv: weight ``* 1/sqrt(in k k) * style``,
  demodulation ``rsqrt(sum w^2 + 1e-8)``; upsampling = stride-2 transposed conv then the FIR
  filter (gain 4) with pads (1, 1); the RGB skip = zero insertion then the FIR filter with pads
  (2, 1). Noise ``x + weight * noise`` before the bias and activation. Truncation:
  ``latent_avg + psi * (w - latent_avg)``.

Without ``latent_avg`` in the file, ``w_avg`` is estimated as the mean of w over 4096 z drawn with
a fixed seed (what rosinality's generate.py does for truncation); ``info["latent_avg"]`` says
which.
"""

from __future__ import annotations

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
from ganinv.models.stylegan2 import Generator
from ganinv.runtime import UserError

__all__ = ["load_rosinality_generator", "rosinality_architecture", "FORMAT"]

WHAT = "a rosinality/stylegan2-pytorch generator checkpoint"
FORMAT = "rosinality-stylegan2"
CONFIG_CLASS = "argparse.Namespace"
LR_MLP = 0.01  # rosinality's Generator(lr_mlp=0.01), never changed by its scripts
W_AVG_SAMPLES = 4096
W_AVG_SEED = 4096

# File key -> our key, for the keys whose names differ (everything else keeps its name).
# style.{k} -> mapping_network.layers.{k - 1} is handled in _our_key (index shift).
_RENAMES = (
    (re.compile(r"^input\.input$"), "const"),
    (re.compile(r"^(conv1|convs\.\d+)\.activate\.bias$"), r"\1.bias"),
    (re.compile(r"^noises\.noise_(\d+)$"), r"noise_const_\1"),
)
# Non-learned FIR buffers of the file: compared with ours, not loaded.
_KERNEL_KEY = re.compile(r"^(convs\.\d+\.conv\.blur|to_rgbs\.\d+\.upsample)\.kernel$")


def _our_key(key: str) -> str:
    match = re.match(r"^style\.(\d+)\.(weight|bias)$", key)
    if match and int(match.group(1)) >= 1:
        return f"mapping_network.layers.{int(match.group(1)) - 1}.{match.group(2)}"
    for pattern, replacement in _RENAMES:
        if pattern.match(key):
            return pattern.sub(replacement, key)
    return key


def _file_key(key: str) -> str:
    """Inverse of :func:`_our_key` (our key -> the file's name for it)."""
    match = re.match(r"^mapping_network\.layers\.(\d+)\.(weight|bias)$", key)
    if match:
        return f"style.{int(match.group(1)) + 1}.{match.group(2)}"
    if key == "const":
        return "input.input"
    match = re.match(r"^(conv1|convs\.\d+)\.bias$", key)
    if match:
        return f"{match.group(1)}.activate.bias"
    match = re.match(r"^noise_const_(\d+)$", key)
    if match:
        return f"noises.noise_{match.group(1)}"
    return key


def _dim(
    state: Mapping[str, torch.Tensor], key: str, ndim: int, axis: int, path: Any, role: str
) -> int:
    tensor = state.get(key)
    if tensor is None:
        raise UserError(
            f"{path} does not fit {WHAT}: g_ema has no {key!r} (needed to read the {role}); "
            "the file is not a rosinality StyleGAN2 generator or its state dict is incomplete"
        )
    if tensor.dim() != ndim:
        raise UserError(
            f"{path} does not fit {WHAT}: g_ema entry {key!r} has shape {tuple(tensor.shape)}, "
            f"expected {ndim} dimensions"
        )
    return int(tensor.shape[axis])


def rosinality_architecture(state: Mapping[str, torch.Tensor], path: Any = "<state dict>") -> dict:
    """Our Generator's constructor kwargs read from the shapes of a rosinality ``g_ema`` dict."""
    n_mlp = 0
    while f"style.{n_mlp + 1}.weight" in state:
        n_mlp += 1
    if n_mlp == 0:
        raise UserError(
            f"{path} does not fit {WHAT}: g_ema has no mapping layer 'style.1.weight' "
            f"(found keys {sorted(state)[:8]})"
        )
    w_dim = _dim(state, "style.1.weight", 2, 0, path, "style dimension")
    z_dim = _dim(state, "style.1.weight", 2, 1, path, "latent dimension")
    n_up = 0
    while f"to_rgbs.{n_up}.conv.weight" in state:
        n_up += 1
    channels = [_dim(state, "input.input", 4, 1, path, "4 px width")]
    for r in range(n_up):
        channels.append(_dim(state, f"convs.{2 * r}.conv.weight", 5, 1, path, "layer widths"))
    return {
        "resolution": 4 * 2**n_up,
        "z_dim": z_dim,
        "w_dim": w_dim,
        "mapping_layers": n_mlp,
        "channels": channels,
        "mapping_lr_mul": LR_MLP,
    }


def _check_arch(args: dict[str, Any], path: Any) -> None:
    """train.py records ``args.arch``: only "stylegan2" is this layout (e.g. "swagan", its
    wavelet variant, has other layers)."""
    arch = args.get("arch")
    if isinstance(arch, str) and arch != "stylegan2":
        raise UserError(
            f"{path} is a rosinality '{arch}' checkpoint (its training arguments say "
            f"arch={arch!r}); only StyleGAN2 (arch='stylegan2') can be imported as StyleGAN2"
        )


def _check_args(args: dict[str, Any], arch: dict, path: Any) -> None:
    """train.py's saved ``args`` must agree with the weights (else the file is inconsistent)."""
    for name, ours in (
        ("size", arch["resolution"]),
        ("latent", arch["w_dim"]),
        ("n_mlp", arch["mapping_layers"]),
    ):
        value = args.get(name)
        if isinstance(value, int) and value != ours:
            raise UserError(
                f"{path}: the saved training arguments say {name}={value}, but the g_ema weights "
                f"have {name}={ours}; the file is inconsistent (re-save or re-download it)"
            )


def load_rosinality_generator(
    path: str | os.PathLike, allow_pickle: bool = False
) -> tuple[Generator, dict[str, Any]]:
    """Our StyleGAN2 :class:`Generator` with the ``g_ema`` weights of a rosinality checkpoint.

    Works for train.py checkpoints and convert_weight.py files (any resolution and channel
    table). The module is returned in eval mode on the CPU; its fixed eval noise is the file's
    ``noises.noise_{i}``, so ``gen(z)`` equals rosinality's
    ``g_ema([z], noise=[noises...])[0]``. Returns ``(generator, info)``.
    """
    checkpoint = read_checkpoint(
        path, WHAT, allow_pickle=allow_pickle, config_classes=[CONFIG_CLASS]
    )
    if isinstance(checkpoint, Mapping) and "g_ema" not in checkpoint and "g" in checkpoint:
        raise UserError(
            f"{path} has only the training generator 'g' and no 'g_ema' (its moving average, "
            "which rosinality samples from); use a checkpoint saved by train.py or "
            "convert_weight.py that has 'g_ema'"
        )
    args = {}
    if isinstance(checkpoint, Mapping) and checkpoint.get("args") is not None:
        try:
            args = config_dict(checkpoint["args"])
        except UserError:
            args = {}
    _check_arch(args, path)
    state = tensor_dict(require_entry(checkpoint, ["g_ema"], path, WHAT), path, "'g_ema'")
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    arch = rosinality_architecture(state, path)
    _check_args(args, arch, path)

    try:
        generator = Generator(**arch)
    except ValueError as exc:
        raise UserError(f"{path} does not fit {WHAT}: {exc}") from None
    ours = generator.state_dict()
    expected = {_file_key(k): v for k, v in ours.items() if k != "w_avg"}
    kernels = {k: v for k, v in state.items() if _KERNEL_KEY.match(k)}
    weights = {k: v for k, v in state.items() if k not in kernels}
    check_state_dict(expected, weights, path, WHAT)
    _check_kernels(generator, kernels, path)

    mapped = {_our_key(k): v for k, v in weights.items()}
    latent_avg = checkpoint.get("latent_avg") if isinstance(checkpoint, Mapping) else None
    mapped["w_avg"] = ours["w_avg"]
    generator.load_state_dict(mapped)
    if latent_avg is not None:
        generator.w_avg.copy_(_latent_avg(latent_avg, arch["w_dim"], path))
    else:
        with torch.no_grad():
            rng = torch.Generator().manual_seed(W_AVG_SEED)
            z = torch.randn(W_AVG_SAMPLES, arch["z_dim"], generator=rng)
            generator.w_avg.copy_(generator.mapping_network(z).mean(dim=0))
    generator.eval()
    info = {
        "format": FORMAT,
        "resolution": arch["resolution"],
        "z_dim": arch["z_dim"],
        "w_dim": arch["w_dim"],
        "mapping_layers": arch["mapping_layers"],
        "channels": list(arch["channels"]),
        "latent_avg": latent_avg is not None,
    }
    return generator, info


def _latent_avg(value: Any, w_dim: int, path: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.numel() != w_dim or value.dim() > 2:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise UserError(
            f"{path}: 'latent_avg' should be a tensor of shape [{w_dim}] (the mean w), found "
            f"{shape}; the file is corrupt or not a rosinality checkpoint"
        )
    return value.detach().reshape(w_dim).float()


def _check_kernels(generator: Generator, kernels: Mapping[str, torch.Tensor], path: Any) -> None:
    """The file's FIR buffers must be the [1, 3, 3, 1] filter our module applies."""
    modules = dict(generator.named_modules())
    for key, kernel in kernels.items():
        owner = key.removesuffix(".kernel")
        module = modules.get(owner)
        if module is not None and not isinstance(getattr(module, "kernel", None), torch.Tensor):
            module = getattr(module, "blur", None)  # our skip upsampler wraps its FIR filter
        ours = getattr(module, "kernel", None)
        if ours is None:
            raise UserError(f"{path} does not fit {WHAT}: unexpected buffer {key!r}")
        if kernel.shape != ours.shape or not torch.allclose(kernel, ours, atol=1e-6):
            raise UserError(
                f"{path}: {key!r} is not the [1, 3, 3, 1] resampling filter (shape "
                f"{tuple(kernel.shape)}); generators trained with another blur_kernel are not "
                "supported"
            )
