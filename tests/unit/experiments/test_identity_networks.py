"""Identity networks behind one interface: dlib's faces it cannot find are NaN and counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from ganinv.data.h5io import write_h5
from ganinv.experiments.face_set_metrics import compute_face_set_metrics
from ganinv.experiments.identity_networks import load_identity_network, pair_measures
from ganinv.models.dcgan_tutorial import load_dcgan_tutorial_generator
from ganinv.weights import REGISTRY, check_package_file
from tests.helpers.dcgan_faces import dcgan_faces


@pytest.fixture(scope="module")
def files():
    return {
        "path": str(check_package_file(REGISTRY["dlib_recognition"])),
        "landmarks_path": check_package_file(REGISTRY["dlib_landmarks5"]),
    }


def test_identity_network_counts_faces_it_cannot_find(files):
    network = load_identity_network(kind="dlib", device=torch.device("cpu"), **files)
    faces = dcgan_faces(3).numpy()
    faces[1] = 128  # a grey square: no face
    targets, recon, found = network.embed_pairs(faces, faces)
    assert found.tolist() == [True, False, True] and np.isnan(targets[1]).all()
    measures = pair_measures(targets, recon)
    assert measures["identity_distance"][found] == pytest.approx(0.0)
    assert measures["identity_cosine"][found] == pytest.approx(1.0)
    assert np.isnan(measures["identity_distance"][1])


def test_dlib_identifies_dcgan_people_against_a_gallery(tmp_path, files, one_thread):
    """Photoreal faces: gallery and probes of the same z (slightly moved) are the same person."""
    generator, _ = load_dcgan_tutorial_generator(check_package_file(REGISTRY["dcgan_digiface"]))
    rng = torch.Generator().manual_seed(8)  # dlib finds 7 of the 8 gallery faces, all probes
    people = torch.randn(4, 100, generator=rng)

    def faces(z):
        with torch.no_grad():
            return ((generator(z) + 1) * 127.5).round().clamp(0, 255).byte().numpy()

    gallery = faces(people.repeat(2, 1) + 0.2 * torch.randn(8, 100, generator=rng))
    probes = faces(people + 0.2 * torch.randn(4, 100, generator=rng))
    probes[3] = 128  # no face: counted, not identified
    ids = np.arange(4)
    write_h5(tmp_path / "gallery.h5", {"images": gallery, "identity": np.tile(ids, 2)})
    write_h5(tmp_path / "probes.h5", {"images": probes, "identity": ids})
    write_h5(tmp_path / "inv.h5", {"reconstructions": probes[[1, 0, 2, 3]]},
             {"seconds_total": 1.0, "seconds_per_image": 0.25, "device": "cpu"})  # fmt: skip
    summary = compute_face_set_metrics(
        inversion_h5=tmp_path / "inv.h5", targets_h5=tmp_path / "probes.h5",
        evaluator=("dlib", files["path"]), landmarks_path=files["landmarks_path"],
        per_image_csv=tmp_path / "pi.csv", summary_csv=tmp_path / "s.csv", label="m",
        generator="DCGAN", gallery_h5=tmp_path / "gallery.h5", kid_subsets=2, seed=0,
        inception=("inception", check_package_file(REGISTRY["inception_torchscript"])),
        device=torch.device("cpu"),
    )  # fmt: skip
    assert summary["evaluator"] == "dlib" and summary["n_undetected"] == 1
    assert summary["gallery_undetected"] == 1 and summary["n_identities"] == 4
    assert summary["target_top1"] == 1.0  # the probes themselves: their own person
    assert summary["top1"] == pytest.approx(1 / 3)  # two of three reconstructions swapped
    per_image = pd.read_csv(tmp_path / "pi.csv")
    assert per_image["rank"].isna().tolist() == [False, False, False, True]
