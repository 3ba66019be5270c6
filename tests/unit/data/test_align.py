"""MTCNN face alignment on real photos (skimage / matplotlib samples, LFW subset), all offline."""

from __future__ import annotations

import csv
import io
import logging

import numpy as np
import pytest
import skimage.data
import torch
from matplotlib import cbook
from PIL import Image

from ganinv.data import align
from ganinv.data.align import (
    align_images,
    align_to_h5,
    make_detector,
    manifest_fields,
    read_photo_folder,
)
from ganinv.data.h5io import read_h5
from ganinv.runtime import UserError


@pytest.fixture(scope="module")
def detector():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield make_detector("cpu")
    torch.set_num_threads(threads)


def _grace_hopper() -> np.ndarray:
    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as photo:
        return np.asarray(photo.convert("RGB"))


def _lfw(indices) -> list[np.ndarray]:
    """LFW subset images (grey 25x25 floats) upscaled to 160 px RGB uint8."""
    lfw = skimage.data.lfw_subset()
    out = []
    for i in indices:
        grey = Image.fromarray((lfw[i] * 255).round().astype(np.uint8)).resize((160, 160))
        out.append(np.asarray(grey.convert("RGB")))
    return out


def test_real_photos_give_one_face_with_landmarks_inside_the_crop(detector):
    images = [skimage.data.astronaut(), _grace_hopper()]
    crops, records = align_images(images, ["astronaut", "grace"], size=96, detector=detector)
    assert crops.shape == (2, 3, 96, 96) and crops.dtype == np.uint8
    assert crops.std() > 20  # real picture content, not padding
    for index, record in enumerate(records):
        assert record.detected and record.n_faces == 1 and record.index == index
        assert record.probability > 0.95
        x1, y1, x2, y2 = record.crop_box
        assert x2 - x1 == y2 - y1
        for x, y in record.landmarks:
            assert x1 < x < x2 and y1 < y < y2
        bx1, by1, bx2, by2 = record.box
        assert x1 <= bx1 and y1 <= by1 and bx2 <= x2 and by2 <= y2


def test_lfw_faces_found_and_non_faces_listed_without_stopping_the_batch(detector):
    faces, others = _lfw(range(10)), _lfw(range(190, 200))
    images = [
        image for pair in zip(faces, others, strict=True) for image in pair
    ]  # face, non-face, ...
    names = [f"img{i:02d}" for i in range(20)]
    crops, records = align_images(images, names, batch_size=8, detector=detector)
    assert [r.source for r in records] == names
    assert [r.detected for r in records] == [True, False] * 10
    assert crops.shape == (10, 3, 160, 160)
    assert [r.index for r in records[::2]] == list(range(10))
    assert all(r.index == -1 and r.crop_box is None for r in records[1::2])
    # the crop of face k is the one cut from image 2k
    alone, _ = align_images([images[6]], ["x"], detector=detector)
    np.testing.assert_array_equal(alone[0], crops[3])


def test_align_to_h5_writes_crops_sources_and_manifest(tmp_path, detector):
    images = [np.full((200, 200, 3), 128, np.uint8), skimage.data.astronaut()]
    summary = align_to_h5(
        images, ["grey", "astro"], tmp_path / "a.h5", tmp_path / "m.csv", size=64, detector=detector
    )
    assert summary == {"n_images": 2, "n_faces": 1, "n_rejected": 1}
    arrays, attrs = read_h5(tmp_path / "a.h5")
    assert arrays["images"].shape == (1, 3, 64, 64) and arrays["images"].dtype == np.uint8
    assert [s.decode() for s in arrays["source"]] == ["astro"]
    assert attrs["settings"]["size"] == 64
    with open(tmp_path / "m.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["source"], r["detected"], r["index"]) for r in rows] == [
        ("grey", "0", "-1"),
        ("astro", "1", "0"),
    ]
    assert float(rows[1]["probability"]) > 0.95 and rows[0]["box_x1"] == ""


def test_all_rejected_is_a_user_error_naming_the_count(tmp_path, detector):
    blank = [np.zeros((120, 120, 3), np.uint8)] * 3
    with pytest.raises(UserError, match="3 images"):
        align_to_h5(
            blank, ["a", "b", "c"], tmp_path / "a.h5", tmp_path / "m.csv", detector=detector
        )
    assert not (tmp_path / "a.h5").exists() and not (tmp_path / "m.csv").exists()


def _area(box) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def test_choose_largest_or_most_probable(detector):
    # two faces side by side: the astronaut (left) and an enlarged Grace Hopper (right)
    canvas = np.zeros((512, 1024, 3), np.uint8)
    canvas[:, :512] = skimage.data.astronaut()
    canvas[80:432, 600:900] = np.asarray(Image.fromarray(_grace_hopper()).resize((300, 352)))
    _, (largest,) = align_images([canvas], ["two"], choose="largest", detector=detector)
    _, (probable,) = align_images([canvas], ["two"], choose="probability", detector=detector)
    assert largest.n_faces == probable.n_faces == 2
    assert largest.box != probable.box
    assert _area(largest.box) > _area(probable.box)
    assert probable.probability > largest.probability


def test_read_photo_folder_converts_to_rgb_and_sorts(tmp_path):
    (tmp_path / "sub").mkdir()
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "b.png")
    Image.fromarray(np.full((16, 12), 90, np.uint8), "L").save(tmp_path / "sub" / "a.JPG")
    (tmp_path / "notes.txt").write_text("not a photo")
    folder = read_photo_folder(tmp_path)
    images, names = folder.images, folder.names
    assert names == folder.files == ["b.png", "sub/a.JPG"] and folder.unreadable == {}
    assert (folder.start, folder.stop, folder.n_photos) == (0, 2, 2)
    assert images[0].shape == (20, 30, 3) and images[0].dtype == np.uint8
    assert images[0][0, 0].tolist() == [200, 0, 0]
    assert images[1].shape == (16, 12, 3)
    assert np.all(images[1][..., 0] == images[1][..., 2])


def test_read_photo_folder_errors(tmp_path):
    with pytest.raises(UserError, match="no .jpg"):
        read_photo_folder(tmp_path)
    with pytest.raises(UserError, match="not found"):
        read_photo_folder(tmp_path / "missing")


def _jpeg_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG")
    return buffer.getvalue()


def mixed_photo_folder(root) -> dict[str, str]:
    """Readable photos of many kinds and broken files; returns name -> kind."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(root / "a_colour.jpg")
    Image.fromarray(np.full((20, 30), 90, np.uint8), "L").save(root / "b_grey.png")
    Image.fromarray(np.full((24, 16), 40000, np.uint16)).save(root / "c_16bit.png")
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 1], rgba[..., 3] = 200, 128
    Image.fromarray(rgba, "RGBA").save(root / "d_rgba.png")
    Image.new("CMYK", (20, 30), (0, 255, 255, 0)).save(root / "e_cmyk.jpg")
    Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).convert("P").save(
        root / "f_palette.png"
    )
    whole = _jpeg_bytes(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    (root / "g_truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "h_empty.jpg").write_bytes(b"")
    (root / "i_text.jpg").write_text("not an image at all")
    return {"a_colour.jpg": "ok", "b_grey.png": "ok", "c_16bit.png": "ok", "d_rgba.png": "ok",
            "e_cmyk.jpg": "ok", "f_palette.png": "ok", "g_truncated.jpg": "bad",
            "h_empty.jpg": "bad", "i_text.jpg": "bad"}  # fmt: skip


def test_read_photo_folder_converts_every_mode_and_records_unreadable_files(tmp_path, caplog):
    kinds = mixed_photo_folder(tmp_path)
    with caplog.at_level(logging.WARNING, logger="ganinv.data.align"):
        folder = read_photo_folder(tmp_path)
    assert folder.files == sorted(kinds)
    assert folder.names == [n for n, kind in kinds.items() if kind == "ok"]
    assert list(folder.unreadable) == ["g_truncated.jpg", "h_empty.jpg", "i_text.jpg"]
    for image in folder.images:
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    by_name = dict(zip(folder.names, folder.images, strict=True))
    assert by_name["b_grey.png"][0, 0].tolist() == [90, 90, 90]
    assert by_name["c_16bit.png"].shape == (24, 16, 3)
    assert by_name["c_16bit.png"][0, 0].tolist() == [156] * 3  # 40000 / 65535 * 255, not clipped
    assert by_name["d_rgba.png"][0, 0].tolist() == [0, 200, 0]
    assert by_name["e_cmyk.jpg"][0, 0].tolist() == [255, 0, 0]
    assert "truncated" in folder.unreadable["g_truncated.jpg"]
    assert folder.unreadable["h_empty.jpg"] == "empty file (0 bytes)"
    assert folder.unreadable["i_text.jpg"] == "cannot identify image file"
    assert str(tmp_path) not in "".join(folder.unreadable.values())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "3 of 9 photos" in warnings[0].getMessage()
    assert "g_truncated.jpg, h_empty.jpg, i_text.jpg" in warnings[0].getMessage()


def test_decompression_bombs_are_unreadable_not_fatal(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(tmp_path / "big.png")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "small.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1600 px > 2x the limit: an error
    folder = read_photo_folder(tmp_path)
    assert folder.names == ["small.png"] and list(folder.unreadable) == ["big.png"]
    assert "exceeds limit" in folder.unreadable["big.png"]


def test_a_folder_without_a_readable_photo_is_one_user_error(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"")
    (tmp_path / "y.png").write_text("text")
    with pytest.raises(UserError, match=r"no readable photo in .*all 2 files are unreadable"):
        read_photo_folder(tmp_path)
    # Only the range counts: the readable photo after it does not help.
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "z.png")
    with pytest.raises(UserError, match=r"no readable photo in .*files \[0:2\]"):
        read_photo_folder(tmp_path, stop=2)


def test_start_stop_open_only_that_slice(tmp_path, monkeypatch):
    for i in range(6):
        Image.fromarray(np.full((4, 4, 3), i, np.uint8)).save(tmp_path / f"p{i}.png")
    (tmp_path / "p9.png").write_text("corrupt, but outside the range")
    opened = []
    real = align._photo_rgb
    monkeypatch.setattr(align, "_photo_rgb", lambda path: opened.append(path.name) or real(path))
    folder = read_photo_folder(tmp_path, start=2, stop=5)
    assert folder.names == folder.files == ["p2.png", "p3.png", "p4.png"] == opened
    assert [int(im[0, 0, 0]) for im in folder.images] == [2, 3, 4]
    assert (folder.start, folder.stop, folder.n_photos) == (2, 5, 7)
    assert read_photo_folder(tmp_path, start=5).files == ["p5.png", "p9.png"]
    assert read_photo_folder(tmp_path, stop=1).files == ["p0.png"]


@pytest.mark.parametrize(
    ("start", "stop", "message"),
    [
        (-1, 3, "need 0 <= start < stop"),
        (3, 3, "need 0 <= start < stop"),
        (4, 2, "need 0 <= start < stop"),
        (None, 0, "need 0 <= start < stop"),
        (1.5, None, "whole number"),
        (0, 5, r"past the end of photo folder .*, which holds 4 photos"),
        (4, None, "which holds 4 photos"),
    ],
)
def test_bad_ranges_are_user_errors(tmp_path, start, stop, message):
    for i in range(4):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / f"p{i}.png")
    with pytest.raises(UserError, match=message):
        read_photo_folder(tmp_path, start=start, stop=stop)


class _CentreDetector:
    """Stands in for MTCNN: one face in the middle of every image that is not all dark."""

    def detect(self, images, landmarks=True):
        boxes, probs, points = [], [], []
        for image in images:
            if image.mean() < 10:
                boxes.append(None), probs.append(None), points.append(None)
                continue
            h, w = image.shape[:2]
            boxes.append(np.array([[w / 4, h / 4, 3 * w / 4, 3 * h / 4]]))
            probs.append(np.array([0.5 if image.mean() < 60 else 0.99]))
            points.append(np.full((1, 5, 2), [w / 2, h / 2]))
        return boxes, probs, points


def test_manifest_notes_say_why_there_is_no_crop(tmp_path):
    images = [np.full((32, 32, 3), 200, np.uint8), np.zeros((32, 32, 3), np.uint8),
              np.full((32, 32, 3), 40, np.uint8)]  # fmt: skip
    align_to_h5(images, ["face", "dark", "faint"], tmp_path / "a.h5", tmp_path / "m.csv",
                size=16, detector=_CentreDetector())  # fmt: skip
    with open(tmp_path / "m.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == manifest_fields() and manifest_fields()[-1] == "note"
    assert manifest_fields()[:5] == ["source", "detected", "probability", "n_faces", "index"]
    assert [r["note"] for r in rows] == ["", "no face", "below min_probability (0.500 < 0.9)"]


def test_bad_inputs_are_user_errors(detector):
    with pytest.raises(UserError, match="uint8"):
        align_images([np.zeros((50, 50), np.uint8)], ["grey"], detector=detector)
    with pytest.raises(UserError, match="choice"):
        align_images([], [], choose="biggest", detector=detector)
