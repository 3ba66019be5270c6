"""wavegan-pytorch (mostafaelaraby) generator checkpoints fabricated in the port's layout: its
state-dict keys and shapes, saved in the dict its train.py writes, with random values."""

from __future__ import annotations

import math

import torch

Z_DIM = 100  # the port's noise_latent_dim
D = 4


def port_state(
    d: int = D,
    z_dim: int = Z_DIM,
    channels: int = 1,
    upsample: bool = True,
    batch_norm: bool = False,
    layers: int = 5,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """A WaveGANGenerator state dict: fc1, bn1 (always registered), deconv_list.<i>.transpose_ops.
    Weights are scaled so that activations neither vanish nor saturate the tanh."""
    g = torch.Generator().manual_seed(seed)
    dim_mul = 16 if layers == 5 else 32
    state = {
        "fc1.weight": torch.randn(16 * d * dim_mul, z_dim, generator=g) / math.sqrt(z_dim),
        "fc1.bias": 0.1 * torch.randn(16 * d * dim_mul, generator=g),
    }
    state.update(_bn(g, "bn1", d * dim_mul, trained=batch_norm))
    widths = [dim_mul * d // 2**i for i in range(5)]
    widths += [d] * (layers - 5) + [channels]
    conv = 1 if upsample else 0
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        fan_in = a * 25 if upsample else a * 25 / 4
        shape = (b, a, 25) if upsample else (a, b, 25)
        prefix = f"deconv_list.{i}.transpose_ops"
        state[f"{prefix}.{conv}.weight"] = torch.randn(shape, generator=g) * math.sqrt(2 / fan_in)
        state[f"{prefix}.{conv}.bias"] = 0.1 * torch.randn(b, generator=g)
        if batch_norm and i < len(widths) - 2:
            state.update(_bn(g, f"{prefix}.{conv + 1}", b, trained=True))
    return state


def _bn(g: torch.Generator, prefix: str, width: int, trained: bool) -> dict[str, torch.Tensor]:
    if not trained:  # BatchNorm1d's initial values
        weight, bias = torch.ones(width), torch.zeros(width)
        mean, var = torch.zeros(width), torch.ones(width)
    else:
        weight = 0.5 + torch.rand(width, generator=g)
        bias = 0.2 * torch.randn(width, generator=g)
        mean = 0.3 * torch.randn(width, generator=g)
        var = 0.5 + torch.rand(width, generator=g)
    return {
        f"{prefix}.weight": weight,
        f"{prefix}.bias": bias,
        f"{prefix}.running_mean": mean,
        f"{prefix}.running_var": var,
        f"{prefix}.num_batches_tracked": torch.tensor(1000),
    }


def training_checkpoint(generator_state: dict) -> dict:
    """The dict the port's train.py saves every backup_every_n_iters iterations."""
    weight = torch.randn(8, 1, 25)
    optimizer = {
        "state": {},
        "param_groups": [
            {"lr": 1e-4, "betas": (0.5, 0.9), "eps": 1e-8, "weight_decay": 0, "params": [0, 1]}
        ],
    }
    return {
        "generator": generator_state,
        "discriminator": {"conv_layers.0.conv1d.weight": weight, "fc1.bias": torch.zeros(1)},
        "n_iterations": 3000,
        "optimizer_d": optimizer,
        "optimizer_g": optimizer,
        "train_d_cost": [0.5, 0.25],
        "train_w_distance": [1.0, 0.5],
        "valid_g_cost": [-1],
        "g_cost": [0.1, 0.2],
    }
