"""Real photo datasets for the face chapter: CelebA (aligned) and LFW (deep-funneled).

Each dataset is either a local copy the user names (config key :attr:`PhotoDataset.folder_key`)
or a download from its public origin through torchvision's dataset classes into
``<download_dir>/<torchvision_base>/`` (torchvision's own layout):

- CelebA (Liu, Luo, Wang, Tang 2015; non-commercial research use only):
  ``img_align_celeba/NNNNNN.jpg`` with ``identity_CelebA.txt`` (``<file> <identity>`` per line)
  beside that folder. ``torchvision.datasets.CelebA(split="all", target_type="identity",
  download=True)`` fetches it from Google Drive, which needs the ``gdown`` package.
- LFW deep-funneled (Huang, Ramesh, Berg, Learned-Miller 2007; deep funneling: Huang et al.
  2012; research use): ``lfw-deepfunneled/<Name>/<Name>_NNNN.jpg``, one folder per person.
  ``torchvision.datasets.LFWPeople(split="10fold", image_set="deepfunneled", download=True)``;
  torchvision releases that refuse to download LFW (0.26 raises ValueError: "no longer available
  for download") are bypassed with torchvision's own ``download_and_extract_archive`` /
  ``download_url`` on the URLs and md5s the class names.

The archives of a download are pinned by a manifest shipped in the package
(``manifests/photo_datasets.csv``: dataset, file, md5, source), whose md5s are the ones
torchvision's classes check; :func:`ensure_photo_dataset` checks every such file it finds
against it again, after torchvision (an archive torchvision lets the user delete after unpacking
may be absent; the annotation files may not).

Layout checks of a copy (local or downloaded), by :func:`ensure_photo_dataset`:

- photos are the ``.jpg``/``.jpeg`` files; other files (``.DS_Store``, notes) are logged and
  ignored; a photo should start with the JPEG start marker and end with the end marker
  (trailing zero padding allowed): an empty, truncated or non-JPEG photo is recorded
  (``complete`` 0 in the file list, ``n_incomplete`` in the record, one warning), not fatal;
  the alignment then lists it as unreadable;
- CelebA: ``identity_CelebA.txt`` must exist beside the images folder and name every photo
  present (a photo it does not name is an error: it is not a CelebA photo or was renamed); names
  it lists whose photo is absent are fine (a subset, e.g. the first 10,000) and only logged;
- LFW: every photo must lie in a person's sub-folder and be named ``<Name>_NNNN.jpg`` after it.

:func:`missing_datasets_message` runs when the workflow is parsed, before any job: one message
naming every dataset that is neither here nor downloadable (origin host unreachable, or gdown
missing for CelebA), with its origin, licence, layout and config key.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ganinv.atomic import write_text_atomic
from ganinv.data.archives import safe_extraction
from ganinv.runtime import UserError, file_sha256

__all__ = [
    "DATASETS",
    "IDENTITY_FILE",
    "MARKER",
    "PhotoDataset",
    "PublishedFile",
    "archives_manifest_path",
    "ensure_photo_dataset",
    "images_folder",
    "is_present",
    "missing_datasets_message",
    "origin_reachable",
    "published_files",
    "read_celeba_identities",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhotoDataset:
    """One photo dataset: what it is, where it comes from, how a copy is laid out."""

    name: str
    title: str
    origin: str  # the human-readable page of the public origin
    licence: str
    folder_key: str  # the config key that names a local copy
    images_dir: str  # the folder that holds the photos
    torchvision_base: str  # torchvision's folder under the download root
    n_images_full: int  # photos in the full dataset
    download_url: str  # where a download comes from (its host is probed for reachability)
    layout: str  # the layout of a copy, as messages show it
    download_size: str | None = None  # a human string, where a published fact states it


DATASETS: dict[str, PhotoDataset] = {
    "celeba": PhotoDataset(
        name="celeba",
        title="CelebA (aligned, Liu et al. 2015)",
        origin="http://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
        licence="non-commercial research use only (the CelebA release agreement)",
        folder_key="faces.celeba.folder",
        images_dir="img_align_celeba",
        torchvision_base="celeba",
        n_images_full=202599,
        # torchvision fetches CelebA's files by their Google Drive ids (manifest's source column).
        download_url="https://drive.google.com/",
        layout="img_align_celeba/NNNNNN.jpg with identity_CelebA.txt beside img_align_celeba/",
        # img_align_celeba.zip; the mirrors of it on huggingface.co list 1.42-1.44 GB.
        download_size="about 1.4 GB",
    ),
    "lfw": PhotoDataset(
        name="lfw",
        title="LFW deep-funneled (Huang et al. 2007; deep funneling, Huang et al. 2012)",
        origin="http://vis-www.cs.umass.edu/lfw/",
        licence="research use only (cite Huang et al. 2007 and 2012; no redistribution)",
        folder_key="faces.lfw.folder",
        images_dir="lfw-deepfunneled",
        torchvision_base="lfw-py",
        n_images_full=13233,
        download_url="http://vis-www.cs.umass.edu/lfw/lfw-deepfunneled.tgz",
        layout="lfw-deepfunneled/<Name>/<Name>_NNNN.jpg (one folder per person)",
    ),
}

IDENTITY_FILE = "identity_CelebA.txt"
# Written into <download_dir>/<torchvision_base>/ once a download is complete and checked.
MARKER = ".ganinv-download.json"
_PHOTO_SUFFIXES = (".jpg", ".jpeg")
_ARCHIVE_SUFFIXES = (".zip", ".tgz", ".tar.gz", ".7z")
_JPEG_START = b"\xff\xd8\xff"
_JPEG_END = b"\xff\xd9"
_SHOWN = 5  # problems listed in one message
_PROBE_TIMEOUT = 3.0  # seconds for one TCP connection to an origin
_PROBE_DEADLINE = 5.0  # seconds for all probes together (DNS included)


def _spec(name: str) -> PhotoDataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise UserError(
            f"unknown photo dataset '{name}': use one of {', '.join(sorted(DATASETS))}"
        ) from None


def _example(specs: list[PhotoDataset]) -> str:
    """A --config override that names local copies of ``specs``."""
    inner = ", ".join(f"{s.name}: {{folder: /path/to/{s.name}}}" for s in specs)
    return f"--config 'faces={{{inner}}}'"


def _shown(problems: list[str]) -> str:
    return "; ".join(problems[:_SHOWN]) + ("; ..." if len(problems) > _SHOWN else "")


# ----- the shipped manifest of the published archives -----


@dataclass(frozen=True)
class PublishedFile:
    """One file a download fetches: its name, the md5 torchvision checks, where it comes from."""

    dataset: str
    file: str
    md5: str
    source: str  # a URL, or gdrive:<Google Drive file id>


def archives_manifest_path() -> Path:
    """The manifest shipped in the package (``ganinv/data/manifests/photo_datasets.csv``)."""
    return Path(str(resources.files("ganinv.data").joinpath("manifests", "photo_datasets.csv")))


def published_files(*, name: str | None = None) -> list[PublishedFile]:
    """The rows of the shipped manifest (of dataset ``name``, or all)."""
    source = archives_manifest_path()
    try:
        text = source.read_text()
    except OSError as exc:
        raise UserError(
            f"cannot read the photo-dataset manifest {source} ({exc.strerror}); reinstall "
            "ganinv (pip install -e .) so that its package data is present"
        ) from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or set(rows[0]) != {"dataset", "file", "md5", "source"}:
        raise UserError(f"{source}: the manifest needs the columns dataset,file,md5,source")
    files = [PublishedFile(r["dataset"], r["file"], r["md5"], r["source"]) for r in rows]
    return [f for f in files if name is None or f.dataset == name]


def _md5(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _verify_published(spec: PhotoDataset, base: Path) -> dict[str, str]:
    """Check the files of a download in ``base`` against the shipped manifest: {file: md5}."""
    checked: dict[str, str] = {}
    problems: list[str] = []
    for entry in published_files(name=spec.name):
        path = base / entry.file
        if not path.is_file():
            if entry.file.endswith(_ARCHIVE_SUFFIXES):
                log.info("%s: %s was deleted after unpacking; not checked", base, entry.file)
            else:
                problems.append(f"{entry.file} is missing")
            continue
        actual = _md5(path)
        if actual != entry.md5:
            problems.append(f"{entry.file} has md5 {actual}, published {entry.md5}")
        else:
            checked[entry.file] = actual
    if problems:
        raise UserError(
            f"the download of {spec.title} in {base} does not match its published files "
            f"({_shown(problems)}); delete {base} and rerun to download it again, or set "
            f"{spec.folder_key} to a local copy ({spec.layout}), e.g. {_example([spec])}"
        )
    return checked


# ----- where the photos are -----


def _is_photo(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(_PHOTO_SUFFIXES)


def _holds_photos(folder: Path, spec: PhotoDataset) -> bool:
    """Whether ``folder`` holds at least one photo in the dataset's layout (stops at the first)."""
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if spec.name == "lfw":
                    if entry.is_dir() and _has_photo(Path(entry.path)):
                        return True
                elif entry.is_file() and _is_photo(entry.name):
                    return True
    except OSError:
        return False
    return False


def _has_photo(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return any(e.is_file() and _is_photo(e.name) for e in entries)
    except OSError:
        return False


def images_folder(
    *,
    name: str,
    folder: str | os.PathLike | None = None,
    download_dir: str | os.PathLike | None = None,
) -> Path:
    """The folder holding a dataset's photos (it need not exist yet).

    ``folder`` (a local copy) may be the images folder itself (``.../img_align_celeba``,
    ``.../lfw-deepfunneled``), a folder holding it (``.../celeba``), or a renamed images folder
    that holds photos in the dataset's layout. Without ``folder``: the download's
    ``<download_dir>/<torchvision_base>/<images_dir>``.
    """
    spec = _spec(name)
    if folder is not None:
        given = Path(folder)
        child = given / spec.images_dir
        if given.name == spec.images_dir:
            return given
        if child.is_dir():
            return child
        if given.is_dir() and _holds_photos(given, spec):
            return given
        return child
    if download_dir is None:
        raise UserError(
            f"{spec.title}: set {spec.folder_key} to a local copy, or give a download folder"
        )
    return Path(download_dir) / spec.torchvision_base / spec.images_dir


def is_present(
    *,
    name: str,
    folder: str | os.PathLike | None = None,
    download_dir: str | os.PathLike | None = None,
) -> bool:
    """Whether the images folder holds at least one photo (a download: and is complete).

    A download is complete once :func:`ensure_photo_dataset` has checked it and written
    :data:`MARKER` beside its images folder. Cheap: stops at the first photo.
    """
    spec = _spec(name)
    images = images_folder(name=name, folder=folder, download_dir=download_dir)
    if not _holds_photos(images, spec):
        return False
    return folder is not None or (images.parent / MARKER).is_file()


# ----- what is missing, at parse time -----


def _gdown_available() -> bool:
    return importlib.util.find_spec("gdown") is not None


def origin_reachable(url: str) -> bool:
    """Whether a TCP connection to ``url``'s host (or its proxy) opens within a few seconds."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path)).exists()
    host = parsed.hostname or ""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parsed.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        via = urllib.parse.urlparse(proxy if "://" in proxy else f"http://{proxy}")
        host, port = via.hostname or host, via.port or 80
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT):
            return True
    except OSError:
        return False


def _probe(urls: list[str], reachable: Callable[[str], bool]) -> dict[str, bool]:
    """``reachable`` for each URL, all at once in daemon threads; unanswered in time: False."""
    answers: dict[str, bool] = {}

    def ask(url: str) -> None:
        try:
            answers[url] = bool(reachable(url))
        except Exception:  # a probe that fails says "unreachable"
            answers[url] = False

    threads = [threading.Thread(target=ask, args=(url,), daemon=True) for url in urls]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + _PROBE_DEADLINE
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {url: answers.get(url, False) for url in urls}


def _advice(spec: PhotoDataset, download_dir: str | os.PathLike | None) -> str:
    size = f", {spec.download_size}" if spec.download_size else ""
    where = f" into {download_dir}" if download_dir is not None else ""
    return (
        f"It comes from {spec.origin} (licence: {spec.licence}). Put a copy laid out as "
        f"{spec.layout} in a folder and name it with {spec.folder_key}, e.g. "
        f"{_example([spec])}; or leave {spec.folder_key} null to download it with torchvision"
        f"{where} ({spec.download_url}{size})."
    )


def missing_datasets_message(
    *,
    needs: Mapping[str, tuple[str | os.PathLike | None, str | os.PathLike]],
    reachable: Callable[[str], bool] | None = None,
) -> str | None:
    """One message naming every needed dataset that is neither here nor downloadable, or None.

    ``needs`` maps a dataset name to (local folder or None, download folder). A given folder must
    hold the photos (:func:`is_present`); without one, a completed download in the download
    folder is used, else the dataset must be downloadable: CelebA needs gdown, and
    ``reachable(url)`` (default: a TCP connection to the origin host, 3 s; all probes together
    at most 5 s) must say the origin answers.
    """
    check = origin_reachable if reachable is None else reachable
    missing: list[tuple[PhotoDataset, str, str | os.PathLike | None]] = []
    to_probe: list[tuple[PhotoDataset, str | os.PathLike]] = []
    for name, (folder, download_dir) in needs.items():
        spec = _spec(name)
        if folder is not None:
            given = Path(folder)
            if not given.exists():
                missing.append((spec, f"{spec.folder_key}: folder {given} not found", None))
            elif not is_present(name=name, folder=folder):
                missing.append((spec, f"{spec.folder_key}: {given} holds no {spec.layout}", None))
        elif is_present(name=name, download_dir=download_dir):
            continue
        elif name == "celeba" and not _gdown_available():
            why = (
                "it is not in the download folder and downloading it from Google Drive needs "
                "the gdown package, which is not installed (pip install gdown)"
            )
            missing.append((spec, why, download_dir))
        else:
            to_probe.append((spec, download_dir))
    answers = _probe(sorted({spec.download_url for spec, _ in to_probe}), check)
    for spec, download_dir in to_probe:
        if not answers[spec.download_url]:
            why = (
                f"it is not in {download_dir} and its origin {spec.download_url} cannot be "
                "reached from this machine"
            )
            missing.append((spec, why, download_dir))
    if not missing:
        return None
    lines = [
        f"{len(missing)} photo dataset(s) this configuration needs are neither here nor "
        "downloadable:"
    ]
    for spec, why, download_dir in missing:
        lines.append(f"- {spec.title}: {why}. {_advice(spec, download_dir)}")
    if len(missing) > 1:
        lines.append(f"Name all local copies at once: {_example([s for s, _, _ in missing])}")
    return "\n".join(lines)


# ----- CelebA identities -----


def _identity_file(folder: Path) -> Path:
    candidates = [folder] if folder.name == IDENTITY_FILE else []
    candidates += [folder / IDENTITY_FILE, folder.parent / IDENTITY_FILE]
    for path in candidates:
        if path.is_file():
            return path
    raise UserError(
        f"CelebA: no {IDENTITY_FILE} in {folder} or beside it; a copy of CelebA needs the "
        f"identity file beside img_align_celeba/ (set {DATASETS['celeba'].folder_key} to the "
        "folder that holds both)"
    )


def read_celeba_identities(*, folder: str | os.PathLike) -> dict[str, int]:
    """``identity_CelebA.txt`` parsed: {file name: identity}.

    ``folder``: the folder holding the file, the images folder beside it, or the file itself.
    """
    path = _identity_file(Path(folder))
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path} ({exc})") from None
    identities: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit():
            raise UserError(f"{path}:{number}: expected '<file> <identity>', got {line.strip()!r}")
        file, identity = parts[0], int(parts[1])
        if identities.setdefault(file, identity) != identity:
            raise UserError(f"{path}:{number}: {file} is listed with two identities")
    if not identities:
        raise UserError(f"{path} lists no photos")
    return identities


# ----- listing and hashing a copy -----


def _list_photos(spec: PhotoDataset, images: Path) -> list[tuple[str, str]]:
    """Sorted (name relative to ``images`` with '/', person folder or '') of every photo."""
    photos: list[tuple[str, str]] = []
    ignored: list[str] = []
    misplaced: list[str] = []
    pattern_cache: dict[str, re.Pattern[str]] = {}
    with os.scandir(images) as entries:
        for entry in entries:
            if spec.name == "celeba":
                if entry.is_file() and _is_photo(entry.name):
                    photos.append((entry.name, ""))
                else:
                    ignored.append(entry.name)
            elif entry.is_dir():
                person = entry.name
                pattern = pattern_cache.setdefault(
                    person, re.compile(rf"^{re.escape(person)}_\d{{4}}\.jpg$")
                )
                with os.scandir(entry.path) as inner:
                    for item in inner:
                        rel = f"{person}/{item.name}"
                        if not (item.is_file() and _is_photo(item.name)):
                            ignored.append(rel)
                        elif not pattern.match(item.name):
                            misplaced.append(f"{rel} is not named {person}_NNNN.jpg")
                        else:
                            photos.append((rel, person))
            elif _is_photo(entry.name):
                misplaced.append(f"{entry.name} is not in a person's sub-folder")
            else:
                ignored.append(entry.name)
    if misplaced:
        raise UserError(
            f"{spec.title} at {images}: {len(misplaced)} photo(s) break the layout "
            f"{spec.layout} ({_shown(sorted(misplaced))}); give an unmodified copy in "
            f"{spec.folder_key}"
        )
    if ignored:
        log.warning(
            "%s: %d entr(ies) that are not photos are ignored (e.g. %s)",
            images,
            len(ignored),
            ", ".join(sorted(ignored)[:3]),
        )
    photos.sort()
    return photos


def _read_photo(path: str) -> tuple[int, str, bool]:
    """(bytes, sha256, whether it looks like a complete JPEG) of one photo."""
    with open(path, "rb") as handle:
        data = handle.read()
    complete = data[:3] == _JPEG_START and data.rstrip(b"\x00")[-2:] == _JPEG_END
    return len(data), hashlib.sha256(data).hexdigest(), complete


def _hash_photos(images: Path, names: list[str]) -> list[tuple[int, str, bool]]:
    """:func:`_read_photo` of each photo, in threads (hashlib and reads release the GIL)."""
    workers = min(16, 2 * (os.cpu_count() or 1))
    paths = [os.path.join(images, name) for name in names]
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(_read_photo, paths, chunksize=64))
    except OSError as exc:
        raise UserError(
            f"cannot read the photo {exc.filename} ({exc.strerror}); make it readable"
        ) from None


# ----- downloads -----


def _unreachable(spec: PhotoDataset, exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return (
        f"cannot download {spec.title} from {spec.download_url} ({type(exc).__name__}: "
        f"{reason}); where there is no network, or the origin no longer serves it, get a copy "
        f"elsewhere (origin {spec.origin}; licence: {spec.licence}), lay it out as "
        f"{spec.layout} and set {spec.folder_key} to the folder that holds it, e.g. "
        f"snakemake {_example([spec])}"
    )


def _download_celeba(spec: PhotoDataset, root: Path) -> None:
    if not _gdown_available():
        raise UserError(
            f"downloading {spec.title} from Google Drive needs the gdown package, which is not "
            f"installed: pip install gdown; or set {spec.folder_key} to a local copy "
            f"({spec.layout}), e.g. {_example([spec])}"
        )
    import torchvision.datasets  # ~2 s with torch: only a download pays it

    log.info("downloading %s with torchvision's CelebA class into %s", spec.title, root)
    try:
        torchvision.datasets.CelebA(
            root=str(root), split="all", target_type="identity", download=True
        )
    except Exception as exc:  # network, Google Drive quota, md5: any failure of the download
        raise UserError(_unreachable(spec, exc)) from None


def _download_lfw(spec: PhotoDataset, root: Path) -> None:
    import torchvision.datasets  # ~2 s with torch: only a download pays it

    log.info("downloading %s with torchvision's LFWPeople class into %s", spec.title, root)
    try:
        torchvision.datasets.LFWPeople(
            root=str(root), split="10fold", image_set="deepfunneled", download=True
        )
        return
    except ValueError as exc:
        if "no longer available" not in str(exc):
            raise UserError(_unreachable(spec, exc)) from None
        log.info(
            "torchvision %s refuses to download LFW (%s); fetching the files its LFWPeople "
            "class names, with their md5s, with torchvision's download helpers",
            getattr(torchvision, "__version__", "?"),
            exc,
        )
    except Exception as exc:  # network, md5: any failure of the download
        raise UserError(_unreachable(spec, exc)) from None
    from torchvision.datasets import utils  # ~2 s with torch: only a download pays it

    base = root / spec.torchvision_base
    try:
        for entry in published_files(name=spec.name):
            if entry.file.endswith(_ARCHIVE_SUFFIXES):
                with safe_extraction():
                    utils.download_and_extract_archive(
                        entry.source, download_root=str(base), filename=entry.file, md5=entry.md5
                    )
            else:
                utils.download_url(entry.source, root=str(base), filename=entry.file, md5=entry.md5)
    except Exception as exc:  # network, HTTP status, md5, a damaged archive
        raise UserError(_unreachable(spec, exc)) from None


def _download(spec: PhotoDataset, download_dir: Path) -> dict[str, str]:
    """A download in ``download_dir`` (reused once complete); its files checked: {file: md5}."""
    base = download_dir / spec.torchvision_base
    images = base / spec.images_dir
    if (base / MARKER).is_file() and _holds_photos(images, spec):
        log.info("reusing the completed download of %s in %s", spec.title, base)
    else:
        try:
            download_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"cannot create the download folder {download_dir} ({exc.strerror}); make it "
                f"writable, or set {spec.folder_key} to a local copy of {spec.title}"
            ) from None
        (_download_celeba if spec.name == "celeba" else _download_lfw)(spec, download_dir)
    return _verify_published(spec, base)


# ----- the public entry point -----


def ensure_photo_dataset(
    *,
    name: str,
    folder: str | os.PathLike | None = None,
    download_dir: str | os.PathLike | None = None,
    out_json: str | os.PathLike,
    out_manifest: str | os.PathLike,
) -> dict[str, Any]:
    """A checked copy of a photo dataset; its file list to ``out_manifest``, record to ``out_json``.

    ``folder``: a local copy (see :func:`images_folder`), checked and never written to. None:
    downloaded with torchvision into ``download_dir/<torchvision_base>`` (a completed download
    there is reused), its files checked against the shipped manifest. Layout rules: see the
    module docstring. ``out_manifest`` (CSV, sorted by name): ``name`` (relative to the images
    folder, '/'-separated), ``bytes``, ``sha256``, ``identity`` (CelebA: its identity number;
    LFW: the person's folder), ``complete`` (0: empty, truncated or not a JPEG). ``out_json``:
    dataset, title, origin, licence, images_folder (absolute), n_files, n_incomplete and
    incomplete (the first 20 such names), n_identities, total_bytes, n_images_full, source
    ("local copy" or "download"), download_dir and published_files (a download's
    {file: md5}, else None),
    manifest_sha256 (of ``out_manifest``). Both are written atomically. Returns the record.
    """
    spec = _spec(name)
    checked: dict[str, str] | None = None
    if folder is not None:
        given = Path(folder)
        if not given.is_dir():
            raise UserError(
                f"{spec.folder_key}: {given} is not a folder; give a local copy of {spec.title} "
                f"({spec.layout}), or null to download it"
            )
        images = images_folder(name=name, folder=given)
        source = "local copy"
    else:
        if download_dir is None:
            raise UserError(
                f"{spec.title}: set {spec.folder_key} to a local copy, or give a download folder"
            )
        checked = _download(spec, Path(download_dir))
        images = images_folder(name=name, download_dir=download_dir)
        source = "download"
    if not images.is_dir():
        raise UserError(
            f"{spec.title}: no {spec.images_dir}/ folder at {images}; "
            f"{spec.folder_key} must name a copy laid out as {spec.layout}"
        )
    photos = _list_photos(spec, images)
    if not photos:
        raise UserError(
            f"{spec.title}: {images} holds no photos; {spec.folder_key} must name a copy laid "
            f"out as {spec.layout}"
        )
    names = [rel for rel, _ in photos]
    identities: dict[str, str] = {rel: person for rel, person in photos}
    if spec.name == "celeba":
        listed = read_celeba_identities(folder=images)
        unlisted = [rel for rel in names if rel not in listed]
        if unlisted:
            raise UserError(
                f"{spec.title} at {images}: {len(unlisted)} photo(s) are not named in "
                f"{IDENTITY_FILE} ({_shown(unlisted)}); they are not CelebA photos or were "
                f"renamed: remove them, or give an unmodified copy in {spec.folder_key}"
            )
        identities = {rel: str(listed[rel]) for rel in names}
        if len(listed) > len(names):
            log.info(
                "%s: %d of the %d photos %s lists are here (a subset)",
                images,
                len(names),
                len(listed),
                IDENTITY_FILE,
            )
    digests = _hash_photos(images, names)
    broken = [rel for rel, (_, _, complete) in zip(names, digests, strict=True) if not complete]
    if broken:  # recorded, not fatal: the alignment lists them as unreadable or reads them
        log.warning(
            "%s at %s: %d photo(s) are empty, truncated or not JPEG files (%s); they are "
            "marked complete=0 in %s",
            spec.title,
            images,
            len(broken),
            _shown(broken),
            out_manifest,
        )
    if source == "download":
        marker = {"dataset": spec.name, "published_files": checked}
        write_text_atomic(
            images.parent / MARKER, json.dumps(marker, indent=2, sort_keys=True) + "\n"
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "bytes", "sha256", "identity", "complete"])
    for rel, (size, digest, complete) in zip(names, digests, strict=True):
        writer.writerow([rel, size, digest, identities[rel], int(complete)])
    write_text_atomic(out_manifest, buffer.getvalue())
    total = sum(size for size, _, _ in digests)
    record = {
        "dataset": spec.name,
        "title": spec.title,
        "origin": spec.origin,
        "licence": spec.licence,
        "images_folder": str(images.resolve()),
        "n_files": len(names),
        "n_incomplete": len(broken),
        "incomplete": broken[:20],
        "n_identities": len(set(identities.values())),
        "n_images_full": spec.n_images_full,
        "total_bytes": total,
        "source": source,
        "download_dir": str(Path(download_dir).resolve()) if source == "download" else None,
        "published_files": checked,
        "manifest_sha256": file_sha256(out_manifest),
    }
    write_text_atomic(out_json, json.dumps(record, indent=2, sort_keys=True) + "\n")
    log.info(
        "%s (%s): %d photos of %d identities, %d bytes, in %s",
        spec.title,
        source,
        len(names),
        record["n_identities"],
        total,
        record["images_folder"],
    )
    return record
