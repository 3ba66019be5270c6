"""MTCNN face alignment on real photos (skimage / matplotlib samples, LFW subset), all offline."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import skimage.data
import torch
from matplotlib import cbook
from PIL import Image

from ganinv.align import align_images, align_to_h5, make_detector, read_photo_folder
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
    images, names = read_photo_folder(tmp_path)
    assert names == ["b.png", "sub/a.JPG"]
    assert images[0].shape == (20, 30, 3) and images[0].dtype == np.uint8
    assert images[0][0, 0].tolist() == [200, 0, 0]
    assert images[1].shape == (16, 12, 3)
    assert np.all(images[1][..., 0] == images[1][..., 2])


def test_read_photo_folder_errors(tmp_path):
    with pytest.raises(UserError, match="no .jpg"):
        read_photo_folder(tmp_path)
    with pytest.raises(UserError, match="not found"):
        read_photo_folder(tmp_path / "missing")


def test_bad_inputs_are_user_errors(detector):
    with pytest.raises(UserError, match="uint8"):
        align_images([np.zeros((50, 50), np.uint8)], ["grey"], detector=detector)
    with pytest.raises(UserError, match="choice"):
        align_images([], [], choose="biggest", detector=detector)
