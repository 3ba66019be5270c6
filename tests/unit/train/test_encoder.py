"""The ResNet-18 encoder and its training loop (phases, losses, resume)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import ganinv.train.run as training_run
from ganinv.data.h5io import read_h5, write_h5
from ganinv.images import to_uint8
from ganinv.models.encoder import ResNetEncoder
from ganinv.models.files import load_model, save_model
from ganinv.models.progan import Generator
from ganinv.runtime import UserError
from ganinv.sample import draw_latents
from ganinv.train.encoder import EncoderTraining, train_encoder


def test_thesis_head_and_any_input_size():
    encoder = ResNetEncoder(z_dim=100, input_size=64).eval()
    linear = [m for m in encoder.head if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(512, 2048), (2048, 1024),
                                                                   (1024, 100)]  # fmt: skip
    assert len(encoder.head) == 3  # no activations between the linear layers
    for size in (32, 64, 128):
        assert encoder(torch.randn(2, 3, size, size)).shape == (2, 100)
    assert ResNetEncoder(8, 32, in_channels=1)(torch.randn(2, 1, 40, 40)).shape == (2, 8)


def test_phases_alternate():
    config = EncoderTraining(phase_period=2, real_phase=True)
    assert [config.phase(s) for s in range(6)] == ["generated", "generated", "real", "real",
                                                   "generated", "generated"]  # fmt: skip
    assert EncoderTraining(real_phase=False).phase(3) == "generated"
    with pytest.raises(UserError, match="every loss weight is 0"):
        EncoderTraining(z_weight=0, perceptual_weight=0, real_phase=False)


@pytest.fixture()
def tiny_setup(tmp_path):
    torch.manual_seed(0)
    kwargs = {"resolution": 16, "z_dim": 16, "channels": [16, 16, 8]}
    generator = Generator(**kwargs).eval()
    save_model(tmp_path / "g.pt", generator, "progan.Generator", kwargs)
    z = draw_latents(200, 16, "normal", 1)
    with torch.no_grad():
        images = to_uint8(generator(z)).numpy()
    write_h5(tmp_path / "generated.h5", {"z": z.numpy(), "images": images})
    real = np.random.default_rng(0).integers(0, 256, (40, 3, 16, 16), dtype=np.uint8)
    write_h5(tmp_path / "real.h5", {"images": real})
    return tmp_path


def _config(**overrides):
    base = dict(input_size=32, steps=30, batch_size=8, lr=1e-3, z_weight=1.0, pixel_weight=1.0,
                perceptual_weight=0.0, real_phase=True, val_size=20, eval_every=10,
                checkpoint_every=10, seed=5)  # fmt: skip
    return EncoderTraining(**{**base, **overrides})


def _train(root, name, config):
    return train_encoder(root / "g.pt", root / "generated.h5", root / "real.h5", None,
                         root / f"{name}.pt", root / f"{name}.csv", root / f"work_{name}",
                         config, torch.device("cpu"))  # fmt: skip


def test_z_loss_training_reduces_latent_error(tiny_setup):
    summary = _train(tiny_setup, "z", _config(steps=60, real_phase=False, pixel_weight=0.0))
    import pandas as pd

    curve = pd.read_csv(tiny_setup / "z.csv").dropna(subset=["val_z_mae"])
    assert curve["val_z_mae"].iloc[-1] < curve["val_z_mae"].iloc[0]
    encoder, meta = load_model(tiny_setup / "z.pt", "encoder.ResNetEncoder")
    assert encoder.z_dim == 16 and meta["steps"] == 60 and summary["steps"] == 60


def test_resume_after_interruption_equals_uninterrupted(tiny_setup, monkeypatch):
    config = _config()
    _train(tiny_setup, "whole", config)

    calls = {"n": 0}
    original = training_run.save_checkpoint

    def crash_after_second_checkpoint(*args, **kwargs):
        original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # stands in for a kill right after step 20's checkpoint

    monkeypatch.setattr(training_run, "save_checkpoint", crash_after_second_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_setup, "killed", config)
    monkeypatch.setattr(training_run, "save_checkpoint", original)
    assert not (tiny_setup / "killed.pt").exists()
    _train(tiny_setup, "killed", config)
    whole, _ = load_model(tiny_setup / "whole.pt")
    resumed, _ = load_model(tiny_setup / "killed.pt")
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values(),
                            strict=True):  # fmt: skip
        assert torch.equal(a, b), name


def test_mismatched_inputs_are_user_errors(tiny_setup):
    write_h5(tiny_setup / "bad.h5", {"z": np.zeros((200, 8), np.float32),
                                     "images": np.zeros((200, 3, 16, 16), np.uint8)})  # fmt: skip
    with pytest.raises(UserError, match="8-d latents but the generator's z is 16-d"):
        train_encoder(tiny_setup / "g.pt", tiny_setup / "bad.h5", None, None,
                      tiny_setup / "e.pt", tiny_setup / "e.csv", tiny_setup / "w",
                      _config(real_phase=False), torch.device("cpu"))  # fmt: skip
    with pytest.raises(UserError, match="needs a perceptual network"):
        _train(tiny_setup, "p", _config(perceptual_weight=1.0))
    z, images = read_h5(tiny_setup / "generated.h5", ["z", "images"])[0].values()
    z[3, 0], z[7, 5] = np.nan, np.inf
    write_h5(tiny_setup / "nan.h5", {"z": z, "images": images})
    with pytest.raises(UserError, match=r"2 latent\(s\) contain NaN or inf \(rows 3, 7\)"):
        train_encoder(tiny_setup / "g.pt", tiny_setup / "nan.h5", None, None,
                      tiny_setup / "e.pt", tiny_setup / "e.csv", tiny_setup / "w",
                      _config(real_phase=False), torch.device("cpu"))  # fmt: skip
    assert not (tiny_setup / "e.pt").exists()
