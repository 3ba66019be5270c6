"""Real-face sets: alignment or pass-through, gallery/probes, identification metrics, the table."""

from __future__ import annotations

import io

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
from tests.helpers.timing_csv import timing_csv


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
    summary = prepare_faces(source=tmp_path / "heldout.h5", out_h5=tmp_path / "faces.h5",
                            manifest_csv=tmp_path / "m.csv", size=8, align=False,
                            identities=True)  # fmt: skip
    out, _ = read_h5(tmp_path / "faces.h5", ["images", "identity", "identity_name", "source"])
    assert out["images"].shape == (12, 3, 8, 8) and out["images"].dtype == np.uint8
    assert out["identity"].tolist() == np.repeat([0, 1, 2], 4).tolist()
    assert [v.decode() for v in out["identity_name"][::4]] == ["10", "11", "12"]
    assert read_attrs(tmp_path / "faces.h5")["alignment"] == NOT_RUN
    manifest = pd.read_csv(tmp_path / "m.csv")
    assert len(manifest) == 12 and (manifest["alignment"] == NOT_RUN).all()
    assert manifest["identity"].tolist()[:5] == [10, 10, 10, 10, 11]
    assert summary == {"n_inputs": 12, "n_faces": 12, "n_detected": 12, "alignment": NOT_RUN,
                       "n_identities": 3, "n_unreadable": 0}  # fmt: skip
    assert manifest["note"].isna().all() and manifest.columns[-1] == "note"  # empty notes
    # Mean colour survives the antialiased downsizing.
    assert abs(out["images"].mean() - images.mean()) < 2


def test_hdf5_rows_can_be_sliced_too(tmp_path):
    _face_h5(tmp_path / "heldout.h5", size=8)
    prepare_faces(source=tmp_path / "heldout.h5", out_h5=tmp_path / "faces.h5",
                  manifest_csv=tmp_path / "m.csv", size=8, align=False, identities=True,
                  start=2, stop=7)  # fmt: skip
    manifest = pd.read_csv(tmp_path / "m.csv")
    assert manifest["source"].tolist() == [f"heldout.h5#{i}" for i in range(2, 7)]
    assert manifest["identity"].tolist() == [10, 10, 11, 11, 11]
    attrs = read_attrs(tmp_path / "faces.h5")
    assert (attrs["start"], attrs["stop"]) == (2, 7)
    with pytest.raises(UserError, match="which holds 12 photos"):
        prepare_faces(source=tmp_path / "heldout.h5", out_h5=tmp_path / "o.h5",
                      manifest_csv=tmp_path / "o.csv", size=8, align=False, identities=False,
                      start=10, stop=13)  # fmt: skip


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
    summary = prepare_faces(source=root, out_h5=tmp_path / "faces.h5",
                            manifest_csv=tmp_path / "m.csv", size=32, align=False,
                            identities=True)  # fmt: skip
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


class _CentreDetector:
    """Stands in for MTCNN: one face in the middle of every image that is not all dark."""

    def detect(self, images, landmarks=True):
        found = [image.mean() >= 10 for image in images]
        boxes = [np.array([[im.shape[1] / 4, im.shape[0] / 4, im.shape[1] * 0.75,
                            im.shape[0] * 0.75]]) if f else None
                 for im, f in zip(images, found, strict=True)]  # fmt: skip
        probs = [np.array([0.99]) if f else None for f in found]
        points = [np.full((1, 5, 2), 4.0) if f else None for f in found]
        return boxes, probs, points


def _mixed_identity_folder(root):
    """Two identities; each has readable photos of several modes and broken files."""
    rng = np.random.default_rng(1)
    for ident in ("ann", "bob"):
        folder = root / ident
        folder.mkdir(parents=True)
        Image.fromarray(rng.integers(60, 256, (40, 40, 3), dtype=np.uint8)).save(folder / "1.jpg")
        Image.fromarray(np.full((30, 30), 120, np.uint8), "L").save(folder / "2.png")
        Image.fromarray(np.full((30, 30), 50000, np.uint16)).save(folder / "3.png")
        rgba = np.full((30, 30, 4), 150, np.uint8)
        Image.fromarray(rgba, "RGBA").save(folder / "4.png")
        jpeg = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(jpeg, "JPEG")
        (folder / "5.jpg").write_bytes(jpeg.getvalue()[:300])  # truncated
        (folder / "6.jpg").write_bytes(b"")
        (folder / "7.jpg").write_text("a text file, renamed")
        Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(folder / "8.png")  # no face


def _prepare(root, out, **kwargs):
    return prepare_faces(source=root, out_h5=out / "faces.h5", manifest_csv=out / "m.csv",
                         size=16, align=True, identities=True,
                         alignment={"detector": _CentreDetector(), "min_probability": 0.9},
                         **kwargs)  # fmt: skip


def test_unreadable_photos_are_listed_in_the_manifest_not_fatal(tmp_path):
    _mixed_identity_folder(tmp_path / "photos")
    summary = _prepare(tmp_path / "photos", tmp_path)
    assert summary == {"n_inputs": 16, "n_faces": 8, "n_detected": 8, "alignment": "mtcnn",
                       "n_identities": 2, "n_unreadable": 6}  # fmt: skip
    manifest = pd.read_csv(tmp_path / "m.csv", keep_default_na=False)
    names = [f"{i}/{k}.{'png' if k in (2, 3, 4, 8) else 'jpg'}" for i in ("ann", "bob")
             for k in range(1, 9)]  # fmt: skip
    assert manifest["source"].tolist() == names
    assert manifest["detected"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0] * 2
    assert manifest["index"].tolist() == [0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7, -1, -1, -1, -1]
    notes = manifest["note"].tolist()
    assert notes[:4] == [""] * 4 and notes[7] == "no face"
    assert all(note.startswith("unreadable") for note in notes[4:7] + notes[12:15])
    assert notes[5] == "unreadable: empty file (0 bytes)"
    assert notes[6] == "unreadable: cannot identify image file"
    assert manifest["identity"].tolist() == ["ann"] * 8 + ["bob"] * 8
    assert manifest.columns.tolist()[-5:] == ["identity", "alignment", "start", "stop", "note"]
    assert (manifest["start"] == 0).all() and (manifest["stop"] == 16).all()
    out, attrs = read_h5(tmp_path / "faces.h5", ["images", "identity", "source"])
    assert out["images"].shape == (8, 3, 16, 16) and out["identity"].tolist() == [0] * 4 + [1] * 4
    assert [s.decode() for s in out["source"]][:4] == names[:4]
    assert (attrs["start"], attrs["stop"], attrs["n_unreadable"]) == (0, 16, 6)
    assert attrs["settings"] == {"min_probability": 0.9}  # the detector object is not recorded


def test_another_gans_faces_without_a_detection_are_kept_as_drawn(tmp_path):
    # Figure 2.17: a GAN's faces are already in its framing; MTCNN's misses are not dropped.
    images = np.full((4, 3, 32, 32), 200, np.uint8)
    images[1] = 0  # the stand-in detector finds no face in a dark image
    write_h5(tmp_path / "gan.h5", {"images": images}, {})
    summary = prepare_faces(source=tmp_path / "gan.h5", out_h5=tmp_path / "faces.h5",
                            manifest_csv=tmp_path / "m.csv", size=16, align=True,
                            identities=False, keep_undetected=True,
                            alignment={"detector": _CentreDetector()})  # fmt: skip
    assert (summary["n_faces"], summary["n_detected"]) == (4, 3)
    manifest = pd.read_csv(tmp_path / "m.csv", keep_default_na=False)
    assert manifest["detected"].tolist() == [1, 0, 1, 1]
    assert manifest["index"].tolist() == [0, 1, 2, 3]
    assert manifest["note"].iloc[1].startswith("no face found: kept as drawn")
    out = read_h5(tmp_path / "faces.h5", ["images"])[0]["images"]
    assert out.shape == (4, 3, 16, 16) and (out[1] == 0).all() and (out[0] > 0).any()
    # Without keep_undetected the miss is skipped.
    summary = prepare_faces(source=tmp_path / "gan.h5", out_h5=tmp_path / "f2.h5",
                            manifest_csv=tmp_path / "m2.csv", size=16, align=True,
                            identities=False,
                            alignment={"detector": _CentreDetector()})  # fmt: skip
    assert summary["n_faces"] == 3


def test_prepare_faces_takes_a_file_range(tmp_path):
    _mixed_identity_folder(tmp_path / "photos")
    summary = _prepare(tmp_path / "photos", tmp_path, start=2, stop=10)
    manifest = pd.read_csv(tmp_path / "m.csv", keep_default_na=False)
    assert manifest["source"].tolist() == [
        "ann/3.png", "ann/4.png", "ann/5.jpg", "ann/6.jpg", "ann/7.jpg", "ann/8.png", "bob/1.jpg",
        "bob/2.png",
    ]  # fmt: skip
    assert summary["n_inputs"] == 8 and summary["n_unreadable"] == 3
    assert (manifest["start"] == 2).all() and (manifest["stop"] == 10).all()
    assert read_attrs(tmp_path / "faces.h5")["stop"] == 10
    for start, stop, message in ((3, 3, "0 <= start < stop"), (-2, None, "0 <= start < stop"),
                                 (0, 17, "which holds 16 photos")):  # fmt: skip
        with pytest.raises(UserError, match=message):
            _prepare(tmp_path / "photos", tmp_path / "bad", start=start, stop=stop)
    assert not (tmp_path / "bad").exists()
    (tmp_path / "photos" / "ann" / "1.jpg").write_bytes(b"")
    (tmp_path / "photos" / "ann" / "2.png").write_bytes(b"")
    with pytest.raises(UserError, match="no readable photo"):
        _prepare(tmp_path / "photos", tmp_path / "bad", stop=2)


def test_bad_face_sources_name_the_fix(tmp_path):
    def prepare(source, size, identities):
        prepare_faces(source=source, out_h5=tmp_path / "o.h5", manifest_csv=tmp_path / "m.csv",
                      size=size, align=False, identities=identities)  # fmt: skip

    _photo(skimage.data.astronaut(), tmp_path / "flat" / "a.png")
    with pytest.raises(UserError, match="identity sub-folder"):
        prepare(tmp_path / "flat", 32, True)
    write_h5(tmp_path / "x.h5", {"images": np.zeros((2, 3, 8, 8), np.uint8)})
    with pytest.raises(UserError, match="no 'identity' dataset"):
        prepare(tmp_path / "x.h5", 8, True)
    with pytest.raises(UserError, match="face source not found"):
        prepare(tmp_path / "nope", 8, False)
    with pytest.raises(TypeError):
        prepare_faces(tmp_path / "x.h5", tmp_path / "o.h5", tmp_path / "m.csv", 8, False, False)
    assert not (tmp_path / "o.h5").exists() and not (tmp_path / "m.csv").exists()


def split(root, tag, gallery_per_identity, probes_per_identity, **kwargs):
    return split_gallery_probes(faces_h5=root / "f.h5", gallery_h5=root / f"g{tag}.h5",
                                probes_h5=root / f"p{tag}.h5",
                                gallery_per_identity=gallery_per_identity,
                                probes_per_identity=probes_per_identity, **kwargs)  # fmt: skip


def test_gallery_and_probes_split_each_identity(tmp_path):
    images = np.arange(9, dtype=np.uint8)[:, None, None, None] * np.ones((1, 3, 4, 4), np.uint8)
    identity = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])
    sources = np.array([f"s{i}" for i in range(9)], dtype=h5py.string_dtype())
    write_h5(tmp_path / "f.h5", {"images": images, "identity": identity, "source": sources})
    summary = split(tmp_path, "", 2, 1)
    gallery = read_h5(tmp_path / "g.h5", ["images", "identity"])[0]
    probes = read_h5(tmp_path / "p.h5", ["images", "identity"])[0]
    assert gallery["images"][:, 0, 0, 0].tolist() == [0, 1, 4, 5]
    assert probes["images"][:, 0, 0, 0].tolist() == [2, 6]  # identity 2 has no probe: left out
    assert probes["identity"].tolist() == [0, 1]
    assert summary == {"identities": 2, "gallery": 4, "probes": 2, "identities_left_out": 1,
                       "max_identities": None, "identities_over_max": 0}  # fmt: skip
    with pytest.raises(UserError, match="only 0 identities have more than 4"):
        split(tmp_path, "2", 4, 1)
    assert not (tmp_path / "g2.h5").exists()
    with pytest.raises(TypeError):
        split_gallery_probes(tmp_path / "f.h5", tmp_path / "g3.h5", tmp_path / "p3.h5", 2, 1)


def test_max_identities_keeps_the_first_identities_in_file_order(tmp_path):
    # identities 5 (too few images), 3, 0, 4, 1, each image's value is its row
    identity = np.array([5, 3, 3, 3, 0, 0, 0, 4, 4, 4, 1, 1, 1])
    images = np.arange(13, dtype=np.uint8)[:, None, None, None] * np.ones((1, 3, 4, 4), np.uint8)
    sources = np.array([f"s{i}" for i in range(13)], dtype=h5py.string_dtype())
    write_h5(tmp_path / "f.h5", {"images": images, "identity": identity, "source": sources})
    summary = split(tmp_path, "", 2, 1, max_identities=2)
    gallery = read_h5(tmp_path / "g.h5", ["images", "identity"])[0]
    probes = read_h5(tmp_path / "p.h5", ["images", "identity"])[0]
    assert gallery["identity"].tolist() == [3, 3, 0, 0]
    assert gallery["images"][:, 0, 0, 0].tolist() == [1, 2, 4, 5]
    assert probes["identity"].tolist() == [3, 0] and probes["images"][:, 0, 0, 0].tolist() == [3, 6]
    assert summary == {"identities": 2, "gallery": 4, "probes": 2, "identities_left_out": 1,
                       "max_identities": 2, "identities_over_max": 2}  # fmt: skip
    for name in ("g.h5", "p.h5"):
        attrs = read_attrs(tmp_path / name)
        assert attrs["max_identities"] == 2 and attrs["n_identities"] == 2
    assert split(tmp_path, "all", 2, 1, max_identities=10)["identities"] == 4
    assert read_attrs(tmp_path / "gall.h5")["max_identities"] == 10
    for bad in (1, 0, 2.5, True):
        with pytest.raises(UserError, match="max_identities must be"):
            split(tmp_path, "bad", 2, 1, max_identities=bad)


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
    outputs = dict(zip(("csv_path", "md_path", "tex_path"), out, strict=True))
    table = write_table_real_faces(summaries=paths, **outputs, preset="p", source="held-out",
                                   gd_iterations=200, hybrid_iterations=50,
                                   timing_csv=timing)  # fmt: skip
    assert table["method"].tolist() == ["targets", "gd", "encoder", "hybrid"]
    assert table["seconds_per_image"].tolist()[1:] == [1.0, 0.01, 0.2]
    assert pd.isna(table.loc[0, "seconds_per_image"])  # the ceiling row has no time
    assert table.loc[0, "top1"] == 0.9
    markdown = out[1].read_text()
    assert "the claim holds" in markdown and "hybrid 0.60" in markdown
    paths["hybrid"] = _summary(tmp_path / "hybrid.csv", 0.25)
    write_table_real_faces(summaries=paths, **outputs, preset="p", source="s",
                           gd_iterations=200, hybrid_iterations=50,
                           timing_csv=timing)  # fmt: skip
    assert "does not hold: the hybrid's top-1 is not above that of gd" in out[1].read_text()
