"""Importing rosinality/stylegan2-pytorch generator checkpoints (fabricated files, tiny sizes).

The files are fabricated by tests.helpers.rosinality in the layouts of rosinality's train.py and
convert_weight.py. The reference functions below compute rosinality's forward directly from the
file's tensors (its EqualLinear, FusedLeakyReLU, modulated conv and upfirdn2d formulas),
independently of our module.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganinv.models.rosinality import load_rosinality_generator, rosinality_architecture
from ganinv.models.stylegan2 import Generator, paper_channels
from ganinv.runtime import UserError
from tests.helpers.rosinality import (
    LR_MLP,
    N_MLP,
    SIZE,
    STYLE,
    rosinality_state,
    write_converted_checkpoint,
    write_train_checkpoint,
)

SQRT2 = math.sqrt(2.0)


# --------------------------------------------------------------------------------------------
# rosinality's forward, computed from the file's tensors
# --------------------------------------------------------------------------------------------
def ref_mapping(sd, z):
    x = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
    k = 1
    while f"style.{k}.weight" in sd:
        weight, bias = sd[f"style.{k}.weight"], sd[f"style.{k}.bias"]
        out = F.linear(x, weight * (LR_MLP / math.sqrt(weight.shape[1])))
        x = F.leaky_relu(out + bias * LR_MLP, 0.2) * SQRT2
        k += 1
    return x


def ref_upfirdn(x, kernel, up, pad0, pad1):
    """Zero insertion by ``up``, zero padding (pad0, pad1), then convolution with the FIR kernel."""
    b, c, h, w = x.shape
    if up > 1:
        y = torch.zeros(b, c, h * up, w * up)
        y[:, :, ::up, ::up] = x
        x = y
    x = F.pad(x, [pad0, pad1, pad0, pad1])
    k = torch.flip(kernel, [0, 1]).expand(c, 1, *kernel.shape)
    return F.conv2d(x, k, groups=c)


def ref_modconv(sd, prefix, x, w, demodulate, upsample):
    weight = sd[f"{prefix}.conv.weight"][0]  # [out, in, k, k]
    out_ch, in_ch, k, _ = weight.shape
    mod_w, mod_b = sd[f"{prefix}.conv.modulation.weight"], sd[f"{prefix}.conv.modulation.bias"]
    styles = F.linear(w, mod_w / math.sqrt(mod_w.shape[1]), mod_b)  # EqualLinear, lr_mul 1
    outs = []
    for i in range(x.shape[0]):
        wi = weight / math.sqrt(in_ch * k * k) * styles[i].view(1, in_ch, 1, 1)
        if demodulate:
            wi = wi * torch.rsqrt(wi.pow(2).sum(dim=(1, 2, 3)) + 1e-8).view(out_ch, 1, 1, 1)
        if upsample:
            y = F.conv_transpose2d(x[i : i + 1], wi.transpose(0, 1), stride=2)
            y = ref_upfirdn(y, sd[f"{prefix}.conv.blur.kernel"], 1, 1, 1)
        else:
            y = F.conv2d(x[i : i + 1], wi, padding=k // 2)
        outs.append(y)
    return torch.cat(outs)


def ref_styled(sd, prefix, x, w, noise, upsample=False):
    out = ref_modconv(sd, prefix, x, w, True, upsample)
    out = out + sd[f"{prefix}.noise.weight"] * noise
    bias = sd[f"{prefix}.activate.bias"].view(1, -1, 1, 1)
    return F.leaky_relu(out + bias, 0.2) * SQRT2


def ref_to_rgb(sd, prefix, x, w, skip=None):
    out = ref_modconv(sd, prefix, x, w, False, False) + sd[f"{prefix}.bias"]
    if skip is not None:
        out = out + ref_upfirdn(skip, sd[f"{prefix}.upsample.kernel"], 2, 2, 1)
    return out


def ref_generate(sd, z, truncation=1.0, truncation_latent=None):
    """rosinality's ``g_ema([z], truncation, truncation_latent, noise=file noises)[0]``."""
    w = ref_mapping(sd, z)
    if truncation < 1:
        w = truncation_latent + truncation * (w - truncation_latent)
    x = sd["input.input"].repeat(z.shape[0], 1, 1, 1)
    x = ref_styled(sd, "conv1", x, w, sd["noises.noise_0"])
    skip = ref_to_rgb(sd, "to_rgb1", x, w)
    r = 0
    while f"to_rgbs.{r}.conv.weight" in sd:
        x = ref_styled(sd, f"convs.{2 * r}", x, w, sd[f"noises.noise_{2 * r + 1}"], True)
        x = ref_styled(sd, f"convs.{2 * r + 1}", x, w, sd[f"noises.noise_{2 * r + 2}"])
        skip = ref_to_rgb(sd, f"to_rgbs.{r}", x, w, skip)
        r += 1
    return skip


def latents(n=3, seed=1):
    return torch.randn(n, STYLE, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------
@pytest.fixture()
def state():
    return rosinality_state()


@pytest.mark.parametrize("layout", ["train", "convert"])
def test_loads_both_layouts_and_matches_rosinalitys_forward(tmp_path, one_thread, state, layout):
    path = tmp_path / f"{layout}.pt"
    if layout == "train":
        write_train_checkpoint(path, state)
    else:
        write_converted_checkpoint(path, state, torch.randn(STYLE) * 0.1)
    gen, info = load_rosinality_generator(path)
    assert isinstance(gen, Generator) and not gen.training
    assert info == {
        "format": "rosinality-stylegan2",
        "resolution": SIZE,
        "z_dim": STYLE,
        "w_dim": STYLE,
        "mapping_layers": N_MLP,
        "channels": [16, 16, 8, 8],
        "latent_avg": layout == "convert",
    }
    z = latents()
    with torch.no_grad():
        images = gen(z)
        expected = ref_generate(state, z)
    assert images.shape == (3, 3, SIZE, SIZE)
    assert torch.isfinite(images).all()
    assert expected.std() > 0.1  # a non-trivial image, so the comparison means something
    torch.testing.assert_close(images, expected, atol=1e-4, rtol=1e-4)
    # the file's noise images are the fixed eval noise
    torch.testing.assert_close(gen.noise_const_3, state["noises.noise_3"])


def test_mapping_equals_equal_linear_formula(tmp_path, state):
    gen, _ = load_rosinality_generator(write_converted_checkpoint(tmp_path / "c.pt", state, None))
    z = latents(4)
    x = z / z.pow(2).mean(dim=1, keepdim=True).add(1e-8).sqrt()
    for k in (1, 2):
        weight, bias = state[f"style.{k}.weight"], state[f"style.{k}.bias"]
        pre = x @ weight.t() * 0.01 / math.sqrt(STYLE) + bias * 0.01
        x = torch.where(pre >= 0, pre, 0.2 * pre) * SQRT2
    with torch.no_grad():
        torch.testing.assert_close(gen.mapping(z), x, atol=1e-5, rtol=1e-5)


def test_first_layer_equals_hand_computation(tmp_path, one_thread, state):
    gen, _ = load_rosinality_generator(write_converted_checkpoint(tmp_path / "c.pt", state, None))
    w = torch.randn(2, STYLE, generator=torch.Generator().manual_seed(5))
    const = state["input.input"]  # [1, 16, 4, 4]
    weight = state["conv1.conv.weight"][0]  # [out, in, 3, 3]
    c = weight.shape[1]
    mod_w, mod_b = state["conv1.conv.modulation.weight"], state["conv1.conv.modulation.bias"]
    padded = F.pad(const[0], [1, 1, 1, 1])  # [in, 6, 6]
    patches = torch.stack(
        [padded[:, i : i + 3, j : j + 3] for i in range(4) for j in range(4)]
    )  # [16 positions, in, 3, 3]
    expected = []
    for b in range(2):
        style = mod_w @ w[b] / math.sqrt(STYLE) + mod_b  # [in]
        wb = weight / math.sqrt(c * 9) * style[None, :, None, None]
        wb = wb / (wb.pow(2).sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
        conv = torch.einsum("oikl,pikl->op", wb, patches).reshape(-1, 4, 4)
        pre = (
            conv
            + state["conv1.noise.weight"] * state["noises.noise_0"][0]
            + state["conv1.activate.bias"][:, None, None]
        )
        expected.append(torch.where(pre >= 0, pre, 0.2 * pre) * SQRT2)
    expected = torch.stack(expected)
    with torch.no_grad():
        x = gen.conv1(gen.const.expand(2, -1, -1, -1), w, gen.noise_const_0)
        torch.testing.assert_close(x, expected, atol=1e-5, rtol=1e-5)
        # ToRGB at 4 px: 1x1 modulated conv without demodulation, plus the bias
        rgb = gen.to_rgb1(x, w)
        mod_w, mod_b = (
            state["to_rgb1.conv.modulation.weight"],
            state["to_rgb1.conv.modulation.bias"],
        )
        style = w @ mod_w.t() / math.sqrt(STYLE) + mod_b  # [2, in]
        rgb_w = state["to_rgb1.conv.weight"][0, :, :, 0, 0] / math.sqrt(c)  # [3, in]
        manual = torch.einsum("ci,bi,bihw->bchw", rgb_w, style, x) + state["to_rgb1.bias"]
        torch.testing.assert_close(rgb, manual, atol=1e-5, rtol=1e-5)


def test_latent_avg_lands_in_w_avg_and_truncation_uses_it(tmp_path, one_thread, state):
    latent_avg = torch.randn(STYLE, generator=torch.Generator().manual_seed(7))
    gen, info = load_rosinality_generator(
        write_converted_checkpoint(tmp_path / "c.pt", state, latent_avg)
    )
    assert info["latent_avg"] is True
    torch.testing.assert_close(gen.w_avg, latent_avg)
    z = latents(2)
    with torch.no_grad():
        torch.testing.assert_close(
            gen(z, truncation_psi=0.5),
            ref_generate(state, z, 0.5, latent_avg),
            atol=1e-4,
            rtol=1e-4,
        )
        collapsed = gen(z, truncation_psi=0.0)
        torch.testing.assert_close(collapsed[0], collapsed[1])
        torch.testing.assert_close(collapsed, gen.synthesis(latent_avg.expand(2, -1)))
    # generate.py's mean_latent shape [1, style_dim] is accepted too
    path = write_converted_checkpoint(tmp_path / "c2.pt", state, latent_avg[None])
    torch.testing.assert_close(load_rosinality_generator(path)[0].w_avg, latent_avg)


def test_w_avg_is_estimated_without_latent_avg(tmp_path, state):
    gen, info = load_rosinality_generator(write_train_checkpoint(tmp_path / "t.pt", state))
    assert info["latent_avg"] is False
    mean_w = ref_mapping(state, torch.randn(20000, STYLE, generator=torch.Generator()))
    mean_w = mean_w.mean(dim=0)
    assert (gen.w_avg - mean_w).abs().max() < 0.05 * mean_w.abs().max()


def test_inference_of_config_f_1024_channel_table():
    table = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64, 1024: 32}
    sd = rosinality_state(size=1024, style_dim=512, n_mlp=8, table=table, meta=True)
    arch = rosinality_architecture(sd)
    assert arch["channels"] == paper_channels(1024)
    assert (arch["resolution"], arch["z_dim"], arch["w_dim"], arch["mapping_layers"]) == (
        1024,
        512,
        512,
        8,
    )


@pytest.mark.parametrize(
    "break_it, named",
    [
        (lambda sd: sd.pop("convs.3.activate.bias"), "convs.3.activate.bias"),
        (lambda sd: sd.pop("noises.noise_4"), "noises.noise_4"),
        (lambda sd: sd.update({"style.2.weight": torch.randn(32, 16)}), "style.2.weight"),
        (lambda sd: sd.update({"to_rgbs.1.bias": torch.randn(1, 4, 1, 1)}), "to_rgbs.1.bias"),
        (lambda sd: sd.update({"extra.thing": torch.zeros(1)}), "extra.thing"),
        (lambda sd: sd.update({"convs.2.conv.blur.kernel": torch.ones(4, 4)}), "blur.kernel"),
        (lambda sd: sd.pop("input.input"), "input.input"),
    ],
)
def test_broken_state_dict_is_one_user_error_naming_the_key(tmp_path, state, break_it, named):
    break_it(state)
    path = write_converted_checkpoint(tmp_path / "broken.pt", state, None)
    with pytest.raises(UserError) as err:
        load_rosinality_generator(path)
    assert named in str(err.value) and str(path) in str(err.value)


def test_only_raw_generator_is_refused_naming_g_ema(tmp_path, state):
    path = tmp_path / "g_only.pt"
    torch.save({"g": state, "d": {}}, path)
    with pytest.raises(UserError, match="g_ema"):
        load_rosinality_generator(path)


def test_inconsistent_training_args_are_refused(tmp_path, state):
    path = write_train_checkpoint(tmp_path / "t.pt", state)
    ckpt = torch.load(path, weights_only=False)
    ckpt["args"].size = 64
    torch.save(ckpt, path)
    with pytest.raises(UserError, match="size=64"):
        load_rosinality_generator(path)


def test_truncated_file_is_a_user_error(tmp_path, state):
    path = write_train_checkpoint(tmp_path / "t.pt", state)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated"):
        load_rosinality_generator(path)


def test_pickle_file_is_refused_mentioning_allow_pickle(tmp_path):
    path = tmp_path / "stylegan2-ffhq-config-f.pkl"
    path.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(UserError, match="allow_pickle"):
        load_rosinality_generator(path)
