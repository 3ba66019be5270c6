"""The exponential moving average of a generator's weights (the generator a GAN run saves)."""

from __future__ import annotations

import torch


@torch.no_grad()
def update_ema(*, ema: torch.nn.Module, model: torch.nn.Module, beta: float) -> None:
    """Move every parameter of ``ema`` towards ``model``'s (decay ``beta``) and copy the
    buffers (e.g. running statistics, noise constants), which are not averaged."""
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        p_ema.lerp_(p, 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)
