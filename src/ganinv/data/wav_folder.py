"""Spoken digits from a folder of WAV files (the paper preset's SC09 source).

Recognised names (the digit word in any case, e.g. ``Eight`` or ``eight``):

- SC09: ``<Word>_<speaker hash>_nohash_<k>.wav``, e.g. ``Eight_0a2b400e_nohash_0.wav``;
- free-spoken-digit-dataset: ``<digit number>_<speaker>_<k>.wav``, e.g. ``7_jackson_12.wav``;
- Speech Commands layout: ``<word>/<anything>.wav``, e.g. ``eight/0a2b400e_nohash_0.wav``
  (the speaker hash is taken from the name when it has one).

Files are written in the same HDF5 layout as the espeak-ng renderer (``ganinv.data.speech``).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from ganinv.data.h5io import base_provenance
from ganinv.data.speech import DIGITS, write_speech_h5
from ganinv.data.wav import read_wav
from ganinv.runtime import UserError, params_hash

__all__ = ["LAYOUTS", "WavFile", "read_wav_folder", "scan_wav_folder", "write_wav_clips"]

log = logging.getLogger(__name__)

LAYOUTS = (
    "SC09 '<Word>_<speaker>_nohash_<k>.wav' (e.g. Eight_0a2b400e_nohash_0.wav), "
    "free-spoken-digit '<digit>_<speaker>_<k>.wav' (e.g. 7_jackson_12.wav), "
    "Speech Commands '<word>/<anything>.wav' (e.g. eight/0a2b400e_nohash_0.wav)"
)
_WORD = {word: label for label, word in enumerate(DIGITS)}
_SC09 = re.compile(r"^(?P<word>[A-Za-z]+)_(?P<speaker>[0-9A-Za-z]+)_nohash_\d+$")
_FSDD = re.compile(r"^(?P<digit>\d)_(?P<speaker>[A-Za-z0-9-]+)_\d+$")
_HASH = re.compile(r"^(?P<speaker>[0-9A-Za-z]+)_nohash_\d+$")


@dataclass(frozen=True)
class WavFile:
    """A recognised file: its path, digit label and speaker name ("" when unknown)."""

    path: Path
    label: int
    speaker: str


def _recognise(path: Path) -> WavFile | None:
    """Label (and speaker) from the file name, or from its folder's name; None if neither."""
    stem = path.stem
    match = _SC09.match(stem)
    if match and match["word"].lower() in _WORD:
        return WavFile(path, _WORD[match["word"].lower()], match["speaker"])
    match = _FSDD.match(stem)
    if match:
        return WavFile(path, int(match["digit"]), match["speaker"])
    folder = path.parent.name.lower()
    if folder in _WORD:
        match = _HASH.match(stem)
        return WavFile(path, _WORD[folder], match["speaker"] if match else "")
    return None


def _scan(folder: str | os.PathLike) -> list[WavFile]:
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"audio folder not found: {root} (set the SC09 folder in the config)")
    paths = sorted(
        (p for p in root.rglob("*") if p.suffix.lower() == ".wav" and p.is_file()),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    found: list[WavFile] = []
    skipped: list[Path] = []
    for path in paths:
        item = _recognise(path)
        if item is None:
            skipped.append(path)
        else:
            found.append(item)
    if skipped:
        examples = ", ".join(p.relative_to(root).as_posix() for p in skipped[:3])
        log.warning(
            "skipped %d .wav file(s) in %s whose name gives no digit (e.g. %s); accepted: %s",
            len(skipped),
            root,
            examples,
            LAYOUTS,
        )
    if not found:
        raise UserError(
            f"no spoken-digit WAV files found in {root}: name them as {LAYOUTS}, "
            "or point the config at the folder that holds them"
        )
    return found


def scan_wav_folder(folder: str | os.PathLike) -> list[tuple[Path, int]]:
    """The recognised ``(path, digit label)`` pairs under ``folder``, sorted by relative path."""
    return [(item.path, item.label) for item in _scan(folder)]


def _subset(files: list[WavFile], max_files: int | None) -> list[WavFile]:
    """At most ``max_files`` files, taken round-robin over the digits (balanced), in scan order."""
    if max_files is None or max_files >= len(files):
        return files
    if max_files < 1:
        raise UserError(f"max_files must be >= 1 (or null for all files), got {max_files}")
    per_label: dict[int, list[int]] = {}
    for index, item in enumerate(files):
        per_label.setdefault(item.label, []).append(index)
    chosen: list[int] = []
    depth = 0
    while len(chosen) < max_files:
        for label in sorted(per_label):
            if depth < len(per_label[label]) and len(chosen) < max_files:
                chosen.append(per_label[label][depth])
        depth += 1
    return [files[i] for i in sorted(chosen)]


def _fit(audio: np.ndarray, clip_samples: int) -> np.ndarray:
    """Centre-pad with zeros or centre-crop to ``clip_samples``."""
    if len(audio) >= clip_samples:
        start = (len(audio) - clip_samples) // 2
        return audio[start : start + clip_samples]
    out = np.zeros(clip_samples, dtype=audio.dtype)
    start = (clip_samples - len(audio)) // 2
    out[start : start + len(audio)] = audio
    return out


class _Loader:
    """Turns files into fixed-length mono clips, counting what it had to change."""

    def __init__(self, sample_rate: int, clip_samples: int, peak: float | None):
        self.sample_rate = sample_rate
        self.clip_samples = clip_samples
        self.peak = peak
        self.resampled = 0
        self.cropped = 0
        self.silent = 0

    def load(self, path: Path) -> np.ndarray:
        audio, rate = read_wav(path)
        mono = audio.astype(np.float64).mean(axis=0)
        if rate != self.sample_rate:
            if self.resampled == 0:
                log.info("resampling %s from %d Hz to %d Hz", path.name, rate, self.sample_rate)
            self.resampled += 1
            divisor = gcd(self.sample_rate, rate)
            mono = resample_poly(mono, self.sample_rate // divisor, rate // divisor)
        if len(mono) > self.clip_samples:
            self.cropped += 1
        clip = _fit(mono, self.clip_samples)
        if self.peak is not None:
            top = np.abs(clip).max() if clip.size else 0.0
            if top > 0:
                clip = clip * (self.peak / top)
            else:
                self.silent += 1
        return np.clip(clip, -1.0, 1.0).astype(np.float32)


def write_wav_clips(
    *,
    files: list[WavFile],
    out_h5: str | os.PathLike,
    attrs: dict[str, Any],
    sample_rate: int = 16000,
    clip_samples: int = 16384,
    peak: float | None = None,
    speaker_names: list[str] | None = None,
    desc: str = "read wav",
) -> dict[str, int]:
    """Write ``files`` (in this order) to the speech HDF5 layout; the clip pipeline of this module.

    Each file is mixed to mono, resampled to ``sample_rate`` if needed
    (``scipy.signal.resample_poly``, polyphase), centre-padded or centre-cropped to
    ``clip_samples``, optionally scaled to an absolute peak of ``peak``, and clipped to [-1, 1].
    ``voice`` holds the file stem, ``speaker`` the index of the speaker name in ``speaker_names``
    (default: the files' names, sorted; -1 for a file without one), ``pitch``/``speed`` are -1.
    ``attrs`` must hold ``clip_samples``. Returns ``{"n", "resampled", "cropped", "silent"}``.
    """
    if peak is not None and not 0.0 < peak <= 1.0:
        raise UserError(f"peak must be in (0, 1] or null, got {peak}")
    names = (
        sorted({item.speaker for item in files if item.speaker})
        if speaker_names is None
        else list(speaker_names)
    )
    index = {name: i for i, name in enumerate(names)}
    loader = _Loader(int(sample_rate), int(clip_samples), peak)
    n = len(files)
    write_speech_h5(
        out_h5,
        n,
        (loader.load(item.path) for item in files),
        labels=np.array([item.label for item in files]),
        speakers=np.array([index.get(item.speaker, -1) for item in files]),
        pitch=np.full(n, -1),
        speed=np.full(n, -1),
        voices=[item.path.stem for item in files],
        attrs=attrs,
        desc=desc,
    )
    if loader.resampled:
        log.info("resampled %d of %d files to %d Hz", loader.resampled, n, sample_rate)
    if loader.cropped:
        log.info(
            "centre-cropped %d of %d files longer than %d samples (%.3f s)",
            loader.cropped,
            n,
            clip_samples,
            clip_samples / sample_rate,
        )
    if loader.silent:
        log.warning("%d of %d files are silent (left as zeros)", loader.silent, n)
    return {
        "n": n,
        "resampled": loader.resampled,
        "cropped": loader.cropped,
        "silent": loader.silent,
    }


def read_wav_folder(
    folder: str | os.PathLike,
    out_h5: str | os.PathLike,
    sample_rate: int = 16000,
    clip_samples: int = 16384,
    max_files: int | None = None,
    peak: float | None = None,
) -> dict[str, int]:
    """Read a folder of spoken-digit WAV files into the speech HDF5 layout.

    Each file goes through :func:`write_wav_clips` (mono, resampled to ``sample_rate``, padded or
    cropped to ``clip_samples``, optional peak). ``max_files`` keeps a digit-balanced subset.
    ``speaker`` is the index of the speaker name in sorted order (-1 when the name has none).
    Returns ``{"n", "resampled"}``.
    """
    if peak is not None and not 0.0 < peak <= 1.0:
        raise UserError(f"peak must be in (0, 1] or null, got {peak}")
    files = _subset(_scan(folder), max_files)
    speakers = len({item.speaker for item in files if item.speaker})
    params = {
        "folder": str(Path(folder).resolve()),
        "sample_rate": sample_rate,
        "clip_samples": clip_samples,
        "max_files": max_files,
        "peak": peak,
    }
    attrs = base_provenance(
        kind="speech-folder",
        split="folder",
        source=params["folder"],
        sample_rate=int(sample_rate),
        clip_samples=int(clip_samples),
        digits=list(DIGITS),
        n=len(files),
        max_files=max_files,
        peak=peak,
        speakers=speakers,
        config_hash=params_hash(params),
    )
    summary = write_wav_clips(
        files=files,
        out_h5=out_h5,
        attrs=attrs,
        sample_rate=sample_rate,
        clip_samples=clip_samples,
        peak=peak,
    )
    log.info("read %d clips (%d speakers) from %s", summary["n"], speakers, folder)
    return {"n": summary["n"], "resampled": summary["resampled"]}
