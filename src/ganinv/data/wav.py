"""WAV files: atomic 16-bit PCM writes, listenable sequences of clips, and reads with clear errors.

Samples are float in [-1, 1]. Writing maps ``x`` to ``round(x * 32768)`` clipped to the int16
range and reading divides by 32768 (soundfile's convention), so a round trip is exact to within
half a quantisation step (one step at +1.0, which int16 cannot hold).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile

from ganinv.atomic import atomic_path
from ganinv.runtime import UserError

__all__ = ["read_wav", "to_pcm16", "write_wav", "write_wav_sequence"]

_PCM_SCALE = 32768.0


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """Float samples (clipped to [-1, 1]) as int16 PCM."""
    scaled = np.round(np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0) * _PCM_SCALE)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def _mono(audio: np.ndarray) -> np.ndarray:
    array = np.asarray(audio)
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 1:
        raise ValueError(f"expected audio of shape [T] or [1, T], got {array.shape}")
    return array


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = 16000) -> None:
    """Write mono float audio ``[T]`` or ``[1, T]`` as a 16-bit PCM WAV file, atomically.

    Values outside [-1, 1] are clipped.
    """
    pcm = to_pcm16(_mono(audio))
    with atomic_path(path, suffix=".wav") as tmp:
        soundfile.write(tmp, pcm, int(sample_rate), subtype="PCM_16", format="WAV")


def write_wav_sequence(
    path: str | os.PathLike, clips: np.ndarray, sample_rate: int, gap_seconds: float = 0.25
) -> None:
    """Write clips ``[N, 1, T]`` (or ``[N, T]``) one after another, ``gap_seconds`` of silence
    between them, as one WAV file a person can listen to."""
    array = np.asarray(clips)
    if array.ndim == 3 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(f"expected clips of shape [N, 1, T] with N > 0, got {np.shape(clips)}")
    gap = np.zeros(int(round(gap_seconds * sample_rate)), dtype=np.float32)
    pieces: list[np.ndarray] = []
    for index, clip in enumerate(array):
        if index:
            pieces.append(gap)
        pieces.append(clip.astype(np.float32))
    write_wav(path, np.concatenate(pieces), sample_rate)


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file: float32 samples ``[channels, T]`` in [-1, 1] and the sample rate."""
    if not Path(path).is_file():
        raise UserError(f"audio file not found: {path}")
    try:
        data, sample_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.SoundFileError) as exc:
        raise UserError(
            f"cannot read audio file {path}: {exc} (the file is not a readable WAV/FLAC/OGG "
            "file, or it is truncated; replace or remove it)"
        ) from None
    return np.ascontiguousarray(data.T), int(sample_rate)
