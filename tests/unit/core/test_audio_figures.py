"""Audio chapter figures on tiny synthetic clips: Figure 3.1, the reconstruction figure (dB colour
bar on the metrics' scale, labelled axes, full-scale waveforms) and the WaveGAN quality curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ganinv.audio_figures import (
    LEVEL_LABEL,
    LEVEL_RANGE_DB,
    plot_audio_reconstructions,
    plot_generator_quality_curve,
    plot_waveform_figure,
)
from ganinv.data.h5io import read_h5, write_h5
from ganinv.metrics.audio import SSIM_DB_RANGE, log_magnitude
from ganinv.metrics.audio_quality import QUALITY_CURVE_COLUMNS
from ganinv.runtime import UserError

T = 2048  # 0.256 s at 8 kHz: a sample rate other than the default, read from the file
RATE = 8000
FLOORS = {"inception_ratio": 0.5, "digits_read": 8, "max_digit_share": 0.25,
          "diversity_ratio": 0.5, "min_digit_share": 0.02}  # fmt: skip


@pytest.fixture()
def clips(tmp_path):
    """Targets (real layout: audio, label, sample_rate) and three methods' reconstructions."""
    t = np.arange(T) / RATE
    freqs = np.array([300.0, 1200.0, 2500.0])
    audio = (0.8 * np.sin(2 * np.pi * freqs[:, None] * t))[:, None].astype(np.float32)
    write_h5(tmp_path / "real.h5", {"audio": audio, "label": np.arange(3, dtype=np.int64)},
             {"sample_rate": RATE})  # fmt: skip
    rng = np.random.default_rng(0)
    inversions = {}
    for method in ("gd", "encoder", "hybrid"):
        noisy = audio + rng.normal(0, 0.05, audio.shape).astype(np.float32)
        inversions[method] = tmp_path / f"{method}.h5"
        write_h5(inversions[method], {"reconstructions": np.clip(noisy, -1, 1)})
    return tmp_path / "real.h5", inversions


def _panels(fig):
    """(waveform axes, spectrogram axes, colour bar axes) of a figure."""
    images = [ax for ax in fig.axes if ax.get_images()]
    bars = [ax for ax in fig.axes if ax.get_ylabel() == LEVEL_LABEL]
    waves = [ax for ax in fig.axes if ax.get_lines() and not ax.get_images()]
    return waves, images, bars


def test_level_scale_is_the_metrics_scale():
    assert LEVEL_RANGE_DB == SSIM_DB_RANGE
    assert "dB" in LEVEL_LABEL and "full-scale" in LEVEL_LABEL


def test_waveform_figure(clips, tmp_path):
    targets, _ = clips
    fig = plot_waveform_figure(audio_h5=targets, out_png=tmp_path / "w.png", index=1)
    assert (tmp_path / "w.png").stat().st_size > 10_000
    waves, images, bars = _panels(fig)
    assert len(waves) == 1 and len(images) == 1 and len(bars) == 1
    wave, spec = waves[0], images[0]
    assert (wave.get_xlabel(), wave.get_ylabel()) == ("time (s)", "amplitude")
    assert wave.get_ylim() == (-1, 1) and wave.get_xlim() == pytest.approx((0, T / RATE))
    assert (spec.get_xlabel(), spec.get_ylabel()) == ("time (s)", "frequency (kHz)")
    assert spec.get_ylim() == pytest.approx((0, RATE / 2000))  # the file's rate, not 16 kHz
    image = spec.get_images()[0]
    assert image.get_clim() == pytest.approx(SSIM_DB_RANGE)
    # the pixels are the metrics' log_magnitude of that clip
    audio = read_h5(targets, ["audio"])[0]["audio"][1:2]
    np.testing.assert_allclose(image.get_array(), log_magnitude(audio).numpy()[0])
    assert "8 kHz" in wave.get_title()
    with pytest.raises(UserError, match="has 3 clips; no clip 3"):
        plot_waveform_figure(audio_h5=targets, out_png=tmp_path / "x.png", index=3)
    assert not (tmp_path / "x.png").exists()


def test_reconstruction_figure(clips, tmp_path):
    targets, inversions = clips
    fig = plot_audio_reconstructions(targets_h5=targets, inversions=inversions,
                                     out_png=tmp_path / "f.png", title="t", n_clips=2)  # fmt: skip
    assert (tmp_path / "f.png").stat().st_size > 10_000
    waves, images, bars = _panels(fig)
    assert len(waves) == len(images) == 2 * 4 and len(bars) == 1  # 2 clips x 4 columns, 1 bar
    assert all(ax.get_ylim() == (-1, 1) and ax.get_xlabel() == "time (s)" for ax in waves)
    assert all(ax.get_xlabel() == "time (s)" for ax in images)
    # one colour scale for every panel: the colour bar's
    assert {ax.get_images()[0].get_clim() for ax in images} == {SSIM_DB_RANGE}
    assert bars[0].get_ylim() == pytest.approx(SSIM_DB_RANGE)
    # the first column's labels serve each row
    first = [
        ax for ax in fig.axes if ax.get_subplotspec() and ax.get_subplotspec().colspan.start == 0
    ]
    labels = [ax.get_ylabel() for ax in first if ax not in bars]
    assert labels == ["clip 0\namplitude", "frequency (kHz)", "clip 1\namplitude",
                      "frequency (kHz)"]  # fmt: skip
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["target", "gd", "encoder", "hybrid"]


def _curve(path, rows):
    frame = pd.DataFrame(rows, columns=list(QUALITY_CURVE_COLUMNS))
    frame.to_csv(path, index=False)
    return path


def test_quality_curve_figure(tmp_path):
    curve = _curve(tmp_path / "quality.csv", [
        [250, 40.0, 2.1, 0.35, 4, 0.45, 9.0, 0.4],
        [500, 81.0, 4.0, 0.66, 8, 0.2, 14.0, 0.62],
        [750, 125.0, 5.2, 0.86, 10, 0.14, 18.0, 0.81],
    ])  # fmt: skip
    fig = plot_generator_quality_curve(curve_csv=curve, out_png=tmp_path / "q.png",
                                       floors=FLOORS, title="WaveGAN")  # fmt: skip
    assert (tmp_path / "q.png").stat().st_size > 10_000
    panels = [ax for ax in fig.axes if ax.get_xlabel() == "training step"]
    assert len(panels) == 3
    assert [ax.get_ylabel() for ax in panels] == [
        "Inception Score, generated / real clips", "digits read (of 10)",
        "STFT diversity, generated / real clips",
    ]  # fmt: skip
    texts = [text.get_text() for ax in fig.axes for text in ax.texts]
    assert {"floor 0.5", "floor 8 digits", "ceiling 0.25 share"} <= set(texts)
    assert panels[1].get_legend() is not None
    assert list(panels[1].get_yticks()) == list(range(11))
    tops = [child.get_xlabel() for ax in panels for child in ax.child_axes]
    assert tops == ["training time (min)"] * 3  # 125 s of training: minutes
    assert "step 750" in fig.get_suptitle()


def test_quality_curve_single_row(tmp_path):
    curve = _curve(tmp_path / "one.csv", [[100, 10.0, 1.2, 0.2, 1, 1.0, 2.0, 0.1]])
    fig = plot_generator_quality_curve(curve_csv=curve, out_png=tmp_path / "one.png",
                                       floors=FLOORS)  # fmt: skip
    assert not any(ax.child_axes for ax in fig.axes)  # no time axis from a single point
    assert "step 100, 10 s of training" in fig.get_suptitle()
    assert (tmp_path / "one.png").stat().st_size > 10_000


def test_quality_curve_refuses_bad_input(tmp_path):
    frame = pd.DataFrame([[250, 40.0, 2.1, 0.35, 4, 0.45, 9.0, 0.4]],
                         columns=list(QUALITY_CURVE_COLUMNS))  # fmt: skip
    frame.drop(columns=["digits_read", "stft_diversity"]).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(UserError, match=r"m\.csv lacks the column\(s\) digits_read, stft_div"):
        plot_generator_quality_curve(curve_csv=tmp_path / "m.csv", out_png=tmp_path / "m.png",
                                     floors=FLOORS)  # fmt: skip
    frame.iloc[:0].to_csv(tmp_path / "header.csv", index=False)
    with pytest.raises(UserError, match=r"header\.csv has no rows"):
        plot_generator_quality_curve(curve_csv=tmp_path / "header.csv",
                                     out_png=tmp_path / "h.png", floors=FLOORS)  # fmt: skip
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(UserError, match=r"empty\.csv is empty"):
        plot_generator_quality_curve(curve_csv=tmp_path / "empty.csv",
                                     out_png=tmp_path / "e.png", floors=FLOORS)  # fmt: skip
    with pytest.raises(UserError, match="floors lack max_digit_share"):
        plot_generator_quality_curve(curve_csv=tmp_path / "m.csv", out_png=tmp_path / "f.png",
                                     floors={k: v for k, v in FLOORS.items()
                                             if k != "max_digit_share"})  # fmt: skip
    assert not list(tmp_path.glob("*.png"))
