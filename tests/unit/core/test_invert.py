"""Tests of GAN inversion: gradient descent, encoder, hybrid, clipping, chunking, NaN handling."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from torch import nn

from ganinv.invert import (
    InversionResult,
    InversionSettings,
    invert,
    invert_encoder,
    invert_gd,
    invert_hybrid,
    pixel_mae,
    stochastic_clip_,
)
from ganinv.models.progan import Generator
from ganinv.runtime import UserError


class SoftsignGenerator(nn.Module):
    """An easy generator: image = softsign(W z), [N, 1, 6, 6]; z is identifiable.

    softsign instead of tanh: with two busy cores, MKL's threaded tanh/exp take ~10 ms a call.
    """

    def __init__(self, z_dim: int = 6, seed: int = 0) -> None:
        super().__init__()
        rng = torch.Generator().manual_seed(seed)
        self.z_dim = z_dim
        self.weight = nn.Parameter(torch.randn(36, z_dim, generator=rng) / (2 * math.sqrt(z_dim)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return nn.functional.softsign(z @ self.weight.t()).view(-1, 1, 6, 6)


class RecordingGenerator(nn.Module):
    """Wraps a generator and keeps a copy of every z it is called with."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.z_dim = inner.z_dim
        self.seen: list[torch.Tensor] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.seen.append(z.detach().clone())
        return self.inner(z)


class LookupEncoder(nn.Module):
    """Stub encoder: returns the known latent of the stored target nearest to each input."""

    def __init__(self, targets: torch.Tensor, latents: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("targets", targets.flatten(1).clone())
        self.register_buffer("latents", latents.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        distance = (x.flatten(1)[:, None] - self.targets[None]).abs().sum(-1)
        return self.latents[distance.argmin(dim=1)]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny models gain nothing from threads, and on a busy 2-core machine OpenMP barriers make
    # a two-thread 8x8 convolution ~100x slower than a one-thread one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pixel_mse(reconstructions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """A smooth per-sample loss: MAE's sign() gradient turns float noise into visible drift."""
    return (reconstructions - targets).pow(2).flatten(1).mean(1)


def progan() -> Generator:
    torch.manual_seed(0)
    return Generator(8, 8, [8, 8])


def make_targets(
    generator: nn.Module, n: int, seed: int = 123
) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.randn(n, generator.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return z, generator(z)


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    mse = (a - b).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(4.0 / mse)  # peak-to-peak 2 for [-1, 1]


def test_pixel_mae():
    x = torch.zeros(2, 1, 2, 2)
    y = torch.tensor([0.0, 0.5]).view(2, 1, 1, 1).expand(2, 1, 2, 2)
    assert torch.allclose(pixel_mae(x, y), torch.tensor([0.0, 0.5]))
    with pytest.raises(UserError, match="differ in shape"):
        pixel_mae(x, torch.zeros(2, 1, 4, 4))


def test_stochastic_clip_in_place():
    z = torch.tensor([[0.5, -2.0, 1.0, 3.0], [-1.5, 0.0, -0.99, 7.0]])
    original = z.clone()
    out = stochastic_clip_(z, generator=torch.Generator().manual_seed(0))
    assert out is z
    outside = original.abs() > 1
    assert torch.equal(z[~outside], original[~outside])
    assert (z[outside] != original[outside]).all() and (z.abs() <= 1).all()
    again = stochastic_clip_(original.clone(), generator=torch.Generator().manual_seed(0))
    assert torch.equal(again, z)
    wide = stochastic_clip_(original.clone(), generator=torch.Generator().manual_seed(0), bound=2.0)
    assert (wide.abs() <= 2).all() and wide[0, 1] == -2.0 and wide[1, 0] == -1.5
    with pytest.raises(UserError, match="bound"):
        stochastic_clip_(z, bound=0.0)


def test_gd_recovers_easy_generator():
    generator = SoftsignGenerator()
    z_true, targets = make_targets(generator, 8)
    result = invert_gd(generator, targets, iterations=300, lr=0.02, seed=1)
    assert isinstance(result, InversionResult) and result.method == "gd"
    assert result.z.shape == (8, 6) and result.z.dtype == torch.float32
    assert result.reconstructions.shape == targets.shape
    assert result.loss_curve.shape == (301, 8)
    assert torch.equal(result.stopped_at, torch.full((8,), -1))
    assert torch.equal(result.loss, result.loss_curve[-1])
    with torch.no_grad():
        assert torch.allclose(result.reconstructions, generator(result.z))
    assert torch.allclose(result.loss, pixel_mae(result.reconstructions, targets))
    mean_curve = result.loss_curve.mean(1)
    assert mean_curve[-1] < 0.05 * mean_curve[0]
    assert (mean_curve[:100].diff() < 0).all()  # monotone until it nears the optimum
    with torch.no_grad():
        start = generator(torch.randn(8, 6, generator=torch.Generator().manual_seed(1)))
    assert (psnr(result.reconstructions, targets) > psnr(start, targets) + 15).all()
    cosine = nn.functional.cosine_similarity(result.z, z_true, dim=1)
    assert (cosine > 0.99).all()
    assert result.seconds_total > 0
    assert result.seconds_per_target == pytest.approx(result.seconds_total / 8)
    assert result.device.startswith("cpu")


def test_gd_progan_reduces_loss_and_restores_generator():
    generator = progan()
    generator.train()
    before = [p.detach().clone() for p in generator.parameters()]
    _, targets = make_targets(generator, 4)
    result = invert_gd(generator, targets, iterations=60, lr=0.05)
    assert (result.loss < result.loss_curve[0]).all()
    assert generator.training and all(p.requires_grad for p in generator.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, generator.parameters(), strict=True))


def test_per_sample_independence_adam():
    generator = progan()
    _, targets = make_targets(generator, 4)
    z0 = torch.randn(4, 8, generator=torch.Generator().manual_seed(7))
    kwargs = {"loss_fn": pixel_mse, "iterations": 25, "lr": 0.05}
    batch = invert_gd(generator, targets, z_init=z0, **kwargs)
    for i in range(4):
        single = invert_gd(generator, targets[i : i + 1], z_init=z0[i : i + 1], **kwargs)
        assert torch.allclose(single.z[0], batch.z[i], atol=1e-5)
        assert torch.allclose(single.loss_curve[:, 0], batch.loss_curve[:, i], atol=1e-5)


@pytest.mark.parametrize("clip", [False, True])
def test_chunked_equals_unchunked(clip):
    generator = progan()
    _, targets = make_targets(generator, 5)
    kwargs = {"loss_fn": pixel_mse, "iterations": 15, "lr": 0.05, "seed": 3}
    kwargs["stochastic_clipping"] = clip
    whole = invert_gd(generator, targets, **kwargs)
    for chunk_size in (1, 2):
        chunked = invert_gd(generator, targets, chunk_size=chunk_size, **kwargs)
        assert torch.allclose(chunked.z, whole.z, atol=1e-5)
        assert torch.allclose(chunked.loss_curve, whole.loss_curve, atol=1e-5)
        assert torch.allclose(chunked.reconstructions, whole.reconstructions, atol=1e-5)


def test_init_and_seed():
    generator = progan()
    _, targets = make_targets(generator, 3)
    uniform = invert_gd(generator, targets, iterations=0, init="uniform", seed=4)
    expected = torch.rand(3, 8, generator=torch.Generator().manual_seed(4)) * 2 - 1
    assert torch.equal(uniform.z, expected) and uniform.loss_curve.shape == (1, 3)
    normal = invert_gd(generator, targets, iterations=0, seed=4)
    assert torch.equal(normal.z, torch.randn(3, 8, generator=torch.Generator().manual_seed(4)))
    assert not torch.equal(normal.z, invert_gd(generator, targets, iterations=0, seed=5).z)


def test_stochastic_clipping_writes_back():
    generator = RecordingGenerator(progan())
    _, targets = make_targets(generator.inner, 3)
    z0 = torch.randn(3, 8, generator=torch.Generator().manual_seed(2)).clamp(-0.5, 0.5)
    z0[:, ::3] = 5.0
    lr = 0.01
    one = invert_gd(generator, targets, iterations=1, lr=lr, z_init=z0, stochastic_clipping=True)
    large = z0.abs() > 1
    assert (one.z.abs() <= 1).all() and (one.z[large] != z0[large]).all()
    assert ((one.z - z0)[~large].abs() <= lr * 1.01).all()  # only the Adam step moved them
    generator.seen.clear()
    invert_gd(generator, targets, iterations=12, lr=0.2, z_init=z0, stochastic_clipping=True)
    seen = generator.seen[1:]  # the first call is the untimed warm-up pass on zeros
    assert len(seen) == 13
    assert all((z.abs() <= 1).all() for z in seen[1:])
    unclipped = invert_gd(generator, targets, iterations=1, lr=lr, z_init=z0)
    assert (unclipped.z[large] > 4).all()


def test_stochastic_clipping_bound_follows_the_prior():
    """A wider interval (the DCGAN's N(0, 1) prior: b = 3) resamples only entries beyond it."""
    generator = progan()
    _, targets = make_targets(generator, 3)
    z0 = torch.zeros(3, 8)
    z0[:, 0], z0[:, 1] = 2.0, 5.0  # inside [-3, 3] / outside
    wide = invert_gd(generator, targets, iterations=1, lr=0.01, z_init=z0,
                     stochastic_clipping=True, clip_bound=3.0)  # fmt: skip
    assert ((wide.z[:, 0] - 2.0).abs() <= 0.0101).all()  # kept: only the Adam step moved it
    assert (wide.z[:, 1].abs() <= 3.0).all() and (wide.z[:, 1] != 5.0).all()
    assert (wide.z.abs() > 1).any()  # values between 1 and 3 survive, unlike with b = 1
    settings = {"iterations": 1, "lr": 0.01, "stochastic_clipping": True,
                       "clip_bound": 0.0}  # fmt: skip
    with pytest.raises(UserError, match="gd settings: the stochastic clipping bound must be"):
        InversionSettings.from_mapping(method="gd", settings=settings)


def poisoned_loss(sample: int, from_call: int):
    calls = {"n": 0}

    def loss(reconstructions, targets):
        values = pixel_mae(reconstructions, targets)
        if calls["n"] >= from_call:
            mask = torch.zeros_like(values, dtype=torch.bool)
            mask[sample] = True
            values = torch.where(mask, torch.full_like(values, float("nan")), values)
        calls["n"] += 1
        return values

    return loss


def test_non_finite_loss_stops_one_sample(caplog):
    generator = progan()
    _, targets = make_targets(generator, 3)
    z0 = torch.randn(3, 8, generator=torch.Generator().manual_seed(9))
    with caplog.at_level(logging.WARNING, logger="ganinv"):
        result = invert_gd(
            generator, targets, loss_fn=poisoned_loss(1, 3), iterations=10, lr=0.05, z_init=z0
        )
    assert "1 of 3 targets stopped early" in caplog.text
    assert result.stopped_at.tolist() == [-1, 3, -1]
    assert math.isnan(result.loss[1]) and torch.isfinite(result.loss[[0, 2]]).all()
    assert torch.isfinite(result.loss_curve[:3, 1]).all()
    assert torch.isnan(result.loss_curve[3:, 1]).all()
    keep = [0, 2]
    clean = invert_gd(generator, targets[keep], iterations=10, lr=0.05, z_init=z0[keep])
    assert torch.allclose(result.z[keep], clean.z, atol=1e-5)
    assert torch.allclose(result.loss_curve[:, keep], clean.loss_curve, atol=1e-5)
    # sample 1 is frozen at its last iterate with a finite loss (after 2 steps)
    two = invert_gd(generator, targets[1:2], iterations=2, lr=0.05, z_init=z0[1:2])
    assert torch.allclose(result.z[1], two.z[0], atol=1e-6)
    with torch.no_grad():
        assert torch.allclose(result.reconstructions[1], generator(result.z[1:2])[0], atol=1e-5)


def test_non_finite_at_start_and_at_end():
    generator = progan()
    _, targets = make_targets(generator, 2)
    z0 = torch.randn(2, 8, generator=torch.Generator().manual_seed(1))
    at_start = invert_gd(generator, targets, loss_fn=poisoned_loss(0, 0), iterations=3, z_init=z0)
    assert at_start.stopped_at.tolist() == [0, -1] and torch.equal(at_start.z[0], z0[0])
    at_end = invert_gd(generator, targets, loss_fn=poisoned_loss(1, 3), iterations=3, z_init=z0)
    assert at_end.stopped_at.tolist() == [-1, 3] and math.isnan(at_end.loss[1])
    two = invert_gd(generator, targets[1:], iterations=2, z_init=z0[1:])
    assert torch.allclose(at_end.z[1], two.z[0], atol=1e-6)


def test_encoder_and_hybrid():
    generator = progan()
    z_true, targets = make_targets(generator, 6)
    z_known = z_true + 0.3 * torch.randn(6, 8, generator=torch.Generator().manual_seed(5))
    encoder = LookupEncoder(targets, z_known)
    enc = invert_encoder(encoder, generator, targets, chunk_size=4)
    assert enc.method == "encoder" and torch.equal(enc.z, z_known)
    assert enc.loss_curve.shape == (1, 6) and torch.equal(enc.loss_curve[0], enc.loss)
    assert torch.equal(enc.stopped_at, torch.full((6,), -1))
    with torch.no_grad():
        assert torch.allclose(enc.reconstructions, generator(z_known), atol=1e-6)

    hybrid = invert_hybrid(encoder, generator, targets, iterations=20, lr=0.05)
    assert hybrid.method == "hybrid" and hybrid.loss_curve.shape == (21, 6)
    assert torch.allclose(hybrid.loss_curve[0], enc.loss, atol=1e-6)
    assert (hybrid.loss < enc.loss).all()
    gd = invert_gd(generator, targets, iterations=20, lr=0.05, z_init=z_known)
    assert torch.allclose(hybrid.z, gd.z, atol=1e-6)

    zero = invert_hybrid(encoder, generator, targets, iterations=0, chunk_size=4)
    assert torch.equal(zero.z, enc.z) and zero.loss_curve.shape == (1, 6)
    assert torch.allclose(zero.loss, enc.loss, atol=1e-6)
    assert torch.allclose(zero.reconstructions, enc.reconstructions, atol=1e-6)


def test_encoder_z_dim_mismatch():
    generator = progan()
    _, targets = make_targets(generator, 2)
    encoder = LookupEncoder(targets, torch.zeros(2, 9))
    with pytest.raises(UserError, match="z_dim"):
        invert_encoder(encoder, generator, targets)
    with pytest.raises(UserError, match="z_dim"):
        invert_hybrid(encoder, generator, targets, iterations=2)


def test_lbfgs_reduces_loss_and_handles_nan():
    generator = SoftsignGenerator()
    _, targets = make_targets(generator, 4)
    result = invert_gd(generator, targets, iterations=15, lr=1.0, optimizer="lbfgs", seed=2)
    assert result.loss_curve.shape == (16, 4)
    assert (result.loss < 0.5 * result.loss_curve[0]).all()
    poisoned = invert_gd(
        generator, targets, loss_fn=poisoned_loss(2, 4), iterations=8, lr=1.0, optimizer="lbfgs"
    )
    assert poisoned.stopped_at[2] >= 0 and math.isnan(poisoned.loss[2])
    others = [0, 1, 3]
    assert torch.isfinite(poisoned.loss[others]).all() and torch.isfinite(poisoned.z).all()
    assert (poisoned.loss[others] < poisoned.loss_curve[0, others]).all()


def test_validation():
    generator = progan()
    _, targets = make_targets(generator, 2)
    with pytest.raises(UserError, match="optimizer"):
        invert_gd(generator, targets, optimizer="sgd")
    with pytest.raises(UserError, match="init"):
        invert_gd(generator, targets, init="cauchy")
    with pytest.raises(UserError, match="chunk_size"):
        invert_gd(generator, targets, chunk_size=0)
    with pytest.raises(UserError, match="float"):
        invert_gd(generator, (targets * 100).to(torch.uint8))
    with pytest.raises(UserError, match="z_init"):
        invert_gd(generator, targets, z_init=torch.zeros(2, 5))
    with pytest.raises(UserError, match="z_dim"):
        invert_gd(generator, targets, z_dim=5)
    with pytest.raises(UserError, match="per-sample"):
        invert_gd(generator, targets, loss_fn=lambda r, t: (r - t).abs().mean(), iterations=1)
    with pytest.raises(UserError, match="iterations"):
        invert_gd(generator, targets, iterations=-1)


def test_settings_from_a_config_mapping():
    """Each method's config mapping becomes InversionSettings; a bad key is named."""
    gd = InversionSettings.from_mapping(
        method="gd",
        settings={"iterations": 200, "lr": 0.01, "init": "uniform", "perceptual_weight": 0,
                  "stochastic_clipping": True, "clip_bound": 3},
    )  # fmt: skip
    assert gd == InversionSettings(method="gd", iterations=200, lr=0.01, init="uniform",
                                   stochastic_clipping=True, clip_bound=3.0)  # fmt: skip
    assert isinstance(gd.clip_bound, float) and isinstance(gd.perceptual_weight, float)
    hybrid = InversionSettings.from_mapping(
        method="hybrid", settings={"iterations": 0, "lr": 1, "optimizer": "lbfgs"}
    )
    assert (hybrid.iterations, hybrid.lr, hybrid.optimizer) == (0, 1.0, "lbfgs")
    assert InversionSettings.from_mapping(method="encoder", settings={}).method == "encoder"
    weighted = InversionSettings.from_mapping(method="encoder", settings={"perceptual_weight": 1})
    assert weighted.perceptual_weight == 1.0
    bad = [
        ("sgd", {}, "unknown inversion method 'sgd'"),
        ("hybrid", {"iterations": 5, "lr": 0.1, "init": "normal"}, "hybrid' has no setting 'init'"),
        ("encoder", {"iterations": 5}, "'encoder' has no setting 'iterations'"),
        ("gd", {"lr": 0.1}, "needs the setting 'iterations'"),
        ("gd", {"iterations": 2.5, "lr": 0.1}, "gd setting 'iterations' must be an integer"),
        ("gd", {"iterations": 2, "lr": "0.1"}, "gd setting 'lr' must be a number"),
        ("gd", {"iterations": 2, "lr": True}, "gd setting 'lr' must be a number"),
        ("gd", {"iterations": 2, "lr": 0.1, "stochastic_clipping": 1}, "stochastic_clipping' must"),
        ("gd", {"iterations": 2, "lr": 0.1, "init": "cauchy"}, "gd settings: unknown z init"),
        ("gd", {"iterations": 2, "lr": -1}, "gd settings: the learning rate lr must be positive"),
        ("gd", {"iterations": -1, "lr": 0.1}, "iterations must be an integer >= 0"),
        ("hybrid", {"iterations": 2, "lr": 0.1, "optimizer": "sgd"}, "unknown optimizer 'sgd'"),
        ("gd", {"iterations": 2, "lr": 0.1, "perceptual_weight": -1}, "perceptual_weight must"),
        ("gd", [("iterations", 2)], "the gd settings must be a mapping"),
    ]
    for method, settings, message in bad:
        with pytest.raises(UserError, match=message):
            InversionSettings.from_mapping(method=method, settings=settings)


def test_invert_runs_the_method_its_settings_name():
    generator = progan()
    z_true, targets = make_targets(generator, 3)
    settings = InversionSettings(method="gd", iterations=4, lr=0.05, init="uniform")
    direct = invert_gd(generator, targets, iterations=4, lr=0.05, init="uniform", seed=3)
    assert torch.equal(invert(generator, targets, settings=settings, seed=3).z, direct.z)
    with pytest.raises(UserError, match="settings must be an InversionSettings, got dict"):
        invert(generator, targets, settings={"iterations": 4, "lr": 0.05})
    with pytest.raises(UserError, match="method 'hybrid' needs an encoder model file"):
        invert(generator, targets, settings=InversionSettings(method="hybrid", iterations=1))
    encoder = LookupEncoder(targets, z_true)
    via_settings = invert(generator, targets, settings=InversionSettings(method="encoder"),
                          encoder=encoder)  # fmt: skip
    assert torch.equal(via_settings.z, invert_encoder(encoder, generator, targets).z)


def test_the_hybrid_honours_its_seed():
    """The seed reaches the hybrid's stochastic clipping (as GD's), through invert() too."""
    generator = progan()
    z_true, targets = make_targets(generator, 6)
    encoder = LookupEncoder(targets, 1.5 * z_true)  # outside [-1, 1]: clipping resamples
    settings = {"iterations": 3, "lr": 0.05, "stochastic_clipping": True}
    hybrid = InversionSettings.from_mapping(method="hybrid", settings=settings)
    runs = {seed: invert(generator, targets, settings=hybrid, encoder=encoder, seed=seed)
            for seed in (1, 2)}  # fmt: skip
    again = invert_hybrid(encoder, generator, targets, iterations=3, lr=0.05,
                          stochastic_clipping=True, seed=1)  # fmt: skip
    assert torch.equal(runs[1].z, again.z)
    assert not torch.equal(runs[1].z, runs[2].z)
