"""Tests of the procedural face renderer (ganinv.data.faces)."""

from __future__ import annotations

import numpy as np
import pytest

from ganinv.data import faces
from ganinv.data.faces import (
    ATTRIBUTE_NAMES,
    DISCRETE_ATTRIBUTES,
    HAIR_STYLES,
    IDENTITY_ATTRIBUTES,
    IMAGE_ATTRIBUTES,
    FaceSet,
    render_attributes,
    render_faces,
    render_split,
    sample_attributes,
)

COL = {name: i for i, name in enumerate(ATTRIBUTE_NAMES)}


def test_attribute_name_tables():
    assert len(set(ATTRIBUTE_NAMES)) == len(ATTRIBUTE_NAMES)
    assert set(IDENTITY_ATTRIBUTES) <= set(ATTRIBUTE_NAMES)
    assert ATTRIBUTE_NAMES == IDENTITY_ATTRIBUTES + IMAGE_ATTRIBUTES
    assert set(DISCRETE_ATTRIBUTES) <= set(IDENTITY_ATTRIBUTES)
    for name in (
        "yaw",
        "pitch",
        "roll",
        "shift_x",
        "shift_y",
        "scale",
        "smile",
        "mouth_open",
        "eye_open",
        "light_angle",
        "light_strength",
        "background_hue",
    ):
        assert name in IMAGE_ATTRIBUTES
    for name in ("skin_tone", "hair_style", "hair_color", "beard", "glasses", "eye_color"):
        assert name in IDENTITY_ATTRIBUTES


def test_shapes_and_dtypes():
    fs = render_faces([0, 1, 2], [0, 0, 5], 40, seed=3)
    assert isinstance(fs, FaceSet)
    assert fs.images.shape == (3, 3, 40, 40) and fs.images.dtype == np.uint8
    assert fs.identity.dtype == np.int64 and fs.identity.tolist() == [0, 1, 2]
    assert fs.attributes.shape == (3, len(ATTRIBUTE_NAMES))
    assert fs.attributes.dtype == np.float32
    assert fs.attribute_names == ATTRIBUTE_NAMES
    assert np.isfinite(fs.attributes).all()
    split = render_split(4, 3, 2, 32, seed=0)
    assert split.images.shape == (6, 3, 32, 32)
    assert split.identity.tolist() == [4, 4, 5, 5, 6, 6]


def test_deterministic_and_seed_dependent():
    a = render_split(0, 3, 2, 48, seed=11)
    b = render_split(0, 3, 2, 48, seed=11)
    assert a.images.tobytes() == b.images.tobytes()
    assert a.attributes.tobytes() == b.attributes.tobytes()
    c = render_split(0, 3, 2, 48, seed=12)
    assert not np.array_equal(a.attributes, c.attributes)
    # every image differs from its counterpart under another seed
    diff = np.abs(a.images.astype(int) - c.images.astype(int)).reshape(6, -1).mean(axis=1)
    assert (diff > 1.0).all()


def test_image_independent_of_batch_composition():
    together = render_faces([3, 5, 7, 7, 1], [0, 1, 2, 9, 4], 64, seed=5).images
    for k, (ident, idx) in enumerate([(3, 0), (5, 1), (7, 2), (7, 9), (1, 4)]):
        alone = render_faces([ident], [idx], 64, seed=5).images[0]
        assert alone.tobytes() == together[k].tobytes()


def test_identity_independent_of_number_requested():
    many = render_split(0, 10, 3, 32, seed=2)
    one = render_split(7, 1, 3, 32, seed=2)
    assert np.array_equal(many.images[21:24], one.images)
    assert np.array_equal(many.attributes[21:24], one.attributes)
    assert one.identity.tolist() == [7, 7, 7]


def test_attribute_bookkeeping():
    n_ids, per = 12, 6
    attrs = sample_attributes(np.repeat(np.arange(n_ids), per), np.tile(np.arange(per), n_ids), 0)
    blocks = attrs.reshape(n_ids, per, -1)
    ident_cols = [COL[n] for n in IDENTITY_ATTRIBUTES]
    image_cols = [COL[n] for n in IMAGE_ATTRIBUTES]
    # identity attributes: constant within an identity
    assert (blocks[:, :, ident_cols] == blocks[:, :1, ident_cols]).all()
    # ... and varying across identities (continuous ones always; discrete ones over many ids)
    for name in IDENTITY_ATTRIBUTES:
        if name not in DISCRETE_ATTRIBUTES and name != "hairline":
            assert np.unique(blocks[:, 0, COL[name]]).size == n_ids, name
    # per-image attributes vary within every identity
    for c in image_cols:
        assert (blocks[:, :, c].std(axis=1) > 0).all(), ATTRIBUTE_NAMES[c]


def test_discrete_attributes_are_valid_codes():
    attrs = sample_attributes(np.arange(300), np.zeros(300, dtype=int), seed=1)
    sizes = {
        "hair_style": len(HAIR_STYLES),
        "hair_color": len(faces.HAIR_COLORS),
        "eye_color": len(faces.EYE_COLORS),
        "beard": len(faces.BEARD_TYPES),
        "glasses": len(faces.GLASSES_TYPES),
        "glasses_color": len(faces.GLASSES_COLORS),
    }
    for name, size in sizes.items():
        v = attrs[:, COL[name]]
        assert (v == np.round(v)).all() and v.min() >= 0 and v.max() < size, name
        assert np.unique(v).size == size, name  # every value occurs in 300 identities
    # beards only go with plausible hair styles
    style = attrs[:, COL["hair_style"]].astype(int)
    bearded = attrs[:, COL["beard"]] > 0
    allowed = {HAIR_STYLES.index(s) for s in ("bald", "short", "curly")}
    assert set(style[bearded].tolist()) <= allowed


@pytest.mark.parametrize("resolution", [31, 129, 0, -64, 64.0, "64", True, None])
def test_resolution_validation(resolution):
    with pytest.raises(ValueError, match="resolution"):
        render_faces([0], [0], resolution, seed=0)
    with pytest.raises(ValueError, match="resolution"):
        render_split(0, 1, 1, resolution, seed=0)


def test_argument_validation():
    for r in (32, 128):
        assert render_split(0, 1, 1, r, seed=0).images.shape == (1, 3, r, r)
    with pytest.raises(ValueError, match="n_identities"):
        render_split(0, 0, 1, 32, seed=0)
    with pytest.raises(ValueError, match="images_per_identity"):
        render_split(0, 1, 0, 32, seed=0)
    with pytest.raises(ValueError, match="first_identity"):
        render_split(-1, 1, 1, 32, seed=0)
    with pytest.raises(ValueError, match="seed"):
        render_split(0, 1, 1, 32, seed=-1)
    with pytest.raises(ValueError, match="same length"):
        render_faces([0, 1], [0], 32, seed=0)
    with pytest.raises(ValueError, match="attributes"):
        render_attributes(np.zeros((2, 3), dtype=np.float32), 32)


def test_progress_is_reported():
    calls = []
    fs = render_split(0, 5, 4, 32, seed=0, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (20, 20)
    assert all(t == 20 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert len(fs) == 20


def test_images_are_not_trivial():
    fs = render_split(0, 8, 4, 64, seed=0)
    imgs = fs.images.astype(np.float32)
    assert (imgs.reshape(len(imgs), -1).std(axis=1) > 20).all()
    # the centre (face) differs from the corners (background) in every image
    centre = imgs[:, :, 24:40, 24:40].mean(axis=(2, 3))
    corners = imgs[:, :, :6, :6].mean(axis=(2, 3))
    assert (np.abs(centre - corners).max(axis=1) > 8).all()
    # distinct images
    flat = fs.images.reshape(len(fs.images), -1)
    assert len({row.tobytes() for row in flat}) == len(flat)


def _frontal(identity: int, n: int) -> np.ndarray:
    attrs = np.repeat(sample_attributes([identity], [0], seed=4), n, axis=0)
    fixed = {
        "yaw": 0.0,
        "pitch": 0.0,
        "roll": 0.0,
        "shift_x": 0.0,
        "shift_y": 0.0,
        "scale": 1.0,
        "mouth_open": 0.0,
        "eye_open": 1.0,
        "light_strength": 0.0,
    }
    for name, value in fixed.items():
        attrs[:, COL[name]] = value
    attrs[:, COL["beard"]] = 0.0
    return attrs


@pytest.mark.parametrize("identity", [0, 1, 2, 3])
def test_smile_moves_the_mouth_corners(identity):
    res = 128
    smiles = np.linspace(-1.0, 1.0, 9, dtype=np.float32)
    attrs = _frontal(identity, len(smiles))
    attrs[:, COL["smile"]] = smiles
    imgs = render_attributes(attrs, res).astype(np.float32)
    lum = imgs.mean(axis=1)  # [N, H, W]

    def px(v: float) -> int:  # face coordinate -> pixel index (frontal, centred, scale 1)
        return int(round((1 + v) * res / 2))

    # mouth corners: face coords x = +-(0.6..1.0) * mouth half-width, y near the mouth line
    half_w = float(attrs[0, COL["mouth_width"]])
    mouth_y = 0.37 + 0.03 * (float(attrs[0, COL["face_height"]]) - 0.6)
    cols = np.r_[px(-half_w) : px(-0.6 * half_w), px(0.6 * half_w) : px(half_w)]
    above = lum[:, px(mouth_y - 0.07) : px(mouth_y - 0.01)][:, :, cols].mean(axis=(1, 2))
    below = lum[:, px(mouth_y + 0.01) : px(mouth_y + 0.07)][:, :, cols].mean(axis=(1, 2))
    stat = above - below  # corners up (smile) -> darker above -> smaller
    assert np.corrcoef(smiles, stat)[0, 1] < -0.8, stat
    assert stat[0] - stat[-1] > 5.0, stat
    # the mouth region changes, the background does not
    rows = slice(px(mouth_y - 0.07), px(mouth_y + 0.07))
    assert np.abs(imgs[-1] - imgs[0])[:, rows].mean() > 1.0
    assert np.array_equal(imgs[-1][:, :8, :8], imgs[0][:, :8, :8])


def test_mouth_open_darkens_the_mouth():
    res = 96
    attrs = _frontal(3, 2)
    attrs[:, COL["smile"]] = 0.3
    attrs[:, COL["mouth_open"]] = [0.0, 1.0]
    imgs = render_attributes(attrs, res).astype(np.float32).mean(axis=1)
    y = int((1 + 0.42) * res / 2)
    box = imgs[:, y - 3 : y + 4, res // 2 - 3 : res // 2 + 4].mean(axis=(1, 2))
    assert box[1] < box[0] - 20


def test_resolution_independence():
    hi = render_split(0, 6, 2, 128, seed=9).images.astype(np.float32)
    lo = render_split(0, 6, 2, 32, seed=9).images.astype(np.float32)
    down = hi.reshape(12, 3, 32, 4, 32, 4).mean(axis=(3, 5))
    mad = np.abs(down - lo).mean(axis=(1, 2, 3))
    assert mad.max() < 4.0, mad
    # and the match is specific: another image of the same identity is much further away
    other = np.abs(down[1::2] - lo[0::2]).mean(axis=(1, 2, 3))
    assert (other > 3 * mad[0::2]).all()
