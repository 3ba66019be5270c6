"""dlib's pretrained face recogniser on the pretrained DCGAN's faces (identity metrics)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganinv.experiments.identity_networks import load_identity_network, pair_measures
from ganinv.models.dlib_face import SAME_PERSON_DISTANCE, DlibRecogniser
from ganinv.runtime import UserError
from ganinv.weights import REGISTRY, check_package_file

from .test_inception_features import dcgan_faces


@pytest.fixture(scope="module")
def files():
    return {
        "recognition_path": check_package_file(REGISTRY["dlib_recognition"]),
        "landmarks_path": check_package_file(REGISTRY["dlib_landmarks5"]),
    }


@pytest.fixture(scope="module")
def recogniser(files):
    return DlibRecogniser(**files)


def _faces(z: torch.Tensor) -> np.ndarray:
    from ganinv.models.dcgan_tutorial import load_dcgan_tutorial_generator

    generator, _ = load_dcgan_tutorial_generator(check_package_file(REGISTRY["dcgan_digiface"]))
    with torch.no_grad():
        return ((generator(z) + 1) * 127.5).round().clamp(0, 255).byte().numpy()


def test_detects_most_dcgan_faces_and_separates_identities(recogniser, one_thread):
    rng = torch.Generator().manual_seed(0)
    z = torch.randn(40, 100, generator=rng)
    near = _faces(z + 0.3 * torch.randn(40, 100, generator=rng))
    base, other = _faces(z), _faces(torch.randn(40, 100, generator=rng))
    found = recogniser.describe(images=base)
    # measured: 33 of 40 found (detector without its own upsampling, faces at 256 px)
    assert found.detected.mean() >= 0.6, found.detected.mean()
    assert np.isnan(found.descriptors[~found.detected]).all()
    assert (found.boxes[~found.detected] == -1).all()
    same = recogniser.describe(images=base, boxes=found.boxes)
    assert np.array_equal(same.descriptors[found.detected], found.descriptors[found.detected])
    d_near = pair_measures(found.descriptors, recogniser.describe(
        images=near, boxes=found.boxes).descriptors)["identity_distance"]  # fmt: skip
    d_other = pair_measures(found.descriptors, recogniser.describe(
        images=other, boxes=found.boxes).descriptors)["identity_distance"]  # fmt: skip
    # measured medians 0.36 vs 0.66: a small step in z keeps the person, another z does not
    assert np.nanmedian(d_near) < SAME_PERSON_DISTANCE < np.nanmedian(d_other)
    assert np.isnan(d_near[~found.detected]).all()


def test_identity_network_counts_faces_it_cannot_find(files):
    network = load_identity_network(kind="dlib", path=files["recognition_path"],
                                    device=torch.device("cpu"),
                                    landmarks_path=files["landmarks_path"])  # fmt: skip
    faces = dcgan_faces(3).numpy()
    faces[1] = 128  # a grey square: no face
    targets, recon, found = network.embed_pairs(faces, faces)
    assert found.tolist()[1] is False and np.isnan(targets[1]).all()
    measures = pair_measures(targets, recon)
    assert measures["identity_distance"][found] == pytest.approx(0.0)
    assert measures["identity_cosine"][found] == pytest.approx(1.0)


def test_unreadable_model_files_and_bad_images_are_one_clear_error(tmp_path, files, recogniser):
    truncated = tmp_path / "shape_predictor_5_face_landmarks.dat"
    truncated.write_bytes(files["landmarks_path"].read_bytes()[:5000])
    with pytest.raises(UserError, match="expected dlib's 5-point landmark model.*--no-deps"):
        DlibRecogniser(recognition_path=files["recognition_path"], landmarks_path=truncated)
    noise = tmp_path / "dlib_face_recognition_resnet_model_v1.dat"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(UserError, match="expected dlib's face-recognition ResNet"):
        DlibRecogniser(recognition_path=noise, landmarks_path=files["landmarks_path"])
    with pytest.raises(UserError, match="missing"):
        DlibRecogniser(recognition_path=tmp_path / "none.dat",
                       landmarks_path=files["landmarks_path"])  # fmt: skip
    with pytest.raises(UserError, match="uint8 NCHW RGB"):
        recogniser.describe(images=np.zeros((2, 64, 64, 3), np.uint8))
    with pytest.raises(UserError, match="uint8 NCHW RGB"):
        landmarks_only = np.zeros((2, 3, 64, 64), np.float32)
        recogniser.describe(images=landmarks_only)
