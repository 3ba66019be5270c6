"""Figures and listening files of the audio chapter: Figure 3.1 (a 1-second waveform),
waveform + spectrogram of targets and each method's reconstructions, WAV files of both."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from ganinv.data.h5io import read_attrs, read_h5
from ganinv.data.wav import write_wav_sequence
from ganinv.metrics.audio import log_magnitude
from ganinv.plots import pyplot, save_figure
from ganinv.runtime import UserError

DEFAULT_RATE = 16000


def _sample_rate(path: str | os.PathLike) -> int:
    return int(read_attrs(path).get("sample_rate", DEFAULT_RATE))


def plot_waveform_figure(
    audio_h5: str | os.PathLike, out_png: str | os.PathLike, index: int = 0
) -> None:
    """Thesis Figure 3.1: one clip's waveform against time in seconds (16 kHz)."""
    arrays, _ = read_h5(audio_h5, ["audio"])
    if not 0 <= index < len(arrays["audio"]):
        raise UserError(f"{audio_h5} has {len(arrays['audio'])} clips; no clip {index}")
    clip = arrays["audio"][index, 0]
    rate = _sample_rate(audio_h5)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.plot(np.arange(len(clip)) / rate, clip, linewidth=0.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    ax.set_xlim(0, len(clip) / rate)
    ax.set_title(f"A {len(clip) / rate:.3f}-second audio waveform sampled at {rate / 1000:g} kHz")
    fig.tight_layout()
    save_figure(fig, out_png)


def _clips(targets_h5, inversions: Mapping[str, str | os.PathLike], n_clips: int):
    columns = {"target": read_h5(targets_h5, ["audio"])[0]["audio"][:n_clips]}
    for method, path in inversions.items():
        columns[method] = read_h5(path, ["reconstructions"])[0]["reconstructions"][:n_clips]
    return columns


def plot_audio_reconstructions(
    targets_h5: str | os.PathLike,
    inversions: Mapping[str, str | os.PathLike],
    out_png: str | os.PathLike,
    title: str,
    n_clips: int = 4,
) -> None:
    """Columns: target, then each method; per clip a waveform row and a spectrogram row."""
    import torch

    columns = _clips(targets_h5, inversions, n_clips)
    n = len(columns["target"])
    rate = _sample_rate(targets_h5)
    plt = pyplot()
    fig, axes = plt.subplots(2 * n, len(columns), figsize=(2.6 * len(columns), 1.6 * 2 * n),
                             squeeze=False)  # fmt: skip
    for c, (name, audio) in enumerate(columns.items()):
        spectra = log_magnitude(torch.from_numpy(audio)).numpy()
        for i in range(n):
            wave_ax, spec_ax = axes[2 * i][c], axes[2 * i + 1][c]
            wave_ax.plot(np.arange(audio.shape[-1]) / rate, audio[i, 0], linewidth=0.4)
            wave_ax.set_ylim(-1, 1)
            wave_ax.set_xticks([])
            spec_ax.imshow(spectra[i], origin="lower", aspect="auto", cmap="magma",
                           extent=(0, audio.shape[-1] / rate, 0, rate / 2000))  # fmt: skip
            if i == 0:
                wave_ax.set_title(name, fontsize=9)
            if c == 0:
                wave_ax.set_ylabel(f"clip {i}", fontsize=8)
                spec_ax.set_ylabel("kHz", fontsize=8)
            else:
                wave_ax.set_yticks([])
                spec_ax.set_yticks([])
            if i == n - 1:
                spec_ax.set_xlabel("time (s)", fontsize=8)
            else:
                spec_ax.set_xticks([])
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, out_png)


def write_listening_files(
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
