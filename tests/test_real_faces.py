"""Real-face sets: alignment or pass-through, gallery/probes, identification metrics, the table."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
import skimage.data
import torch
from PIL import Image

from ganinv.data.h5io import read_attrs, read_h5, write_h5
from ganinv.data.real_faces import NOT_RUN, prepare_faces, split_gallery_probes
from ganinv.experiments.face_set_metrics import compute_face_set_metrics
from ganinv.experiments.face_set_tables import write_table_real_faces
from ganinv.metrics.identity import identification_ranks, identity_centroids, top_k
from ganinv.models.facenet import FaceNet
from ganinv.models.files import save_model
from ganinv.runtime import UserError
from ganinv.weights import REGISTRY, check_package_file

from .table_helpers import timing_csv


def test_identification_ranks_follow_cosine_similarity():
    gallery = torch.tensor([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 2]])
    centroids, labels = identity_centroids(gallery, np.array([7, 7, 3, 5, 5]))
    assert labels.tolist() == [3, 5, 7]
    assert torch.allclose(centroids.norm(dim=1), torch.ones(3, dtype=torch.float64))
    queries = torch.tensor([[1.0, 0.05, 0], [0.1, 1, 0.6], [0, 0, 1], [1, 0, 0]])
    ranks = identification_ranks(queries, np.array([7, 5, 5, 9]), centroids, labels)
    # 7 nearest -> 1; second query is nearer 3 than 5 -> 2; third -> 1; identity 9 absent -> 0.
    assert ranks.tolist() == [1, 2, 1, 0]
    assert top_k(ranks, 1).tolist() == [1, 0, 1, 0]
    assert top_k(ranks, 2).tolist() == [1, 1, 1, 0]


def _face_h5(path, n_ids=3, per_id=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n_ids * per_id, 3, size, size), dtype=np.uint8)
    identity = np.repeat(np.arange(10, 10 + n_ids), per_id)
    write_h5(path, {"images": images, "identity": identity})
    return images, identity


def test_pre_aligned_faces_pass_through_resized_with_a_manifest(tmp_path):
    images, identity = _face_h5(tmp_path / "heldout.h5", size=16)
    summary = prepare_faces(tmp_path / "heldout.h5", tmp_path / "faces.h5", tmp_path / "m.csv",
                            size=8, align=False, identities=True)  # fmt: skip
    out, _ = read_h5(tmp_path / "faces.h5", ["images", "identity", "identity_name", "source"])
    assert out["images"].shape == (12, 3, 8, 8) and out["images"].dtype == np.uint8
    assert out["identity"].tolist() == np.repeat([0, 1, 2], 4).tolist()
    assert [v.decode() for v in out["identity_name"][::4]] == ["10", "11", "12"]
    assert read_attrs(tmp_path / "faces.h5")["alignment"] == NOT_RUN
    manifest = pd.read_csv(tmp_path / "m.csv")
    assert len(manifest) == 12 and (manifest["alignment"] == NOT_RUN).all()
    assert manifest["identity"].tolist()[:5] == [10, 10, 10, 10, 11]
    assert summary == {"n_inputs": 12, "n_faces": 12, "alignment": NOT_RUN, "n_identities": 3}
    # Mean colour survives the antialiased downsizing.
    assert abs(out["images"].mean() - images.mean()) < 2


def _photo(array: np.ndarray, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_photo_folder_is_aligned_by_mtcnn_and_non_faces_are_listed(tmp_path, one_thread):
    astronaut = skimage.data.astronaut()
    not_a_face = (skimage.data.lfw_subset()[150] * 255).astype(np.uint8)
    not_a_face = np.asarray(Image.fromarray(not_a_face).resize((160, 160)).convert("RGB"))
    root = tmp_path / "photos"
    _photo(astronaut, root / "eileen" / "a.png")
    _photo(astronaut[:, ::-1].copy(), root / "eileen" / "b.jpg")
    _photo(not_a_face, root / "nobody" / "c.png")
    summary = prepare_faces(root, tmp_path / "faces.h5", tmp_path / "m.csv", size=32,
                            align=False, identities=True)  # fmt: skip
    assert summary["n_inputs"] == 3 and summary["n_faces"] == 2
    manifest = pd.read_csv(tmp_path / "m.csv")
    assert manifest["source"].tolist() == ["eileen/a.png", "eileen/b.jpg", "nobody/c.png"]
    assert manifest["detected"].tolist() == [1, 1, 0]
    assert (manifest["alignment"] == "mtcnn").all()
    assert manifest["probability"].iloc[0] > 0.95
    out, _ = read_h5(tmp_path / "faces.h5", ["images", "identity"])
    assert out["images"].shape == (2, 3, 32, 32) and out["identity"].tolist() == [0, 0]
    # The crop is the face, not the whole photo: its box is a fraction of the 512 px image.
    assert 0 < manifest["box_x2"].iloc[0] - manifest["box_x1"].iloc[0] < 256


def test_bad_face_sources_name_the_fix(tmp_path):
    _photo(skimage.data.astronaut(), tmp_path / "flat" / "a.png")
    with pytest.raises(UserError, match="identity sub-folder"):
        prepare_faces(tmp_path / "flat", tmp_path / "o.h5", tmp_path / "m.csv", 32, False, True)
    write_h5(tmp_path / "x.h5", {"images": np.zeros((2, 3, 8, 8), np.uint8)})
    with pytest.raises(UserError, match="no 'identity' dataset"):
        prepare_faces(tmp_path / "x.h5", tmp_path / "o.h5", tmp_path / "m.csv", 8, False, True)
    with pytest.raises(UserError, match="face source not found"):
        prepare_faces(tmp_path / "nope", tmp_path / "o.h5", tmp_path / "m.csv", 8, False, False)
    assert not (tmp_path / "o.h5").exists() and not (tmp_path / "m.csv").exists()


def test_gallery_and_probes_split_each_identity(tmp_path):
    images = np.arange(9, dtype=np.uint8)[:, None, None, None] * np.ones((1, 3, 4, 4), np.uint8)
    identity = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])
    sources = np.array([f"s{i}" for i in range(9)], dtype=h5py.string_dtype())
    write_h5(tmp_path / "f.h5", {"images": images, "identity": identity, "source": sources})
    summary = split_gallery_probes(tmp_path / "f.h5", tmp_path / "g.h5", tmp_path / "p.h5", 2, 1)
    gallery = read_h5(tmp_path / "g.h5", ["images", "identity"])[0]
    probes = read_h5(tmp_path / "p.h5", ["images", "identity"])[0]
    assert gallery["images"][:, 0, 0, 0].tolist() == [0, 1, 4, 5]
    assert probes["images"][:, 0, 0, 0].tolist() == [2, 6]  # identity 2 has no probe: left out
    assert probes["identity"].tolist() == [0, 1]
    assert summary == {"identities": 2, "gallery": 4, "probes": 2, "identities_left_out": 1}
    with pytest.raises(UserError, match="only 0 identities have more than 4"):
        split_gallery_probes(tmp_path / "f.h5", tmp_path / "g2.h5", tmp_path / "p2.h5", 4, 1)
    assert not (tmp_path / "g2.h5").exists()


@pytest.fixture()
def face_set(tmp_path):
    """A tiny evaluator, 3 identities of distinct flat colours: gallery 2 each, probes 1 each."""
    torch.manual_seed(0)
    kwargs = {"n_identities": 3, "n_attributes": 2, "input_size": 16, "width": 4,
              "embedding_dim": 8}  # fmt: skip
    save_model(tmp_path / "eval.pt", FaceNet(**kwargs), "facenet.FaceNet", kwargs)
    colours = np.array([[250, 10, 10], [10, 250, 10], [10, 10, 250]], np.uint8)
    rng = np.random.default_rng(0)

    def faces(ids):
        base = colours[ids][:, :, None, None] * np.ones((1, 1, 16, 16), np.uint8)
        noise = rng.integers(0, 5, base.shape, dtype=np.uint8)
        return (base - noise).astype(np.uint8)

    write_h5(tmp_path / "gallery.h5", {"images": faces([0, 0, 1, 1, 2, 2]),
                                       "identity": np.array([0, 0, 1, 1, 2, 2])})  # fmt: skip
    probes = faces([0, 1, 2])
    write_h5(tmp_path / "probes.h5", {"images": probes, "identity": np.array([0, 1, 2])})
    return tmp_path, probes


def _inversion(path, reconstructions):
    write_h5(path, {"reconstructions": reconstructions},
             {"seconds_total": 1.5, "seconds_per_image": 0.5, "device": "cpu"})  # fmt: skip


def test_face_set_metrics_identify_reconstructions(face_set, one_thread):
    root, probes = face_set
    _inversion(root / "same.h5", probes)
    _inversion(root / "swapped.h5", probes[[1, 2, 0]])
    inception = ("inception (TorchScript)", check_package_file(REGISTRY["inception_torchscript"]))
    common = {"targets_h5": root / "probes.h5", "evaluator": ("in_dag", str(root / "eval.pt")),
              "generator": "G", "inception": inception, "kid_subsets": 3, "seed": 0,
              "device": torch.device("cpu")}  # fmt: skip
    results = {}
    for name in ("same", "swapped"):
        results[name] = compute_face_set_metrics(
            inversion_h5=root / f"{name}.h5", per_image_csv=root / f"{name}_pi.csv",
            summary_csv=root / f"{name}.csv", label=name, gallery_h5=root / "gallery.h5",
            **common,
        )  # fmt: skip
    same, swapped = results["same"], results["swapped"]
    assert same["identity_cosine"] == pytest.approx(1.0)
    assert same["identity_distance"] == pytest.approx(0.0, abs=1e-6)
    assert same["top1"] == same["target_top1"] and same["top5"] == 1.0
    assert swapped["identity_cosine"] < same["identity_cosine"]
    assert swapped["top1"] < same["top1"]
    assert same["n_identities"] == 3 and same["evaluator"] == "in_dag"
    assert same["n_undetected"] == 0 and same["generator"] == "G"
    # The Fréchet distance compares sets: the same faces in another order are at distance 0,
    # while identity (per pair) tells the swap apart.
    assert abs(same["fid"]) < 1e-3 and abs(swapped["fid"]) < 1e-3
    assert same["fid_features"] == "inception (TorchScript)"
    per_image = pd.read_csv(root / "swapped_pi.csv")
    assert per_image.columns.tolist() == ["image", "psnr_db", "ssim", "identity_cosine",
                                          "identity_distance", "face_found", "identity", "rank",
                                          "target_rank"]  # fmt: skip
    _inversion(root / "short.h5", probes[:2])
    with pytest.raises(UserError, match="rerun the inversion"):
        compute_face_set_metrics(inversion_h5=root / "short.h5", per_image_csv=root / "x.csv",
                                 summary_csv=root / "y.csv", label="short", **common)  # fmt: skip


def _summary(path, top1, **extra):
    row = {"method": "m", "n_images": 40, "n_identities": 20, "gallery_images": 100,
           "psnr_db": 20.0, "ssim": 0.7, "identity_cosine": 0.5, "top1": top1, "target_top1": 0.9,
           "top5": 0.8, "target_top5": 1.0, "seconds_total": 2.0, "seconds_per_image": 0.05,
           "evaluator": "in_dag", "device": "cpu", **extra}  # fmt: skip
    pd.DataFrame([row]).to_csv(path, index=False)
    return path


def test_real_face_table_puts_the_ceiling_first_and_judges_the_claim(tmp_path):
    paths = {m: _summary(tmp_path / f"{m}.csv", t)
             for m, t in (("gd", 0.3), ("encoder", 0.2), ("hybrid", 0.6))}  # fmt: skip
    out = [tmp_path / f"t.{ext}" for ext in ("csv", "md", "tex")]
    timing = timing_csv(tmp_path / "timing.csv", {"gd": 1.0, "encoder": 0.01, "hybrid": 0.2})
    table = write_table_real_faces(paths, *out, preset="p", source="held-out",
                                   gd_iterations=200, hybrid_iterations=50,
                                   timing_csv=timing)  # fmt: skip
    assert table["method"].tolist() == ["targets", "gd", "encoder", "hybrid"]
    assert table["seconds_per_image"].tolist()[1:] == [1.0, 0.01, 0.2]
    assert pd.isna(table.loc[0, "seconds_per_image"])  # the ceiling row has no time
    assert table.loc[0, "top1"] == 0.9
    markdown = out[1].read_text()
    assert "the claim holds" in markdown and "hybrid 0.60" in markdown
    paths["hybrid"] = _summary(tmp_path / "hybrid.csv", 0.25)
    write_table_real_faces(paths, *out, preset="p", source="s", gd_iterations=200,
                           hybrid_iterations=50, timing_csv=timing)  # fmt: skip
    assert "does not hold: the hybrid's top-1 is not above that of gd" in out[1].read_text()
