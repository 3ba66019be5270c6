"""MTCNN face alignment: detect the face of each photo and cut a square, margin-padded crop.

Used for real photos (the real-face experiment) and for StyleGAN2 samples (Figure 2.17). The
detector is facenet-pytorch's MTCNN, whose weights ship inside the wheel, so it runs offline.
Every input is listed in a manifest (detected or not); only detected faces become crops.
"""

from __future__ import annotations

import csv
import dataclasses
import logging
import numbers
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import h5py
import numpy as np
from PIL import Image

from ganinv.atomic import atomic_path
from ganinv.data.h5io import base_provenance, write_h5
from ganinv.progress import progress
from ganinv.runtime import UserError, resolve_device

if TYPE_CHECKING:  # imported by make_detector, the only step that needs it
    import torch  # imported with facenet-pytorch above: aligned-face readers skip both

LOGGER = logging.getLogger("ganinv.data.align")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
CHOICES = ("probability", "largest")
N_LANDMARKS = 5
UNREADABLE = "unreadable"
# What PIL raises on a corrupt, truncated, empty or oversized file (UnidentifiedImageError is an
# OSError; DecompressionBombError is not).
_READ_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error,
                Image.DecompressionBombError)  # fmt: skip


@dataclasses.dataclass
class AlignedFace:
    """The manifest row of one input image.

    ``box`` and ``landmarks`` are in the source image's pixels (x, y); ``crop_box`` is the square
    actually cut (it may reach past the borders, where the crop is padded black); ``index`` is
    the crop's row in the output array, -1 when no face was kept. ``note`` says why an image has
    no crop ("unreadable: ...", "no face", "below min_probability ..."); empty when it has one.
    """

    source: str
    detected: bool
    probability: float = float("nan")
    n_faces: int = 0
    index: int = -1
    box: tuple[float, float, float, float] | None = None
    landmarks: tuple[tuple[float, float], ...] | None = None
    crop_box: tuple[int, int, int, int] | None = None
    note: str = ""

    def to_row(self) -> dict[str, object]:
        """A flat dict for the CSV manifest (empty strings where there is no face)."""
        row: dict[str, object] = {
            "source": self.source,
            "detected": int(self.detected),
            "probability": "" if np.isnan(self.probability) else round(self.probability, 6),
            "n_faces": self.n_faces,
            "index": self.index,
        }
        for key, value in zip(("x1", "y1", "x2", "y2"), self.box or ("",) * 4, strict=True):
            row[f"box_{key}"] = value if value == "" else round(float(value), 2)
        points = self.landmarks or (("", ""),) * N_LANDMARKS
        for k, (x, y) in enumerate(points):
            row[f"lm{k}_x"] = x if x == "" else round(float(x), 2)
            row[f"lm{k}_y"] = y if y == "" else round(float(y), 2)
        for key, value in zip(("x1", "y1", "x2", "y2"), self.crop_box or ("",) * 4, strict=True):
            row[f"crop_{key}"] = value
        row["note"] = self.note
        return row


def unreadable_face(source: str, reason: str) -> AlignedFace:
    """The manifest row of a file that could not be read as an image."""
    return AlignedFace(source=source, detected=False, note=f"{UNREADABLE}: {reason}")


def manifest_fields() -> list[str]:
    """Column names of the manifest CSV, in order."""
    return list(AlignedFace(source="", detected=False).to_row().keys())


def make_detector(device: str | torch.device = "cpu"):
    """facenet-pytorch's MTCNN returning every face (weights from the installed wheel)."""
    try:
        from facenet_pytorch import MTCNN  # ~2 s with torch: only jobs that detect faces pay it
    except ImportError:
        raise UserError(
            "face alignment needs facenet-pytorch: install it (pip install facenet-pytorch)"
        ) from None
    import torch  # imported with facenet-pytorch above: aligned-face readers skip both

    if not isinstance(device, torch.device):
        device = resolve_device(str(device))
    return MTCNN(keep_all=True, post_process=False, device=device)


def _as_rgb(image: np.ndarray, name: str) -> np.ndarray:
    """Check an input image is HxWx3 uint8."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise UserError(
            f"image '{name}' must be an HxWx3 uint8 RGB array, found {image.dtype} "
            f"{image.shape}; convert it (read_photo_folder does this for files)"
        )
    return image


def _per_image(values, n: int) -> list[np.ndarray | None]:
    """Split MTCNN's batched output (object array, None for no face) into per-image arrays."""
    if values is None:
        return [None] * n
    return [None if v is None else np.asarray(v, dtype=float) for v in list(values)]


def _detect(detector, images: list[np.ndarray]) -> list[tuple]:
    """(boxes [k,4], probs [k], landmarks [k,5,2]) or (None, None, None) per equal-size image."""
    boxes, probs, points = detector.detect(list(images), landmarks=True)
    n = len(images)
    return list(zip(_per_image(boxes, n), _per_image(probs, n), _per_image(points, n), strict=True))


def _pick(boxes: np.ndarray, probs: np.ndarray, choose: str) -> int:
    """Index of the face to keep: the most probable, or the one with the largest box area."""
    if choose == "largest":
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return int(np.argmax(areas))
    return int(np.argmax(probs))


def square_crop_box(box: Sequence[float], margin: float) -> tuple[int, int, int, int]:
    """The box enlarged by ``margin`` (a fraction of its size) and made square about its centre."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1) * (1.0 + margin)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left, top = int(round(cx - side / 2.0)), int(round(cy - side / 2.0))
    length = max(1, int(round(side)))
    return left, top, left + length, top + length


def crop_face(image: np.ndarray, crop_box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """Cut ``crop_box`` (black padding past the borders) and resize to size x size: uint8 3xHxW."""
    patch = Image.fromarray(image).crop(crop_box)
    patch = patch.resize((size, size), Image.Resampling.BILINEAR)  # antialiased when shrinking
    return np.asarray(patch, dtype=np.uint8).transpose(2, 0, 1).copy()


def _face_record(name, detection, size, margin, min_probability, choose, image):
    """The manifest row of one image and its crop (None when no face passes the threshold)."""
    boxes, probs, points = detection
    if boxes is None or probs is None or len(boxes) == 0:
        return AlignedFace(source=name, detected=False, note="no face"), None
    keep = probs >= min_probability
    best = float(np.max(probs))
    if not keep.any():
        note = f"below min_probability ({best:.3f} < {min_probability})"
        return AlignedFace(source=name, detected=False, probability=best, note=note), None
    boxes, probs, points = boxes[keep], probs[keep], points[keep]
    k = _pick(boxes, probs, choose)
    crop_box = square_crop_box(boxes[k], margin)
    record = AlignedFace(
        source=name,
        detected=True,
        probability=float(probs[k]),
        n_faces=int(keep.sum()),
        box=tuple(float(v) for v in boxes[k]),
        landmarks=tuple((float(x), float(y)) for x, y in points[k]),
        crop_box=crop_box,
    )
    return record, crop_face(image, crop_box, size)


def _batches(images: list[np.ndarray], batch_size: int) -> list[list[int]]:
    """Indices grouped by image shape (MTCNN batches need equal sizes), in input order."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(image.shape, []).append(i)
    batches = []
    for indices in groups.values():
        batches += [indices[s : s + batch_size] for s in range(0, len(indices), batch_size)]
    return sorted(batches, key=lambda b: b[0])


def _check_options(size, margin, min_probability, choose, batch_size, n_images, n_names):
    if n_images != n_names:
        raise UserError(f"align_images got {n_images} images but {n_names} names; pass one each")
    if choose not in CHOICES:
        raise UserError(f"unknown face choice '{choose}': use one of {list(CHOICES)}")
    if size < 8 or margin < 0 or not 0 <= min_probability <= 1 or batch_size < 1:
        raise UserError(
            f"bad alignment settings (size={size}, margin={margin}, "
            f"min_probability={min_probability}, batch_size={batch_size}): need size >= 8, "
            "margin >= 0, min_probability in [0, 1], batch_size >= 1"
        )


def align_images(
    images: Sequence[np.ndarray],
    names: Sequence[str],
    size: int = 160,
    margin: float = 0.2,
    min_probability: float = 0.9,
    choose: str = "probability",
    device: str | torch.device = "cpu",
    batch_size: int = 16,
    detector=None,
) -> tuple[np.ndarray, list[AlignedFace]]:
    """Detect one face per image and crop it.

    Returns (crops uint8 [M, 3, size, size] in input order, one AlignedFace per input). Images
    with several faces keep the most probable (``choose="probability"``) or the largest one;
    images without a face of probability >= ``min_probability`` are listed with
    ``detected=False`` and skipped.
    """
    _check_options(size, margin, min_probability, choose, batch_size, len(images), len(names))
    images = [_as_rgb(image, name) for image, name in zip(images, names, strict=True)]
    detector = detector or make_detector(device)
    records: list[AlignedFace | None] = [None] * len(images)
    crops: list[np.ndarray | None] = [None] * len(images)
    with progress(total=len(images), desc="align faces") as bar:
        for batch in _batches(images, batch_size):
            detections = _detect(detector, [images[i] for i in batch])
            for i, detection in zip(batch, detections, strict=True):
                records[i], crops[i] = _face_record(
                    names[i], detection, size, margin, min_probability, choose, images[i]
                )
            bar.update(len(batch))
    kept = [crop for crop in crops if crop is not None]
    for index, i in enumerate(i for i, crop in enumerate(crops) if crop is not None):
        records[i].index = index
    stack = np.stack(kept) if kept else np.zeros((0, 3, size, size), np.uint8)
    n_missing = len(images) - len(kept)
    LOGGER.info("aligned %d of %d images (%d without a face)", len(kept), len(images), n_missing)
    return stack, records


class PhotoFolder(NamedTuple):
    """The photos of a folder's file range, read as HxWx3 uint8 RGB arrays.

    ``files``: every file of the range (names relative to the folder, sorted); ``names`` and
    ``images``: the readable ones, in the same order; ``unreadable``: name -> reason for the rest.
    ``start``/``stop``: the range actually taken of the folder's ``n_photos`` sorted files.
    """

    images: list[np.ndarray]
    names: list[str]
    files: list[str]
    unreadable: dict[str, str]
    start: int
    stop: int
    n_photos: int


def check_range(
    start: int | None, stop: int | None, n: int | None = None, where: str = "the source"
) -> tuple[int, int]:
    """The [start, stop) range of ``n`` items, checked: 0 <= start < stop <= n (None: all).

    With ``n=None`` only the bounds themselves are checked (stop None is returned as -1).
    """
    for key, value in (("start", start), ("stop", stop)):
        whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        if value is not None and not whole:
            raise UserError(f"{key} must be a whole number or None, got {value!r}")
    first = 0 if start is None else int(start)
    if first < 0 or (stop is not None and int(stop) <= first):
        raise UserError(
            f"bad file range start={start}, stop={stop}: need 0 <= start < stop (stop is "
            "exclusive; leave either out for the beginning or the end)"
        )
    if n is None:
        return first, -1 if stop is None else int(stop)
    last = n if stop is None else int(stop)
    if first >= n or last > n:
        raise UserError(
            f"file range [{first}:{last}] is past the end of {where}, which holds {n} "
            f"photo{'s' if n != 1 else ''}; use 0 <= start < stop <= {n}"
        )
    return first, last


def _grey16_to_rgb(photo: Image.Image) -> np.ndarray:
    """A 16-bit (or 32-bit integer) grey image scaled to 8 bits, as RGB.

    PIL's ``convert("RGB")`` clips such values at 255 instead of scaling them.
    """
    values = np.asarray(photo, dtype=np.float64)
    top = float(values.max(initial=0.0))
    if photo.mode.startswith("I;16") or 255 < top <= 65535:
        values = values / 257.0  # 65535 -> 255
    elif top > 65535:
        values = values * (255.0 / top)
    grey = np.rint(values).clip(0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def _photo_rgb(path: Path) -> np.ndarray:
    """One photo as HxWx3 uint8 RGB (grey, palette, RGBA, CMYK and 16-bit converted)."""
    with Image.open(path) as photo:
        if photo.mode.startswith("I;16") or photo.mode == "I":
            return _grey16_to_rgb(photo)
        return np.ascontiguousarray(np.asarray(photo.convert("RGB"), dtype=np.uint8))


def _read_error(exc: BaseException, path: Path) -> str:
    """A one-line reason for an unreadable file, without the file's path."""
    if isinstance(exc, Image.UnidentifiedImageError):
        return "cannot identify image file"
    text = str(exc).replace(f"'{path}'", "").replace(str(path), "")
    return " ".join(text.split()) or type(exc).__name__


def read_photo_folder(
    folder: str | os.PathLike, *, start: int | None = None, stop: int | None = None
) -> PhotoFolder:
    """The jpg/jpeg/png files under ``folder`` (recursive, sorted), files [start:stop] only.

    Names are the paths relative to ``folder``. Grey, palette, RGBA, CMYK and 16-bit images are
    converted to RGB uint8. Only the files of the range are opened. A file that cannot be read
    (corrupt, truncated, empty, not an image) is recorded in ``unreadable`` with the reason and
    logged; only when none of the range can be read is it an error.
    """
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"photo folder not found: {root} (create it and put jpg/png photos in it)")
    check_range(start, stop)
    paths = sorted(
        (p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    if not paths:
        raise UserError(f"photo folder {root} holds no .jpg, .jpeg or .png files; add photos")
    first, last = check_range(start, stop, len(paths), where=f"photo folder {root}")
    chosen = paths[first:last]
    images, names, files, unreadable = [], [], [], {}
    for path in progress(chosen, total=len(chosen), desc="read photos"):
        name = path.relative_to(root).as_posix()
        files.append(name)
        try:
            if path.stat().st_size == 0:
                raise OSError("empty file (0 bytes)")
            image = _photo_rgb(path)
        except _READ_ERRORS as exc:
            unreadable[name] = _read_error(exc, path)
            continue
        images.append(image)
        names.append(name)
    where = f"{root}" if (first, last) == (0, len(paths)) else f"{root} (files [{first}:{last}])"
    if not images:
        name, reason = next(iter(unreadable.items()))
        raise UserError(
            f"no readable photo in {where}: all {len(chosen)} files are unreadable (e.g. "
            f"{name}: {reason}); replace the corrupt files or use another folder or range"
        )
    if unreadable:
        shown = list(unreadable)[:5]
        LOGGER.warning(
            "%d of %d photos in %s are unreadable and listed as not detected: %s%s",
            len(unreadable), len(chosen), where, ", ".join(shown),
            ", ..." if len(unreadable) > len(shown) else "",
        )  # fmt: skip
    return PhotoFolder(images, names, files, unreadable, first, last, len(paths))


def write_manifest(records: Sequence[AlignedFace], path: str | os.PathLike) -> None:
    """Write the manifest CSV atomically (one row per input image)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=manifest_fields())
        writer.writeheader()
        writer.writerows(record.to_row() for record in records)


def align_to_h5(
    images: Sequence[np.ndarray],
    names: Sequence[str],
    out_h5: str | os.PathLike,
    manifest_csv: str | os.PathLike,
    **kwargs,
) -> dict[str, object]:
    """Align ``images`` and write the crops (``images`` uint8 NCHW, ``source`` names) to HDF5.

    ``kwargs`` go to :func:`align_images`. Raises UserError when no image has a face. Returns a
    summary: counts of inputs, kept faces and rejected images.
    """
    crops, records = align_images(images, names, **kwargs)
    if len(crops) == 0:
        raise UserError(
            f"no face found in any of the {len(records)} images (all rejected at "
            f"min_probability={kwargs.get('min_probability', 0.9)}); use photos with a clearly "
            "visible face or lower min_probability"
        )
    sources = np.array([r.source for r in records if r.detected], dtype=h5py.string_dtype())
    settings = {k: v for k, v in kwargs.items() if k not in ("detector", "device")}
    write_h5(
        out_h5,
        {"images": crops, "source": sources},
        base_provenance(step="align", detector="facenet-pytorch MTCNN", settings=settings),
    )
    write_manifest(records, manifest_csv)
    summary = {
        "n_images": len(records),
        "n_faces": len(crops),
        "n_rejected": len(records) - len(crops),
    }
    LOGGER.info("alignment summary: %s", summary)
    return summary
