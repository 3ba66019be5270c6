"""Face sets that are not the generator's own samples: real faces and another GAN's faces.

Two steps, one rule each:

* :func:`prepare_faces` turns a source into an aligned image set at the generator's resolution.
  A source is a folder of photos (``<identity>/<photo>.jpg|png`` when identities matter) or an
  HDF5 file of ``images`` (uint8 NCHW, optional ``identity``). Photos are aligned with MTCNN
  (:mod:`ganinv.data.align`); HDF5 images that are aligned by construction (the procedural renderer,
  a GAN trained on it) can pass through unchanged, and the manifest says so.
* :func:`split_gallery_probes` cuts an identity-labelled set into a gallery (the images an
  identification is made against) and probes (the faces that are inverted).
"""

from __future__ import annotations

import dataclasses
import logging
import numbers
import os
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np
import pandas as pd

from ganinv.atomic import atomic_path
from ganinv.data.align import (
    AlignedFace,
    align_images,
    check_range,
    manifest_fields,
    read_photo_folder,
    unreadable_face,
)
from ganinv.data.h5io import (
    base_provenance,
    check_images,
    open_h5,
    read_attrs,
    read_h5,
    write_h5,
)
from ganinv.runtime import UserError

if TYPE_CHECKING:  # torch is imported where it is used: splitting gallery/probes needs none
    import torch

log = logging.getLogger("ganinv")

NOT_RUN = "none: aligned by construction (MTCNN not run)"


def _identity_of(name: str, source: str) -> str:
    """The identity of a photo ``<identity>/<file>``: its first folder."""
    parts = Path(name).parts
    if len(parts) < 2:
        raise UserError(
            f"photo '{name}' in {source} is not in an identity sub-folder: lay the folder out as "
            "<folder>/<identity>/<photo>.jpg (one sub-folder per person)"
        )
    return parts[0]


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 NCHW images resized to size x size (antialiased area-like bilinear)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    # torch takes ~2 s to import: only a resize pays it (photo checks and splits do not)
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(images).float()
    y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return y.round().clamp(0, 255).to(torch.uint8).numpy()


def _passthrough(images: np.ndarray, names: list[str], size: int):
    """Pre-aligned images: resized only; every manifest row says alignment was not run."""
    records = [
        AlignedFace(source=name, detected=True, n_faces=1, index=i) for i, name in enumerate(names)
    ]
    return _resize(images, size), records


@dataclasses.dataclass
class _Source:
    """The inputs of a face source's range: readable images, and every file with its identity."""

    images: list[np.ndarray] | np.ndarray
    names: list[str]  # the readable inputs, in order
    files: list[str]  # every input of the range, readable or not, in order
    unreadable: dict[str, str]  # name -> reason
    labels: list[str] | None  # identity of each of ``files``
    is_folder: bool
    start: int
    stop: int


def _read_source(source: str | os.PathLike, identities: bool, start, stop) -> _Source:
    """The inputs [start:stop] of a photo folder or an HDF5 file."""
    path = Path(source)
    if path.is_dir():
        folder = read_photo_folder(path, start=start, stop=stop)
        labels = [_identity_of(n, str(path)) for n in folder.files] if identities else None
        return _Source(folder.images, folder.names, folder.files, folder.unreadable, labels,
                       True, folder.start, folder.stop)  # fmt: skip
    if not path.exists():
        raise UserError(
            f"face source not found: {path} (give a folder of photos or an HDF5 file of images)"
        )
    check_range(start, stop)
    arrays, _ = read_h5(path, ["images"])
    if identities:
        with open_h5(path) as handle:
            if "identity" not in handle:
                raise UserError(
                    f"{path} has no 'identity' dataset, so it cannot give a gallery and probes; "
                    "use an identity-labelled set (a folder of identity sub-folders)"
                )
            arrays["identity"] = handle["identity"][...]
    check_images(arrays["images"], str(path))
    first, last = check_range(start, stop, len(arrays["images"]), where=str(path))
    images = arrays["images"][first:last]
    names = [f"{path.name}#{i}" for i in range(first, last)]
    labels = [str(v) for v in arrays["identity"][first:last]] if identities else None
    return _Source(images, names, list(names), {}, labels, False, first, last)


KEPT_UNDETECTED = "no face found: kept as drawn (not aligned)"


def _keep_undetected(crops: np.ndarray, aligned: list, images, size: int):
    """Crops in input order with every undetected image resized in place of its crop."""
    undetected = [i for i, r in enumerate(aligned) if not r.detected]
    if not undetected:
        return crops, aligned
    resized = {}
    for i in undetected:
        image = np.asarray(images[i])
        if image.shape[0] != 3:  # HxWx3 photo -> 3xHxW
            image = image.transpose(2, 0, 1)
        resized[i] = _resize(np.ascontiguousarray(image[None]), size)[0]
    out = []
    for i, record in enumerate(aligned):
        if record.detected:
            out.append(crops[record.index])
        else:
            record.note = KEPT_UNDETECTED
            out.append(resized[i])
        record.index = len(out) - 1
    log.warning("%d of %d faces without an MTCNN detection kept as drawn", len(undetected),
                len(aligned))  # fmt: skip
    return np.stack(out), aligned


def prepare_faces(
    *,
    source: str | os.PathLike,
    out_h5: str | os.PathLike,
    manifest_csv: str | os.PathLike,
    size: int,
    align: bool,
    identities: bool,
    alignment: dict | None = None,
    device: str | torch.device = "cpu",
    start: int | None = None,
    stop: int | None = None,
    keep_undetected: bool = False,
) -> dict:
    """Write ``images`` uint8 [N, 3, size, size], ``source`` (+ ``identity``, ``identity_name``).

    ``align``: detect and crop with MTCNN (``alignment`` = keyword settings of
    :func:`ganinv.data.align.align_images` except ``size``). A photo folder is always aligned; an
    HDF5 file is aligned only when asked. ``identities``: read identity labels (identity
    sub-folders, or the HDF5 ``identity`` dataset). The manifest lists every input with the
    identity and how it was aligned; images without a face are listed and skipped, and so are
    photos that cannot be read (corrupt, truncated, empty: ``detected`` 0, ``note``
    "unreadable: ..."). ``start`` and
    ``stop``: take only the inputs [start:stop] (sorted photos, or HDF5 rows); only those photos
    are opened. ``keep_undetected`` (a GAN's faces, already in its framing): an image in which
    MTCNN finds no face is kept as drawn (resized, not aligned; ``note`` says so) instead of being
    skipped.
    """
    src = _read_source(source, identities, start, stop)
    images = src.images
    if src.is_folder or align:
        if not src.is_folder:
            images = [np.ascontiguousarray(im.transpose(1, 2, 0)) for im in images]
        crops, aligned = align_images(images, src.names, size=size, device=device,
                                      **(alignment or {}))  # fmt: skip
        how = "mtcnn"
    else:
        crops, aligned = _passthrough(images, src.names, size)
        how = NOT_RUN
    if keep_undetected and how == "mtcnn":
        crops, aligned = _keep_undetected(crops, aligned, src.images, size)
    by_name = dict(zip(src.names, aligned, strict=True))
    records = [by_name[f] if f in by_name else unreadable_face(f, src.unreadable[f])
               for f in src.files]  # fmt: skip
    if len(crops) == 0:
        raise UserError(
            f"no face found in any of the {len(aligned)} readable images of {source}; use photos "
            "with a clearly visible face or lower the alignment's min_probability"
        )
    labels = src.labels
    kept = [i for i, r in enumerate(records) if r.index >= 0]
    datasets = {
        "images": crops,
        "source": np.array([records[i].source for i in kept], dtype=h5py.string_dtype()),
    }
    if labels is not None:
        names_kept = [labels[i] for i in kept]
        order = list(dict.fromkeys(names_kept))
        datasets["identity"] = np.array([order.index(n) for n in names_kept], dtype=np.int64)
        datasets["identity_name"] = np.array(names_kept, dtype=h5py.string_dtype())
    settings = {k: v for k, v in (alignment or {}).items() if k not in ("detector", "device")}
    write_h5(
        out_h5, datasets,
        base_provenance(kind="face-set", source=str(source), alignment=how,
                        resolution=size, settings=settings if how == "mtcnn" else {},
                        start=src.start, stop=src.stop, n_unreadable=len(src.unreadable)),
    )  # fmt: skip
    rows = pd.DataFrame([r.to_row() for r in records], columns=manifest_fields())
    note = rows.pop("note")  # kept last, after the face set's own columns
    rows["identity"] = labels if labels is not None else ""
    rows["alignment"] = how
    rows["start"], rows["stop"] = src.start, src.stop
    rows["note"] = note
    with atomic_path(manifest_csv) as tmp:
        rows.to_csv(tmp, index=False)
    summary = {"n_inputs": len(records), "n_faces": len(kept), "alignment": how,
               "n_detected": sum(r.detected for r in records),
               "n_identities": len(set(datasets.get("identity", []))),
               "n_unreadable": len(src.unreadable)}  # fmt: skip
    log.info("face set %s: %s", out_h5, summary)
    return summary


def split_gallery_probes(
    *,
    faces_h5: str | os.PathLike,
    gallery_h5: str | os.PathLike,
    probes_h5: str | os.PathLike,
    gallery_per_identity: int,
    probes_per_identity: int,
    max_identities: int | None = None,
) -> dict:
    """Per identity (in file order): the first images to the gallery, the next ones to the probes.

    An identity with fewer than ``gallery_per_identity + 1`` images is left out (logged); of the
    rest, only the first ``max_identities`` (in file order; None: all) are kept. Both outputs keep
    ``images``, ``identity`` and ``source``; at least two identities must remain, or
    identification would be trivially right.
    """
    if gallery_per_identity < 1 or probes_per_identity < 1:
        raise UserError("gallery_per_identity and probes_per_identity must be at least 1")
    if max_identities is not None and (
        isinstance(max_identities, bool)
        or not isinstance(max_identities, numbers.Integral)
        or max_identities < 2
    ):  # fmt: skip
        raise UserError(
            f"max_identities must be None (all) or a whole number >= 2 (identification needs "
            f"at least 2 identities), got {max_identities!r}"
        )
    arrays, _ = read_h5(faces_h5, ["images", "identity", "source"])
    identity = arrays["identity"]
    gallery: list[int] = []
    probes: list[int] = []
    skipped = []
    capped = []
    n_taken = 0
    for ident in dict.fromkeys(identity.tolist()):
        rows = np.flatnonzero(identity == ident)
        if len(rows) < gallery_per_identity + 1:
            skipped.append(ident)
            continue
        if max_identities is not None and n_taken >= max_identities:
            capped.append(ident)
            continue
        n_taken += 1
        gallery += rows[:gallery_per_identity].tolist()
        probes += rows[gallery_per_identity : gallery_per_identity + probes_per_identity].tolist()
    n_kept = len(dict.fromkeys(identity[gallery].tolist())) if gallery else 0
    if n_kept < 2:
        raise UserError(
            f"{faces_h5}: only {n_kept} identities have more than {gallery_per_identity} aligned "
            "images; identification needs at least 2. Add photos per identity or lower "
            "gallery_per_identity"
        )
    if skipped:
        log.warning("left out %d identities with too few aligned images: %s", len(skipped),
                    skipped[:10])  # fmt: skip
    if capped:
        log.info("kept the first %d identities (max_identities); left out %d more", n_kept,
                 len(capped))  # fmt: skip
    attrs = {k: v for k, v in read_attrs(faces_h5).items() if k in ("source", "alignment")}
    for path, rows, role in ((gallery_h5, gallery, "gallery"), (probes_h5, probes, "probes")):
        write_h5(
            path,
            {"images": arrays["images"][rows], "identity": arrays["identity"][rows],
             "source": np.array(arrays["source"][rows], dtype=h5py.string_dtype())},
            base_provenance(kind=f"face-{role}", faces=str(faces_h5), n_identities=n_kept,
                            gallery_per_identity=gallery_per_identity,
                            probes_per_identity=probes_per_identity,
                            max_identities=max_identities, **attrs),
        )  # fmt: skip
    summary = {"identities": n_kept, "gallery": len(gallery), "probes": len(probes),
               "identities_left_out": len(skipped), "max_identities": max_identities,
               "identities_over_max": len(capped)}  # fmt: skip
    log.info("gallery/probes: %s", summary)
    return summary
