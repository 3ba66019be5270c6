"""StyleGAN2: modulation maths, mapping, R1, shapes, eval determinism, training, kill-resume."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganinv.data.h5io import read_h5, write_h5
from ganinv.images import to_uint8
from ganinv.models.files import load_model
from ganinv.models.layers import count_parameters
from ganinv.models.stylegan2 import (
    Discriminator,
    Generator,
    MappingNetwork,
    ModulatedConv2d,
    d_logistic_loss,
    g_nonsaturating_loss,
    modulate_weights,
    path_length_penalty,
    r1_penalty,
)
from ganinv.runtime import UserError
from ganinv.sample import draw_latents, sample_to_h5
from ganinv.train.stylegan2 import (
    LOSS_COLUMNS,
    StyleGAN2Training,
    lazy_adam_hyperparameters,
    train_stylegan2,
)
from tests.helpers.kill import (
    assert_same_weights,
    curve_rows,
    resumed_at,
    train_in_subprocess,
    training_script,
)

SMALL = {"resolution": 16, "z_dim": 8, "w_dim": 6, "mapping_layers": 2, "channels": [8, 8, 4]}
TINY = dict(
    resolution=8, z_dim=8, w_dim=8, mapping_layers=2, channels=[8, 4], batch_size=4, steps=30,
    lr=0.002, r1_gamma=1.0, r1_every=4, pl_weight=1.0, pl_every=3, ema_beta=0.9,
    checkpoint_every=2, eval_every=10, eval_images=16, log_every=5, grid_size=4, seed=3,
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Modulated convolution
# --------------------------------------------------------------------------------------------
def test_demodulated_weights_have_unit_norm_per_output_channel():
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(5, 4, 3, 3, generator=gen)
    styles = torch.rand(3, 4, generator=gen) * 3 + 0.1
    w = modulate_weights(weight, styles, demodulate=True)
    assert w.shape == (3, 5, 4, 3, 3)
    norms = w.pow(2).sum(dim=(2, 3, 4))
    assert torch.allclose(norms, torch.ones(3, 5), atol=1e-5)
    plain = modulate_weights(weight.unsqueeze(0), styles, demodulate=False)
    assert torch.allclose(plain[1, 2, 3], weight[2, 3] * styles[1, 3])


@pytest.mark.parametrize(
    "kernel,demodulate,upsample", [(3, True, False), (3, True, True), (1, False, False)]
)  # styled convs, upsampling styled convs, ToRGB
def test_grouped_conv_equals_per_sample_conv(kernel, demodulate, upsample, one_thread):
    torch.manual_seed(0)
    conv = ModulatedConv2d(6, 5, kernel, w_dim=7, demodulate=demodulate, upsample=upsample)
    x, w = torch.randn(3, 6, 8, 8), torch.randn(3, 7)
    out = conv(x, w)
    weights = conv.per_sample_weights(w)
    expected = []
    for i in range(3):
        if upsample:  # stride-2 transposed conv, then the FIR low-pass filter
            y = F.conv_transpose2d(x[i : i + 1], weights[i].transpose(0, 1), stride=2)
            expected.append(conv.blur(y))
        else:
            expected.append(F.conv2d(x[i : i + 1], weights[i], padding=kernel // 2))
    assert out.shape == (3, 5, 16 if upsample else 8, 16 if upsample else 8)
    assert torch.allclose(out, torch.cat(expected), atol=1e-5)


def test_upsampling_conv_of_a_constant_image_is_constant_inside():
    """The FIR filter after the transposed conv removes the checkerboard of stride 2."""
    torch.manual_seed(0)
    conv = ModulatedConv2d(2, 1, 3, w_dim=2, demodulate=False, upsample=True)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        out = conv(torch.ones(1, 2, 8, 8), torch.zeros(1, 2))  # styles = bias = 1
    inner = out[0, 0, 3:-3, 3:-3]
    assert torch.allclose(inner, inner.mean().expand_as(inner), atol=1e-5)


# --------------------------------------------------------------------------------------------
# Mapping network
# --------------------------------------------------------------------------------------------
def test_mapping_network_shape_and_paper_parameter_count():
    torch.manual_seed(0)
    assert MappingNetwork(12, 7, 3)(torch.randn(5, 12)).shape == (5, 7)
    assert count_parameters(MappingNetwork(512, 512, 8)) == 8 * (512 * 512 + 512) == 2_101_248


def test_mapping_lr_multiplier_scales_effective_weights_and_their_updates():
    """Same effective weights at init for any lr_mul; one Adam step moves them lr * lr_mul."""
    initial = {}
    for lr_mul in (1.0, 0.01):
        torch.manual_seed(0)
        net = MappingNetwork(16, 16, 2, lr_mul=lr_mul)
        layer = net.layers[0]
        before = layer.effective_weight().detach().clone()
        assert torch.allclose(layer.effective_weight(), layer.weight * lr_mul / math.sqrt(16))
        initial[lr_mul] = before
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        net(torch.randn(4, 16)).square().sum().backward()
        opt.step()
        step = (layer.effective_weight().detach() - before).abs()
        moved = step[layer.weight.grad.abs() > 1e-4]  # Adam's first step is lr * sign(grad)
        assert len(moved) > 100
        # (rtol: float32 rounding of the 1/lr_mul-scaled stored weights)
        assert torch.allclose(moved, torch.full_like(moved, 1e-3 * lr_mul / 4), rtol=5e-2)
    assert torch.allclose(initial[1.0], initial[0.01], atol=1e-6)


# --------------------------------------------------------------------------------------------
# Losses and regularisers
# --------------------------------------------------------------------------------------------
def test_r1_penalty_of_linear_and_quadratic_discriminators():
    a = torch.randn(3, 4, 4, requires_grad=True)
    x = torch.randn(5, 3, 4, 4)

    def linear(images):  # grad = a for every sample: R1 = ||a||^2
        return (images * a).flatten(1).sum(1)

    r1 = r1_penalty(linear, x)
    assert torch.allclose(r1, a.detach().pow(2).sum())
    r1.backward()  # create_graph: the penalty reaches the discriminator's parameters
    assert torch.allclose(a.grad, 2 * a.detach())

    def quadratic(images):  # grad = 2 x: R1 = mean over the batch of 4 ||x||^2
        return images.pow(2).flatten(1).sum(1)

    expected = 4 * x.pow(2).flatten(1).sum(1).mean()
    assert torch.allclose(r1_penalty(quadratic, x), expected)


def test_logistic_losses():
    zero = torch.zeros(4)
    assert torch.allclose(d_logistic_loss(zero, zero), torch.tensor(2 * math.log(2)))
    assert d_logistic_loss(torch.full((4,), 9.0), torch.full((4,), -9.0)) < 1e-3
    assert torch.allclose(g_nonsaturating_loss(zero), torch.tensor(math.log(2)))


def test_path_length_of_a_linear_synthesis(one_thread):
    """images = A w: the path length is sqrt(mean_layers ||A^T y||^2), y ~ N(0, I)/sqrt(HW)."""
    torch.manual_seed(0)
    ws = torch.randn(64, 2, 3, requires_grad=True)
    images = (2.0 * ws.sum(dim=1)).view(64, 3, 1, 1)  # J^T y = 2 y for each of the 2 layers
    penalty, mean, length = path_length_penalty(
        images, ws, 1.0, decay=0.5, generator=torch.Generator().manual_seed(5)
    )
    y = torch.randn(64, 3, 1, 1, generator=torch.Generator().manual_seed(5))
    lengths = 2.0 * y.flatten(1).norm(dim=1)
    assert torch.allclose(length, lengths.mean())
    assert torch.allclose(mean, 1.0 + 0.5 * (lengths.mean() - 1.0))
    assert torch.allclose(penalty, (lengths - mean).pow(2).mean())


# --------------------------------------------------------------------------------------------
# Generator and discriminator
# --------------------------------------------------------------------------------------------
def test_generator_shapes_and_w_spaces(one_thread):
    torch.manual_seed(0)
    g = Generator(**SMALL).eval()
    z = torch.randn(3, 8)
    images = g(z)
    assert images.shape == (3, 3, 16, 16) and g.num_ws == 6
    w = g.mapping(z)
    assert w.shape == (3, 6)
    w_plus = w.unsqueeze(1).expand(-1, g.num_ws, -1)
    assert torch.equal(g.synthesis(w), images)
    assert torch.allclose(g.synthesis(w_plus), images)
    with pytest.raises(ValueError, match="z must have shape"):
        g(torch.randn(3, 5))
    with pytest.raises(ValueError, match="w must have shape"):
        g.synthesis(torch.randn(3, 4, 6))


def test_eval_generator_is_a_deterministic_function_of_z(one_thread):
    torch.manual_seed(0)
    g = Generator(**SMALL)
    with torch.no_grad():
        for layer in [g.conv1, *g.convs]:
            layer.noise.weight.fill_(0.5)  # noise matters
    z = torch.randn(2, 8)
    with torch.no_grad():
        g.train()
        assert not torch.equal(g(z), g(z))  # fresh noise from the global RNG
        g.eval()
        first = g(z)
        torch.manual_seed(123)
        assert torch.equal(first, g(z))
        assert torch.allclose(first[1:], g(z[1:]), atol=1e-6)  # independent of the batch
    rebuilt = Generator(**SMALL)
    assert torch.equal(rebuilt.noise_const_3, g.noise_const_3)  # fixed noise images


def test_w_avg_is_tracked_in_training_mode_and_truncation_pulls_towards_it(one_thread):
    torch.manual_seed(0)
    g = Generator(**SMALL)
    z = torch.randn(4, 8)
    with torch.no_grad():
        g.eval()(z)
        assert torch.equal(g.w_avg, torch.zeros(6))
        g.train()(z)
        assert torch.allclose(g.w_avg, 0.005 * g.mapping(z).mean(0))
        g.eval()
        same = g(z, truncation_psi=0.0)
        assert torch.allclose(same, same[:1].expand_as(same), atol=1e-6)


def test_paper_size_generator_and_a_reduced_paper_like_one_run(one_thread):
    torch.manual_seed(0)
    paper = Generator(1024, 512, 512, 8, channels=[512, 512, 512, 512, 512, 256, 128, 64, 32])
    assert count_parameters(paper.mapping_network) == 2_101_248
    assert paper.num_ws == 18 and paper.num_noise_layers == 17
    assert Generator(1024).channels == paper.channels  # the default widths are the paper's
    reduced = Generator(64, 512, 512, 8, channels=[128] * 5).eval()
    with torch.no_grad():
        images = reduced(torch.randn(2, 512))
    assert images.shape == (2, 3, 64, 64) and torch.isfinite(images).all()


@pytest.mark.parametrize("resolution,channels", [(4, [8]), (16, [8, 8, 4])])
def test_discriminator_gives_one_logit_per_image(resolution, channels, one_thread):
    torch.manual_seed(0)
    d = Discriminator(resolution, channels, mbstd_group_size=2)
    logits = d(torch.randn(6, 3, resolution, resolution))
    assert logits.shape == (6,)
    with pytest.raises(ValueError, match="x must have shape"):
        d(torch.randn(6, 3, 2 * resolution, 2 * resolution))


def test_architecture_errors_name_the_fix():
    with pytest.raises(ValueError, match="len\\(channels\\) must be log2"):
        Generator(32, 8, 8, 2, channels=[8, 8])
    with pytest.raises(ValueError, match="power of two"):
        Discriminator(24, [8, 8, 8])


# --------------------------------------------------------------------------------------------
# Training configuration
# --------------------------------------------------------------------------------------------
def test_lazy_regularisation_adjusts_adam():
    lr, betas = lazy_adam_hyperparameters(0.002, (0.0, 0.99), 16)
    assert lr == pytest.approx(0.002 * 16 / 17)
    assert betas == pytest.approx((0.0, 0.99 ** (16 / 17)))
    assert lazy_adam_hyperparameters(0.002, (0.5, 0.99), None) == (0.002, (0.5, 0.99))


def test_config_errors_are_user_errors():
    with pytest.raises(UserError, match="2 channel widths give 8 px, but the resolution is 32"):
        StyleGAN2Training(resolution=32, channels=[8, 8])
    with pytest.raises(UserError, match="stylegan2.r1_every must be an integer >= 1"):
        StyleGAN2Training(resolution=8, channels=[8, 8], r1_every=0)
    with pytest.raises(UserError, match="stylegan2.betas"):
        StyleGAN2Training(resolution=8, channels=[8, 8], betas=[0.0, 1.5])
    assert StyleGAN2Training(resolution=1024).channels == tuple(Generator(1024).channels)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------
@pytest.fixture()
def tiny_data(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (32, 3, 8, 8), dtype=np.uint8)
    path = tmp_path / "train.h5"
    write_h5(path, {"images": images})
    return path


def _train_here(data: Path, out: Path, config: dict) -> dict:
    return train_stylegan2(
        data, out / "g.pt", out / "loss.csv", out / "q.csv", out / "grid.png", out / "work",
        StyleGAN2Training(**config), torch.device("cpu"),
    )  # fmt: skip


def test_training_writes_curves_grid_and_a_sampleable_model(tiny_data, tmp_path, one_thread):
    summary = _train_here(tiny_data, tmp_path, TINY)
    assert summary["steps"] == 30
    with open(tmp_path / "loss.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == LOSS_COLUMNS
    assert [int(r["step"]) for r in rows] == [5, 10, 15, 20, 25, 30]
    assert all(math.isfinite(float(r[key])) for r in rows for key in LOSS_COLUMNS)
    with open(tmp_path / "q.csv") as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [0, 10, 20, 30]
    assert (tmp_path / "grid.png").stat().st_size > 0
    generator, meta = load_model(tmp_path / "g.pt", "stylegan2.Generator")
    assert meta["prior"] == "normal" and generator.z_dim == 8
    sample_to_h5(tmp_path / "g.pt", tmp_path / "s.h5", 5, "normal", 7, 2, torch.device("cpu"))
    arrays, attrs = read_h5(tmp_path / "s.h5")
    assert arrays["images"].dtype == np.uint8 and arrays["images"].shape == (5, 3, 8, 8)
    with torch.no_grad():
        expected = to_uint8(generator(draw_latents(5, 8, "normal", 7)))
    assert np.array_equal(arrays["images"], expected.numpy())
    # Lazy regularisation: the optimisers run at lr * c with c = every / (every + 1).
    state = torch.load(tmp_path / "work" / "checkpoint.pt", weights_only=True)["state"]
    assert state["opt_d"]["param_groups"][0]["lr"] == pytest.approx(0.002 * 4 / 5)
    assert state["opt_g"]["param_groups"][0]["lr"] == pytest.approx(0.002 * 3 / 4)


def test_divergence_is_a_user_error_naming_the_knob(tiny_data, tmp_path, one_thread):
    with pytest.raises(UserError, match="diverged at step .*lower stylegan2.lr"):
        _train_here(tiny_data, tmp_path, {**TINY, "lr": 1e30})


SCRIPT = training_script(
    """
    from ganinv.train.stylegan2 import StyleGAN2Training, train_stylegan2
    config = StyleGAN2Training(**eval(sys.argv[3]))
    train_stylegan2(sys.argv[1], out + "/g.pt", out + "/loss.csv", out + "/q.csv",
                    out + "/grid.png", out + "/work", config, torch.device("cpu"))
    """
)


def _train(data: Path, out: Path, config: dict, kill_after_step: int | None = None) -> None:
    train_in_subprocess(SCRIPT, data, out, config, kill_after_step)


def test_resume_after_kill_matches_uninterrupted_run(tiny_data, tmp_path):
    config = {**TINY, "steps": 80}
    _train(tiny_data, tmp_path / "whole", config)
    _train(tiny_data, tmp_path / "killed", config, kill_after_step=33)
    assert not (tmp_path / "killed" / "g.pt").exists()  # no final model from a killed run
    _train(tiny_data, tmp_path / "killed", config)
    resumed = resumed_at(tmp_path / "killed")
    assert 33 <= resumed < 80
    assert_same_weights(tmp_path / "whole" / "g.pt", tmp_path / "killed" / "g.pt")
    columns = ["step", "d_loss", "r1", "pl"]
    whole_rows = curve_rows(tmp_path / "whole" / "loss.csv", columns)
    resumed_rows = curve_rows(tmp_path / "killed" / "loss.csv", columns)
    assert whole_rows == resumed_rows and int(whole_rows[-1][0]) == 80
