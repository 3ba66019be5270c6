"""Tests of the image, distribution and latent metrics (fast; no network, no real weights)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ganinv.metrics.distribution import (
    fid_inception_available,
    fid_inception_weights_path,
    frechet_distance,
    inception_features,
    kernel_inception_distance,
)
from ganinv.metrics.image import psnr, ssim
from ganinv.metrics.latent import (
    embedding_cosine,
    latent_cosine,
    latent_mae,
    normalize_latent,
)
from ganinv.runtime import UserError

# ----------------------------------------------------------------------------- image metrics


def _structured(n: int, h: int, w: int, seed: int) -> np.ndarray:
    """Float64 NCHW images in [0, 1]: gradients, stripes, a checkerboard and a flat patch."""
    r = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.empty((n, 3, h, w))
    for i in range(n):
        for c in range(3):
            f = 0.1 + r.random()
            out[i, c] = 0.5 + 0.4 * np.sin(f * xx + r.random() * 6) * np.cos(0.3 * f * yy)
        out[i, 1] = ((yy // 3 + xx // 3) % 2) * 0.8 + 0.1 * (i % 2)
        out[i, 2, : h // 2, : w // 2] = 0.25  # flat: zero local variance
    return out


def _skimage_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    return np.array(
        [
            structural_similarity(
                a[i],
                b[i],
                data_range=data_range,
                channel_axis=0,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
            )
            for i in range(len(a))
        ]
    )


def _skimage_psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    return np.array(
        [peak_signal_noise_ratio(a[i], b[i], data_range=data_range) for i in range(len(a))]
    )


def _pairs(h: int, w: int):
    r = np.random.default_rng(h * 100 + w)
    noise = r.random((3, 3, h, w))
    yield "random", noise, r.random((3, 3, h, w))
    yield "noisy copy", noise, np.clip(noise + r.normal(0, 0.05, noise.shape), 0, 1)
    s = _structured(3, h, w, seed=h + w)
    yield "structured", s, np.clip(s + r.normal(0, 0.1, s.shape), 0, 1)
    yield "structured vs shifted", s, np.roll(s, 1, axis=-1) * 0.9


@pytest.mark.parametrize("size", [(32, 32), (11, 11), (13, 40), (64, 48), (7, 7)])
def test_psnr_matches_skimage(size):
    for name, a, b in _pairs(*size):
        ours = psnr(torch.from_numpy(a), torch.from_numpy(b))
        assert ours.dtype == torch.float64 and ours.shape == (3,)
        np.testing.assert_allclose(ours.numpy(), _skimage_psnr(a, b), rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("size", [(32, 32), (11, 11), (13, 40), (64, 48)])
def test_ssim_matches_skimage(size):
    for name, a, b in _pairs(*size):
        ours = ssim(torch.from_numpy(a), torch.from_numpy(b))
        assert ours.dtype == torch.float64 and ours.shape == (3,)
        np.testing.assert_allclose(ours.numpy(), _skimage_ssim(a, b), atol=1e-9, err_msg=name)


def test_ssim_float32_and_uint8_inputs_match_skimage():
    r = np.random.default_rng(1)
    a8 = r.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
    b8 = np.clip(a8.astype(int) + r.integers(-20, 21, a8.shape), 0, 255).astype(np.uint8)
    ref = _skimage_ssim(a8, b8, data_range=255)
    np.testing.assert_allclose(ssim(torch.from_numpy(a8), torch.from_numpy(b8)), ref, atol=1e-9)
    a32, b32 = (a8 / 255).astype(np.float32), (b8 / 255).astype(np.float32)
    ours = ssim(torch.from_numpy(a32), torch.from_numpy(b32)).numpy()
    np.testing.assert_allclose(ours, _skimage_ssim(a32.astype(float), b32.astype(float)), atol=1e-9)
    np.testing.assert_allclose(ours, ref, atol=1e-6)  # float32 rounding of the inputs
    np.testing.assert_allclose(
        psnr(a8, b8).numpy(), _skimage_psnr(a8, b8, data_range=255), rtol=1e-12
    )


def test_identical_images():
    x = torch.rand(2, 3, 16, 16)
    assert torch.isinf(psnr(x, x)).all() and (psnr(x, x) > 0).all()
    torch.testing.assert_close(ssim(x, x), torch.ones(2, dtype=torch.float64))
    flat = torch.full((1, 3, 12, 12), 0.3)
    torch.testing.assert_close(ssim(flat, flat), torch.ones(1, dtype=torch.float64))


def test_ssim_rejects_images_smaller_than_the_window_like_skimage():
    a = np.random.default_rng(0).random((1, 3, 7, 7))
    with pytest.raises(ValueError, match="win_size"):
        _skimage_ssim(a, a)
    with pytest.raises(UserError, match="11x11"):
        ssim(torch.from_numpy(a), torch.from_numpy(a))
    with pytest.raises(UserError):
        ssim(torch.rand(1, 3, 32, 10), torch.rand(1, 3, 32, 10))


def test_image_metric_input_checks():
    with pytest.raises(ValueError, match="shape"):
        psnr(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 9))
    with pytest.raises(ValueError, match="NCHW"):
        ssim(torch.rand(3, 16, 16), torch.rand(3, 16, 16))
    with pytest.raises(ValueError, match="floating point"):
        psnr(torch.zeros(1, 3, 8, 8, dtype=torch.int32), torch.zeros(1, 3, 8, 8))


# ---------------------------------------------------------------------- distribution metrics


def test_frechet_distance_identical_and_shifted_gaussians():
    r = np.random.default_rng(0)
    a = r.normal(size=(2000, 8))
    shift = np.array([0.5, -0.3, 0.0, 0.2, 0.1, 0.0, -0.4, 0.3])
    assert abs(frechet_distance(a, a)) < 1e-8
    # same sample shifted: equal covariances, so exactly |shift|^2 up to sqrtm rounding
    assert frechet_distance(a, a + shift) == pytest.approx(shift @ shift, rel=1e-6)
    # an independent sample of the shifted distribution: |shift|^2 plus sampling noise
    b = r.normal(size=(2000, 8)) + shift
    assert frechet_distance(a, b) == pytest.approx(shift @ shift, abs=0.05)
    assert frechet_distance(torch.from_numpy(a), torch.from_numpy(b)) == frechet_distance(a, b)


def test_frechet_distance_small_sample_is_degenerate_and_warned(caplog):
    """N <= D: two samples of one distribution are 'far apart'; the value is not corrected."""
    r = np.random.default_rng(0)
    with caplog.at_level(logging.WARNING, logger="ganinv"):
        small = frechet_distance(r.normal(size=(20, 64)), r.normal(size=(20, 64)))
    assert "singular" in caplog.text
    large = frechet_distance(r.normal(size=(4000, 64)), r.normal(size=(4000, 64)))
    assert large < 2.0 < 20.0 < small  # the bias dominates at N = 20


def test_kernel_inception_distance():
    r = np.random.default_rng(0)
    a = r.normal(size=(600, 16))
    b = r.normal(size=(600, 16))
    same_mean, same_std = kernel_inception_distance(a, b, n_subsets=50, subset_size=200)
    shift_mean, shift_std = kernel_inception_distance(a, b + 0.5, n_subsets=50, subset_size=200)
    assert shift_mean > 0 and shift_std > 0
    assert abs(same_mean) < 0.05 * shift_mean
    assert shift_mean > 5 * shift_std
    # repeatable with a seed; the full sets in every draw give zero spread
    assert kernel_inception_distance(a, b, 5, 100, seed=3) == kernel_inception_distance(
        a, b, 5, 100, seed=3
    )
    assert kernel_inception_distance(a[:50], b[:50], n_subsets=4)[1] == pytest.approx(0)


def test_kernel_inception_distance_formula_on_a_tiny_case():
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[1.0, 1.0], [0.0, 0.0]])

    def k(u, v):
        return (u @ v / 2 + 1) ** 3

    expected = (2 * k(x[0], x[1]) + 2 * k(y[0], y[1])) / 2 - 2 * np.mean(
        [k(u, v) for u in x for v in y]
    )
    assert kernel_inception_distance(x, y, n_subsets=1)[0] == pytest.approx(expected)
    with pytest.raises(ValueError, match="subset_size"):
        kernel_inception_distance(x, y, subset_size=3)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch home, and a torch hub that fails loudly if anything tries to download."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_download(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return tmp_path / "torch"


def test_fid_weights_path_follows_torch_home(torch_home):
    expected = torch_home / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    assert fid_inception_weights_path() == expected
    assert not fid_inception_available()


def test_inception_features_without_weights_is_a_user_error(torch_home):
    with pytest.raises(UserError, match="pt_inception-2015-12-05-6726825d.pth") as info:
        inception_features(torch.rand(2, 3, 32, 32), "cpu")
    assert str(fid_inception_weights_path()) in str(info.value)


def _save_random_fid_inception(path) -> None:
    """A random-weights state dict with the layout of pytorch-fid's FID InceptionV3.

    ``fid_inception_v3()`` would load the real weights, so its network is assembled here the
    way it does it (torchvision's InceptionV3 with pytorch-fid's patched blocks), unloaded.
    """
    from pytorch_fid import inception as fid

    net = fid._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = fid.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = fid.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = fid.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = fid.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = fid.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = fid.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = fid.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = fid.FIDInceptionE_1(1280)
    net.Mixed_7c = fid.FIDInceptionE_2(2048)
    for module in net.modules():  # keep activations O(1) (the default init shrinks them)
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    path.parent.mkdir(parents=True, exist_ok=True)
    # float16 halves the file; load_state_dict copies the values into the float32 network
    state = {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    torch.save(state, path)


def test_inception_features_with_a_weights_file(torch_home):
    torch.manual_seed(0)
    _save_random_fid_inception(fid_inception_weights_path())
    assert fid_inception_available()
    images = torch.rand(2, 3, 32, 32)
    feats = inception_features(images, "cpu", batch_size=1)
    assert feats.shape == (2, 2048) and feats.dtype == np.float64
    assert np.isfinite(feats).all()
    assert not np.allclose(feats[0], feats[1])
    as_uint8 = (images * 255).round().to(torch.uint8)
    again = inception_features(as_uint8, torch.device("cpu"))
    np.testing.assert_allclose(again, feats, rtol=0.05, atol=1e-3 * np.abs(feats).max())


def test_inception_features_with_a_broken_weights_file(torch_home):
    path = fid_inception_weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="could not load"):
        inception_features(torch.rand(1, 3, 16, 16), "cpu")


# ---------------------------------------------------------------------------- latent metrics


def test_normalize_latent_is_pixel_norm():
    z = torch.randn(4, 512)
    n = normalize_latent(z)
    torch.testing.assert_close(n.square().mean(dim=1), torch.ones(4), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(normalize_latent(3 * z), n, rtol=1e-5, atol=1e-6)
    assert normalize_latent(torch.randn(2, 8, 1, 1)).shape == (2, 8, 1, 1)


def test_latent_mae():
    z = torch.randn(5, 512)
    mae = latent_mae(3 * z, z)
    assert mae.shape == (5,) and mae.dtype == torch.float64
    assert mae.abs().max() < 1e-6
    assert (latent_mae(3 * z, z, normalize=False) > 1).all()
    torch.testing.assert_close(
        latent_mae(z + 1, z, normalize=False), torch.ones(5, dtype=torch.float64)
    )
    assert (latent_mae(-z, z) > 1).all()


def test_cosines():
    z = torch.randn(4, 512)
    ones = torch.ones(4, dtype=torch.float64)
    torch.testing.assert_close(latent_cosine(2 * z, z), ones)
    torch.testing.assert_close(latent_cosine(-z, z), -ones)
    e = np.random.default_rng(0).normal(size=(3, 128))
    torch.testing.assert_close(embedding_cosine(e, 0.5 * e), ones[:3])
    torch.testing.assert_close(embedding_cosine(e, -e), -ones[:3])
    orthogonal = embedding_cosine(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 2.0]]))
    torch.testing.assert_close(orthogonal, torch.zeros(1, dtype=torch.float64))
    with pytest.raises(ValueError):
        embedding_cosine(torch.randn(3, 4), torch.randn(3, 5))


def test_frechet_distance_in_the_common_subspace_equals_the_full_dimensional_one():
    """Fewer samples than dimensions: the isometric projection changes nothing but the cost."""
    import warnings

    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(3)
    a = rng.normal(size=(30, 256)) * rng.uniform(0.5, 2.0, size=256)
    b = rng.normal(size=(45, 256)) + 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0),
                                          np.cov(b, rowvar=False))  # fmt: skip
    assert frechet_distance(a, b) == pytest.approx(full, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
