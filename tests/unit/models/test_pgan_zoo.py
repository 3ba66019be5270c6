"""pytorch_GAN_zoo PGAN checkpoints: fabricated in the public layout, imported as our ProGAN."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganinv.models.pgan_zoo import load_pgan_generator
from ganinv.runtime import UserError
from tests.helpers.pgan_zoo import DEPTHS, Z_DIM, pgan_state, write_pgan


def reference_forward(state, z):
    """GNet.forward written from the public code's description, on the file's own tensors."""

    def pixnorm(x):
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)

    def equalised(prefix, x, conv):
        w, b = state[f"{prefix}.module.weight"], state[f"{prefix}.module.bias"]
        out = F.conv2d(x, w, b, padding=w.shape[-1] // 2) if conv else F.linear(x, w, b)
        return out * math.sqrt(2.0 / math.prod(w.shape[1:]))  # output (bias too) scaled

    x = pixnorm(z)
    x = F.leaky_relu(equalised("formatLayer", x, conv=False), 0.2).view(len(z), -1, 4, 4)
    x = pixnorm(x)
    x = pixnorm(F.leaky_relu(equalised("groupScale0.0", x, conv=True), 0.2))
    for i in range(len(DEPTHS) - 1):
        x = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        for j in (0, 1):
            x = pixnorm(F.leaky_relu(equalised(f"scaleLayers.{i}.{j}", x, conv=True), 0.2))
    return equalised(f"toRGBLayers.{len(DEPTHS) - 1}", x, conv=True)


def test_pgan_checkpoint_imports_with_the_same_output(tmp_path):
    state = pgan_state(seed=1)
    path = write_pgan(tmp_path / "celebaCropped_s2_i1000-0123abcd.pth", state)
    generator, info = load_pgan_generator(path)
    assert info["state"] == "avgG"
    assert (info["resolution"], info["z_dim"], info["channels"]) == (16, Z_DIM, DEPTHS)
    z = torch.randn(5, Z_DIM, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ours = generator(z)
    expected = reference_forward(state, z)
    assert ours.shape == (5, 3, 16, 16)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-5)


def test_net_g_is_used_without_an_average_and_old_key_names_load(tmp_path):
    state = pgan_state(seed=4)
    old_names = {k.replace(".module.", "."): v for k, v in state.items()}  # pre-refactor files
    path = write_pgan(tmp_path / "old.pth", old_names)
    generator, info = load_pgan_generator(path, average=False)
    assert info["state"] == "netG"
    generator, info = load_pgan_generator(path)
    z = torch.randn(2, Z_DIM)
    with torch.no_grad():
        torch.testing.assert_close(generator(z), reference_forward(state, z), rtol=1e-4, atol=1e-5)


def test_missing_key_and_wrong_shape_are_named(tmp_path):
    state = pgan_state()
    del state["scaleLayers.1.1.module.bias"]
    with pytest.raises(UserError, match=r"missing keys \(1\).*scaleLayers.1.1.module.bias"):
        load_pgan_generator(write_pgan(tmp_path / "a.pth", state))
    state = pgan_state()
    state["toRGBLayers.2.module.weight"] = torch.randn(3, 9, 1, 1)
    with pytest.raises(
        UserError, match=r"shape mismatches.*toRGBLayers.2.module.weight: file \(3, 9, 1, 1\)"
    ):
        load_pgan_generator(write_pgan(tmp_path / "b.pth", state))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"alpha": 0.5}, "fade-in"),
        ({"lossCriterion": "DCGAN"}, "tanh"),
        ({"perChannelNormalization": False}, "pixel-normalises"),
        ({"categoryVectorDim": 4}, "conditional"),
    ],
)
def test_unsupported_pgan_variants_are_refused(tmp_path, override, message):
    with pytest.raises(UserError, match=message):
        load_pgan_generator(write_pgan(tmp_path / "v.pth", **override))


def test_config_objects_need_no_pickle_permission_but_truncation_is_reported(tmp_path):
    path = write_pgan(tmp_path / "t.pth")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated, corrupt"):
        load_pgan_generator(path)


def test_pickles_are_refused_unless_allowed(tmp_path):
    path = tmp_path / "network-snapshot.pkl"
    torch.save({"netG": pgan_state()}, path)
    with pytest.raises(UserError, match="allow_pickle"):
        load_pgan_generator(path)
    with pytest.raises(UserError, match="none of the entries"), pytest.warns(UserWarning):
        load_pgan_generator(path, allow_pickle=True)  # unpickled (warned), then no config
