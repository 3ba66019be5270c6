"""Import the generator of a PyTorch WaveGAN port (mostafaelaraby/wavegan-pytorch) checkpoint.

Facts about the port's format (its ``models.py``, ``train.py``, ``utils.py``, ``params.py``):

* ``train.py`` saves ``torch.save(dict, "gan_<prefix>.tar")`` with the generator's state dict
  under ``"generator"`` (next to ``"discriminator"``, optimiser states, cost lists and
  ``"n_iterations"``). A bare generator state dict is accepted too.
* ``WaveGANGenerator``: ``fc1`` = Linear(latent 100 -> 256 d) viewed as [N, 16 d, 16]; an
  always-registered ``bn1`` (used only with batch norm); ReLU; five ``deconv_list.<i>`` layers
  16d -> 8d -> 4d -> 2d -> d -> channels, kernel 25, ReLU between, tanh at the end.
  With ``upsample=True`` (the constructor default, which ``train.py`` keeps) a layer is
  nearest x4 upsampling -> zero padding 12 -> Conv1d(stride 1) (``transpose_ops.1``); otherwise
  ConvTranspose1d(stride 4, padding 11, output_padding 1) (``transpose_ops.0``). With batch norm
  a BatchNorm1d follows the convolution in layers 0..3.
* ``utils.sample_noise`` draws z ~ N(0, 1), so the imported model's prior is "normal".

Our :class:`ganinv.models.wavegan.Generator` computes the same function: ``upsample="nearest"``
or ``"transposed"``, ``prior="normal"``. Batch norm is folded into the preceding layer with its
running statistics (the port's eval-mode output). Models for 32768 or 65536 samples
(``slice_len``, six layers) are refused: ganinv's WaveGAN makes 16384-sample clips.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from ganinv.models import wavegan
from ganinv.models.checkpoints import (
    check_state_dict,
    read_checkpoint,
    require_entry,
    tensor_dict,
)
from ganinv.runtime import UserError

__all__ = ["load_wavegan_port_generator", "PORT_FORMAT"]

PORT_FORMAT = "wavegan-pytorch-port"
WHAT = "a wavegan-pytorch (mostafaelaraby) generator checkpoint"
GENERATOR_KEY = "generator"
PORT_KERNEL = 25
BN_EPS = 1e-5  # BatchNorm1d default, the port does not change it
BN_STATS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
_LAYER = re.compile(r"^deconv_list\.(\d+)\.")


def load_wavegan_port_generator(
    path: str | os.PathLike, allow_pickle: bool = False
) -> tuple[wavegan.Generator, dict[str, Any]]:
    """Our WaveGAN generator (eval mode, CPU) with the port's weights, and an info dict."""
    checkpoint = read_checkpoint(path, WHAT, allow_pickle=allow_pickle)
    if isinstance(checkpoint, Mapping) and "fc1.weight" in checkpoint:
        state = checkpoint  # a bare generator state dict
    else:
        state = require_entry(checkpoint, [GENERATOR_KEY], path, WHAT)
    state = tensor_dict(state, path, f"the '{GENERATOR_KEY}' state dict")

    layout = _infer_layout(state, path)
    generator = wavegan.Generator(
        z_dim=layout["z_dim"],
        d=layout["d"],
        channels=layout["channels"],
        kernel_size=PORT_KERNEL,
        upsample=layout["upsample"],
        prior="normal",
    )
    ours = generator.state_dict()
    names = _key_map(layout)  # port key -> our key
    expected = {port: ours[our] for port, our in names.items()}
    expected.update(_bn_shapes(layout, state))
    check_state_dict(expected, state, path, WHAT)

    converted = {our: state[port].to(torch.float32) for port, our in names.items()}
    if layout["batch_norm"]:
        _fold_batch_norm(converted, state, layout)
    generator.load_state_dict(converted)
    info = {
        "format": PORT_FORMAT,
        "z_dim": generator.z_dim,
        "d": generator.d,
        "kernel_size": generator.kernel_size,
        "prior": generator.prior,
        "channels": generator.channels,
        "upsample": generator.upsample,
        "batch_norm_folded": layout["batch_norm"],
    }
    return generator.eval(), info


def _infer_layout(state: Mapping[str, Tensor], path: str | os.PathLike) -> dict[str, Any]:
    """z_dim, d, channels, upsample mode and batch norm from the tensors' names and shapes."""
    dense = _weight(state, "fc1.weight", 2, path)
    rows, z_dim = dense.shape
    layers = {int(m.group(1)) for key in state if (m := _LAYER.match(key))}
    if not layers:
        raise UserError(f"{path} does not fit {WHAT}: no 'deconv_list.<i>.' layers")
    count = max(layers) + 1
    if count == wavegan.N_LAYERS + 1:
        raise UserError(
            f"{path} is a wavegan-pytorch model with {count} layers (slice_len 32768 or 65536); "
            f"ganinv's WaveGAN makes {wavegan.OUTPUT_SAMPLES}-sample clips, so only models "
            "trained with window_length 16384 can be imported"
        )
    if count != wavegan.N_LAYERS:
        raise UserError(
            f"{path} does not fit {WHAT}: {count} 'deconv_list' layers, expected {wavegan.N_LAYERS}"
        )
    upsample = "transposed" if "deconv_list.0.transpose_ops.0.weight" in state else "nearest"
    conv = 0 if upsample == "transposed" else 1
    if rows % (16 * wavegan.INITIAL_LENGTH):
        raise UserError(
            f"{path} does not fit {WHAT}: fc1.weight has {rows} rows, not a multiple of "
            f"{16 * wavegan.INITIAL_LENGTH} (16 x 16 x model_size)"
        )
    d = rows // (16 * wavegan.INITIAL_LENGTH)
    first = _weight(state, f"deconv_list.0.transpose_ops.{conv}.weight", 3, path)
    last = _weight(state, f"deconv_list.{count - 1}.transpose_ops.{conv}.weight", 3, path)
    if first.shape[-1] != PORT_KERNEL:
        raise UserError(
            f"{path} does not fit {WHAT}: deconv_list.0.transpose_ops.{conv}.weight has kernel "
            f"size {first.shape[-1]}, the port always uses {PORT_KERNEL}"
        )
    channels = last.shape[1] if upsample == "transposed" else last.shape[0]
    batch_norm = any(
        f"deconv_list.{i}.transpose_ops.{conv + 1}.{name}" in state
        for i in range(count - 1)
        for name in BN_STATS
    )
    return {
        "z_dim": int(z_dim),
        "d": int(d),
        "channels": int(channels),
        "upsample": upsample,
        "conv": conv,
        "batch_norm": batch_norm,
    }


def _weight(state: Mapping[str, Tensor], key: str, ndim: int, path: str | os.PathLike) -> Tensor:
    if key not in state:
        raise UserError(f"{path} does not fit {WHAT}: missing key '{key}'")
    tensor = state[key]
    if tensor.dim() != ndim or 0 in tensor.shape:
        raise UserError(
            f"{path} does not fit {WHAT}: '{key}' has shape {tuple(tensor.shape)}, expected a "
            f"non-empty {ndim}-d tensor"
        )
    return tensor


def _key_map(layout: Mapping[str, Any]) -> dict[str, str]:
    names = {"fc1.weight": "dense.weight", "fc1.bias": "dense.bias"}
    for i in range(wavegan.N_LAYERS):
        for name in ("weight", "bias"):
            names[f"deconv_list.{i}.transpose_ops.{layout['conv']}.{name}"] = f"convs.{i}.{name}"
    return names


def _bn_shapes(layout: Mapping[str, Any], state: Mapping[str, Tensor]) -> dict[str, tuple]:
    """Expected batch-norm entries: bn1 (always registered by the port, used only with batch
    norm: required then, optional otherwise) and, with batch norm, those of layers 0..3."""
    d = layout["d"]
    expected = {}
    bn1 = {f"bn1.{name}": _bn_shape(name, 16 * d) for name in BN_STATS}
    if layout["batch_norm"] or any(key in state for key in bn1):
        expected.update(bn1)
    if layout["batch_norm"]:
        for i in range(wavegan.N_LAYERS - 1):
            width = 16 * d // 2 ** (i + 1)
            for name in BN_STATS:
                key = f"deconv_list.{i}.transpose_ops.{layout['conv'] + 1}.{name}"
                expected[key] = _bn_shape(name, width)
    return expected


def _bn_shape(name: str, width: int) -> tuple[int, ...]:
    return () if name == "num_batches_tracked" else (width,)


def _bn_scale_shift(state: Mapping[str, Tensor], prefix: str) -> tuple[Tensor, Tensor]:
    """Eval-mode batch norm as y = x * scale + shift per channel."""
    mean = state[f"{prefix}.running_mean"].to(torch.float64)
    var = state[f"{prefix}.running_var"].to(torch.float64)
    gamma = state[f"{prefix}.weight"].to(torch.float64)
    beta = state[f"{prefix}.bias"].to(torch.float64)
    scale = gamma / torch.sqrt(var + BN_EPS)
    return scale, beta - mean * scale


def _fold_batch_norm(
    converted: dict[str, Tensor], state: Mapping[str, Tensor], layout: Mapping[str, Any]
) -> None:
    """Fold bn1 into the dense layer and each layer's batch norm into its convolution."""
    scale, shift = _bn_scale_shift(state, "bn1")
    rows = wavegan.INITIAL_LENGTH  # dense output row r is channel r // 16 of the [16d, 16] view
    _fold(converted, "dense", scale.repeat_interleave(rows), shift.repeat_interleave(rows), 0)
    out_axis = 1 if layout["upsample"] == "transposed" else 0
    for i in range(wavegan.N_LAYERS - 1):
        prefix = f"deconv_list.{i}.transpose_ops.{layout['conv'] + 1}"
        scale, shift = _bn_scale_shift(state, prefix)
        _fold(converted, f"convs.{i}", scale, shift, out_axis)


def _fold(
    converted: dict[str, Tensor], layer: str, scale: Tensor, shift: Tensor, out_axis: int
) -> None:
    weight = converted[f"{layer}.weight"].to(torch.float64)
    view = [1] * weight.dim()
    view[out_axis] = -1
    converted[f"{layer}.weight"] = (weight * scale.view(view)).to(torch.float32)
    bias = converted[f"{layer}.bias"].to(torch.float64)
    converted[f"{layer}.bias"] = (bias * scale + shift).to(torch.float32)
