import h5py
import numpy as np
import pytest

from ganinv.data.h5io import (
    H5Writer,
    check_images,
    check_latents,
    read_attrs,
    read_h5,
    write_h5,
)
from ganinv.runtime import UserError


def test_round_trip_with_attributes(tmp_path):
    path = tmp_path / "set.h5"
    images = np.random.default_rng(0).integers(0, 256, (5, 3, 8, 8), dtype=np.uint8)
    z = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    write_h5(
        path,
        {"images": images, "z": z},
        {"seed": 7, "prior": "normal", "names": ["a", "b"], "nested": {"k": [1, 2]}},
    )
    arrays, attrs = read_h5(path)
    assert arrays["images"].dtype == np.uint8 and np.array_equal(arrays["images"], images)
    assert arrays["z"].dtype == np.float32 and np.array_equal(arrays["z"], z)
    assert attrs["seed"] == 7 and attrs["prior"] == "normal"
    assert attrs["names"] == ["a", "b"] and attrs["nested"] == {"k": [1, 2]}
    assert read_attrs(path)["seed"] == 7


def test_identical_writes_are_byte_identical(tmp_path):
    data = {"x": np.arange(100, dtype=np.float32).reshape(10, 10)}
    write_h5(tmp_path / "a.h5", data, {"seed": 1})
    write_h5(tmp_path / "b.h5", data, {"seed": 1})
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_failed_writer_leaves_no_file(tmp_path):
    path = tmp_path / "out.h5"
    with pytest.raises(RuntimeError), H5Writer(path, {"seed": 1}) as writer:
        writer.create("z", (10, 4), np.float32)
        raise RuntimeError("killed mid-write")
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_truncated_and_incomplete_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        read_h5(tmp_path / "nope.h5")
    good = tmp_path / "good.h5"
    write_h5(good, {"z": np.zeros((100, 64), np.float32)})
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[:600])
    with pytest.raises(UserError, match="truncated or corrupt"):
        read_h5(truncated)
    with pytest.raises(UserError, match=r"no dataset\(s\) \['images'\]"):
        read_h5(good, ["images"])


def test_check_images_names_the_problem():
    check_images(np.zeros((2, 3, 16, 16), np.uint8), "x", 16)
    with pytest.raises(UserError, match="uint8"):
        check_images(np.zeros((2, 3, 16, 16), np.float32), "x")
    with pytest.raises(UserError, match=r"\[N, 3, H, W\]"):
        check_images(np.zeros((2, 16, 16, 3), np.uint8), "x")
    with pytest.raises(UserError, match="expected 32x32"):
        check_images(np.zeros((2, 3, 16, 16), np.uint8), "x", 32)


def test_datasets_are_chunked_for_streaming(tmp_path):
    path = tmp_path / "s.h5"
    with H5Writer(path) as writer:
        writer.create("images", (1000, 3, 8, 8), np.uint8)
        for start in range(0, 1000, 300):
            writer.write("images", start, np.full((min(300, 1000 - start), 3, 8, 8), 7, np.uint8))
    with h5py.File(path) as handle:
        assert handle["images"].chunks[0] == 256
        assert (handle["images"][...] == 7).all()


def test_clips_padded_with_silence_are_stored_compressed_and_read_back_exactly(tmp_path):
    """Spoken digits sit in the middle of a 16,384-sample window of zeros: stored losslessly
    compressed (gzip, HDF5's standard filter), the file is a fraction of the raw bytes."""
    rng = np.random.default_rng(0)
    audio = np.zeros((300, 1, 16384), np.float32)
    audio[:, :, 6000:10000] = rng.uniform(-0.9, 0.9, (300, 1, 4000)).astype(np.float32)
    path = tmp_path / "clips.h5"
    with H5Writer(path) as writer:  # streamed in blocks that straddle the 256-clip chunks
        writer.create("audio", audio.shape, np.float32)
        for start in range(0, 300, 100):
            writer.write("audio", start, audio[start : start + 100])
    with h5py.File(path) as handle:
        assert handle["audio"].compression == "gzip" and handle["audio"].shuffle
    assert np.array_equal(read_h5(path, ["audio"])[0]["audio"], audio)
    assert path.stat().st_size < 0.5 * audio.nbytes


def test_written_files_get_normal_permissions(tmp_path):
    import os

    path = tmp_path / "p.h5"
    write_h5(path, {"x": np.zeros(3, np.float32)})
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_check_latents_rejects_nan_inf_and_wrong_shapes():
    z = np.zeros((10, 4), np.float32)
    check_latents(z, "ok.h5")
    z[[2, 5, 6], 1] = [np.nan, np.inf, -np.inf]
    with pytest.raises(
        UserError, match=r"bad.h5: 3 latent\(s\) contain NaN or inf \(rows 2, 5, 6\)"
    ):
        check_latents(z, "bad.h5")
    with pytest.raises(UserError, match="float array"):
        check_latents(np.zeros((10, 4), np.int64), "int.h5")
    with pytest.raises(UserError, match=r"\[N, z_dim\]"):
        check_latents(np.zeros(10, np.float32), "flat.h5")
