"""rosinality/stylegan2-pytorch generator checkpoints fabricated in the public layouts.

The state dict has the keys and shapes rosinality's ``Generator(size, style_dim, n_mlp)`` produces
(with a reduced channel table), saved the way train.py (``args`` = argparse.Namespace) and
convert_weight.py (``latent_avg``) save them; the values are random.
"""

from __future__ import annotations

import argparse
import math

import torch

SIZE, STYLE, N_MLP = 32, 32, 2
TABLE = {4: 16, 8: 16, 16: 8, 32: 8}
LR_MLP = 0.01


def fir_kernel(gain: float = 4.0) -> torch.Tensor:
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = taps[None, :] * taps[:, None]
    return k / k.sum() * gain


def rosinality_state(size=SIZE, style_dim=STYLE, n_mlp=N_MLP, table=TABLE, seed=0, meta=False):
    """A random state dict with the keys and shapes of rosinality's Generator."""
    gen = torch.Generator().manual_seed(seed)

    def rn(*shape, scale=1.0, shift=0.0):
        if meta:
            return torch.empty(*shape, device="meta")
        return torch.randn(*shape, generator=gen) * scale + shift

    sd = {}
    for k in range(1, n_mlp + 1):
        sd[f"style.{k}.weight"] = rn(style_dim, style_dim, scale=1 / LR_MLP)  # stored / lr_mul
        sd[f"style.{k}.bias"] = rn(style_dim, scale=20.0)  # applied times lr_mul: ~0.2

    def styled(prefix, cin, cout, up):
        sd[f"{prefix}.conv.weight"] = rn(1, cout, cin, 3, 3)
        sd[f"{prefix}.conv.modulation.weight"] = rn(cin, style_dim)
        sd[f"{prefix}.conv.modulation.bias"] = rn(cin, scale=0.2, shift=1.0)
        if up:
            sd[f"{prefix}.conv.blur.kernel"] = rn(4, 4) if meta else fir_kernel()
        sd[f"{prefix}.noise.weight"] = rn(1, scale=0.5)
        sd[f"{prefix}.activate.bias"] = rn(cout, scale=0.3)

    def to_rgb(prefix, cin, up):
        if up:
            sd[f"{prefix}.upsample.kernel"] = rn(4, 4) if meta else fir_kernel()
        sd[f"{prefix}.conv.weight"] = rn(1, 3, cin, 1, 1)
        sd[f"{prefix}.conv.modulation.weight"] = rn(cin, style_dim)
        sd[f"{prefix}.conv.modulation.bias"] = rn(cin, scale=0.2, shift=1.0)
        sd[f"{prefix}.bias"] = rn(1, 3, 1, 1, scale=0.2)

    sd["input.input"] = rn(1, table[4], 4, 4)
    styled("conv1", table[4], table[4], False)
    to_rgb("to_rgb1", table[4], False)
    log_size = int(math.log2(size))
    for i in range(log_size - 2):
        cin, cout = table[2 ** (i + 2)], table[2 ** (i + 3)]
        styled(f"convs.{2 * i}", cin, cout, True)
        styled(f"convs.{2 * i + 1}", cout, cout, False)
        to_rgb(f"to_rgbs.{i}", cout, True)
    for i in range(2 * (log_size - 2) + 1):
        res = (i + 5) // 2
        sd[f"noises.noise_{i}"] = rn(1, 1, 2**res, 2**res)
    return sd


def write_train_checkpoint(path, g_ema, **extra):
    """train.py's layout: g, d, g_ema, optimiser states, argparse args, ada_aug_p."""
    param = torch.nn.Parameter(torch.zeros(3))
    optim = torch.optim.Adam([param], lr=0.002, betas=(0.0, 0.99))
    param.grad = torch.ones(3)
    optim.step()
    args = argparse.Namespace(
        size=SIZE, latent=STYLE, n_mlp=N_MLP, channel_multiplier=2, batch=4, lr=0.002, r1=10
    )
    ckpt = {
        "g": rosinality_state(seed=99),  # the raw generator: must NOT be the one loaded
        "d": {"convs.0.0.weight": torch.randn(8, 3, 1, 1)},
        "g_ema": g_ema,
        "g_optim": optim.state_dict(),
        "d_optim": optim.state_dict(),
        "args": args,
        "ada_aug_p": 0.0,
    }
    ckpt.update(extra)
    torch.save(ckpt, path)
    return path


def write_converted_checkpoint(path, g_ema, latent_avg):
    """convert_weight.py's layout: g_ema and latent_avg (the official [512] dlatent_avg)."""
    torch.save({"g_ema": g_ema, "latent_avg": latent_avg}, path)
    return path
