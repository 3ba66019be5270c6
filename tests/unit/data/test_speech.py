"""Spoken digits: espeak-ng rendering and splits, the WAV-folder reader, WAV read/write."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest
import soundfile

from ganinv.data import speech
from ganinv.data.h5io import read_h5
from ganinv.data.speech import (
    CLIP_SAMPLES,
    DIGITS,
    SAMPLE_RATE,
    available_speakers,
    plan_speech_split,
    render_clip,
    render_speech_split,
    require_espeak,
)
from ganinv.data.wav import read_wav, write_wav, write_wav_sequence
from ganinv.data.wav_folder import read_wav_folder, scan_wav_folder
from ganinv.runtime import UserError, file_sha256

SPLIT_ARGS = {"seed": 3, "train_speakers": 2, "heldout_speakers": 1, "clips_per_digit": 1}


@pytest.fixture()
def espeak():
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: apt-get install espeak-ng")


def _centroid_seconds(clip: np.ndarray) -> float:
    energy = clip.astype(np.float64) ** 2
    return float((np.arange(len(clip)) * energy).sum() / energy.sum()) / SAMPLE_RATE


# ----------------------------------------------------------------------------- espeak-ng


def test_render_clip_is_repeatable_centred_and_peak_normalised(espeak):
    specs = plan_speech_split("train", **SPLIT_ARGS)
    for spec in specs[:4]:
        first = render_clip(spec)
        assert first.dtype == np.float32 and first.shape == (CLIP_SAMPLES,)
        assert first.tobytes() == render_clip(spec).tobytes()
        assert abs(np.abs(first).max() - 0.9) < 1e-6
        assert abs(_centroid_seconds(first) - CLIP_SAMPLES / SAMPLE_RATE / 2) < 0.15
        # the word is centred with silence (not cut off) at both ends
        assert np.abs(first[:200]).max() < 0.01 and np.abs(first[-200:]).max() < 0.01
    quiet = render_clip(specs[0], peak=0.5)
    assert abs(np.abs(quiet).max() - 0.5) < 1e-6


def test_render_split_is_the_same_with_one_or_two_workers(espeak, tmp_path):
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    summary = render_speech_split(one, "train", workers=1, **SPLIT_ARGS)
    render_speech_split(two, "train", workers=2, **SPLIT_ARGS)
    assert summary["n"] == 20 and summary["clips_per_second"] > 0
    assert file_sha256(one) == file_sha256(two)
    data, attrs = read_h5(one)
    assert data["audio"].shape == (20, 1, CLIP_SAMPLES) and data["audio"].dtype == np.float32
    assert data["label"].dtype == np.int64 and data["pitch"].dtype == np.int16
    assert data["voice"].dtype == np.dtype("S32")
    assert attrs["kind"] == "speech" and attrs["split"] == "train" and attrs["n"] == 20
    assert attrs["sample_rate"] == SAMPLE_RATE and attrs["digits"] == list(DIGITS)
    assert attrs["espeak_version"] == speech.espeak_version()
    plan = plan_speech_split("train", **SPLIT_ARGS)
    assert [spec.word for spec in plan] == [DIGITS[label] for label in data["label"]]
    assert data["label"].tolist() == list(range(10)) * 2  # speaker, then digit
    assert [v.decode() for v in data["voice"]] == [spec.voice_name for spec in plan]
    assert data["speaker"].tolist() == [spec.speaker for spec in plan]
    assert data["pitch"].tolist() == [spec.pitch for spec in plan]
    assert np.abs(data["audio"]).max(axis=(1, 2)) == pytest.approx(0.9, abs=1e-6)


def test_heldout_speakers_are_disjoint_and_real_splits_differ(espeak):
    args = {**SPLIT_ARGS, "train_speakers": 5, "heldout_speakers": 3, "clips_per_digit": 2}
    train, real_train, real_test = (plan_speech_split(s, **args) for s in speech.SPLITS)
    assert len(train) == 5 * 10 * 2 and len(real_train) == len(real_test) == 3 * 10 * 2
    train_speakers = {spec.speaker for spec in train}
    heldout = {spec.speaker for spec in real_train}
    assert len(train_speakers) == 5 and len(heldout) == 3
    assert not train_speakers & heldout
    assert heldout == {spec.speaker for spec in real_test}
    speakers = available_speakers()
    assert all(speakers[spec.speaker] == (spec.voice, spec.variant) for spec in real_test)
    settings = [
        (a.pitch, a.speed) != (b.pitch, b.speed) for a, b in zip(real_train, real_test, strict=True)
    ]
    assert sum(settings) >= len(settings) - 2
    assert render_clip(real_train[0]).tobytes() != render_clip(real_test[0]).tobytes()


def test_a_clip_does_not_depend_on_how_many_are_planned(espeak):
    small = plan_speech_split("real_test", **{**SPLIT_ARGS, "clips_per_digit": 1})
    large = plan_speech_split("real_test", **{**SPLIT_ARGS, "clips_per_digit": 3})
    assert small == large[::3]


def test_too_many_speakers_is_a_user_error(espeak):
    available = len(available_speakers())
    with pytest.raises(UserError, match=f"only {available}"):
        plan_speech_split("train", 0, available, 1, 1)
    with pytest.raises(UserError, match="unknown speech split"):
        plan_speech_split("test", 0, 2, 1, 1)


def test_missing_espeak_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    for call in (
        require_espeak,
        lambda: plan_speech_split("train", **SPLIT_ARGS),
        lambda: render_speech_split(tmp_path / "x.h5", "train", **SPLIT_ARGS),
    ):
        with pytest.raises(UserError, match="apt-get install espeak-ng"):
            call()
    assert not (tmp_path / "x.h5").exists()


# ----------------------------------------------------------------------------- WAV folders


def _tone(seconds: float, rate: int, freq: float = 440.0, amplitude: float = 0.6) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def _dominant_hz(audio: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(audio))
    return float(np.fft.rfftfreq(len(audio), 1 / rate)[spectrum.argmax()])


@pytest.fixture()
def digit_folder(tmp_path):
    root = tmp_path / "sc09"
    (root / "nine").mkdir(parents=True)
    (root / "yes").mkdir()
    # SC09 name, 16 kHz mono, 1 s (shorter than a clip: padded)
    soundfile.write(root / "Eight_0a2b400e_nohash_0.wav", _tone(1.0, 16000), 16000)
    # lower-case word, 8 kHz stereo (left tone, right silent), 0.5 s
    stereo = np.stack([_tone(0.5, 8000), np.zeros(4000)], axis=1)
    soundfile.write(root / "three_0a2b400e_nohash_1.wav", stereo, 8000)
    # free-spoken-digit name, 22.05 kHz, 1.5 s slow ramp (longer than a clip: cropped)
    soundfile.write(root / "7_jackson_12.wav", np.linspace(0, 0.75, 33075), 22050)
    # Speech Commands layout, with and without a speaker hash
    soundfile.write(root / "nine" / "ffd2ba2f_nohash_0.wav", _tone(0.8, 16000, 300), 16000)
    soundfile.write(root / "nine" / "take2.wav", _tone(0.8, 16000, 300), 16000)
    # names that give no digit
    soundfile.write(root / "notes.wav", _tone(0.1, 16000), 16000)
    soundfile.write(root / "yes" / "ffd2ba2f_nohash_0.wav", _tone(0.1, 16000), 16000)
    (root / "README.txt").write_text("not audio")
    return root


def test_scan_recognises_the_name_layouts_and_warns_once_about_the_rest(digit_folder, caplog):
    with caplog.at_level(logging.WARNING, logger="ganinv"):
        found = scan_wav_folder(digit_folder)
    names = [(path.relative_to(digit_folder).as_posix(), label) for path, label in found]
    assert names == [
        ("7_jackson_12.wav", 7),
        ("Eight_0a2b400e_nohash_0.wav", 8),
        ("nine/ffd2ba2f_nohash_0.wav", 9),
        ("nine/take2.wav", 9),
        ("three_0a2b400e_nohash_1.wav", 3),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 2 .wav" in warnings[0] and "notes.wav" in warnings[0]


def test_read_wav_folder_resamples_mixes_and_fits_each_clip(digit_folder, tmp_path):
    summary = read_wav_folder(digit_folder, tmp_path / "real.h5")
    assert summary == {"n": 5, "resampled": 2}
    data, attrs = read_h5(tmp_path / "real.h5")
    assert attrs["kind"] == "speech-folder" and attrs["source"] == str(digit_folder.resolve())
    assert data["audio"].shape == (5, 1, CLIP_SAMPLES) and data["audio"].dtype == np.float32
    assert data["label"].tolist() == [7, 8, 9, 9, 3]
    assert data["pitch"].tolist() == [-1] * 5 and data["speed"].tolist() == [-1] * 5
    assert data["voice"][1] == b"Eight_0a2b400e_nohash_0"
    speaker = data["speaker"].tolist()  # sorted names: 0a2b400e, ffd2ba2f, jackson
    assert speaker == [2, 0, 1, -1, 0]
    ramp, eight, _, _, three = data["audio"][:, 0]
    # 1.5 s ramp at 22.05 kHz -> 24000 samples at 16 kHz, the middle 16384 kept
    assert ramp[CLIP_SAMPLES // 2] == pytest.approx(0.375, abs=0.01)
    assert ramp[0] == pytest.approx(0.75 * 3808 / 24000, abs=0.01)
    # 1 s at 16 kHz, centred: 192 zeros each side
    assert not eight[:192].any() and not eight[-192:].any() and eight[192:-192].any()
    # 0.5 s stereo at 8 kHz -> 8000 samples at 16 kHz, mono = mean of the channels
    middle = three[4192:12192]
    assert not three[:4000].any() and not three[-4000:].any()
    assert _dominant_hz(middle, SAMPLE_RATE) == pytest.approx(440, abs=3)
    assert np.abs(middle[100:-100]).max() == pytest.approx(0.3, abs=0.01)


def test_read_wav_folder_peak_and_balanced_subset(digit_folder, tmp_path):
    read_wav_folder(digit_folder, tmp_path / "sub.h5", max_files=3, peak=0.5)
    data, _ = read_h5(tmp_path / "sub.h5")
    assert sorted(data["label"].tolist()) == [3, 7, 8]  # one per digit, in scan order
    assert np.abs(data["audio"]).max(axis=(1, 2)) == pytest.approx(0.5, abs=1e-6)


def test_folder_without_digit_files_is_a_user_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no spoken-digit WAV files found in .*empty"):
        scan_wav_folder(tmp_path / "empty")
    with pytest.raises(UserError, match="audio folder not found"):
        read_wav_folder(tmp_path / "missing", tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


# ----------------------------------------------------------------------------- WAV files


def test_wav_round_trip_within_one_step(tmp_path):
    audio = np.random.default_rng(0).uniform(-1, 1, 5000).astype(np.float32)
    audio[:3] = [1.0, -1.0, 0.0]
    write_wav(tmp_path / "a.wav", audio[None], 16000)
    back, rate = read_wav(tmp_path / "a.wav")
    assert rate == 16000 and back.shape == (1, 5000) and back.dtype == np.float32
    assert np.abs(back[0] - audio).max() <= 1 / 32768
    assert soundfile.info(tmp_path / "a.wav").subtype == "PCM_16"
    write_wav(tmp_path / "loud.wav", np.array([2.0, -3.0, 0.5]))
    assert read_wav(tmp_path / "loud.wav")[0][0].tolist() == pytest.approx([1, -1, 0.5], abs=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "loud.wav"]


def test_wav_sequence_puts_silence_between_clips(tmp_path):
    clips = np.full((3, 1, 100), 0.5, dtype=np.float32)
    write_wav_sequence(tmp_path / "seq.wav", clips, 1000, gap_seconds=0.05)
    back, rate = read_wav(tmp_path / "seq.wav")
    assert rate == 1000 and back.shape == (1, 3 * 100 + 2 * 50)
    assert (back[0, 100:150] == 0).all() and (back[0, 250:300] == 0).all()
    assert back[0, :100] == pytest.approx(0.5, abs=1e-4)


def test_unreadable_wav_is_a_user_error(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF not really a wav")
    with pytest.raises(UserError, match="cannot read audio file .*bad.wav"):
        read_wav(tmp_path / "bad.wav")
    with pytest.raises(UserError, match="audio file not found"):
        read_wav(tmp_path / "none.wav")
