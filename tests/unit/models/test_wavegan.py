"""WaveGAN: architecture sizes, phase shuffle, model files, resumable WGAN-GP training, quality."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from ganinv.data.h5io import write_h5
from ganinv.metrics.audio import spectral_distance
from ganinv.models.files import load_model, save_model
from ganinv.models.layers import count_parameters
from ganinv.models.wavegan import Discriminator, Generator, phase_shuffle
from ganinv.runtime import UserError
from ganinv.train.wavegan import WaveGANTraining, train_wavegan
from tests.helpers.kill import assert_same_weights, resumed_at, train_in_subprocess, training_script

SAMPLES = 16384


def _paper_generator_parameters(z_dim: int = 100, d: int = 64, kernel: int = 25) -> int:
    """Dense z -> 16 x 16d, then transposed convs 16d -> 8d -> 4d -> 2d -> d -> 1 (with biases)."""
    widths = [16 * d, 8 * d, 4 * d, 2 * d, d, 1]
    dense = z_dim * 16 * 16 * d + 16 * 16 * d
    convs = sum(a * b * kernel + b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return dense + convs


def test_paper_size_generator_and_critic(one_thread):
    generator = Generator(z_dim=100, d=64)
    count = count_parameters(generator)
    print(f"WaveGAN generator at d=64: {count:,} parameters")
    assert count == _paper_generator_parameters() == 19_065_345
    with torch.no_grad():
        audio = generator(generator.sample_z(1))
    assert audio.shape == (1, 1, SAMPLES)
    critic = Discriminator(d=64)
    widths = [1, 64, 128, 256, 512, 1024]
    convs = sum(a * b * 25 + b for a, b in zip(widths[:-1], widths[1:], strict=True))
    assert count_parameters(critic) == convs + 16 * 1024 + 1


def test_small_generator_output_shape_range_and_batch_independence(one_thread):
    torch.manual_seed(0)
    generator = Generator(z_dim=16, d=4)
    assert generator.prior == "uniform" and generator.output_samples == SAMPLES
    z = generator.sample_z(5, torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1 and z.shape == (5, 16)
    with torch.no_grad():
        audio = generator(z)
        torch.testing.assert_close(audio[2:3], generator(z[2:3]))  # no batch statistics
        generator.convs[-1].weight.mul_(1e4)  # drive the last layer far into saturation
        loud = generator(z)
    assert audio.shape == loud.shape == (5, 1, SAMPLES)
    assert loud.abs().max() <= 1.0 and (loud.abs() > 0.999).float().mean() > 0.5
    with pytest.raises(ValueError, match=r"\[N, 16\]"):
        generator(torch.zeros(2, 15))


def test_critic_scores_each_clip(one_thread):
    critic = Discriminator(d=4, phase_shuffle=2)
    scores = critic(torch.rand(3, 1, SAMPLES) * 2 - 1, generator=torch.Generator())
    assert scores.shape == (3, 1)
    with pytest.raises(ValueError, match="16384"):
        critic(torch.zeros(3, 1, 8000))


def _ramp(n: int, channels: int, length: int) -> torch.Tensor:
    """Distinct values everywhere: sample n, channel c, time t holds 1000 n + 100 c + t."""
    t = torch.arange(length, dtype=torch.float64)
    return (1000 * torch.arange(n)[:, None, None] + 100 * torch.arange(channels)[None, :, None]
            + t).to(torch.float64)  # fmt: skip


def _reflect(i: int, length: int) -> int:
    return -i if i < 0 else 2 * (length - 1) - i if i >= length else i


def test_phase_shuffle_shifts_each_clip_within_radius_with_reflect_padding():
    n, channels, length, rad = 300, 2, 40, 3
    x = _ramp(n, channels, length)
    out = phase_shuffle(x, rad, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    shifts = (x[:, 0, length // 2] - out[:, 0, length // 2]).round().long()
    assert set(shifts.tolist()) == set(range(-rad, rad + 1))  # every shift occurs, none beyond
    for i in range(n):
        k = int(shifts[i])
        expected = [x[i, 0, _reflect(t - k, length)].item() for t in range(length)]
        assert out[i, 0].tolist() == expected
        torch.testing.assert_close(out[i, 1] - out[i, 0], torch.full((length,), 100.0).double())


def test_phase_shuffle_identity_and_determinism():
    x = torch.randn(8, 3, 64)
    assert torch.equal(phase_shuffle(x, 0, torch.Generator().manual_seed(0)), x)
    a = phase_shuffle(x, 2, torch.Generator().manual_seed(5))
    b = phase_shuffle(x, 2, torch.Generator().manual_seed(5))
    c = phase_shuffle(x, 2, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    critic = Discriminator(d=2)
    clips = torch.rand(4, 1, SAMPLES)
    torch.testing.assert_close(
        critic(clips, torch.Generator().manual_seed(3)),
        critic(clips, torch.Generator().manual_seed(3)),
        rtol=0,
        atol=0,
    )


def test_model_files_round_trip(tmp_path, one_thread):
    torch.manual_seed(0)
    generator = Generator(z_dim=8, d=2, kernel_size=9)
    critic = Discriminator(d=2, kernel_size=9, phase_shuffle=1, leaky=0.1)
    save_model(tmp_path / "g.pt", generator, "wavegan.Generator", generator.config, {"x": 1})
    save_model(tmp_path / "d.pt", critic, "wavegan.Discriminator", critic.config)
    g2, meta = load_model(tmp_path / "g.pt", "wavegan.Generator")
    d2, _ = load_model(tmp_path / "d.pt", "wavegan.Discriminator")
    assert meta == {"x": 1} and g2.config == generator.config and d2.config == critic.config
    z = generator.sample_z(2, torch.Generator().manual_seed(0))
    clips = torch.rand(2, 1, SAMPLES)
    with torch.no_grad():
        assert torch.equal(g2(z), generator(z))
        assert torch.equal(
            d2(clips, torch.Generator().manual_seed(1)),
            critic(clips, torch.Generator().manual_seed(1)),
        )


def test_config_errors_name_the_setting():
    with pytest.raises(UserError, match="wavegan.n_critic must be an integer >= 1"):
        WaveGANTraining(steps=10, n_critic=0)
    with pytest.raises(UserError, match="wavegan.ema_beta"):
        WaveGANTraining(steps=10, ema_beta=1.0)
    with pytest.raises(UserError, match="wavegan.betas"):
        WaveGANTraining(steps=10, betas=(0.5,))
    with pytest.raises(UserError, match="kernel_size must be odd"):
        WaveGANTraining(steps=10, kernel_size=24)


def _harmonic_tones(path: Path, n_tones: int = 10, per_tone: int = 4, seed: int = 0) -> Path:
    """Band-limited sawtooth tones (harmonics 1/k) at distinct pitches, random phase, peak 0.9."""
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLES) / 16000
    clips = []
    for f0 in np.repeat(np.linspace(110, 440, n_tones), per_tone):
        k = np.arange(1, int(8000 // f0) + 1)[:, None]
        wave = (np.sin(2 * np.pi * k * f0 * t + k * rng.uniform(0, 2 * np.pi)) / k).sum(axis=0)
        clips.append(0.9 * wave / np.abs(wave).max())
    audio = np.stack(clips)[:, None].astype(np.float32)
    write_h5(path, {"audio": audio}, {"sample_rate": 16000})
    return path


def _fit(data: Path, out: Path, config: WaveGANTraining, **quality) -> dict:
    """train_wavegan in this process, writing into ``out`` (g.pt, c.csv, s.wav, work/)."""
    return train_wavegan(data_h5=data, model_path=out / "g.pt", curve_csv=out / "c.csv",
                         samples_wav=out / "s.wav", work_dir=out / "work", config=config,
                         device=torch.device("cpu"), **quality)  # fmt: skip


def test_bad_data_is_a_user_error(tmp_path):
    config = WaveGANTraining(steps=1, d=2, batch_size=2)

    def train(path: Path) -> None:
        out = tmp_path / "out"
        _fit(path, out, config)

    write_h5(tmp_path / "short.h5", {"audio": np.zeros((4, 1, 16000), np.float32)})
    with pytest.raises(UserError, match=r"shape \[4, 1, 16000\].*\[N, 1, 16384\]"):
        train(tmp_path / "short.h5")
    write_h5(tmp_path / "other.h5", {"images": np.zeros((4, 3, 8, 8), np.uint8)})
    with pytest.raises(UserError, match=r"no 'audio' dataset.*\[N, 1, 16384\]"):
        train(tmp_path / "other.h5")
    write_h5(tmp_path / "loud.h5", {"audio": np.full((4, 1, SAMPLES), 2.0, np.float32)})
    with pytest.raises(UserError, match=r"outside \[-1, 1\]"):
        train(tmp_path / "loud.h5")
    assert not (tmp_path / "out" / "g.pt").exists()


SCRIPT = training_script(
    """
    from ganinv.train.wavegan import WaveGANTraining, train_wavegan
    config = WaveGANTraining(**eval(sys.argv[3]))
    train_wavegan(data_h5=sys.argv[1], model_path=out + "/g.pt", curve_csv=out + "/curve.csv",
                  samples_wav=out + "/samples.wav", work_dir=out + "/work", config=config,
                  device=torch.device("cpu"))
    """
)
TINY = dict(steps=30, z_dim=8, d=2, kernel_size=9, batch_size=3, n_critic=2, ema_beta=0.9,
            checkpoint_every=2, log_every=3, sample_count=3, seed=4)  # fmt: skip


def _train(data: Path, out: Path, config: dict, kill_after_step: int | None = None) -> None:
    train_in_subprocess(SCRIPT, data, out, config, kill_after_step)


def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    data = _harmonic_tones(tmp_path / "tones.h5", n_tones=3, per_tone=2)
    _train(data, tmp_path / "whole", TINY)
    _train(data, tmp_path / "killed", TINY, kill_after_step=14)
    assert not (tmp_path / "killed" / "g.pt").exists()  # no final model from a killed run
    _train(data, tmp_path / "killed", TINY)
    resumed = resumed_at(tmp_path / "killed")
    assert 14 <= resumed < 30
    meta, _ = assert_same_weights(tmp_path / "whole" / "g.pt", tmp_path / "killed" / "g.pt")
    assert meta["steps"] == 30 and meta["prior"] == "uniform"
    curves = []
    for run in ("whole", "killed"):
        with open(tmp_path / run / "curve.csv") as handle:
            curves.append([{k: v for k, v in row.items() if k != "seconds"}
                           for row in csv.DictReader(handle)])  # fmt: skip
    assert [int(row["step"]) for row in curves[1]] == [3 * i for i in range(1, 11)]
    assert curves[0] == curves[1]
    wav_whole = (tmp_path / "whole" / "samples.wav").read_bytes()
    assert wav_whole == (tmp_path / "killed" / "samples.wav").read_bytes()
    samples, rate = soundfile.read(tmp_path / "whole" / "samples.wav")
    assert rate == 16000 and len(samples) == 3 * SAMPLES + 2 * 4000  # 0.25 s gaps
    assert soundfile.info(tmp_path / "whole" / "samples.wav").subtype == "PCM_16"
    assert np.all(samples[SAMPLES : SAMPLES + 4000] == 0)


def test_changed_parameters_start_afresh(tmp_path, caplog, one_thread):
    data = _harmonic_tones(tmp_path / "tones.h5", n_tones=3, per_tone=2)
    out = tmp_path / "run"

    def train(**changes) -> None:
        config = WaveGANTraining(**{**TINY, "steps": 4, **changes})
        _fit(data, out, config)

    train()
    with caplog.at_level("INFO", logger="ganinv"):
        train(steps=6)
    assert "other parameters; starting afresh" in caplog.text and "resuming" not in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="ganinv"):
        train(steps=6)  # same parameters: the finished checkpoint is picked up
    assert "resuming from" in caplog.text and "at step 6 of 6" in caplog.text


def test_short_training_moves_the_spectrum_towards_the_data(tmp_path, one_thread):
    """A few dozen steps on harmonic tones bring the generated clips' long-term average spectrum
    much closer to the data's than the untrained generator's (about 37 dB -> 11 dB)."""
    data = _harmonic_tones(tmp_path / "tones.h5")
    config = WaveGANTraining(steps=50, d=4, batch_size=16, n_critic=2, lr=3e-4, log_every=10,
                             checkpoint_every=1000, seed=0)  # fmt: skip
    out = tmp_path / "run"
    summary = _fit(data, out, config)
    print(summary)
    assert summary["spectral_distance_final"] < 0.7 * summary["spectral_distance_initial"]


def test_spectral_distance():
    noise = torch.randn(4, 1, SAMPLES, generator=torch.Generator().manual_seed(0)) * 0.1
    t = torch.arange(SAMPLES) / 16000
    tone = torch.sin(2 * torch.pi * 440 * t).expand(4, 1, -1)
    assert spectral_distance(noise, noise) == 0.0
    assert spectral_distance(noise, 0.5 * noise) == pytest.approx(20 * np.log10(2), rel=1e-4)
    # Silence around a word lowers the level but leaves the spectral shape alone.
    padded = torch.cat([noise, torch.zeros_like(noise)], dim=-1)
    assert spectral_distance(noise, padded) == pytest.approx(10 * np.log10(2), rel=0.05)
    assert spectral_distance(noise, tone) > 20
