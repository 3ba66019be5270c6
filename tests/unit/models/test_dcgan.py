"""The pretrained 64 px DCGAN (gan-face-generate's weights.tar) imported as our DCGAN generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ganinv.data.h5io import read_h5
from ganinv.images import to_uint8
from ganinv.models.dcgan import Generator
from ganinv.models.dcgan_tutorial import load_dcgan_tutorial_generator
from ganinv.models.files import load_model
from ganinv.models.importers import FORMATS, import_generator
from ganinv.runtime import UserError
from ganinv.sample import SAMPLE_LAYOUTS, draw_latents, sample_to_h5
from ganinv.weights import REGISTRY, check_package_file

NZ, NGF, NC = 100, 64, 3


def tutorial_generator(nz=NZ, ngf=NGF, nc=NC) -> nn.Sequential:
    """The PyTorch DCGAN tutorial's generator, written out from its description."""
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


def tutorial_state(nz=4, ngf=2, nc=3, seed=0) -> dict[str, torch.Tensor]:
    """A small tutorial generator's state dict under the tutorial's ``main.`` keys."""
    torch.manual_seed(seed)
    module = tutorial_generator(nz, ngf, nc)
    for layer in module:
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.normal_(0, 0.1)
            layer.running_var.uniform_(0.5, 2.0)
    return {f"main.{key}": value for key, value in module.state_dict().items()}


def z_batch(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, NZ, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def package_file():
    return check_package_file(REGISTRY["dcgan_digiface"])


@pytest.fixture(scope="module")
def model_file(package_file, tmp_path_factory):
    path = tmp_path_factory.mktemp("dcgan") / "generator.pt"
    meta = import_generator(package_file, "dcgan_tutorial", path)
    assert meta["checkpoint_format"] == "dcgan_tutorial" and meta["prior"] == "normal"
    assert meta["weights"] == "dcgan_digiface"
    assert meta["checkpoint_sha256"] == REGISTRY["dcgan_digiface"].sha256
    return path


@pytest.fixture(scope="module")
def generator(model_file):
    generator, _ = load_model(model_file, "dcgan.Generator")
    return generator


def test_registered_names():
    assert FORMATS["dcgan_tutorial"][0] == "dcgan.Generator"
    assert SAMPLE_LAYOUTS["dcgan.Generator"][0] == "images"


def test_the_package_file_imports_with_the_tutorial_models_output(package_file, generator):
    assert isinstance(generator, Generator) and not generator.training
    assert (generator.z_dim, generator.resolution) == (NZ, 64)
    assert generator.config == {"z_dim": NZ, "channels": NGF, "image_channels": NC}
    assert sum(p.numel() for p in generator.parameters()) == 3_576_704
    reference = tutorial_generator()
    state = torch.load(package_file, map_location="cpu", weights_only=True)["netG_state_dict"]
    reference.load_state_dict({key.removeprefix("main."): value for key, value in state.items()})
    reference.eval()
    z = z_batch(6, seed=3)
    with torch.no_grad():
        ours = generator(z)
        expected = reference(z[:, :, None, None])
        torch.testing.assert_close(generator(z[:, :, None, None]), ours, rtol=0, atol=0)
    assert ours.shape == (6, NC, 64, 64)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-6)


def test_samples_are_varied_faces(generator):
    with torch.no_grad():
        x = generator(z_batch(16))
    assert x.min() >= -1 and x.max() <= 1
    assert x.flatten(1).std(dim=1).min() > 0.05  # no flat images (e.g. BN statistics not loaded)
    pairwise = (x[:, None] - x[None]).abs().mean(dim=(2, 3, 4)).sum() / (16 * 15)
    assert pairwise > 0.15  # no collapse (measured: 0.43)
    border = torch.ones(64, 64, dtype=torch.bool)
    border[16:48, 16:48] = False
    centre_rgb = x[:, :, 16:48, 16:48].mean(dim=(2, 3))
    border_rgb = x[:, :, border].mean(dim=2)
    assert (centre_rgb - border_rgb).abs().mean() > 0.05  # a subject in front of a background
    assert (centre_rgb[:, 0] - centre_rgb[:, 2]).mean() > 0.1  # warm skin tones (red > blue)
    mean_face = x.mean(dim=0).flatten()
    mirrored = x.mean(dim=0).flip(-1).flatten()
    assert torch.corrcoef(torch.stack([mean_face, mirrored]))[0, 1] > 0.3  # left-right symmetric


def test_gradients_reach_z_and_batch_norm_uses_its_running_statistics(generator):
    z = z_batch(4, seed=5).requires_grad_(True)
    generator.requires_grad_(False)
    try:
        loss = generator(z).abs().mean()
        loss.backward()
    finally:
        generator.requires_grad_(True)
    assert z.grad is not None and z.grad.abs().sum() > 0 and torch.isfinite(z.grad).all()
    with torch.no_grad():
        alone = generator(z[:1])
        in_batch = generator(z)[:1]
        generator.train()
        try:
            in_train_mode = generator(z)[:1]
        finally:
            generator.eval()
    torch.testing.assert_close(in_batch, alone, rtol=0, atol=1e-6)  # no batch statistics
    torch.testing.assert_close(in_train_mode, alone, rtol=0, atol=1e-6)
    running = generator.main[1].running_mean.clone()
    generator.train()
    generator(z)
    generator.eval()
    assert torch.equal(generator.main[1].running_mean, running)  # statistics never updated


def test_a_differently_sized_tutorial_dcgan_imports(tmp_path):
    state = tutorial_state(nz=5, ngf=2, nc=1)
    torch.save({"netG_state_dict": state, "netD_state_dict": {}}, tmp_path / "small.tar")
    generator, info = load_dcgan_tutorial_generator(tmp_path / "small.tar")
    assert generator.config == {"z_dim": 5, "channels": 2, "image_channels": 1}
    assert info["format"] == "pytorch-dcgan-tutorial" and "weights" not in info
    reference = tutorial_generator(5, 2, 1)
    reference.load_state_dict({k.removeprefix("main."): v for k, v in state.items()})
    z = torch.randn(3, 5)
    with torch.no_grad():
        expected = reference.eval()(z[:, :, None, None])
        torch.testing.assert_close(generator(z), expected, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match=r"z must have shape \[N, 5\]"):
        generator(torch.randn(3, 6))


def test_wrong_layouts_are_named(tmp_path):
    path = tmp_path / "state_only.pt"
    torch.save(tutorial_state(), path)  # a bare state dict, not the tutorial's file
    with pytest.raises(UserError, match=r"wrong layout: expected a dict with 'netG_state_dict'"):
        load_dcgan_tutorial_generator(path)
    torch.save([torch.zeros(2)], path)
    with pytest.raises(UserError, match=r"gan-face-generate weights.tar\), found a list"):
        load_dcgan_tutorial_generator(path)


def test_missing_key_and_wrong_shape_are_named(tmp_path):
    state = tutorial_state()
    del state["main.7.running_var"]
    torch.save({"netG_state_dict": state}, tmp_path / "a.tar")
    with pytest.raises(UserError, match=r"missing keys \(1\): \['main.7.running_var'\]"):
        load_dcgan_tutorial_generator(tmp_path / "a.tar")
    state = tutorial_state()
    state["main.6.weight"] = torch.randn(8, 3, 4, 4)
    torch.save({"netG_state_dict": state}, tmp_path / "b.tar")
    with pytest.raises(
        UserError, match=r"shape mismatches \(1\).*main.6.weight: file \(8, 3, 4, 4\)"
    ) as info:
        load_dcgan_tutorial_generator(tmp_path / "b.tar")
    assert str(tmp_path / "b.tar") in str(info.value)
    state = tutorial_state()
    state["main.14.weight"] = torch.zeros(1)
    torch.save({"netG_state_dict": state}, tmp_path / "c.tar")
    with pytest.raises(UserError, match=r"unexpected keys \(1\): \['main.14.weight'\]"):
        load_dcgan_tutorial_generator(tmp_path / "c.tar")


def test_unreadable_files_are_one_error_naming_the_file(tmp_path):
    path = tmp_path / "truncated.tar"
    torch.save({"netG_state_dict": tutorial_state()}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="truncated, corrupt") as info:
        load_dcgan_tutorial_generator(path)
    assert str(path) in str(info.value)
    path = tmp_path / "notes.txt"
    path.write_text("not a torch file\n" * 20)
    with pytest.raises(UserError) as info:
        load_dcgan_tutorial_generator(path)
    assert str(path) in str(info.value)
    with pytest.raises(UserError, match="not found"):
        load_dcgan_tutorial_generator(tmp_path / "absent.tar")


def test_sample_to_h5_writes_dcgan_images(model_file, generator, tmp_path):
    out = tmp_path / "s.h5"
    sample_to_h5(
        model_file, out, n=5, prior="normal", seed=2, batch_size=3, device=torch.device("cpu")
    )
    arrays, attrs = read_h5(out)
    assert arrays["images"].dtype == np.uint8 and arrays["images"].shape == (5, 3, 64, 64)
    assert attrs["generator"] == "dcgan.Generator" and attrs["resolution"] == 64
    z = draw_latents(5, NZ, "normal", 2)
    assert np.array_equal(arrays["z"], z.numpy())
    with torch.no_grad():
        expected = to_uint8(generator(z)).numpy()
    assert np.abs(arrays["images"].astype(int) - expected).max() <= 1
