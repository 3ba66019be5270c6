"""Importers against the upstream projects' own files and outputs (../shared/fixtures/upstream).

Each checkpoint there was written by the public project's own code (pytorch_GAN_zoo,
rosinality/stylegan2-pytorch, the PyTorch WaveGAN port), with that code's outputs for fixed
latents. Our importers must reproduce those outputs to atol = rtol = 1e-4 (float32 on outputs of
magnitude 1-16; the fixtures' README reports max |ours - upstream| <= 1.4e-5).
"""

from __future__ import annotations

import pytest
import torch

from ganinv.models.pgan_zoo import load_pgan_generator
from ganinv.models.rosinality import load_rosinality_generator
from ganinv.models.wavegan_port import load_wavegan_port_generator
from ganinv.runtime import UserError
from tests.helpers.paths import REPO

UPSTREAM = REPO.parent / "shared" / "fixtures" / "upstream"
TOLERANCE = {"atol": 1e-4, "rtol": 1e-4}
pytestmark = pytest.mark.skipif(
    not UPSTREAM.is_dir(),
    reason=f"the upstream golden fixtures are absent ({UPSTREAM}; see that folder's README)",
)


def _load(path):
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.mark.parametrize(("average", "entry"), [(True, "avgG"), (False, "netG")])
def test_pgan_zoo_import_reproduces_pytorch_gan_zoo(average, entry, one_thread):
    folder = UPSTREAM / "pgan"
    generator, info = load_pgan_generator(folder / "pgan_zoo_s3_d32.pth", average=average)
    assert info["state"] == entry and generator.resolution == 32
    z = _load(folder / "latents.pt")
    expected = _load(folder / "upstream_outputs.pt")[entry]
    with torch.no_grad():
        ours = generator(z)
    assert ours.shape == expected.shape == (6, 3, 32, 32)
    torch.testing.assert_close(ours, expected, **TOLERANCE)


def test_pgan_zoo_average_and_plain_generators_differ():
    """The fixture perturbs avgG away from netG: the comparison above can tell them apart."""
    expected = _load(UPSTREAM / "pgan" / "upstream_outputs.pt")
    assert (expected["avgG"] - expected["netG"]).abs().max() > 1e-2


@pytest.mark.parametrize("layout", ["small32_train_layout.pt", "small32_convert_layout.pt"])
def test_rosinality_import_reproduces_stylegan2_pytorch(layout, one_thread):
    folder = UPSTREAM / "rosinality"
    generator, info = load_rosinality_generator(folder / layout)
    latents = _load(folder / "latents.pt")
    expected = _load(folder / "upstream_outputs.pt")
    with torch.no_grad():
        torch.testing.assert_close(generator(latents["z"]), expected["z"], **TOLERANCE)
        torch.testing.assert_close(
            generator.synthesis(latents["wplus"]), expected["wplus"], **TOLERANCE
        )
        if info["latent_avg"]:  # converted files carry latent_avg: the truncation centre
            torch.testing.assert_close(
                generator.w_avg, expected["latent_avg"].reshape(-1), **TOLERANCE
            )
            torch.testing.assert_close(
                generator(latents["z"], truncation_psi=0.5), expected["trunc0.5"], **TOLERANCE
            )
    assert info["resolution"] == 32 and info["z_dim"] == info["w_dim"] == 64


@pytest.mark.parametrize("case", ["upsample_nobn", "upsample_bn", "transposed_bn"])
def test_wavegan_port_import_reproduces_the_port(case, one_thread):
    folder = UPSTREAM / "wavegan"
    generator, info = load_wavegan_port_generator(folder / f"gan_{case}.tar")
    assert info["batch_norm_folded"] == case.endswith("_bn") and info["prior"] == "normal"
    z = _load(folder / "latents.pt")
    expected = _load(folder / "upstream_outputs.pt")[case]
    with torch.no_grad():
        ours = generator(z)
    assert ours.shape == expected.shape == (4, 1, 16384)
    torch.testing.assert_close(ours, expected, **TOLERANCE)


def test_a_swagan_checkpoint_is_named_as_such(tmp_path):
    """rosinality's train.py also trains SWAGAN (args.arch = "swagan", wavelet layers): the error
    names that architecture instead of listing every unexpected key."""
    source = UPSTREAM / "rosinality" / "small32_train_layout.pt"
    checkpoint = torch.load(source, map_location="cpu", weights_only=False)
    checkpoint["args"].arch = "swagan"
    path = tmp_path / "swagan.pt"
    torch.save(checkpoint, path)
    with pytest.raises(UserError, match="swagan") as error:
        load_rosinality_generator(path)
    message = str(error.value)
    assert "StyleGAN2" in message and "unexpected" not in message
