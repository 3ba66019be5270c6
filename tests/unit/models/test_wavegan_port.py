"""Importing a wavegan-pytorch (mostafaelaraby) generator checkpoint into our WaveGAN Generator.

The checkpoints are fabricated by tests.helpers.wavegan_port in the port's layout (its state-dict
keys and shapes, saved in the dict its train.py writes) with random values; the reference forward
pass below is written from the port's definition directly with torch.nn.functional.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganinv.models.files import load_model, save_model
from ganinv.models.wavegan import Generator
from ganinv.models.wavegan_port import load_wavegan_port_generator
from ganinv.runtime import UserError
from tests.helpers.wavegan_port import Z_DIM, D, port_state, training_checkpoint

SAMPLES = 16384


def _save(tmp_path, state: dict, name: str = "gan_exp1.tar", wrap: bool = True):
    path = tmp_path / name
    torch.save(training_checkpoint(state) if wrap else state, path)
    return path


def _reference(state: dict, z: torch.Tensor, upsample: bool, batch_norm: bool) -> torch.Tensor:
    """WaveGANGenerator.forward (eval mode) from the file's tensors."""
    conv = 1 if upsample else 0

    def bn(h, prefix):
        return F.batch_norm(
            h,
            state[f"{prefix}.running_mean"],
            state[f"{prefix}.running_var"],
            state[f"{prefix}.weight"],
            state[f"{prefix}.bias"],
            training=False,
            eps=1e-5,
        )

    channels = state["fc1.weight"].shape[0] // 16
    h = F.linear(z, state["fc1.weight"], state["fc1.bias"]).view(-1, channels, 16)
    if batch_norm:
        h = bn(h, "bn1")
    h = F.relu(h)
    for i in range(5):
        weight = state[f"deconv_list.{i}.transpose_ops.{conv}.weight"]
        bias = state[f"deconv_list.{i}.transpose_ops.{conv}.bias"]
        if upsample:
            h = F.interpolate(h, scale_factor=4, mode="nearest")
            h = F.conv1d(F.pad(h, (12, 12), value=0.0), weight, bias, stride=1)
        else:
            h = F.conv_transpose1d(h, weight, bias, stride=4, padding=11, output_padding=1)
        if batch_norm and i < 4:
            h = bn(h, f"deconv_list.{i}.transpose_ops.{conv + 1}")
        h = torch.tanh(h) if i == 4 else F.relu(h)
    return h


@pytest.mark.parametrize(
    ("upsample", "batch_norm"), [(True, False), (False, False), (True, True), (False, True)]
)
def test_forward_equals_the_ports_forward(tmp_path, one_thread, upsample, batch_norm):
    state = port_state(upsample=upsample, batch_norm=batch_norm, seed=1)
    generator, info = load_wavegan_port_generator(_save(tmp_path, state))
    assert info == {
        "format": "wavegan-pytorch-port",
        "z_dim": Z_DIM,
        "d": D,
        "kernel_size": 25,
        "prior": "normal",
        "channels": 1,
        "upsample": "nearest" if upsample else "transposed",
        "batch_norm_folded": batch_norm,
    }
    assert not generator.training
    z = torch.randn(3, Z_DIM, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours = generator(z)
    expected = _reference(state, z, upsample, batch_norm)
    assert ours.shape == expected.shape == (3, 1, SAMPLES)
    assert ours.isfinite().all() and ours.abs().max() <= 1.0
    # a meaningful comparison: varied output, mostly outside tanh saturation
    assert expected.std() > 0.01 and (expected.abs() < 0.9).float().mean() > 0.5
    torch.testing.assert_close(ours, expected, atol=2e-5, rtol=1e-4)


def test_bare_state_dict_prior_sampling_and_model_file_round_trip(tmp_path, one_thread):
    state = port_state(d=2, z_dim=8, channels=2, upsample=True)
    del state["bn1.weight"], state["bn1.bias"]  # bn1 is optional when batch norm is off...
    with pytest.raises(UserError, match=r"missing keys .*bn1\.bias"):  # ...but not half of it
        load_wavegan_port_generator(_save(tmp_path, state, "g.pt", wrap=False))
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        del state[f"bn1.{key}"]
    generator, info = load_wavegan_port_generator(_save(tmp_path, state, "g.pt", wrap=False))
    assert (info["z_dim"], info["d"], info["channels"]) == (8, 2, 2)
    assert generator.prior == "normal" and Generator.prior == "uniform"
    z = generator.sample_z(4000, torch.Generator().manual_seed(0))
    assert z.shape == (4000, 8) and z.abs().max() > 1.5  # not U[-1, 1]
    assert abs(z.mean().item()) < 0.05 and abs(z.std().item() - 1) < 0.05
    with torch.no_grad():
        audio = generator(z[:2])
    assert audio.shape == (2, 2, SAMPLES) and audio.isfinite().all()

    assert generator.config == {
        "z_dim": 8,
        "d": 2,
        "channels": 2,
        "kernel_size": 25,
        "upsample": "nearest",
        "prior": "normal",
    }
    save_model(tmp_path / "model.pt", generator, "wavegan.Generator", generator.config)
    rebuilt, _ = load_model(tmp_path / "model.pt", "wavegan.Generator")
    assert rebuilt.prior == "normal" and rebuilt.upsample == "nearest"
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(z[:2]), audio)


def test_structural_errors_name_the_key(tmp_path):
    state = port_state(upsample=True)
    missing = dict(state)
    del missing["deconv_list.2.transpose_ops.1.bias"]
    with pytest.raises(UserError, match=r"missing keys .*deconv_list\.2\.transpose_ops\.1\.bias"):
        load_wavegan_port_generator(_save(tmp_path, missing, "missing.tar"))

    wrong = dict(state)
    wrong["deconv_list.3.transpose_ops.1.weight"] = torch.zeros(4, 9, 25)
    with pytest.raises(UserError, match=r"deconv_list\.3\.transpose_ops\.1\.weight: file \(4, 9"):
        load_wavegan_port_generator(_save(tmp_path, wrong, "wrong.tar"))

    no_dense = {k: v for k, v in state.items() if k != "fc1.weight"}
    with pytest.raises(UserError, match="generator checkpoint: none of the entries"):
        load_wavegan_port_generator(_save(tmp_path, no_dense, "bare.pt", wrap=False))
    with pytest.raises(UserError, match="missing key 'fc1.weight'"):
        load_wavegan_port_generator(_save(tmp_path, no_dense, "nofc.tar"))

    long = port_state(d=1, layers=6)  # slice_len 65536
    with pytest.raises(UserError, match=r"6 layers \(slice_len 32768 or 65536\)"):
        load_wavegan_port_generator(_save(tmp_path, long, "long.tar"))

    torch.save({"g_cost": [1.0]}, tmp_path / "other.tar")
    with pytest.raises(UserError, match=r"other\.tar is not .*'generator'"):
        load_wavegan_port_generator(tmp_path / "other.tar")


def test_truncated_and_pickled_files_are_refused(tmp_path):
    path = _save(tmp_path, port_state(d=1, upsample=False))
    data = path.read_bytes()
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"truncated\.tar .*truncated"):
        load_wavegan_port_generator(truncated)
    pickled = tmp_path / "gan.pkl"
    pickled.write_bytes(data)
    with pytest.raises(UserError, match=r"gan\.pkl is a Python pickle"):
        load_wavegan_port_generator(pickled)
    with pytest.raises(UserError, match="not found"):
        load_wavegan_port_generator(tmp_path / "absent.tar")
