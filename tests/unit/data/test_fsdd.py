"""The Free Spoken Digit Dataset source: manifest, local copies, download, speaker splits (its
rules: tests/workflow/test_fsdd_rules.py)."""

from __future__ import annotations

import copy
import io
import json
import re
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest
import yaml

from ganinv.config import ConfigError, validate_config
from ganinv.data import fsdd
from ganinv.data.fsdd import (
    COMMIT,
    SPEAKERS,
    URL,
    ensure_fsdd,
    plan_fsdd_split,
    read_manifest,
    verify_fsdd,
    write_fsdd_split,
    write_manifest,
)
from ganinv.data.h5io import read_h5
from ganinv.data.speech import CLIP_SAMPLES, SAMPLE_RATE
from ganinv.data.wav import write_wav
from ganinv.runtime import UserError
from tests.helpers.fsdd_copy import LOCAL_COPY, needs_copy
from tests.helpers.paths import REPO

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
FOLDER_PRESET = {"audio": {"data": {"fsdd": {"folder": str(LOCAL_COPY)}}}}


def _config(*overlays):
    def merge(base, override):
        out = copy.deepcopy(base)
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
        return out

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for overlay in overlays:
        if isinstance(overlay, str):
            overlay = yaml.safe_load((REPO / overlay).read_text())
        config = merge(config, overlay)
    return config


def _split_kwargs(config, split):
    """What rule read_fsdd_split passes for ``split`` (see fsdd_split_params in data.smk)."""
    block = config["audio"]["data"]["fsdd"]
    return {
        "split": split,
        "heldout_speakers": block["heldout_speakers"],
        "takes": None if split == "train" else block["takes"][split],
        "clips_per_digit": block["clips_per_digit"][split],
    }


@pytest.fixture()
def mini_copy(tmp_path):
    """A small FSDD look-alike: 3 speakers x 10 digits x 4 takes of 8 kHz 16-bit tones, with its
    own manifest. Take k of digit d lasts 0.1 + 0.05 k s at 300 + 100 d Hz."""
    root = tmp_path / "mini" / "recordings"
    root.mkdir(parents=True)
    for speaker, amplitude in zip(("george", "jackson", "theo"), (0.5, 0.3, 0.05), strict=True):
        for digit in range(10):
            for take in range(4):
                t = np.arange(int(8000 * (0.1 + 0.05 * take))) / 8000
                tone = amplitude * np.sin(2 * np.pi * (300 + 100 * digit) * t)
                write_wav(root / f"{digit}_{speaker}_{take}.wav", tone, 8000)
    manifest, n = write_manifest(folder=root, out=tmp_path / "mini.csv")
    assert n == 120
    return root, manifest


MINI_SPLIT = {"heldout_speakers": ["jackson"]}
MINI_TAKES = {"real_train": [0, 1], "real_test": [2, 3]}


# ----------------------------------------------------------------------------- the manifest


def test_shipped_manifest_lists_every_recording_of_the_commit():
    entries = read_manifest()
    assert len(entries) == 3000
    names = {(d, s, t) for d in range(10) for s in SPEAKERS for t in range(50)}
    assert set(entries) == {f"{d}_{s}_{t}.wav" for d, s, t in names}
    assert sum(size for size, _ in entries.values()) == 21_128_848
    assert all(len(digest) == 64 for _, digest in entries.values())
    assert COMMIT in URL


def test_manifest_is_package_data():
    """An installed (not editable) ganinv ships the manifest: pyproject's package-data names it."""
    pyproject = (REPO / "pyproject.toml").read_text()
    section = re.search(r"^\[tool\.setuptools\.package-data\]\n(.*?)(?:^\[|\Z)", pyproject,
                        re.S | re.M)  # fmt: skip
    assert section, "pyproject.toml has no [tool.setuptools.package-data]"
    patterns = re.search(r'^"ganinv\.data" = \[(.*)\]$', section[1], re.M)[1]
    package = REPO / "src" / "ganinv" / "data"
    globbed = {p for pattern in re.findall(r'"([^"]+)"', patterns) for p in package.glob(pattern)}
    assert fsdd.manifest_path() in globbed


@needs_copy
def test_manifest_matches_the_local_copy(tmp_path):
    summary = verify_fsdd(folder=LOCAL_COPY)
    assert summary["files"] == 3000 and summary["bytes"] == 21_128_848
    written, n = write_manifest(folder=LOCAL_COPY.parent, out=tmp_path / "fsdd.csv")
    assert n == 3000 and written.read_bytes() == fsdd.manifest_path().read_bytes()


@needs_copy
def test_a_tampered_copy_of_real_recordings_is_refused(tmp_path):
    names = ["0_george_0.wav", "3_theo_7.wav", "9_yweweler_49.wav"]
    copy_dir = tmp_path / "recordings"
    copy_dir.mkdir()
    for name in names:
        (copy_dir / name).write_bytes((LOCAL_COPY / name).read_bytes())
    assert verify_fsdd(folder=copy_dir, names=names)["files"] == 3
    data = bytearray((copy_dir / names[1]).read_bytes())
    data[-1] ^= 1
    (copy_dir / names[1]).write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"1 of 3 files .*3_theo_7.wav has another sha256"):
        verify_fsdd(folder=copy_dir, names=names)
    with pytest.raises(UserError, match=r"2998 of 3000 files are missing or differ"):
        verify_fsdd(folder=copy_dir)


# ----------------------------------------------------------------------------- local copies


def test_a_tampered_or_incomplete_copy_is_refused_with_the_fix(mini_copy, tmp_path):
    root, manifest = mini_copy
    out = tmp_path / "verified.json"
    record = ensure_fsdd(folder=root.parent, download_dir=tmp_path / "dl", out_json=out,
                         manifest=manifest)  # fmt: skip
    assert record["origin"] == "local" and record["folder"] == str(root.resolve())
    assert record["files"] == 120 and json.loads(out.read_text()) == record
    assert not (tmp_path / "dl").exists()  # a local copy is never downloaded or copied
    out.unlink()
    data = bytearray((root / "4_theo_2.wav").read_bytes())
    data[60] ^= 0x10  # one byte of PCM: same size, another digest
    (root / "4_theo_2.wav").write_bytes(bytes(data))
    (root / "7_george_3.wav").unlink()
    (root / "1_george_0.wav").write_bytes(b"RIFF")
    with pytest.raises(UserError) as caught:
        ensure_fsdd(folder=root, download_dir=tmp_path / "dl", out_json=out, manifest=manifest)
    message = str(caught.value)
    assert "Free Spoken Digit Dataset" in message and "3 of 120 files" in message
    assert "1_george_0.wav has 4 bytes, expected" in message
    assert "4_theo_2.wav has another sha256" in message and "7_george_3.wav is missing" in message
    assert "point audio.data.fsdd.folder at an unmodified copy" in message and URL in message
    assert not out.exists()


def test_a_missing_folder_names_the_config_key(tmp_path):
    with pytest.raises(UserError, match=r"audio\.data\.fsdd\.folder: .*nowhere is not a folder"):
        ensure_fsdd(folder=tmp_path / "nowhere", download_dir=tmp_path, out_json=tmp_path / "v")


# ----------------------------------------------------------------------------- download


def _archive(root, path):
    """A .tar.gz laid out as GitHub's archive of the commit unpacks."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(root, arcname=f"free-spoken-digit-dataset-{COMMIT}/recordings")
    return path


def test_download_extracts_checks_and_reuses_a_local_archive(mini_copy, tmp_path, monkeypatch):
    root, manifest = mini_copy
    url = _archive(root, tmp_path / f"{COMMIT}.tar.gz").as_uri()
    download = tmp_path / "results" / "audio" / "fsdd" / "download"
    out = tmp_path / "verified.json"
    record = ensure_fsdd(folder=None, download_dir=download, out_json=out, url=url,
                         manifest=manifest)  # fmt: skip
    assert record["origin"] == "download" and record["url"] == url and record["files"] == 120
    assert record["folder"] == str((download / "recordings").resolve())
    assert sorted(p.name for p in download.iterdir()) == ["recordings"]  # no archive, no .tmp
    assert (download / "recordings" / "9_theo_3.wav").read_bytes() == (
        root / "9_theo_3.wav"
    ).read_bytes()

    def no_network(*args, **kwargs):
        raise AssertionError("a checked download must be reused, not fetched again")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    again = ensure_fsdd(folder=None, download_dir=download, out_json=out, url=url,
                        manifest=manifest)  # fmt: skip
    assert again == record


class _Response(io.BytesIO):
    """What urllib.request.urlopen returns for an HTTP download (torchvision reads these)."""

    def __init__(self, url, data):
        super().__init__(data)
        self.url, self.length = url, len(data)


def test_an_https_download_goes_through_torchvision(mini_copy, tmp_path, monkeypatch):
    """No network: urlopen serves the local archive for the default https URL."""
    root, manifest = mini_copy
    data = _archive(root, tmp_path / "fsdd.tar.gz").read_bytes()
    requested = []

    def serve(request, *args, **kwargs):
        url = request.full_url if isinstance(request, urllib.request.Request) else request
        requested.append(url)
        return _Response(url, data)

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    download = tmp_path / "download"
    record = ensure_fsdd(folder=None, download_dir=download, out_json=tmp_path / "v.json",
                         manifest=manifest)  # fmt: skip
    assert set(requested) == {URL} and record["url"] == URL and record["files"] == 120
    assert sorted(p.name for p in download.iterdir()) == ["recordings"]


def test_a_download_that_does_not_match_is_refused_and_not_kept(mini_copy, tmp_path):
    root, manifest = mini_copy
    (root / "0_george_0.wav").write_bytes(b"RIFF-not-the-original")
    url = _archive(root, tmp_path / "other.tar.gz").as_uri()
    download = tmp_path / "download"
    with pytest.raises(UserError, match=r"1 of 120 files .*is not the pinned commit"):
        ensure_fsdd(folder=None, download_dir=download, out_json=tmp_path / "v.json", url=url,
                    manifest=manifest)  # fmt: skip
    assert list(download.iterdir()) == [] and not (tmp_path / "v.json").exists()


def test_without_network_the_message_names_dataset_url_and_folder_key(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    out = tmp_path / "verified.json"
    with pytest.raises(UserError) as caught:
        ensure_fsdd(folder=None, download_dir=tmp_path / "dl", out_json=out)
    message = str(caught.value)
    assert message.startswith("cannot download the Free Spoken Digit Dataset (FSDD) from " + URL)
    assert (
        "name resolution" in message and "set audio.data.fsdd.folder to its recordings/" in message
    )
    assert not out.exists() and list((tmp_path / "dl").iterdir()) == []
    missing = (tmp_path / "missing.tar.gz").as_uri()  # a file:// URL that is not there
    with pytest.raises(UserError, match=r"cannot download .* from file://.*missing\.tar\.gz"):
        ensure_fsdd(folder=None, download_dir=tmp_path / "dl", out_json=out, url=missing)


# ----------------------------------------------------------------------------- splits


def test_default_speaker_split_is_disjoint_with_the_documented_counts():
    config = _config("presets/fsdd.yaml")
    validate_config(config, SCHEMA)
    names = sorted(read_manifest())
    plans = {
        split: plan_fsdd_split(names=names, **_split_kwargs(config, split))
        for split in ("train", "real_train", "real_test")
    }
    assert {split: len(plan) for split, plan in plans.items()} == {
        "train": 2500,
        "real_train": 250,
        "real_test": 50,
    }
    speakers = {split: {clip.speaker for clip in plan} for split, plan in plans.items()}
    assert speakers["real_train"] == speakers["real_test"] == {"jackson"}
    assert speakers["train"] == set(SPEAKERS) - {"jackson"}
    takes = {split: {clip.take for clip in plan} for split, plan in plans.items()}
    assert takes["real_train"] == set(range(25)) and takes["real_test"] == set(range(25, 30))
    assert not {c.name for c in plans["real_train"]} & {c.name for c in plans["real_test"]}
    for plan in plans.values():  # balanced: the same number of clips of every digit
        assert len(set(np.bincount([clip.label for clip in plan]).tolist())) == 1
    assert [c.name for c in plans["real_test"][:6]] == [
        "0_jackson_25.wav", "0_jackson_26.wav", "0_jackson_27.wav", "0_jackson_28.wav",
        "0_jackson_29.wav", "1_jackson_25.wav",
    ]  # fmt: skip
    shrunk = plan_fsdd_split(names=names, split="train", heldout_speakers=["jackson", "theo"],
                             clips_per_digit=3)  # fmt: skip
    assert len(shrunk) == 4 * 10 * 3 and {c.take for c in shrunk} == {0, 1, 2}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "train", "heldout_speakers": ["bob"]}, r"unknown: bob"),
        ({"split": "train", "heldout_speakers": list(SPEAKERS)}, r"none is left to train"),
        ({"split": "real_test", "heldout_speakers": ["theo"]}, r"needs a take range"),
        ({"split": "real_test", "heldout_speakers": ["theo"], "takes": [10, 60]}, r"<= 49"),
        ({"split": "valid", "heldout_speakers": ["theo"]}, r"unknown speech split 'valid'"),
    ],
)
def test_bad_split_arguments_are_user_errors(kwargs, message):
    with pytest.raises(UserError, match=message):
        plan_fsdd_split(names=sorted(read_manifest()), **kwargs)


@pytest.mark.parametrize(
    "overlay, message",
    [
        ({"takes": {"real_train": [0, 25], "real_test": [25, 49]}}, r"takes: .* overlap"),
        ({"takes": {"real_train": [30, 20]}}, r"takes\.real_train: \[30, 20\] .*first must not"),
        ({"heldout_speakers": ["george", "jackson", "lucas", "nicolas", "theo"]}, r"heldout_sp"),
        ({"heldout_speakers": ["bob"]}, r"heldout_speakers"),
        ({"clips_per_digit": {"real_test": 0}}, r"clips_per_digit\.real_test"),
    ],
)
def test_bad_fsdd_config_names_the_key(overlay, message):
    config = _config("presets/fsdd.yaml", {"audio": {"data": {"fsdd": overlay}}})
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


def test_a_folder_for_another_source_is_a_config_error():
    with pytest.raises(
        ConfigError, match=r"audio\.data\.fsdd\.folder: .*source is espeak; set source: fsdd"
    ):
        validate_config(_config(FOLDER_PRESET), SCHEMA)


def test_split_is_resampled_to_16k_centred_and_labelled(mini_copy, tmp_path):
    root, manifest = mini_copy
    verified = tmp_path / "verified.json"
    ensure_fsdd(folder=root, download_dir=tmp_path, out_json=verified, manifest=manifest)
    out = tmp_path / "real_test.h5"
    summary = write_fsdd_split(verified=verified, out_h5=out, split="real_test",
                               takes=MINI_TAKES["real_test"], manifest=manifest,
                               **MINI_SPLIT)  # fmt: skip
    assert summary == {"n": 20, "resampled": 20, "cropped": 0, "silent": 0}
    data, attrs = read_h5(out)
    assert data["audio"].shape == (20, 1, CLIP_SAMPLES) and data["audio"].dtype == np.float32
    assert attrs["sample_rate"] == SAMPLE_RATE == 16000 and attrs["native_rate"] == 8000
    assert attrs["kind"] == "speech-fsdd" and attrs["split"] == "real_test"
    assert attrs["resampler"] == "scipy.signal.resample_poly"
    assert data["label"].tolist() == [d for d in range(10) for _ in (2, 3)]
    assert data["speaker"].tolist() == [SPEAKERS.index("jackson")] * 20
    assert data["voice"][:2].tolist() == [b"0_jackson_2", b"0_jackson_3"]
    clip = data["audio"][1, 0]  # take 3: 0.25 s at 8 kHz = 2000 samples -> 4000 at 16 kHz
    assert np.abs(clip).max() == pytest.approx(0.9, abs=1e-6)
    loud = np.flatnonzero(np.abs(clip) > 0.01)
    assert loud[0] == pytest.approx((CLIP_SAMPLES - 4000) // 2, abs=3)
    assert loud[-1] - loud[0] == pytest.approx(4000, abs=6)
    spectrum = np.abs(np.fft.rfft(clip))
    assert np.fft.rfftfreq(CLIP_SAMPLES, 1 / 16000)[spectrum.argmax()] == pytest.approx(300, abs=5)
    # the split's files are checked again: a file changed since is refused, nothing written
    (root / "5_jackson_2.wav").write_bytes(b"RIFF")
    with pytest.raises(UserError, match=r"5_jackson_2.wav has 4 bytes"):
        write_fsdd_split(verified=verified, out_h5=tmp_path / "again.h5", split="real_test",
                         takes=MINI_TAKES["real_test"], manifest=manifest,
                         **MINI_SPLIT)  # fmt: skip
    assert not (tmp_path / "again.h5").exists()


@needs_copy
def test_real_recordings_become_16k_clips_of_16384_samples(tmp_path):
    verified = tmp_path / "verified.json"
    ensure_fsdd(folder=LOCAL_COPY, download_dir=tmp_path, out_json=verified)
    out = tmp_path / "train.h5"
    summary = write_fsdd_split(verified=verified, out_h5=out, split="train",
                               heldout_speakers=["jackson", "george", "nicolas", "yweweler"],
                               clips_per_digit=1)  # fmt: skip
    assert summary["n"] == 20 and summary["resampled"] == 20
    data, attrs = read_h5(out)
    assert data["audio"].shape == (20, 1, 16384) and attrs["sample_rate"] == 16000
    assert sorted(set(data["speaker"].tolist())) == [
        SPEAKERS.index("lucas"),
        SPEAKERS.index("theo"),
    ]
    assert np.abs(data["audio"]).max(axis=(1, 2)) == pytest.approx(0.9, abs=1e-6)
