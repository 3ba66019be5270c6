"""The Free Spoken Digit Dataset (FSDD): real human speech for the audio chapter.

FSDD (github.com/Jakobovski/free-spoken-digit-dataset, licence CC BY-SA 4.0) holds 3,000
recordings ``recordings/<digit>_<speaker>_<take>.wav``: 6 speakers x 10 digits x 50 takes (take
0..49), 8 kHz mono 16-bit PCM, trimmed to the word (0.14-2.3 s). This module pins the
``recordings/`` folder of one commit (:data:`COMMIT`) through a manifest shipped in the package
(``manifests/fsdd.csv``: name, bytes, sha256 of each file) and

- :func:`ensure_fsdd` checks a local copy file by file against the manifest, or downloads and
  unpacks the commit's archive (:data:`URL`, about 16 MB; torchvision's ``download_url`` and
  ``extract_archive``; a ``file://`` URL is copied) and checks that; it writes a small JSON
  record of the checked folder;
- :func:`plan_fsdd_split` splits the recordings by speaker: ``train`` holds every take of the
  speakers not held out; ``real_train`` and ``real_test`` hold disjoint take ranges of the
  held-out speakers (the thesis's unseen SC09 speakers), optionally capped per speaker and digit;
- :func:`write_fsdd_split` writes one split in the speech HDF5 layout through the WAV-folder
  reader's clip pipeline (:func:`ganinv.data.wav_folder.write_wav_clips`): 8 kHz is resampled to
  16 kHz by ``scipy.signal.resample_poly`` (polyphase, up 2, down 1), each clip is centre-padded
  (or, for the 17 recordings longer than 1.024 s, centre-cropped) to 16384 samples and scaled
  to a fixed peak.

The manifest is written once from a copy of the commit's recordings with
``python -m ganinv.data.fsdd --write-manifest DIR``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ganinv.atomic import write_text_atomic
from ganinv.data.archives import safe_extraction
from ganinv.data.h5io import base_provenance
from ganinv.data.speech import CLIP_SAMPLES, DIGITS, SAMPLE_RATE, SPLITS
from ganinv.data.wav_folder import WavFile, write_wav_clips
from ganinv.runtime import UserError, file_sha256, params_hash

__all__ = [
    "COMMIT",
    "DATASET",
    "FOLDER_KEY",
    "NATIVE_RATE",
    "SPEAKERS",
    "TAKES",
    "URL",
    "FsddClip",
    "ensure_fsdd",
    "manifest_path",
    "plan_fsdd_split",
    "read_manifest",
    "verify_fsdd",
    "write_fsdd_split",
    "write_manifest",
]

log = logging.getLogger(__name__)

DATASET = "the Free Spoken Digit Dataset (FSDD)"
COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
URL = f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{COMMIT}.tar.gz"
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
TAKES = 50
NATIVE_RATE = 8000
# The config key of a local copy, named in every message that says how to fix the data.
FOLDER_KEY = "audio.data.fsdd.folder"
_NAME = re.compile(r"^(?P<digit>\d)_(?P<speaker>[a-z]+)_(?P<take>\d+)\.wav$")
_SHOWN = 5  # problems listed in a verification message


def manifest_path() -> Path:
    """The manifest shipped in the package (``ganinv/data/manifests/fsdd.csv``)."""
    return Path(str(resources.files("ganinv.data").joinpath("manifests", "fsdd.csv")))


def read_manifest(*, path: str | os.PathLike | None = None) -> dict[str, tuple[int, str]]:
    """``{file name: (bytes, sha256)}`` of a manifest (default: the shipped one)."""
    source = Path(path) if path is not None else manifest_path()
    try:
        text = source.read_text()
    except OSError as exc:
        raise UserError(
            f"cannot read the FSDD manifest {source} ({exc.strerror}); reinstall ganinv "
            "(pip install -e .) so that its package data is present"
        ) from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or set(rows[0]) != {"name", "bytes", "sha256"}:
        raise UserError(f"{source}: an FSDD manifest needs the columns name,bytes,sha256")
    return {row["name"]: (int(row["bytes"]), row["sha256"]) for row in rows}


def write_manifest(
    *, folder: str | os.PathLike, out: str | os.PathLike | None = None
) -> tuple[Path, int]:
    """Write the manifest (name, bytes, sha256; sorted by name) of the ``.wav`` files of ``folder``.

    ``folder`` is a ``recordings/`` folder (or the unpacked archive that holds one); ``out``
    defaults to the package's ``manifests/fsdd.csv``. Returns (manifest path, files).
    """
    root = _recordings(Path(folder))
    if not root.is_dir():
        raise UserError(f"{root} is not a folder: give the FSDD recordings/ folder")
    names = sorted(p.name for p in root.iterdir() if p.suffix == ".wav" and p.is_file())
    if not names:
        raise UserError(f"no .wav files in {root}: give the FSDD recordings/ folder")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "bytes", "sha256"])
    for name in names:
        path = root / name
        writer.writerow([name, path.stat().st_size, file_sha256(path)])
    target = Path(out) if out is not None else Path(__file__).parent / "manifests" / "fsdd.csv"
    write_text_atomic(target, buffer.getvalue())
    return target, len(names)


def _recordings(folder: Path) -> Path:
    """``folder/recordings`` when it exists (the archive's root was given), else ``folder``."""
    return folder / "recordings" if (folder / "recordings").is_dir() else folder


def verify_fsdd(
    *,
    folder: str | os.PathLike,
    manifest: Mapping[str, tuple[int, str]] | None = None,
    names: Sequence[str] | None = None,
    fix: str | None = None,
) -> dict[str, Any]:
    """Check ``folder`` (a ``recordings/`` folder) against the manifest; one UserError if not.

    Every manifest entry (or only ``names``) must exist with its size and sha256. The error lists
    the first problems and their count, then ``fix`` (default: how to point the config at an
    unmodified copy or download one). ``.wav`` files the manifest does not know are logged and
    ignored (they are never read). Returns ``{"folder", "files", "bytes"}``.
    """
    root = Path(folder)
    entries = read_manifest() if manifest is None else manifest
    wanted = sorted(entries) if names is None else list(names)
    problems: list[str] = []
    total = 0
    for name in wanted:
        size, digest = entries[name]
        path = root / name
        if not path.is_file():
            problems.append(f"{name} is missing")
            continue
        actual = path.stat().st_size
        if actual != size:
            problems.append(f"{name} has {actual} bytes, expected {size}")
        elif file_sha256(path) != digest:
            problems.append(f"{name} has another sha256 than the manifest's {digest[:12]}...")
        else:
            total += size
    if problems:
        shown = "; ".join(problems[:_SHOWN]) + ("; ..." if len(problems) > _SHOWN else "")
        fix = fix or (
            f"point {FOLDER_KEY} at an unmodified copy of its recordings/ folder (commit "
            f"{COMMIT[:12]}), or set it to null to download {URL}"
        )
        raise UserError(
            f"{DATASET} at {root} does not match its manifest: {len(problems)} of "
            f"{len(wanted)} files are missing or differ ({shown}); {fix}"
        )
    if names is None and root.is_dir():
        extra = sorted(p.name for p in root.glob("*.wav") if p.name not in entries)
        if extra:
            log.warning(
                "%s: %d .wav file(s) not in the FSDD manifest are ignored (e.g. %s)",
                root,
                len(extra),
                ", ".join(extra[:3]),
            )
    return {"folder": str(root.resolve()), "files": len(wanted), "bytes": total}


def _unreachable(url: str, exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return (
        f"cannot download {DATASET} from {url} ({reason}); where there is no network, download "
        f"that archive elsewhere, unpack it and set {FOLDER_KEY} to its recordings/ folder "
        "(e.g. snakemake --configfile presets/fsdd.yaml --config "
        "'audio={data: {fsdd: {folder: /path/to/recordings}}}')"
    )


def _download(
    url: str, download_dir: Path, manifest: Mapping[str, tuple[int, str]]
) -> dict[str, Any]:
    """Download and unpack ``url`` into ``download_dir/recordings``, checked before it is renamed.

    Returns :func:`verify_fsdd`'s summary of the renamed folder.
    """
    # torchvision takes ~2 s to import (with torch): only a download pays it
    from torchvision.datasets.utils import download_url, extract_archive

    final = download_dir / "recordings"
    try:
        download_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".tmp-fsdd-", dir=download_dir))
    except OSError as exc:
        raise UserError(
            f"cannot create the FSDD download folder {download_dir} ({exc.strerror}); make it "
            f"writable, or set {FOLDER_KEY} to a local copy of the recordings/ folder"
        ) from None
    try:
        parsed = urllib.parse.urlparse(url)
        archive = scratch / (os.path.basename(parsed.path) or "fsdd.tar.gz")
        log.info("downloading %s from %s into %s", DATASET, url, download_dir)
        try:
            if parsed.scheme == "file":
                # An archive on this machine: torchvision's downloader needs the Content-Length
                # of an HTTP response, which a file:// response lacks, so it is copied.
                shutil.copyfile(urllib.request.url2pathname(parsed.path), archive)
            else:
                download_url(url, root=str(scratch), filename=archive.name)
        except (urllib.error.URLError, OSError, RuntimeError, ValueError) as exc:
            raise UserError(_unreachable(url, exc)) from None
        try:
            with safe_extraction():
                extract_archive(str(archive), str(scratch), remove_finished=True)
        except (OSError, tarfile.TarError, RuntimeError, ValueError, EOFError) as exc:
            raise UserError(
                f"cannot unpack {archive.name} downloaded from {url} ({exc}); give the .tar.gz "
                f"archive of a free-spoken-digit-dataset commit (default {URL}), or set "
                f"{FOLDER_KEY} to a local copy of its recordings/ folder"
            ) from None
        found = [p for p in (scratch / "recordings", *scratch.glob("*/recordings")) if p.is_dir()]
        if not found:
            raise UserError(
                f"the archive {url} holds no recordings/ folder: give the archive of a commit of "
                f"free-spoken-digit-dataset (default {URL}), or set {FOLDER_KEY} to a local copy"
            )
        summary = verify_fsdd(
            folder=found[0],
            manifest=manifest,
            fix=(
                f"the archive {url} is not the pinned commit {COMMIT[:12]} (or was damaged); "
                f"use {URL}, or set {FOLDER_KEY} to an unmodified local copy"
            ),
        )
        if final.exists():
            shutil.rmtree(final)
        os.replace(found[0], final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {**summary, "folder": str(final.resolve())}


def ensure_fsdd(
    *,
    folder: str | os.PathLike | None,
    download_dir: str | os.PathLike,
    out_json: str | os.PathLike,
    url: str = URL,
    manifest: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """A checked copy of FSDD's recordings; its record (folder, files, bytes...) to ``out_json``.

    ``folder``: a local copy (its ``recordings/`` folder, or the unpacked archive that holds
    one), checked file by file against the manifest and never written to. ``None``: the archive
    at ``url`` is downloaded and unpacked into ``download_dir/recordings`` (under a temporary
    name until it is checked); a checked copy there is reused. Any mismatch is one UserError
    (see :func:`verify_fsdd`); without network, one UserError naming the URL and the config key
    of a local folder.
    """
    entries = read_manifest(path=manifest)
    if folder is not None:
        given = Path(folder)
        if not given.is_dir():
            raise UserError(
                f"{FOLDER_KEY}: {given} is not a folder; give a local copy of {DATASET}'s "
                f"recordings/ folder (commit {COMMIT[:12]}), or null to download {URL}"
            )
        summary = verify_fsdd(folder=_recordings(given), manifest=entries)
        origin = "local"
    else:
        cache = Path(download_dir) / "recordings"
        summary = None
        if cache.is_dir():
            try:
                summary = verify_fsdd(folder=cache, manifest=entries)
                log.info("reusing the checked download in %s", cache)
            except UserError as exc:
                log.warning("%s; downloading it again", exc)
        if summary is None:
            summary = _download(url, Path(download_dir), entries)
        origin = "download"
    manifest_file = Path(manifest) if manifest is not None else manifest_path()
    record = {
        "dataset": "fsdd",
        "origin": origin,
        "url": url if origin == "download" else None,
        "commit": COMMIT,
        "manifest_sha256": file_sha256(manifest_file),
        **summary,
    }
    write_text_atomic(out_json, json.dumps(record, indent=2, sort_keys=True) + "\n")
    log.info(
        "%s: %d files (%d bytes) checked against the manifest in %s",
        DATASET,
        summary["files"],
        summary["bytes"],
        summary["folder"],
    )
    return record


@dataclass(frozen=True)
class FsddClip:
    """One recording: its file name, digit label, speaker and take."""

    name: str
    label: int
    speaker: str
    take: int


def _parse(name: str) -> FsddClip | None:
    match = _NAME.match(name)
    if match is None:
        return None
    return FsddClip(name, int(match["digit"]), match["speaker"], int(match["take"]))


def _check_takes(split: str, takes: Sequence[int] | None) -> tuple[int, int]:
    if split == "train":
        if takes is not None:
            raise UserError("the FSDD train split uses every take: give no take range for it")
        return 0, TAKES - 1
    if takes is None or len(takes) != 2:
        raise UserError(f"the FSDD {split} split needs a take range [first, last], got {takes}")
    first, last = int(takes[0]), int(takes[1])
    if not 0 <= first <= last < TAKES:
        raise UserError(
            f"audio.data.fsdd.takes.{split}: [{first}, {last}] must satisfy "
            f"0 <= first <= last <= {TAKES - 1}"
        )
    return first, last


def plan_fsdd_split(
    *,
    names: Sequence[str],
    split: str,
    heldout_speakers: Sequence[str],
    takes: Sequence[int] | None = None,
    clips_per_digit: int | None = None,
) -> list[FsddClip]:
    """The recordings of one split, ordered by speaker, then digit, then take.

    ``train``: every take of the speakers not in ``heldout_speakers`` (``takes`` must be None).
    ``real_train`` / ``real_test``: the takes ``takes = [first, last]`` (inclusive) of the held-out
    speakers. ``clips_per_digit`` keeps at most that many takes per speaker and digit (the lowest
    first); None keeps all.
    """
    if split not in SPLITS:
        raise UserError(f"unknown speech split '{split}': use one of {', '.join(SPLITS)}")
    clips = [clip for clip in map(_parse, names) if clip is not None]
    known = sorted({clip.speaker for clip in clips})
    heldout = set(heldout_speakers)
    unknown = sorted(heldout - set(known))
    if not heldout or unknown:
        raise UserError(
            f"audio.data.fsdd.heldout_speakers: {sorted(heldout)} must name 1 or more of the FSDD "
            f"speakers {', '.join(known)} (unknown: {', '.join(unknown) or 'none'})"
        )
    if len(heldout) >= len(known):
        raise UserError(
            "audio.data.fsdd.heldout_speakers: every speaker is held out, none is left to train"
        )
    if clips_per_digit is not None and clips_per_digit < 1:
        raise UserError(f"audio.data.fsdd.clips_per_digit.{split} must be >= 1 or null")
    first, last = _check_takes(split, takes)
    chosen = [
        clip
        for clip in clips
        if (clip.speaker in heldout) == (split != "train") and first <= clip.take <= last
    ]
    chosen.sort(key=lambda clip: (clip.speaker, clip.label, clip.take))
    if clips_per_digit is not None:
        kept: dict[tuple[str, int], int] = {}
        capped = []
        for clip in chosen:
            key = (clip.speaker, clip.label)
            if kept.get(key, 0) < clips_per_digit:
                kept[key] = kept.get(key, 0) + 1
                capped.append(clip)
        chosen = capped
    if not chosen:
        raise UserError(f"the FSDD {split} split is empty: check audio.data.fsdd.takes.{split}")
    return chosen


def write_fsdd_split(
    *,
    verified: str | os.PathLike,
    out_h5: str | os.PathLike,
    split: str,
    heldout_speakers: Sequence[str],
    takes: Sequence[int] | None = None,
    clips_per_digit: int | None = None,
    peak: float | None = 0.9,
    sample_rate: int = SAMPLE_RATE,
    clip_samples: int = CLIP_SAMPLES,
    manifest: str | os.PathLike | None = None,
) -> dict[str, int]:
    """Write one FSDD split (see :func:`plan_fsdd_split`) in the speech HDF5 layout.

    ``verified`` is the record :func:`ensure_fsdd` wrote; the split's files are checked against
    the manifest again as they are read. 8 kHz recordings are resampled to ``sample_rate`` by
    ``scipy.signal.resample_poly`` (polyphase; 16 kHz: up 2, down 1), centre-padded/cropped to
    ``clip_samples`` and scaled to ``peak``. ``speaker`` is the index in :data:`SPEAKERS` (the
    same in every split), ``voice`` the file stem. Returns ``{"n", "resampled", "cropped",
    "silent"}``.
    """
    try:
        record = json.loads(Path(verified).read_text())
        folder = Path(record["folder"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"{verified} is not a record of a checked FSDD copy ({exc}); delete it and rerun"
        ) from None
    entries = read_manifest(path=manifest)
    plan = plan_fsdd_split(
        names=sorted(entries),
        split=split,
        heldout_speakers=heldout_speakers,
        takes=takes,
        clips_per_digit=clips_per_digit,
    )
    verify_fsdd(folder=folder, manifest=entries, names=[clip.name for clip in plan])
    speakers = sorted({clip.speaker for clip in plan})
    take_values = sorted({clip.take for clip in plan})
    params = {
        "split": split,
        "manifest_sha256": record.get("manifest_sha256"),
        "heldout_speakers": sorted(heldout_speakers),
        "takes": None if takes is None else [int(t) for t in takes],
        "clips_per_digit": clips_per_digit,
        "peak": peak,
        "sample_rate": sample_rate,
        "clip_samples": clip_samples,
    }
    attrs = base_provenance(
        kind="speech-fsdd",
        split=split,
        source=str(folder),
        dataset="Free Spoken Digit Dataset",
        commit=record.get("commit", COMMIT),
        manifest_sha256=record.get("manifest_sha256"),
        sample_rate=int(sample_rate),
        clip_samples=int(clip_samples),
        native_rate=NATIVE_RATE,
        resampler="scipy.signal.resample_poly",
        digits=list(DIGITS),
        n=len(plan),
        speaker_names=list(SPEAKERS),
        split_speakers=speakers,
        heldout_speakers=sorted(heldout_speakers),
        takes=[take_values[0], take_values[-1]],
        clips_per_digit=clips_per_digit,
        peak=peak,
        config_hash=params_hash(params),
    )
    summary = write_wav_clips(
        files=[WavFile(folder / clip.name, clip.label, clip.speaker) for clip in plan],
        out_h5=out_h5,
        attrs=attrs,
        sample_rate=sample_rate,
        clip_samples=clip_samples,
        peak=peak,
        speaker_names=list(SPEAKERS),
        desc=f"fsdd {split}",
    )
    log.info(
        "FSDD split '%s': %d clips = %d speaker(s) (%s) x %d digits, takes %d..%d%s; %d Hz "
        "resampled to %d Hz (scipy.signal.resample_poly), %d samples per clip",
        split,
        summary["n"],
        len(speakers),
        ", ".join(speakers),
        len({clip.label for clip in plan}),
        take_values[0],
        take_values[-1],
        "" if clips_per_digit is None else f" (at most {clips_per_digit} per speaker and digit)",
        NATIVE_RATE,
        sample_rate,
        clip_samples,
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m ganinv.data.fsdd --write-manifest DIR [--out FILE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m ganinv.data.fsdd",
        description="Write the FSDD manifest (name, bytes, sha256) from a copy of recordings/.",
    )
    parser.add_argument(
        "--write-manifest",
        metavar="DIR",
        required=True,
        help=f"the recordings/ folder of commit {COMMIT[:12]} (or the unpacked archive)",
    )
    parser.add_argument(
        "--out", metavar="FILE", help="where to write it (default: the package's manifest)"
    )
    args = parser.parse_args(argv)
    try:
        path, n = write_manifest(folder=args.write_manifest, out=args.out)
    except UserError as exc:
        parser.exit(1, f"ganinv: {exc}\n")
    print(f"wrote {path} ({n} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
