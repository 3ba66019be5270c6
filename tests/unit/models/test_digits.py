"""STFT front ends, the spoken-digit classifier and its training."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ganinv.data.h5io import write_h5
from ganinv.losses import perceptual_distance
from ganinv.models.digits import DIGIT_NAMES, DigitClassifier
from ganinv.models.files import load_model, save_model
from ganinv.models.spectral import KINDS, Spectral
from ganinv.runtime import UserError
from ganinv.train.digits import DigitClassifierTraining, train_digit_classifier
from tests.helpers.kill import (
    assert_same_weights,
    curve_rows,
    resumed_at,
    train_in_subprocess,
    training_script,
)

SAMPLE_RATE = 16000


def _noise(n: int, samples: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 1, samples, generator=gen) * 2 - 1) * 0.5


@pytest.mark.parametrize(
    "kind, rows", [("real", 129), ("magnitude", 129), ("logmel", 64)], ids=list(KINDS)
)
def test_spectral_shapes_and_gradients(kind, rows, one_thread):
    wave = _noise(2, 16384).requires_grad_(True)
    out = Spectral(kind)(wave)
    assert out.shape == (2, 3, rows, 129)
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])
    out.square().sum().backward()
    assert torch.isfinite(wave.grad).all() and wave.grad.abs().sum() > 0
    small = Spectral(kind, n_fft=128, hop=64, n_mels=32, channels=1)(wave.detach()[..., :4096])
    assert small.shape == (2, 1, 32 if kind == "logmel" else 65, 65)


def test_spectral_values():
    wave = _noise(2, 4096, seed=3)
    window = torch.hann_window(256)
    stft = torch.stft(wave[:, 0], 256, 128, window=window, center=True, return_complex=True)
    assert torch.allclose(Spectral("real")(wave)[:, 0], stft.real, atol=1e-4)
    assert torch.allclose(Spectral("magnitude")(wave)[:, 0], torch.log1p(stft.abs()), atol=1e-4)
    silence = torch.zeros(1, 1, 4096, requires_grad=True)
    magnitude = Spectral("magnitude")(silence)
    assert torch.equal(magnitude, torch.zeros_like(magnitude))
    magnitude.sum().backward()
    assert torch.isfinite(silence.grad).all()  # |STFT| at 0 must not poison GD inversion
    logmel = Spectral("logmel")
    quiet, loud = logmel(torch.zeros(1, 1, 16384)), logmel(_noise(1, 16384))
    assert torch.allclose(quiet, torch.full_like(quiet, -1.5))  # -80 dB floor
    assert -1.5 < float(loud.mean()) < 1.5 and float(loud.max()) < 2.0  # roughly unit range


def test_spectral_rejects_bad_input():
    with pytest.raises(UserError, match=r"unknown spectral representation 'mfcc'.*'real'"):
        Spectral("mfcc")
    with pytest.raises(ValueError, match=r"\[N, 1, T\]"):
        Spectral()(torch.zeros(2, 16384))
    with pytest.raises(UserError, match="hop"):
        Spectral(n_fft=64, hop=128)


@pytest.mark.parametrize("representation", KINDS)
def test_classifier_taps_forward_and_round_trip(representation, tmp_path, one_thread):
    torch.manual_seed(0)
    kwargs = {"representation": representation, "width": 4, "blocks": (1, 2, 1, 1)}
    net = DigitClassifier(**kwargs).eval()
    wave = _noise(3, 16384)
    with torch.no_grad():
        features = net.features(wave)
        logits = net(wave)
        probabilities = net.probabilities(wave)
    # stem (conv and max pool, stride 2 each) then stages of strides 1, 2, 2, 2
    heights = [16, 8, 4, 2] if representation == "logmel" else [33, 17, 9, 5]  # of 64 / 129 rows
    widths = [33, 17, 9, 5]  # of 129 frames
    assert [tuple(f.shape) for f in features] == [
        (3, 4 * 2**i, heights[i], widths[i]) for i in range(4)
    ]
    assert logits.shape == (3, 10) and len(DIGIT_NAMES) == 10
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(3, dtype=torch.float32))
    save_model(tmp_path / "d.pt", net, "digits.DigitClassifier", kwargs, meta={"seed": 1})
    loaded, meta = load_model(tmp_path / "d.pt", "digits.DigitClassifier")
    assert meta == {"seed": 1} and len(loaded.stages[1]) == 2
    with torch.no_grad():
        assert torch.equal(loaded(wave), logits)


def test_classifier_rejects_bad_kwargs():
    with pytest.raises(UserError, match="blocks"):
        DigitClassifier(blocks=(1, 1, 1))
    with pytest.raises(UserError, match="width"):
        DigitClassifier(width=0)


def test_perceptual_distance_on_classifier(one_thread):
    torch.manual_seed(0)
    net = DigitClassifier(width=4).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    y = _noise(3, 16384, seed=1)
    assert torch.equal(perceptual_distance(net, y, y), torch.zeros(3))
    x = y.clone()
    x[1] = _noise(1, 16384, seed=2)[0]
    x.requires_grad_(True)
    distance = perceptual_distance(net, x, y)
    assert distance[1] > 0 and distance[0] == 0 and distance[2] == 0
    distance.sum().backward()
    assert x.grad[1].abs().sum() > 0 and x.grad[0].abs().sum() == 0


def _tones(n_per_class: int, samples: int, speakers: int, seed: int) -> dict[str, np.ndarray]:
    """Ten classes of tone bursts (class k at 400·2^(k/4) Hz ±2 %) with random phase, onset,
    duration (20-50 % of the clip) and level, plus white noise; speakers drawn at random."""
    rng = np.random.default_rng(seed)
    label = np.repeat(np.arange(10), n_per_class)
    t = np.arange(samples) / SAMPLE_RATE
    audio = np.zeros((len(label), 1, samples), np.float32)
    for i, k in enumerate(label):
        frequency = 400.0 * 2 ** (k / 4) * rng.uniform(0.98, 1.02)
        duration = rng.uniform(0.2, 0.5) * samples / SAMPLE_RATE
        onset = rng.uniform(0, samples / SAMPLE_RATE - duration)
        burst = (t >= onset) & (t < onset + duration)
        tone = np.sin(2 * np.pi * frequency * t + rng.uniform(0, 2 * np.pi))
        audio[i, 0] = rng.uniform(0.2, 0.8) * burst * tone + rng.normal(0, 0.02, samples)
    speaker = rng.integers(100, 100 + speakers, len(label))
    return {"audio": audio, "label": label, "speaker": speaker}


@pytest.fixture(scope="module")
def tones_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("tones") / "tones.h5"
    write_h5(path, _tones(30, 8192, speakers=10, seed=0), {"sample_rate": SAMPLE_RATE})
    return path


TINY = dict(
    width=8, batch_size=16, steps=80, lr=3e-3, warmup_steps=5, checkpoint_every=40,
    eval_every=40, log_every=10, val_speaker_fraction=0.2, seed=1,
)  # fmt: skip


def test_training_learns_tones(tones_h5, tmp_path, one_thread):
    started = time.perf_counter()
    summary = train_digit_classifier(
        tones_h5, tmp_path / "d.pt", tmp_path / "curve.csv", tmp_path / "work",
        DigitClassifierTraining(**TINY), torch.device("cpu"),
    )  # fmt: skip
    assert time.perf_counter() - started < 30
    assert summary["val_accuracy"] > 0.9, summary  # chance 0.1
    assert len(summary["val_speakers"]) == 2 and len(summary["train_speakers"]) == 8
    assert not set(summary["val_speakers"]) & set(summary["train_speakers"])
    assert summary["n_train"] + summary["n_val"] == 300 and summary["steps"] == 80
    net, meta = load_model(tmp_path / "d.pt", "digits.DigitClassifier")
    assert meta["val_accuracy"] == summary["val_accuracy"]
    assert meta["class_names"] == list(DIGIT_NAMES) and meta["samples"] == 8192
    assert set(meta["val_accuracy_per_digit"]) == set(DIGIT_NAMES)
    with open(tmp_path / "curve.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["step", "lr", "loss", "train_accuracy", "val_accuracy", "seconds"]
    assert [int(r["step"]) for r in rows] == list(range(10, 81, 10))
    assert float(rows[-1]["val_accuracy"]) == pytest.approx(summary["val_accuracy"], abs=1e-5)
    assert rows[0]["val_accuracy"] == "" and float(rows[-1]["loss"]) < float(rows[0]["loss"])


def test_training_config_is_validated():
    with pytest.raises(UserError, match="representation"):
        DigitClassifierTraining(representation="mfcc")
    with pytest.raises(UserError, match="val_speaker_fraction"):
        DigitClassifierTraining(val_speaker_fraction=1.0)
    with pytest.raises(UserError, match="blocks"):
        DigitClassifierTraining(blocks=(1, 1))
    with pytest.raises(UserError, match="warmup_steps"):
        DigitClassifierTraining(steps=10, warmup_steps=10)
    assert DigitClassifierTraining(blocks=[2, 2, 2, 2]).blocks == (2, 2, 2, 2)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("speaker"), r"no dataset\(s\) \['speaker'\]"),
        (lambda d: d.update(audio=d["audio"][:, 0]), r"'audio' must have shape \[N, 1, T\]"),
        (lambda d: d["label"].__setitem__(3, 10), r"labels \[10\] lie outside 0..9"),
        (lambda d: d.update(label=d["label"].astype(np.float32)), "'label' must be integers"),
        (lambda d: d.update(speaker=np.zeros_like(d["speaker"])), "at least 2 speakers"),
        (lambda d: d["audio"].__setitem__((0, 0, 5), np.nan), "NaN"),
    ],
)
def test_bad_data_is_a_user_error(change, message, tmp_path):
    data = _tones(2, 1024, speakers=3, seed=1)
    change(data)
    write_h5(tmp_path / "bad.h5", data)
    with pytest.raises(UserError, match=message):
        train_digit_classifier(
            tmp_path / "bad.h5", tmp_path / "d.pt", tmp_path / "c.csv", tmp_path / "w",
            DigitClassifierTraining(**TINY), torch.device("cpu"),
        )  # fmt: skip
    with pytest.raises(UserError, match="not found"):
        train_digit_classifier(
            tmp_path / "missing.h5", tmp_path / "d.pt", tmp_path / "c.csv", tmp_path / "w",
            DigitClassifierTraining(**TINY), torch.device("cpu"),
        )  # fmt: skip


SCRIPT = training_script(
    """
    from ganinv.train.digits import DigitClassifierTraining, train_digit_classifier
    train_digit_classifier(sys.argv[1], out + "/d.pt", out + "/curve.csv", out + "/work",
                           DigitClassifierTraining(**eval(sys.argv[3])), torch.device("cpu"))
    """
)


def _train(data: Path, out: Path, config: dict, kill_after_step: int | None = None) -> None:
    train_in_subprocess(SCRIPT, data, out, config, kill_after_step)


def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    data = tmp_path / "small.h5"
    write_h5(data, _tones(6, 4096, speakers=4, seed=2), {"sample_rate": SAMPLE_RATE})
    config = {**TINY, "width": 4, "batch_size": 8, "steps": 60, "checkpoint_every": 5,
              "eval_every": 20, "val_speaker_fraction": 0.25}  # fmt: skip
    _train(data, tmp_path / "whole", config)
    _train(data, tmp_path / "killed", config, kill_after_step=20)
    assert not (tmp_path / "killed" / "d.pt").exists()  # no final model from a killed run
    _train(data, tmp_path / "killed", config)
    resumed = resumed_at(tmp_path / "killed")
    assert 20 <= resumed < 60
    meta_whole, meta_resumed = assert_same_weights(
        tmp_path / "whole" / "d.pt", tmp_path / "killed" / "d.pt"
    )
    assert meta_whole["val_accuracy"] == meta_resumed["val_accuracy"]
    columns = ["step", "lr", "loss", "train_accuracy", "val_accuracy"]
    whole_rows = curve_rows(tmp_path / "whole" / "curve.csv", columns)
    resumed_rows = curve_rows(tmp_path / "killed" / "curve.csv", columns)
    assert whole_rows == resumed_rows and int(whole_rows[-1][0]) == 60
