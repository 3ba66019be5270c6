"""Weights registry, downloads with digest checks and retries, and generator imports."""

from __future__ import annotations

import hashlib
import urllib.error

import pytest
import torch

from ganinv import weights
from ganinv.models.files import load_model
from ganinv.models.importers import import_generator
from ganinv.runtime import UserError
from ganinv.weights import REGISTRY, WeightsFile, fetch_file, manual_instructions, resolve
from tests.helpers.pgan_zoo import write_pgan


@pytest.fixture()
def fake_entry(tmp_path, monkeypatch):
    """A registry entry whose 'public URL' is a local file:// URL."""
    source = tmp_path / "published.bin"
    source.write_bytes(b"pretrained weights " * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    entry = WeightsFile(
        "fake", "hub/checkpoints/fake.pth", "a test file", url=source.as_uri(), sha256=digest
    )
    monkeypatch.setitem(REGISTRY, "fake", entry)
    return entry


def test_registry_names_resolve_under_the_weights_folder(tmp_path):
    path, entry = resolve("pgan_celeba", tmp_path)
    assert path == tmp_path / "hub/checkpoints/celebaCropped_s5_i83000-2b0acc76.pth"
    assert entry.hash_prefix == "2b0acc76" and entry.url.endswith(path.name)
    # torch hub names carry the sha256 prefix; a full pin must agree with it
    for item in REGISTRY.values():
        if item.sha256 and item.hash_prefix:
            assert item.sha256.startswith(item.hash_prefix)
    assert resolve("my/own.pt", tmp_path) == (weights.Path("my/own.pt"), None)


def test_fetch_downloads_checks_the_digest_and_renames(tmp_path, fake_entry):
    root = tmp_path / "weights"
    path = fetch_file(fake_entry.path(root), root)
    assert path.read_bytes() == b"pretrained weights " * 1000
    assert [p.name for p in path.parent.iterdir()] == ["fake.pth"]  # no temporary left


def test_a_wrong_digest_leaves_nothing_under_the_final_name(tmp_path, fake_entry, monkeypatch):
    monkeypatch.setitem(
        REGISTRY, "fake", WeightsFile("fake", fake_entry.relpath, "x", url=fake_entry.url,
                                      sha256="0" * 64)
    )  # fmt: skip
    root = tmp_path / "weights"
    with pytest.raises(UserError, match="differs from the pinned"):
        fetch_file(REGISTRY["fake"].path(root), root)
    assert list((root / "hub/checkpoints").iterdir()) == []


def test_transient_errors_are_retried(tmp_path, fake_entry, monkeypatch):
    calls = []
    real_download = weights._download

    def flaky(url, destination, timeout):
        calls.append(url)
        if len(calls) < 3:
            raise urllib.error.HTTPError(url, 503, "unavailable", {}, None)
        real_download(url, destination, timeout)

    monkeypatch.setattr(weights, "_download", flaky)
    root = tmp_path / "weights"
    fetch_file(fake_entry.path(root), root, retries=3, backoff=0.0)
    assert len(calls) == 3
    calls.clear()

    def missing(url, destination, timeout):
        calls.append(url)
        raise urllib.error.HTTPError(url, 404, "not found", {}, None)

    monkeypatch.setattr(weights, "_download", missing)
    (root / fake_entry.relpath).unlink()
    with pytest.raises(UserError, match="HTTP 404"):
        fetch_file(fake_entry.path(root), root, retries=3, backoff=0.0)
    assert len(calls) == 1  # a 4xx answer is not retried


def test_offline_fails_fast_listing_every_needed_file(tmp_path, monkeypatch):
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(variable, raising=False)  # resolve the .invalid host ourselves
    root = tmp_path / "weights"
    needed = [REGISTRY["vggface2"].path(root), REGISTRY["stylegan2_ffhq"].path(root)]
    monkeypatch.setitem(
        REGISTRY,
        "vggface2",
        WeightsFile("vggface2", REGISTRY["vggface2"].relpath, "faces", url="http://host.invalid/x"),
    )
    with pytest.raises(UserError, match="Place these files by hand") as info:
        fetch_file(needed[0], root, needed=needed, retries=3, backoff=60.0)  # no retry wait
    message = str(info.value)
    assert all(str(path) in message for path in needed)
    assert "convert_weight.py" in message  # where the hand-placed StyleGAN2 file comes from
    assert not needed[0].exists()


def test_files_without_a_public_url_are_not_downloaded(tmp_path):
    path = REGISTRY["stylegan2_ffhq"].path(tmp_path)
    with pytest.raises(UserError, match="cannot be downloaded automatically"):
        fetch_file(path, tmp_path)
    assert "a file named in the config" in manual_instructions([tmp_path / "own.pt"], tmp_path)


def test_import_writes_a_model_file_with_provenance(tmp_path):
    checkpoint = write_pgan(tmp_path / "pgan.pth")
    meta = import_generator(checkpoint, "pytorch_gan_zoo", tmp_path / "g.pt",
                            expected={"resolution": 16})  # fmt: skip
    generator, stored = load_model(tmp_path / "g.pt", "progan.Generator")
    assert stored["checkpoint_sha256"] == meta["checkpoint_sha256"]
    assert stored["imported_from"].endswith("pgan.pth") and stored["state"] == "avgG"
    assert generator(torch.randn(2, generator.z_dim)).shape == (2, 3, 16, 16)


def test_import_refuses_a_generator_the_config_does_not_expect(tmp_path):
    checkpoint = write_pgan(tmp_path / "pgan.pth")
    with pytest.raises(UserError, match="resolution: the checkpoint has 16, the config says 128"):
        import_generator(checkpoint, "pytorch_gan_zoo", tmp_path / "g.pt",
                         expected={"resolution": 128})  # fmt: skip
    assert not (tmp_path / "g.pt").exists()
    with pytest.raises(UserError, match="unknown checkpoint format 'nvidia'"):
        import_generator(checkpoint, "nvidia", tmp_path / "g.pt")


@pytest.fixture()
def package_entry(tmp_path, monkeypatch):
    """A package file entry whose 'installed package' is a folder of the test."""
    installed = tmp_path / "site-packages"
    (installed / "fakepkg").mkdir(parents=True)
    data = b"packaged weights " * 100
    (installed / "fakepkg" / "weights.tar").write_bytes(data)
    monkeypatch.setattr(
        weights,
        "_package_location",
        lambda package, relpath: installed / relpath if package == "fake-pkg" else None,
    )
    return WeightsFile(
        "fake_package_file",
        "fakepkg/weights.tar",
        "a test file",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        package="fake-pkg",
        package_version="2.0.1",
    )


def test_a_present_package_file_passes_its_checks(package_entry, tmp_path):
    path = weights.check_package_file(package_entry)
    assert path == tmp_path / "site-packages" / "fakepkg" / "weights.tar"


def test_a_missing_package_file_names_the_file_and_the_install_command(package_entry):
    path = package_entry.path(".")
    path.unlink()
    with pytest.raises(UserError, match="is missing") as info:
        weights.check_package_file(package_entry)
    message = str(info.value)
    assert str(path) in message and "pip install --no-deps fake-pkg==2.0.1" in message


def test_a_truncated_package_file_is_reported_as_truncated(package_entry):
    path = package_entry.path(".")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(UserError, match=r"is truncated: 100 bytes, expected 1700") as info:
        weights.check_package_file(package_entry)
    assert str(path) in str(info.value) and "pip install --no-deps fake-pkg==2.0.1" in str(
        info.value
    )


def test_a_package_file_with_another_digest_names_both_digests(package_entry):
    path = package_entry.path(".")
    altered = b"PACKAGED WEIGHTS " * 100  # same size, other bytes
    path.write_bytes(altered)
    with pytest.raises(UserError, match="differs from the pinned") as info:
        weights.check_package_file(package_entry)
    message = str(info.value)
    assert hashlib.sha256(altered).hexdigest() in message and package_entry.sha256 in message
    assert "fake_package_file" in message and "pip install --no-deps fake-pkg==2.0.1" in message


def test_the_pinned_dcgan_file_is_installed_intact():
    entry = REGISTRY["dcgan_digiface"]
    path = weights.check_package_file(entry)
    assert path.name == "weights.tar" and path.stat().st_size == entry.size


def test_loaders_hold_an_installed_package_file_to_its_pins(package_entry, tmp_path, monkeypatch):
    """check_if_package_file: the installed file is checked, any other path is left alone."""
    monkeypatch.setitem(REGISTRY, package_entry.name, package_entry)
    path = package_entry.path(".")
    assert weights.check_if_package_file(path) == package_entry
    own = tmp_path / "own.tar"
    own.write_bytes(b"not pinned")
    assert weights.check_if_package_file(own) is None
    path.write_bytes(b"x" * package_entry.size)  # full size, other contents
    with pytest.raises(UserError, match="differs from the pinned"):
        weights.check_if_package_file(path)
