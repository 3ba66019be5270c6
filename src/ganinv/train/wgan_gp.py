"""WGAN-GP losses (Gulrajani et al. 2017) with ProGAN's drift term: the gradient penalty, the
critic loss and the generator loss of the ProGAN and WaveGAN trainers.

The critic is called as ``discriminator(x, stage=stage, alpha=alpha)``; the WaveGAN trainer
passes a wrapper of its critic that takes (and ignores) both.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["gradient_penalty", "discriminator_loss", "generator_loss"]


def gradient_penalty(
    discriminator: Callable[..., Tensor],
    real: Tensor,
    fake: Tensor,
    stage: int | None,
    alpha: float,
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP penalty: mean over the batch of (||grad_x D(x_hat)||_2 - 1)^2.

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per sample drawn from
    ``generator`` (a ``torch.Generator``; on its own device, then moved to ``real``'s device).
    The gradient is taken with ``create_graph=True`` so the penalty can be back-propagated into
    the discriminator's parameters. ``real`` and ``fake`` are detached.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake shapes differ: {tuple(real.shape)} vs {tuple(fake.shape)}")
    n = real.shape[0]
    shape = (n,) + (1,) * (real.dim() - 1)
    gen_device = generator.device if generator is not None else real.device
    eps = torch.rand(shape, generator=generator, device=gen_device, dtype=real.dtype)
    eps = eps.to(real.device)
    x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
    scores = discriminator(x_hat, stage=stage, alpha=alpha)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.reshape(n, -1).norm(2, dim=1)
    return (norms - 1.0).pow(2).mean()


def discriminator_loss(
    d_real: Tensor, d_fake: Tensor, gp: Tensor, gp_weight: float = 10.0, drift: float = 0.001
) -> Tensor:
    """WGAN-GP critic loss with ProGAN's drift term.

    ``mean(d_fake) - mean(d_real) + gp_weight * gp + drift * mean(d_real^2)``.
    """
    return d_fake.mean() - d_real.mean() + gp_weight * gp + drift * d_real.pow(2).mean()


def generator_loss(d_fake: Tensor) -> Tensor:
    """WGAN generator loss ``-mean(d_fake)``."""
    return -d_fake.mean()
