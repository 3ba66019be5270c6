"""Judging an audio GAN: Inception Score ratio, digits read, STFT diversity, floors, curve."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from ganinv.data.h5io import write_h5
from ganinv.experiments.audio_generator_quality import (
    judge_audio_generator,
    write_audio_generator_table,
)
from ganinv.metrics.audio_quality import (
    QUALITY_CURVE_COLUMNS,
    ClipQuality,
    QualityFloors,
    digit_readings,
    stft_diversity,
)
from ganinv.models.digits import DigitClassifier
from ganinv.models.files import save_model
from ganinv.runtime import UserError
from ganinv.train.wavegan import WaveGANTraining, train_wavegan

T = 16384


def _tones(n_per_digit: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Ten 'digits': sine tones at ten pitches, random phase and level; labels 0..9."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) / 16000
    labels = rng.permutation(np.repeat(np.arange(10), n_per_digit))
    clips = [rng.uniform(0.3, 0.9) * np.sin(2 * np.pi * (200 + 300 * d) * t + rng.uniform(0, 6))
             for d in labels]  # fmt: skip
    return torch.tensor(np.stack(clips)[:, None], dtype=torch.float32), torch.tensor(labels)


def _pitch_reader(clips: torch.Tensor) -> torch.Tensor:
    """A perfect 'evaluator' for :func:`_tones`: the pitch's digit, certain."""
    spectrum = torch.fft.rfft(clips[:, 0].double()).abs()
    peak = spectrum.argmax(dim=1).double() * 16000 / T
    digit = ((peak - 200) / 300).round().clamp(0, 9).long()
    return torch.nn.functional.one_hot(digit, 10).float()


def test_collapsed_clips_miss_every_floor_and_real_ones_none():
    real, _ = _tones(6)
    quality = ClipQuality(probabilities=_pitch_reader, real=real, is_splits=1,
                          floors=QualityFloors())  # fmt: skip
    assert quality.real["digits_read"] == 10 and quality.real["max_digit_share"] == 0.1
    assert quality.real["inception_score"] == pytest.approx(10.0, rel=1e-6)
    fresh, _ = _tones(6, seed=1)
    row = quality.measure(fresh)
    assert row["inception_ratio"] == pytest.approx(1.0) and row["digits_read"] == 10
    assert 0.8 < row["diversity_ratio"] < 1.25
    assert quality.floors.shortfalls(row) == []
    one_word = real[:1].expand(60, -1, -1)  # the same clip sixty times
    row = quality.measure(one_word)
    assert row["digits_read"] == 1 and row["max_digit_share"] == 1.0
    assert row["inception_ratio"] == pytest.approx(0.1) and row["diversity_ratio"] == 0.0
    reasons = quality.floors.shortfalls(row)
    assert len(reasons) == 4
    assert "reads 1 of 10 digits (floor 8)" in reasons[1]
    assert "100% of the clips read as one digit (ceiling 25%)" in reasons[2]


def test_digit_readings_count_only_digits_above_the_minimum_share():
    p = torch.nn.functional.one_hot(torch.tensor([0] * 90 + [1] * 9 + [2]), 10).float()
    assert digit_readings(p, min_share=0.02) == (2, 0.9)
    assert digit_readings(p, min_share=0.01) == (3, 0.9)


def test_stft_diversity_is_a_distance_in_db():
    clips, _ = _tones(1)
    assert stft_diversity(clips[[0, 0]]) == 0.0
    assert stft_diversity(clips) > 10.0
    with pytest.raises(UserError, match="at least 2 clips"):
        stft_diversity(clips[:1])


def test_floors_are_checked():
    with pytest.raises(UserError, match="digits_read must be an integer in 0..10"):
        QualityFloors(digits_read=11)
    with pytest.raises(UserError, match="inception_ratio must be a number >= 0"):
        QualityFloors(inception_ratio=float("nan"))


def _evaluator(path, seed=0):
    torch.manual_seed(seed)
    kwargs = {"width": 4, "blocks": [1, 1, 1, 1]}
    save_model(path, DigitClassifier(**kwargs), "digits.DigitClassifier", kwargs)
    return path


def test_judge_writes_a_verdict_table_and_warns_once(tmp_path, caplog, one_thread):
    real, _ = _tones(10)
    write_h5(tmp_path / "real.h5", {"audio": real.numpy()})
    write_h5(tmp_path / "fake.h5", {"audio": real[:1].expand(40, -1, -1).numpy().copy()})
    evaluator = _evaluator(tmp_path / "e.pt")
    with caplog.at_level(logging.WARNING, logger="ganinv"):
        row = judge_audio_generator(
            samples_h5=tmp_path / "fake.h5", real_h5=tmp_path / "real.h5",
            evaluator_path=evaluator, out_csv=tmp_path / "j.csv", generator="G", evaluator="E",
            n=30, seed=0, is_splits=2, floors=QualityFloors(), device=torch.device("cpu"),
        )  # fmt: skip
    assert row["n_clips"] == 30 and row["n_real"] == 30 and row["diversity_ratio"] == 0.0
    assert row["verdict"].startswith("collapsed: ") and "STFT diversity is 0%" in row["verdict"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "G looks mode-collapsed" in warnings[0].getMessage()
    table = write_audio_generator_table(
        judgement=tmp_path / "j.csv", csv_path=tmp_path / "t.csv", md_path=tmp_path / "t.md",
        tex_path=tmp_path / "t.tex", preset="test", floors=QualityFloors(),
    )  # fmt: skip
    assert table["verdict"].iloc[0] == row["verdict"]
    markdown = (tmp_path / "t.md").read_text()
    assert "Preset: test" in markdown and "floor 8" in markdown and "collapsed" in markdown


def test_training_writes_the_quality_curve_and_warns_when_collapsed(tmp_path, caplog, one_thread):
    real, _ = _tones(2)
    write_h5(tmp_path / "tones.h5", {"audio": real.numpy()}, {"sample_rate": 16000})
    quality = ClipQuality(probabilities=_pitch_reader, real=real, is_splits=2,
                          floors=QualityFloors())  # fmt: skip
    config = WaveGANTraining(steps=5, z_dim=8, d=2, kernel_size=9, batch_size=3, n_critic=1,
                             checkpoint_every=2, log_every=1, sample_count=2, quality_every=2,
                             quality_clips=10, seed=0)  # fmt: skip
    out = tmp_path / "run"
    with caplog.at_level(logging.WARNING, logger="ganinv"):
        summary = train_wavegan(
            data_h5=tmp_path / "tones.h5", model_path=out / "g.pt", curve_csv=out / "c.csv",
            samples_wav=out / "s.wav", work_dir=out / "work", config=config,
            device=torch.device("cpu"), quality=quality, quality_csv=out / "q.csv",
        )  # fmt: skip
    curve = pd.read_csv(out / "q.csv")
    assert tuple(curve.columns) == QUALITY_CURVE_COLUMNS
    assert curve["step"].tolist() == [0, 2, 4, 5]  # untrained, every 2 steps, the last
    assert curve["seconds"].is_monotonic_increasing
    assert summary["quality_digits_read"] == curve["digits_read"].iloc[-1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "looks mode-collapsed after 5 steps" in warnings[0]
    assert summary["quality_shortfalls"] in warnings[0]
