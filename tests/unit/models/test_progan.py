"""Tests of the ProGAN generator, discriminator, building blocks and WGAN-GP losses."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganinv.models.layers import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStdDev,
    PixelNorm,
    count_parameters,
    minibatch_stddev,
)
from ganinv.models.progan import Discriminator, Generator
from ganinv.train.wgan_gp import discriminator_loss, generator_loss, gradient_penalty

# (resolution, z_dim, channels): small widths keep everything fast on a CPU.
CONFIGS = [
    (8, 8, (8, 4)),
    (32, 16, (16, 16, 8, 8)),
    (64, 16, (16, 16, 8, 8, 4)),
    (128, 16, (16, 16, 8, 8, 4, 4)),
]


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.mark.parametrize("resolution,z_dim,channels", CONFIGS)
def test_shapes_every_stage(resolution, z_dim, channels):
    g = Generator(resolution, z_dim, channels)
    d = Discriminator(resolution, channels)
    assert g.n_stages == d.n_stages == int(math.log2(resolution)) - 1 == len(channels)
    assert g.z_dim == z_dim
    z = torch.randn(3, z_dim)
    for stage in range(g.n_stages):
        res = 4 * 2**stage
        assert g.resolution_at(stage) == d.resolution_at(stage) == res
        for alpha in (0.0, 0.5, 1.0):
            x = g(z, stage, alpha)
            assert x.shape == (3, 3, res, res)
            assert torch.isfinite(x).all()
            out = d(x, stage, alpha)
            assert out.shape == (3,)
            assert torch.isfinite(out).all()
    # None = full resolution
    assert g(z).shape == (3, 3, resolution, resolution)
    assert d(g(z)).shape == (3,)


def test_output_is_linear_not_tanh():
    g = Generator(8, 8, (8, 4))
    with torch.no_grad():
        g.to_rgb[-1].weight.mul_(100.0)
    assert g(torch.randn(4, 8)).abs().max() > 1.5


def test_pixelnorm_unit_mean_square():
    x = torch.randn(4, 7, 5, 5) * 3.0 + 1.0
    y = PixelNorm()(x)
    ms = y.pow(2).mean(dim=1)
    assert torch.allclose(ms, torch.ones_like(ms), atol=1e-5)
    z = torch.randn(6, 32) * 10
    assert torch.allclose(PixelNorm()(z).pow(2).mean(1), torch.ones(6), atol=1e-5)


def test_equalized_conv_scale_and_effective_weight():
    conv = EqualizedConv2d(5, 7, 3)
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(5 * 3 * 3))
    # stored weights are N(0, 1), biases zero
    assert abs(conv.weight.std().item() - 1.0) < 0.2
    assert torch.all(conv.bias == 0)
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 5, 6, 6)
    ref = F.conv2d(x, conv.weight * conv.scale, conv.bias, padding=1)
    assert torch.allclose(conv(x), ref, atol=1e-6)
    rgb = EqualizedConv2d(16, 3, 1, gain=1.0)
    assert rgb.scale == pytest.approx(1 / 4)


def test_equalized_linear_scale_and_effective_weight():
    lin = EqualizedLinear(50, 20)
    assert lin.scale == pytest.approx(math.sqrt(2) / math.sqrt(50))
    assert torch.all(lin.bias == 0)
    assert abs(lin.weight.std().item() - 1.0) < 0.1
    x = torch.randn(4, 50)
    assert torch.allclose(lin(x), x @ (lin.weight * lin.scale).t(), atol=1e-5)
    assert EqualizedLinear(16, 1, gain=1.0).scale == pytest.approx(0.25)


def test_generator_invariant_to_z_scale():
    g = Generator(16, 8, (8, 8, 4))
    z = torch.randn(5, 8)
    for stage in range(g.n_stages):
        assert torch.allclose(g(z, stage, 0.7), g(3.0 * z, stage, 0.7), atol=1e-5)


def test_generator_fade_in_blending():
    g = Generator(32, 8, (8, 8, 8, 4))
    z = torch.randn(4, 8)
    for stage in range(1, g.n_stages):
        prev = g(z, stage - 1)
        up = F.interpolate(prev, scale_factor=2, mode="nearest")
        new = g(z, stage, 1.0)
        assert torch.allclose(g(z, stage, 0.0), up, atol=1e-6)
        assert torch.allclose(g(z, stage, 0.25), 0.25 * new + 0.75 * up, atol=1e-5)
    # alpha is irrelevant at stage 0
    assert torch.allclose(g(z, 0, 0.0), g(z, 0, 1.0))


def test_discriminator_fade_in_blending():
    d = Discriminator(16, (8, 8, 4))
    x = torch.randn(4, 3, 16, 16)
    # alpha=0: the new block is bypassed, the result equals the previous stage on avgpool(x)
    assert torch.allclose(d(x, 2, 0.0), d(F.avg_pool2d(x, 2), 1), atol=1e-5)
    assert not torch.allclose(d(x, 2, 1.0), d(x, 2, 0.0), atol=1e-4)
    # intermediate alpha: the blend is linear in the features entering the next block
    h_new = d.blocks[1](d.from_rgb[2](x))
    h_old = d.from_rgb[1](F.avg_pool2d(x, 2))
    h = 0.3 * h_new + 0.7 * h_old
    expected = d.output_block(d.blocks[0](h))
    assert torch.allclose(d(x, 2, 0.3), expected, atol=1e-5)


def test_minibatch_stddev_divisible():
    x = torch.randn(8, 5, 4, 4)
    y = MinibatchStdDev(4)(x)
    assert y.shape == (8, 6, 4, 4)
    assert torch.equal(y[:, :5], x)
    feat = y[:, 5]
    # constant over pixels
    assert torch.allclose(feat, feat[:, :1, :1].expand_as(feat))
    # strided groups: M = 2 groups, sample i in group i % 2
    for grp in (torch.arange(0, 8, 2), torch.arange(1, 8, 2)):
        vals = feat[grp, 0, 0]
        assert torch.allclose(vals, vals[0].expand_as(vals))
        expected = torch.sqrt(x[grp].var(dim=0, unbiased=False) + 1e-8).mean()
        assert vals[0].item() == pytest.approx(expected.item(), rel=1e-5)
    assert not torch.allclose(feat[0], feat[1])


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 9, 10])
def test_minibatch_stddev_any_batch(n):
    x = torch.randn(n, 3, 4, 4)
    y = minibatch_stddev(x, 4)
    assert y.shape == (n, 4, 4, 4)
    m = max(1, n // min(4, n))
    for g in range(m):
        idx = torch.arange(g, n, m)
        if n > 1:
            assert len(idx) >= min(4, n)  # never a degenerate small group
        expected = torch.sqrt(x[idx].var(dim=0, unbiased=False) + 1e-8).mean()
        assert torch.allclose(y[idx, 3], expected.expand(len(idx), 4, 4), atol=1e-6)


def test_discriminator_batch_not_divisible_by_group():
    d = Discriminator(8, (8, 4), mbstd_group_size=4)
    for n in (1, 3, 6):
        assert d(torch.randn(n, 3, 8, 8)).shape == (n,)


class _LinearCritic(nn.Module):
    """D(x) = <w, x> + b with w of a chosen norm: grad norm is ||w|| everywhere."""

    def __init__(self, shape, norm):
        super().__init__()
        w = torch.randn(*shape)
        self.w = nn.Parameter(w / w.norm() * norm)
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x, stage=None, alpha=1.0):
        return (x * self.w).flatten(1).sum(1) + self.b


def test_gradient_penalty_linear_critic():
    real = torch.randn(6, 3, 4, 4)
    fake = torch.randn(6, 3, 4, 4)
    gp1 = gradient_penalty(_LinearCritic((3, 4, 4), 1.0), real, fake, None, 1.0)
    assert gp1.item() == pytest.approx(0.0, abs=1e-10)
    gp3 = gradient_penalty(_LinearCritic((3, 4, 4), 3.0), real, fake, None, 1.0)
    assert gp3.item() == pytest.approx(4.0, rel=1e-5)  # (3 - 1)^2


def test_gradient_penalty_reproducible_and_differentiable():
    d = Discriminator(8, (8, 4))
    real = torch.randn(4, 3, 8, 8)
    fake = torch.randn(4, 3, 8, 8)
    gp_a = gradient_penalty(d, real, fake, 1, 0.5, generator=torch.Generator().manual_seed(1))
    gp_b = gradient_penalty(d, real, fake, 1, 0.5, generator=torch.Generator().manual_seed(1))
    assert gp_a.item() > 0
    assert torch.equal(gp_a, gp_b)
    gp_a.backward()  # create_graph=True: the penalty reaches D's parameters
    grads = [p.grad for p in d.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_losses():
    d_real = torch.tensor([1.0, 3.0])
    d_fake = torch.tensor([-1.0, 0.0])
    gp = torch.tensor(0.5)
    loss = discriminator_loss(d_real, d_fake, gp)
    assert loss.item() == pytest.approx(-0.5 - 2.0 + 5.0 + 0.001 * 5.0)
    assert discriminator_loss(d_real, d_fake, gp, gp_weight=0.0, drift=0.0).item() == -2.5
    assert generator_loss(d_fake).item() == pytest.approx(0.5)


def test_training_step_runs():
    g = Generator(8, 8, (8, 4))
    d = Discriminator(8, (8, 4))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.0, 0.99))
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.0, 0.99))
    real = torch.rand(4, 3, 8, 8) * 2 - 1
    fake = g(torch.randn(4, 8), 1, 0.5).detach()
    gp = gradient_penalty(d, real, fake, 1, 0.5)
    loss_d = discriminator_loss(d(real, 1, 0.5), d(fake, 1, 0.5), gp)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = generator_loss(d(g(torch.randn(4, 8), 1, 0.5), 1, 0.5))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    assert torch.isfinite(loss_d) and torch.isfinite(loss_g)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"resolution": 48, "channels": (8,) * 4},
        {"resolution": 2, "channels": ()},
        {"resolution": 2048, "channels": (8,) * 10},
        {"resolution": 32, "channels": (8, 8, 8)},
        {"resolution": 32, "channels": (8, 8, 0, 8)},
        {"resolution": 32, "channels": (8, 8, 8.5, 8)},
        {"resolution": 32, "channels": (8,) * 4, "image_channels": 0},
    ],
)
def test_argument_validation(kwargs):
    with pytest.raises(ValueError):
        Generator(z_dim=8, **kwargs)
    with pytest.raises(ValueError):
        Discriminator(**kwargs)


def test_argument_validation_other():
    with pytest.raises(ValueError):
        Generator(8, 0, (8, 4))
    with pytest.raises(ValueError):
        Discriminator(8, (8, 4), mbstd_group_size=0)
    g = Generator(8, 8, (8, 4))
    d = Discriminator(8, (8, 4))
    z = torch.randn(2, 8)
    for bad_stage in (-1, 2, 1.5):
        with pytest.raises(ValueError):
            g(z, bad_stage)
    for bad_alpha in (-0.1, 1.1):
        with pytest.raises(ValueError):
            g(z, 1, bad_alpha)
    with pytest.raises(ValueError):
        g(torch.randn(2, 9))
    with pytest.raises(ValueError):
        d(torch.randn(2, 3, 8, 8), stage=0)  # wrong resolution for the stage
    with pytest.raises(ValueError):
        d(torch.randn(2, 3, 8, 8), stage=1, alpha=2.0)


def test_config_rebuilds_module():
    g = Generator(16, 8, (8, 8, 4))
    g2 = Generator(**g.config)
    g2.load_state_dict(g.state_dict())
    z = torch.randn(2, 8)
    assert torch.equal(g(z), g2(z))
    d = Discriminator(16, (8, 8, 4), mbstd_group_size=2)
    d2 = Discriminator(**d.config)
    d2.load_state_dict(d.state_dict())


def test_thesis_size_generator_parameter_count():
    g = Generator(128, 512, (512, 512, 512, 512, 256, 128))
    n = count_parameters(g)
    # pytorch_GAN_zoo's CelebA PGAN generator has ~23 M parameters; ours: 22,941,074.
    assert 22_000_000 < n < 24_000_000
    assert g.n_stages == 6
    with torch.no_grad():
        assert g(torch.randn(1, 512), stage=2, alpha=0.5).shape == (1, 3, 16, 16)
