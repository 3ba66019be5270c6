"""Offline spoken digits rendered with espeak-ng: the embedded stand-in for SC09.

A *speaker* is an espeak-ng English base voice combined with one of its ``+variant`` voices
(m1..m8, f1..f5, whisper, croak...). Speakers are split once, with a seeded permutation, into
training speakers (the GAN's data, split "train") and held-out speakers, whose clips play the
thesis's "real audio" that the GAN never saw (splits "real_train" and "real_test").

Each clip's pitch and speed come from an RNG keyed by (seed, split, speaker, digit, k), so a clip
does not depend on how many others are planned. espeak-ng writes 22.05 kHz mono 16-bit; the clip
is resampled to 16 kHz, trimmed of leading/trailing silence, centred in 16384 samples (1.024 s,
WaveGAN's length) and scaled to a fixed peak. The same command gives byte-identical output, so
renders are bit-for-bit repeatable whatever the number of worker processes.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from scipy.signal import resample_poly

from ganinv.data.h5io import H5Writer, base_provenance
from ganinv.progress import progress
from ganinv.runtime import UserError, derive_seed, params_hash

__all__ = [
    "BASE_VOICES",
    "CLIP_SAMPLES",
    "DIGITS",
    "ESPEAK_RATE",
    "PITCH_RANGE",
    "SAMPLE_RATE",
    "SPEED_RANGE",
    "SPLITS",
    "ClipSpec",
    "available_speakers",
    "espeak_data_dir",
    "espeak_version",
    "plan_speech_split",
    "render_clip",
    "render_speech_split",
    "require_espeak",
    "write_speech_h5",
]

log = logging.getLogger(__name__)

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SAMPLE_RATE = 16000
CLIP_SAMPLES = 16384
ESPEAK_RATE = 22050
# English base voices that pronounce the digits clearly (espeak-ng voice names).
BASE_VOICES = (
    "en",
    "en-029",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-gb-x-rp",
    "en-us",
    "en-us-nyc",
)
PITCH_RANGE = (0, 99)  # espeak-ng -p, inclusive
SPEED_RANGE = (130, 230)  # espeak-ng -s (words per minute), inclusive; below 130 a few
# variants stretch "zero" or "seven" past 1.024 s and the clip would cut the word
SPLITS = ("train", "real_train", "real_test")
VOICE_BYTES = 32  # width of the fixed-length "voice" dataset
SILENCE_THRESHOLD = 0.01  # trimming threshold, relative to the clip's peak
_UP, _DOWN = 320, 441  # 22050 Hz * 320 / 441 = 16000 Hz
_ESPEAK_TIMEOUT_S = 60

_MISSING_ESPEAK = (
    "espeak-ng not found on PATH: the audio chapter renders its spoken digits with it; install "
    "it with `apt-get install espeak-ng` (Debian/Ubuntu) or `brew install espeak-ng`, "
    "or run `make setup`"
)


def require_espeak() -> str:
    """The path of the espeak-ng executable; UserError saying how to install it if missing."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise UserError(_MISSING_ESPEAK)
    return path


def _espeak_banner() -> str:
    result = subprocess.run(
        [require_espeak(), "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=_ESPEAK_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise UserError(
            f"`espeak-ng --version` failed (exit {result.returncode}): {result.stderr.strip()} "
            "(reinstall espeak-ng)"
        )
    return result.stdout


def espeak_version() -> str:
    """The installed espeak-ng version, e.g. ``"1.51"`` (recorded as provenance)."""
    banner = _espeak_banner()
    match = re.search(r"text-to-speech:\s*(\S+)", banner)
    return match.group(1) if match else banner.split("Data at:")[0].strip()


def espeak_data_dir() -> Path:
    """The espeak-ng data folder (``espeak-ng --version`` prints "Data at: ...")."""
    banner = _espeak_banner()
    match = re.search(r"Data at:\s*(.+)", banner)
    if match is None or not Path(match.group(1).strip()).is_dir():
        raise UserError(
            f"cannot find the espeak-ng data folder from `espeak-ng --version` ({banner.strip()}); "
            "reinstall espeak-ng (Debian: `apt-get install espeak-ng espeak-ng-data`)"
        )
    return Path(match.group(1).strip())


def _installed_base_voices(data_dir: Path) -> list[str]:
    """BASE_VOICES whose voice file exists under ``<data>/lang`` (file names are mixed case)."""
    files = {p.name.lower() for p in (data_dir / "lang").rglob("*") if p.is_file()}
    return [voice for voice in BASE_VOICES if voice in files]


def available_speakers() -> list[tuple[str, str]]:
    """(base voice, variant) pairs of the installed espeak-ng, sorted.

    Only base voices of ``BASE_VOICES`` that are installed, and only variants with a file in
    ``<data>/voices/!v`` (espeak-ng silently ignores an unknown variant).
    """
    data_dir = espeak_data_dir()
    variant_dir = data_dir / "voices" / "!v"
    variants = (
        sorted(p.name for p in variant_dir.iterdir() if p.is_file()) if variant_dir.is_dir() else []
    )
    bases = _installed_base_voices(data_dir)
    speakers = sorted((base, variant) for base in bases for variant in variants)
    if not speakers:
        raise UserError(
            f"espeak-ng at {data_dir} has no English voices with variants "
            f"(looked for {BASE_VOICES} "
            f"and {variant_dir}); install the full data (`apt-get install espeak-ng-data`)"
        )
    return speakers


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines one rendered clip."""

    label: int  # digit 0-9
    word: str  # DIGITS[label]
    voice: str  # espeak-ng base voice, e.g. "en-us"
    variant: str  # espeak-ng variant, e.g. "f3"
    speaker: int  # index into available_speakers()
    pitch: int  # espeak-ng -p (0..99)
    speed: int  # espeak-ng -s (words per minute)

    @property
    def voice_name(self) -> str:
        """The espeak-ng ``-v`` argument, ``base+variant``."""
        return f"{self.voice}+{self.variant}"

    def describe(self) -> str:
        """A short human-readable name of the clip for messages."""
        return f"'{self.word}' by {self.voice_name} (pitch {self.pitch}, speed {self.speed})"


def _split_speakers(
    speakers: list[tuple[str, str]],
    split: str,
    seed: int,
    train_speakers: int,
    heldout_speakers: int,
) -> list[int]:
    """Indices of ``split``'s speakers: a seeded permutation, train first, held-out next."""
    if split not in SPLITS:
        raise UserError(f"unknown speech split '{split}': use one of {', '.join(SPLITS)}")
    if train_speakers < 1 or heldout_speakers < 0:
        raise UserError(
            f"speech speakers: need train_speakers >= 1 and heldout_speakers >= 0, got "
            f"{train_speakers} and {heldout_speakers}"
        )
    wanted = train_speakers + heldout_speakers
    if wanted > len(speakers):
        raise UserError(
            f"{train_speakers} training + {heldout_speakers} held-out speakers requested, but the "
            f"installed espeak-ng offers only {len(speakers)} (voice, variant) speakers; lower "
            "train_speakers/heldout_speakers in the config"
        )
    order = np.random.default_rng(derive_seed(seed, "speech-speakers")).permutation(len(speakers))
    chosen = order[:train_speakers] if split == "train" else order[train_speakers:wanted]
    return [int(i) for i in chosen]


def _clip_spec(
    seed: int, split: str, speakers: list[tuple[str, str]], speaker: int, label: int, k: int
) -> ClipSpec:
    voice, variant = speakers[speaker]
    rng = np.random.default_rng(
        derive_seed(seed, "speech-clip", split, f"{voice}+{variant}", label, k)
    )
    pitch = int(rng.integers(PITCH_RANGE[0], PITCH_RANGE[1] + 1))
    speed = int(rng.integers(SPEED_RANGE[0], SPEED_RANGE[1] + 1))
    return ClipSpec(label, DIGITS[label], voice, variant, speaker, pitch, speed)


def plan_speech_split(
    split: str, seed: int, train_speakers: int, heldout_speakers: int, clips_per_digit: int
) -> list[ClipSpec]:
    """The clips of one split, ordered by speaker, then digit, then k.

    "train" uses the first ``train_speakers`` of a seeded speaker permutation; "real_train" and
    "real_test" use the next ``heldout_speakers`` (the same speakers, different pitch/speed).
    """
    if clips_per_digit < 1:
        raise UserError(f"clips_per_digit must be >= 1, got {clips_per_digit}")
    speakers = available_speakers()
    chosen = _split_speakers(speakers, split, seed, train_speakers, heldout_speakers)
    return [
        _clip_spec(seed, split, speakers, speaker, label, k)
        for speaker in chosen
        for label in range(len(DIGITS))
        for k in range(clips_per_digit)
    ]


def _espeak_wav(spec: ClipSpec) -> tuple[np.ndarray, int]:
    """Run espeak-ng into a temporary WAV file and read it back (float64 mono)."""
    command = [
        require_espeak(),
        "-v",
        spec.voice_name,
        "-p",
        str(spec.pitch),
        "-s",
        str(spec.speed),
    ]
    with tempfile.TemporaryDirectory(prefix="ganinv-espeak-") as folder:
        wav = Path(folder) / "clip.wav"
        result = subprocess.run(
            [*command, "-w", str(wav), spec.word],
            capture_output=True,
            text=True,
            check=False,
            timeout=_ESPEAK_TIMEOUT_S,
        )
        if result.returncode != 0 or not wav.is_file():
            raise UserError(
                f"espeak-ng failed to render {spec.describe()} (exit {result.returncode}): "
                f"{result.stderr.strip()} (check the espeak-ng installation)"
            )
        data, rate = soundfile.read(wav, dtype="float64", always_2d=True)
    return data.mean(axis=1), int(rate)


def _to_16k(audio: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return audio
    if rate != ESPEAK_RATE:
        gcd = np.gcd(SAMPLE_RATE, rate)
        return resample_poly(audio, SAMPLE_RATE // gcd, rate // gcd)
    return resample_poly(audio, _UP, _DOWN)


def _centre(audio: np.ndarray, spec: ClipSpec) -> np.ndarray:
    """Trim silence (relative threshold) and centre the word in CLIP_SAMPLES samples."""
    loud = np.flatnonzero(np.abs(audio) > SILENCE_THRESHOLD * np.abs(audio).max())
    word = audio[loud[0] : loud[-1] + 1]
    if len(word) > CLIP_SAMPLES:
        log.debug(
            "%s lasts %.3f s, longer than a clip: keeping its centre",
            spec.describe(),
            len(word) / SAMPLE_RATE,
        )
        start = (len(word) - CLIP_SAMPLES) // 2
        return word[start : start + CLIP_SAMPLES]
    clip = np.zeros(CLIP_SAMPLES, dtype=np.float64)
    start = (CLIP_SAMPLES - len(word)) // 2
    clip[start : start + len(word)] = word
    return clip


def render_clip(spec: ClipSpec, peak: float = 0.9) -> np.ndarray:
    """Render one clip: float32 ``[CLIP_SAMPLES]`` at 16 kHz, word centred, ``max|x| == peak``."""
    if not 0.0 < peak <= 1.0:
        raise UserError(f"speech peak must be in (0, 1], got {peak}")
    raw, rate = _espeak_wav(spec)
    audio = _to_16k(raw, rate)
    if audio.size == 0 or not np.any(audio):
        raise UserError(
            f"espeak-ng rendered silence for {spec.describe()}; check the voice exists "
            "(`espeak-ng --voices=variant`) or drop it"
        )
    clip = _centre(audio, spec)
    clip = clip * (peak / np.abs(clip).max())
    return clip.astype(np.float32)


def _voice_bytes(name: str) -> bytes:
    return name.encode("utf-8")[:VOICE_BYTES]


def write_speech_h5(
    out_h5: str | os.PathLike,
    n: int,
    clips: Any,
    labels: np.ndarray,
    speakers: np.ndarray,
    pitch: np.ndarray,
    speed: np.ndarray,
    voices: list[str],
    attrs: dict[str, Any],
    desc: str,
) -> None:
    """Write the speech HDF5 layout, streaming ``n`` clips (an iterable of float32 [T]).

    Datasets: ``audio`` float32 [N, 1, T], ``label``/``speaker`` int64 [N], ``pitch``/``speed``
    int16 [N], ``voice`` S32 [N]. Shared by the espeak renderer and the WAV-folder reader.
    """
    clip_samples = int(attrs["clip_samples"])
    with H5Writer(out_h5, attrs) as writer:
        writer.create("audio", (n, 1, clip_samples), np.float32)
        writer.put("label", np.asarray(labels, dtype=np.int64))
        writer.put("speaker", np.asarray(speakers, dtype=np.int64))
        writer.put("pitch", np.asarray(pitch, dtype=np.int16))
        writer.put("speed", np.asarray(speed, dtype=np.int16))
        writer.put("voice", np.array([_voice_bytes(v) for v in voices], dtype=f"S{VOICE_BYTES}"))
        written = 0
        with progress(total=n, desc=desc) as bar:
            for clip in clips:
                writer.write("audio", written, np.asarray(clip, dtype=np.float32)[None, None, :])
                written += 1
                bar.update(1)
        if written != n:
            raise RuntimeError(f"expected {n} clips, got {written}")


def render_speech_split(
    out_h5: str | os.PathLike,
    split: str,
    seed: int,
    train_speakers: int,
    heldout_speakers: int,
    clips_per_digit: int,
    workers: int = 2,
    peak: float = 0.9,
) -> dict[str, float]:
    """Render one split (see ``plan_speech_split``) to HDF5 with ``workers`` processes.

    The file is byte-identical for the same arguments whatever ``workers`` is. Returns a summary
    ``{"n", "seconds", "clips_per_second"}``.
    """
    if not 0.0 < peak <= 1.0:
        raise UserError(f"speech peak must be in (0, 1], got {peak}")
    started = time.perf_counter()
    specs = plan_speech_split(split, seed, train_speakers, heldout_speakers, clips_per_digit)
    params = {
        "split": split,
        "seed": seed,
        "train_speakers": train_speakers,
        "heldout_speakers": heldout_speakers,
        "clips_per_digit": clips_per_digit,
        "peak": peak,
    }
    version = espeak_version()
    attrs = base_provenance(
        kind="speech",
        split=split,
        sample_rate=SAMPLE_RATE,
        clip_samples=CLIP_SAMPLES,
        seed=seed,
        digits=list(DIGITS),
        espeak_version=version,
        n=len(specs),
        train_speakers=train_speakers,
        heldout_speakers=heldout_speakers,
        clips_per_digit=clips_per_digit,
        peak=peak,
        config_hash=params_hash({**params, "espeak_version": version}),
    )
    log.info(
        "rendering speech split '%s': %d speakers x %d digits x %d clips with espeak-ng %s, "
        "%d worker(s)",
        split,
        len(specs) // (len(DIGITS) * clips_per_digit),
        len(DIGITS),
        clips_per_digit,
        version,
        workers,
    )
    render = functools.partial(render_clip, peak=peak)
    columns = {
        "labels": np.array([s.label for s in specs]),
        "speakers": np.array([s.speaker for s in specs]),
        "pitch": np.array([s.pitch for s in specs]),
        "speed": np.array([s.speed for s in specs]),
        "voices": [s.voice_name for s in specs],
    }
    if workers <= 1:
        write_speech_h5(out_h5, len(specs), map(render, specs), attrs=attrs, desc=split, **columns)
    else:
        with multiprocessing.Pool(workers) as pool:
            clips = pool.imap(render, specs, chunksize=4)
            write_speech_h5(out_h5, len(specs), clips, attrs=attrs, desc=split, **columns)
    seconds = time.perf_counter() - started
    summary = {"n": len(specs), "seconds": seconds, "clips_per_second": len(specs) / seconds}
    log.info(
        "rendered %d clips in %.1f s (%.1f clips/s)", len(specs), seconds, len(specs) / seconds
    )
    return summary
