"""Figures and listening files of the audio chapter: Figure 3.1 (a 1-second waveform and its
spectrogram), waveform + spectrogram of targets and each method's reconstructions, WAV files of
both, and the WaveGAN's quality curve during training.

Spectrograms are :func:`ganinv.metrics.audio.log_magnitude`, the metrics' own dB (0 dB: a
full-scale sinusoid, floored at :data:`~ganinv.metrics.audio.FLOOR_DB`), drawn on one fixed colour
scale, :data:`~ganinv.metrics.audio.SSIM_DB_RANGE` (every level a clip in [-1, 1] can reach), so
that the panels of a figure, and of different figures, compare. Waveforms are drawn in full scale,
y from -1 to 1. The plotting functions save atomically and return the (closed) Figure.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ganinv.data.h5io import read_attrs, read_h5
from ganinv.data.wav import write_wav_sequence
from ganinv.metrics.audio import SSIM_DB_RANGE, log_magnitude
from ganinv.metrics.audio_quality import QUALITY_CURVE_COLUMNS
from ganinv.plots import pyplot, save_figure
from ganinv.runtime import UserError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

DEFAULT_RATE = 16000
# The STFT of the spectrogram panels: log_magnitude's defaults, the one the metrics use.
SPECTROGRAM_N_FFT = 256
SPECTROGRAM_HOP = 128
LEVEL_RANGE_DB = SSIM_DB_RANGE
LEVEL_LABEL = "level (dB re full-scale sine)"
SPECTROGRAM_CMAP = "magma"
QUALITY_FLOOR_KEYS = ("inception_ratio", "digits_read", "max_digit_share", "diversity_ratio")


def _sample_rate(path: str | os.PathLike) -> int:
    return int(read_attrs(path).get("sample_rate", DEFAULT_RATE))


def _spectra(audio: np.ndarray) -> np.ndarray:
    """log_magnitude of clips [N, 1, T] in dB, [N, frequency bins, frames]."""
    import torch  # ~2 s to import: only the spectrogram figures pay it

    clips = torch.as_tensor(np.asarray(audio))
    return log_magnitude(clips, SPECTROGRAM_N_FFT, SPECTROGRAM_HOP).numpy()


def _waveform_panel(ax: Axes, clip: np.ndarray, rate: int, linewidth: float = 0.5) -> None:
    ax.plot(np.arange(len(clip)) / rate, clip, linewidth=linewidth)
    ax.set_xlim(0, len(clip) / rate)
    ax.set_ylim(-1, 1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")


def _spectrogram_panel(ax: Axes, spectrum: np.ndarray, n_samples: int, rate: int) -> AxesImage:
    """One clip's dB spectrogram [bins, frames]; pixels centred on their bin and frame time."""
    bins, frames = spectrum.shape
    frame_s = SPECTROGRAM_HOP / rate  # centre=True: frame k is centred at k * hop
    bin_khz = rate / SPECTROGRAM_N_FFT / 1000
    low, high = LEVEL_RANGE_DB
    image = ax.imshow(
        spectrum,
        origin="lower",
        aspect="auto",
        cmap=SPECTROGRAM_CMAP,
        vmin=low,
        vmax=high,
        interpolation="nearest",
        extent=(-frame_s / 2, (frames - 0.5) * frame_s, -bin_khz / 2, (bins - 0.5) * bin_khz),
    )
    ax.set_xlim(0, n_samples / rate)
    ax.set_ylim(0, rate / 2000)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    return image


def _level_colorbar(fig: Figure, image: AxesImage, **where) -> None:
    bar = fig.colorbar(image, **where)
    bar.set_label(LEVEL_LABEL)


def _stft_description(rate: int) -> str:
    return (
        f"Hann window {SPECTROGRAM_N_FFT} samples ({1000 * SPECTROGRAM_N_FFT / rate:g} ms), "
        f"hop {SPECTROGRAM_HOP}"
    )


def plot_waveform_figure(
    *, audio_h5: str | os.PathLike, out_png: str | os.PathLike, index: int = 0
) -> Figure:
    """Thesis Figure 3.1: one clip's waveform against time in seconds, and its spectrogram."""
    arrays, _ = read_h5(audio_h5, ["audio"])
    if not 0 <= index < len(arrays["audio"]):
        raise UserError(f"{audio_h5} has {len(arrays['audio'])} clips; no clip {index}")
    clips = arrays["audio"][index : index + 1]
    clip = clips[0, 0]
    rate = _sample_rate(audio_h5)
    plt = pyplot()
    fig, axes = plt.subplots(
        2, 2, figsize=(8.6, 5.2), width_ratios=[1, 0.025], layout="constrained", squeeze=False
    )
    wave_ax, spec_ax = axes[0, 0], axes[1, 0]
    axes[0, 1].set_axis_off()
    _waveform_panel(wave_ax, clip, rate)
    wave_ax.set_title(
        f"A {len(clip) / rate:.3f}-second audio waveform sampled at {rate / 1000:g} kHz"
    )
    image = _spectrogram_panel(spec_ax, _spectra(clips)[0], len(clip), rate)
    spec_ax.set_title(f"Its spectrogram ({_stft_description(rate)})", fontsize=10)
    _level_colorbar(fig, image, cax=axes[1, 1])
    save_figure(fig, out_png)
    return fig


def _clips(targets_h5, inversions: Mapping[str, str | os.PathLike], n_clips: int):
    columns = {"target": read_h5(targets_h5, ["audio"])[0]["audio"][:n_clips]}
    for method, path in inversions.items():
        columns[method] = read_h5(path, ["reconstructions"])[0]["reconstructions"][:n_clips]
    return columns


def plot_audio_reconstructions(
    *,
    targets_h5: str | os.PathLike,
    inversions: Mapping[str, str | os.PathLike],
    out_png: str | os.PathLike,
    title: str,
    n_clips: int = 4,
) -> Figure:
    """Columns: target, then each method; per clip a waveform row and a spectrogram row.

    All spectrograms share one colour scale (:data:`LEVEL_RANGE_DB`) and one colour bar.
    """
    columns = _clips(targets_h5, inversions, n_clips)
    n = len(columns["target"])
    rate = _sample_rate(targets_h5)
    plt = pyplot()
    fig, axes = plt.subplots(
        2 * n,
        len(columns),
        figsize=(2.7 * len(columns) + 1.0, 1.75 * 2 * n + 0.6),
        squeeze=False,
        layout="constrained",
    )
    image = None
    for c, (name, audio) in enumerate(columns.items()):
        spectra = _spectra(audio)
        for i in range(n):
            wave_ax, spec_ax = axes[2 * i][c], axes[2 * i + 1][c]
            _waveform_panel(wave_ax, audio[i, 0], rate, linewidth=0.4)
            image = _spectrogram_panel(spec_ax, spectra[i], audio.shape[-1], rate)
            if i == 0:
                wave_ax.set_title(name, fontsize=9)
            if c == 0:
                wave_ax.set_ylabel(f"clip {i}\namplitude")
            else:  # same scales as column 0: its labels serve the row
                wave_ax.set_ylabel("")
                spec_ax.set_ylabel("")
                wave_ax.tick_params(labelleft=False)
                spec_ax.tick_params(labelleft=False)
            for ax in (wave_ax, spec_ax):
                ax.xaxis.label.set_fontsize(7)
                ax.yaxis.label.set_fontsize(7)
                ax.tick_params(labelsize=6)
    _level_colorbar(fig, image, ax=axes, shrink=0.5, aspect=40)
    fig.suptitle(f"{title}\nspectrograms: {_stft_description(rate)}", fontsize=10)
    save_figure(fig, out_png)
    return fig


def write_listening_files(
    *,
    targets_h5: str | os.PathLike,
    inversions: Mapping[str, str | os.PathLike],
    out_wavs: Sequence[str | os.PathLike],
    n_clips: int,
) -> None:
    """One WAV per column (targets first, then each method): the first clips, 0.25 s apart."""
    columns = _clips(targets_h5, inversions, n_clips)
    if len(out_wavs) != len(columns):
        raise UserError(f"{len(columns)} listening files to write, {len(out_wavs)} paths given")
    rate = _sample_rate(targets_h5)
    for path, audio in zip(out_wavs, columns.values(), strict=True):
        write_wav_sequence(path, audio, rate)


def _read_quality_curve(curve_csv: str | os.PathLike):
    import pandas as pd  # ~0.3 s: only the quality-curve figure reads a CSV

    try:
        frame = pd.read_csv(curve_csv)
    except FileNotFoundError:
        raise UserError(f"quality curve {curve_csv} does not exist") from None
    except pd.errors.EmptyDataError:
        raise UserError(
            f"quality curve {curve_csv} is empty: no header, no evaluation rows"
        ) from None
    missing = [column for column in QUALITY_CURVE_COLUMNS if column not in frame.columns]
    if missing:
        raise UserError(
            f"quality curve {curve_csv} lacks the column(s) {', '.join(missing)} (it has "
            f"{', '.join(map(str, frame.columns))}); it was made by another version: rerun the "
            "rule that makes it"
        )
    if frame.empty:
        raise UserError(
            f"quality curve {curve_csv} has no rows: no quality evaluation during training"
        )
    return frame.sort_values("step", kind="stable")


def _seconds_axis(ax: Axes, steps: np.ndarray, seconds: np.ndarray) -> None:
    """A top axis giving training time, where steps and seconds both increase (2+ rows)."""
    if len(steps) < 2 or not np.all(np.isfinite(seconds)):
        return
    if np.any(np.diff(steps) <= 0) or np.any(np.diff(seconds) <= 0):
        return
    unit, scale = _time_unit(float(seconds[-1]))
    time = seconds / scale

    def interp(x, xp, fp):  # piecewise linear, extended linearly past both ends
        x = np.asarray(x, dtype=float)
        y = np.interp(x, xp, fp)
        y = np.where(x < xp[0], fp[0] + (x - xp[0]) * (fp[1] - fp[0]) / (xp[1] - xp[0]), y)
        return np.where(
            x > xp[-1], fp[-1] + (x - xp[-1]) * (fp[-1] - fp[-2]) / (xp[-1] - xp[-2]), y
        )

    top = ax.secondary_xaxis(
        "top", functions=(lambda s: interp(s, steps, time), lambda t: interp(t, time, steps))
    )
    top.set_xlabel(f"training time ({unit})", fontsize=8)
    top.tick_params(labelsize=7)


def _floor_line(ax: Axes, value: float, color: str, text: str) -> None:
    ax.axhline(value, color=color, linestyle="--", linewidth=1.0, label=text)
    ax.text(
        0.99, value, text, transform=ax.get_yaxis_transform(), ha="right", va="bottom",
        color=color, fontsize=8,
    )  # fmt: skip


def plot_generator_quality_curve(
    *,
    curve_csv: str | os.PathLike,
    out_png: str | os.PathLike,
    floors: Mapping[str, float],
    title: str | None = None,
) -> Figure:
    """The audio GAN's quality during training, three panels against the training step.

    ``curve_csv``: one row per evaluation, :data:`QUALITY_CURVE_COLUMNS`. Panels: (1) Inception
    Score generated / real, (2) digits the evaluator reads (0..10) with the share of the most-read
    digit on a twin axis, (3) STFT diversity generated / real; each with its quality floor (from
    ``floors``, keys :data:`QUALITY_FLOOR_KEYS`; others are ignored) dashed: ratios and
    ``digits_read`` are minimums, ``max_digit_share`` a maximum (its line says "ceiling").
    """
    missing = [key for key in QUALITY_FLOOR_KEYS if key not in floors]
    if missing:
        raise UserError(f"quality curve figure: floors lack {', '.join(missing)}")
    frame = _read_quality_curve(curve_csv)
    steps = frame["step"].to_numpy(dtype=float)
    seconds = frame["seconds"].to_numpy(dtype=float)
    plt = pyplot()
    fig, (ax_is, ax_digits, ax_div) = plt.subplots(
        1, 3, figsize=(14, 4.4), layout="constrained", squeeze=True
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    blue, orange = colors[0], colors[1]

    def ratio_panel(ax: Axes, column: str, ylabel: str, panel_title: str) -> None:
        values = frame[column].to_numpy(dtype=float)
        floor = float(floors[column])
        ax.plot(steps, values, marker="o", markersize=3, color=blue, label=column)
        ax.axhline(1.0, color="grey", linestyle=":", linewidth=0.8)
        _floor_line(ax, floor, "tab:red", f"floor {floor:g}")
        finite = values[np.isfinite(values)]
        top = max([1.1, 1.15 * floor, *(1.05 * finite)])
        ax.set_ylim(0, top)
        ax.set_ylabel(ylabel)
        ax.set_title(panel_title, fontsize=10)

    ratio_panel(ax_is, "inception_ratio", "Inception Score, generated / real clips",
                "(1) Inception Score ratio (dotted: real)")  # fmt: skip
    ratio_panel(ax_div, "diversity_ratio", "STFT diversity, generated / real clips",
                "(3) STFT diversity ratio (dotted: real)")  # fmt: skip

    digits_floor = float(floors["digits_read"])
    share_ceiling = float(floors["max_digit_share"])
    ax_digits.plot(steps, frame["digits_read"].to_numpy(dtype=float), marker="o", markersize=3,
                   color=blue, label="digits read")  # fmt: skip
    _floor_line(ax_digits, digits_floor, blue, f"floor {digits_floor:g} digits")
    ax_digits.set_ylim(-0.3, 10.3)
    ax_digits.set_yticks(range(11))
    ax_digits.set_ylabel("digits read (of 10)")
    ax_share = ax_digits.twinx()
    ax_share.plot(steps, frame["max_digit_share"].to_numpy(dtype=float), marker="s",
                  markersize=3, color=orange, label="share of the most-read digit")  # fmt: skip
    _floor_line(ax_share, share_ceiling, orange, f"ceiling {share_ceiling:g} share")
    ax_share.set_ylim(-0.03, 1.03)
    ax_share.set_ylabel("share of clips read as the most-read digit")
    handles = [*ax_digits.get_lines(), *ax_share.get_lines()]
    ax_digits.legend(handles, [h.get_label() for h in handles], fontsize=7, loc="center left")
    ax_digits.set_title("(2) Digits the evaluator reads, and the top digit's share", fontsize=10)

    from matplotlib.ticker import MaxNLocator  # matplotlib loads in plots.pyplot(), not at import

    for ax in (ax_is, ax_digits, ax_div):
        ax.set_xlabel("training step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(steps) == 1:  # one evaluation: a readable range around it
            ax.set_xlim(steps[0] - 1 - 0.1 * abs(steps[0]), steps[0] + 1 + 0.1 * abs(steps[0]))
        _seconds_axis(ax, steps, seconds)
    last = frame.iloc[-1]
    when = f"last evaluation: step {int(last['step'])}, {_duration(float(last['seconds']))}"
    fig.suptitle(f"{title}\n{when}" if title else when, fontsize=11)
    save_figure(fig, out_png)
    return fig


def _time_unit(seconds: float) -> tuple[str, float]:
    """The unit training time is shown in: hours past 2 h, minutes past 2 min, else seconds."""
    if seconds >= 7200:
        return "h", 3600.0
    if seconds >= 120:
        return "min", 60.0
    return "s", 1.0


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "time unknown"
    unit, scale = _time_unit(seconds)
    return f"{seconds / scale:.{0 if unit == 's' else 1}f} {unit} of training"
