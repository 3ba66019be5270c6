import pytest
import torch

from ganinv.models.files import load_model, read_model_file, save_model
from ganinv.models.progan import Discriminator, Generator
from ganinv.runtime import UserError

KWARGS = {"resolution": 8, "z_dim": 4, "channels": [4, 4]}


def test_round_trip_rebuilds_the_same_module(tmp_path):
    torch.manual_seed(1)
    generator = Generator(**KWARGS)
    save_model(tmp_path / "g.pt", generator, "progan.Generator", KWARGS, meta={"steps": 3})
    loaded, meta = load_model(tmp_path / "g.pt", "progan.Generator")
    z = torch.randn(2, 4)
    assert torch.equal(loaded(z), generator.eval()(z)) and meta == {"steps": 3}
    payload = read_model_file(tmp_path / "g.pt")
    assert payload["format_version"] == 1 and payload["kwargs"]["channels"] == [4, 4]


def test_bad_files_give_one_clear_message(tmp_path):
    save_model(tmp_path / "g.pt", Generator(**KWARGS), "progan.Generator", KWARGS)
    with pytest.raises(UserError, match="model file not found"):
        load_model(tmp_path / "missing.pt")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((tmp_path / "g.pt").read_bytes()[:200])
    with pytest.raises(UserError, match="truncated, corrupt"):
        load_model(truncated)
    with pytest.raises(UserError, match="'progan.Generator' model, but a 'progan.Discriminator'"):
        load_model(tmp_path / "g.pt", "progan.Discriminator")
    # A checkpoint whose weights belong to another architecture.
    disc_kwargs = {"resolution": 8, "channels": [4, 4]}
    payload = read_model_file(tmp_path / "g.pt")
    payload["state_dict"] = Discriminator(**disc_kwargs).state_dict()
    torch.save(payload, tmp_path / "wrong.pt")
    with pytest.raises(UserError, match="missing keys"):
        load_model(tmp_path / "wrong.pt")
    # Pickled code is refused by weights_only loading.
    torch.save({"format": "ganinv-model", "f": Generator}, tmp_path / "code.pt")
    with pytest.raises(UserError, match="cannot read model file"):
        load_model(tmp_path / "code.pt")
