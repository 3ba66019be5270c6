import numpy as np
import pytest
import torch

from ganinv.data.h5io import read_h5
from ganinv.images import to_uint8
from ganinv.models.files import load_model, save_model
from ganinv.models.progan import Generator
from ganinv.runtime import UserError, file_sha256
from ganinv.sample import draw_latents, sample_to_h5


@pytest.fixture()
def generator_file(tmp_path):
    torch.manual_seed(0)
    kwargs = {"resolution": 16, "z_dim": 12, "channels": [8, 8, 8]}
    path = tmp_path / "g.pt"
    save_model(path, Generator(**kwargs), "progan.Generator", kwargs)
    return path


def test_priors():
    normal = draw_latents(4000, 8, "normal", seed=1)
    uniform = draw_latents(4000, 8, "uniform", seed=1)
    assert abs(normal.mean()) < 0.05 and abs(normal.std() - 1) < 0.05
    assert uniform.min() >= -1 and uniform.max() <= 1 and abs(uniform.std() - 3**-0.5) < 0.02
    assert torch.equal(draw_latents(10, 8, "normal", 5), draw_latents(10, 8, "normal", 5))
    assert not torch.equal(draw_latents(10, 8, "normal", 5), draw_latents(10, 8, "normal", 6))
    with pytest.raises(UserError, match="unknown latent prior 'cauchy'"):
        draw_latents(3, 8, "cauchy", 0)


@pytest.mark.parametrize("batch_size", [7, 100])
def test_sample_file_matches_generator(generator_file, tmp_path, batch_size):
    out = tmp_path / "s.h5"
    sample_to_h5(
        generator_file,
        out,
        n=30,
        prior="uniform",
        seed=9,
        batch_size=batch_size,
        device=torch.device("cpu"),
    )
    arrays, attrs = read_h5(out)
    generator, _ = load_model(generator_file)
    z = torch.from_numpy(arrays["z"])
    assert torch.equal(z, draw_latents(30, 12, "uniform", 9))
    with torch.no_grad():
        batches = [to_uint8(generator(z[i : i + batch_size])) for i in range(0, 30, batch_size)]
        whole = to_uint8(generator(z)).numpy().astype(int)
    # Exactly the generator's output for the same batches; another batch size may take other
    # convolution kernels (last-bit differences), so one pass of all 30 agrees to one level.
    assert np.array_equal(arrays["images"], torch.cat(batches).numpy())
    assert np.abs(arrays["images"].astype(int) - whole).max() <= 1
    assert attrs["seed"] == 9 and attrs["prior"] == "uniform" and attrs["n"] == 30
    assert attrs["generator_sha256"] == file_sha256(generator_file)
    assert len(attrs["config_hash"]) == 64 and "ganinv_version" in attrs


def test_sampling_is_repeatable(generator_file, tmp_path):
    for name in ("a.h5", "b.h5"):
        sample_to_h5(generator_file, tmp_path / name, 20, "normal", 1, 8, torch.device("cpu"))
    a, _ = read_h5(tmp_path / "a.h5")
    b, _ = read_h5(tmp_path / "b.h5")
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_wavegan_samples_are_float_audio(tmp_path):
    from ganinv.models.wavegan import Generator as WaveGenerator

    torch.manual_seed(0)
    kwargs = {"z_dim": 10, "d": 2}
    save_model(tmp_path / "w.pt", WaveGenerator(**kwargs), "wavegan.Generator", kwargs)
    sample_to_h5(tmp_path / "w.pt", tmp_path / "a.h5", 5, "uniform", 3, 2, torch.device("cpu"))
    arrays, attrs = read_h5(tmp_path / "a.h5")
    assert arrays["audio"].shape == (5, 1, 16384) and arrays["audio"].dtype == np.float32
    generator, _ = load_model(tmp_path / "w.pt")
    with torch.no_grad():
        expected = generator(torch.from_numpy(arrays["z"])).numpy()
    assert np.allclose(arrays["audio"], expected, atol=1e-6)
    assert attrs["kind"] == "generated-audio" and attrs["samples"] == 16384


def test_sampling_a_non_generator_is_refused(tmp_path):
    from ganinv.models.encoder import ResNetEncoder

    save_model(tmp_path / "e.pt", ResNetEncoder(4, 16), "encoder.ResNetEncoder",
               {"z_dim": 4, "input_size": 16})  # fmt: skip
    with pytest.raises(UserError, match="not a generator"):
        sample_to_h5(tmp_path / "e.pt", tmp_path / "x.h5", 2, "normal", 0, 2, torch.device("cpu"))
    assert not (tmp_path / "x.h5").exists()
