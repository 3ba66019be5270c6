"""The photo datasets (CelebA, LFW): folders, layout checks, file lists, download errors."""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import json
import re
import shutil
import socket
import time
import urllib.error

import pytest

from ganinv.data import photo_datasets
from ganinv.data.photo_datasets import (
    DATASETS,
    MARKER,
    archives_manifest_path,
    ensure_photo_dataset,
    images_folder,
    is_present,
    missing_datasets_message,
    published_files,
    read_celeba_identities,
)
from ganinv.runtime import UserError
from tests.helpers.paths import REPO

# The local copies of the public archives, next to the project (see ../shared/data/README.md);
# the tests that read real photos skip without them.
SHARED = REPO.parent / "shared" / "data"
CELEBA = SHARED / "celeba"
LFW = SHARED / "lfw"
needs_celeba = pytest.mark.skipif(
    not (CELEBA / "img_align_celeba").is_dir() or not (CELEBA / "identity_CelebA.txt").is_file(),
    reason="no local CelebA copy at ../shared/data/celeba (img_align_celeba/ and "
    "identity_CelebA.txt, as the CelebA project publishes them)",
)
needs_lfw = pytest.mark.skipif(
    not (LFW / "lfw-deepfunneled").is_dir(),
    reason="no local LFW copy at ../shared/data/lfw (lfw-deepfunneled/<Name>/<Name>_NNNN.jpg, "
    "lfw-deepfunneled.tgz unpacked)",
)

# Bytes that pass the JPEG marker check (start and end markers) without being a real photo.
FAKE_JPEG = b"\xff\xd8\xff\xe0" + b"fake photo" + b"\xff\xd9"


def _rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _outputs(tmp_path, name="x"):
    return {"out_json": tmp_path / f"{name}.json", "out_manifest": tmp_path / f"{name}.csv"}


def _check_outputs(record, outputs, images):
    """The manifest lists every photo with hashlib's digests; the JSON matches the return."""
    rows = _rows(outputs["out_manifest"])
    assert [row["name"] for row in rows] == sorted(row["name"] for row in rows)
    total = 0
    for row in rows:
        data = (images / row["name"]).read_bytes()
        assert int(row["bytes"]) == len(data)
        assert row["sha256"] == hashlib.sha256(data).hexdigest()
        total += len(data)
    assert record["n_files"] == len(rows)
    assert record["total_bytes"] == total
    assert record["images_folder"] == str(images.resolve())
    csv_digest = hashlib.sha256(outputs["out_manifest"].read_bytes()).hexdigest()
    assert record["manifest_sha256"] == csv_digest
    assert json.loads(outputs["out_json"].read_text()) == record
    return rows


# ----- the table and the shipped manifest -----


def test_datasets_table():
    assert set(DATASETS) == {"celeba", "lfw"}
    celeba, lfw = DATASETS["celeba"], DATASETS["lfw"]
    assert (celeba.folder_key, lfw.folder_key) == ("faces.celeba.folder", "faces.lfw.folder")
    assert (celeba.images_dir, lfw.images_dir) == ("img_align_celeba", "lfw-deepfunneled")
    assert (celeba.torchvision_base, lfw.torchvision_base) == ("celeba", "lfw-py")
    assert (celeba.n_images_full, lfw.n_images_full) == (202599, 13233)
    for spec in (celeba, lfw):
        assert "research" in spec.licence
        assert spec.origin.startswith("http")
    with pytest.raises(AttributeError):
        celeba.name = "other"  # frozen


def test_shipped_manifest_is_what_torchvision_checks():
    import torchvision.datasets
    from torchvision.datasets.lfw import _LFW

    celeba = {(f.file, f.md5, f.source) for f in published_files(name="celeba")}
    expected = {
        (filename, md5, f"gdrive:{file_id}")
        for file_id, md5, filename in torchvision.datasets.CelebA.file_list
    }
    assert celeba == expected
    folder, archive, md5 = _LFW.file_dict["deepfunneled"]
    assert folder == DATASETS["lfw"].images_dir
    prefix = _LFW.download_url_prefix
    lfw = {(f.file, f.md5, f.source) for f in published_files(name="lfw")}
    assert lfw == {
        (archive, md5, prefix + archive),
        ("people.txt", _LFW.checksums["people.txt"], prefix + "people.txt"),
        ("lfw-names.txt", _LFW.checksums["lfw-names.txt"], prefix + "lfw-names.txt"),
    }
    assert torchvision.datasets.CelebA.base_folder == DATASETS["celeba"].torchvision_base
    assert _LFW.base_folder == DATASETS["lfw"].torchvision_base
    assert DATASETS["lfw"].download_url == prefix + archive


def test_shipped_manifest_is_package_data():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")
    path = archives_manifest_path()
    assert path.is_file()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["ganinv.data"]
    relative = path.relative_to(REPO / "src" / "ganinv" / "data").as_posix()
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


# ----- where the photos are -----


@needs_celeba
@needs_lfw
def test_images_folder_accepts_both_folder_forms(tmp_path):
    for name, holder in (("celeba", CELEBA), ("lfw", LFW)):
        images = holder / DATASETS[name].images_dir
        assert images_folder(name=name, folder=holder) == images
        assert images_folder(name=name, folder=images) == images
        assert images_folder(name=name, folder=str(images)) == images
        assert is_present(name=name, folder=holder)
        assert is_present(name=name, folder=images)
        base = DATASETS[name].torchvision_base
        download = images_folder(name=name, download_dir=tmp_path)
        assert download == tmp_path / base / DATASETS[name].images_dir
        missing = tmp_path / "nowhere"
        assert images_folder(name=name, folder=missing) == missing / DATASETS[name].images_dir
        assert not is_present(name=name, folder=missing)
    # A renamed images folder that holds the photos is the images folder.
    renamed = tmp_path / "my_celeba_photos"
    renamed.mkdir()
    (renamed / "000001.jpg").write_bytes(FAKE_JPEG)
    assert images_folder(name="celeba", folder=renamed) == renamed


def test_is_present_needs_a_completed_download(tmp_path):
    images = images_folder(name="lfw", download_dir=tmp_path)
    assert not is_present(name="lfw", download_dir=tmp_path)
    (images / "Some_Person").mkdir(parents=True)
    (images / "Some_Person" / "Some_Person_0001.jpg").write_bytes(FAKE_JPEG)
    assert not is_present(name="lfw", download_dir=tmp_path)  # no marker: maybe half unpacked
    (images.parent / MARKER).write_text("{}")
    assert is_present(name="lfw", download_dir=tmp_path)
    with pytest.raises(UserError, match="unknown photo dataset"):
        is_present(name="ffhq", folder=tmp_path)


# ----- local copies -----


@needs_celeba
def test_ensure_local_celeba(tmp_path):
    outputs = _outputs(tmp_path, "celeba")
    started = time.perf_counter()
    record = ensure_photo_dataset(name="celeba", folder=CELEBA, **outputs)
    assert time.perf_counter() - started < 30
    images = CELEBA / "img_align_celeba"
    rows = _check_outputs(record, outputs, images)
    assert record["n_files"] == 10000
    assert record["dataset"] == "celeba"
    assert record["source"] == "local copy"
    assert record["origin"] == DATASETS["celeba"].origin
    assert record["licence"] == DATASETS["celeba"].licence
    identities = read_celeba_identities(folder=CELEBA)
    assert len(identities) == 10000
    assert read_celeba_identities(folder=images) == identities
    assert {row["name"]: int(row["identity"]) for row in rows} == identities
    assert record["n_identities"] == len(set(identities.values())) == 5429


@needs_lfw
def test_ensure_local_lfw(tmp_path):
    outputs = _outputs(tmp_path, "lfw")
    images = LFW / "lfw-deepfunneled"
    record = ensure_photo_dataset(name="lfw", folder=images, **outputs)
    rows = _check_outputs(record, outputs, images)
    assert record["n_files"] == 1585
    assert record["n_identities"] == 100
    assert record["source"] == "local copy"
    for row in rows:
        person, file = row["name"].split("/")
        assert row["identity"] == person
        assert re.fullmatch(rf"{re.escape(person)}_\d{{4}}\.jpg", file)


@pytest.fixture
def celeba_subset(tmp_path):
    """20 CelebA photos and the full identity file, copied (a subset of the local copy)."""
    if not (CELEBA / "img_align_celeba").is_dir():
        pytest.skip("no local CelebA copy at ../shared/data/celeba")
    root = tmp_path / "celeba"
    images = root / "img_align_celeba"
    images.mkdir(parents=True)
    for index in range(1, 21):
        name = f"{index:06d}.jpg"
        shutil.copyfile(CELEBA / "img_align_celeba" / name, images / name)
    shutil.copyfile(CELEBA / "identity_CelebA.txt", root / "identity_CelebA.txt")
    return root


def test_celeba_subset_extra_and_corrupt_files(celeba_subset, tmp_path):
    images = celeba_subset / "img_align_celeba"
    outputs = _outputs(tmp_path)
    # A subset of the listed photos is fine; a file that is not a photo is ignored.
    (images / "notes.txt").write_text("not a photo")
    (images / ".DS_Store").write_bytes(b"\0")
    record = ensure_photo_dataset(name="celeba", folder=celeba_subset, **outputs)
    assert record["n_files"] == 20
    assert "notes.txt" not in {row["name"] for row in _rows(outputs["out_manifest"])}
    # A photo the identity file does not name is an error.
    shutil.copyfile(images / "000001.jpg", images / "999999.jpg")
    with pytest.raises(UserError, match=r"999999\.jpg") as caught:
        ensure_photo_dataset(name="celeba", folder=celeba_subset, **_outputs(tmp_path, "b"))
    assert "not named in identity_CelebA.txt" in str(caught.value)
    (images / "999999.jpg").unlink()
    # A truncated or empty photo is recorded, not fatal.
    data = (images / "000007.jpg").read_bytes()
    (images / "000007.jpg").write_bytes(data[: len(data) // 2])
    (images / "000008.jpg").write_bytes(b"")
    record = ensure_photo_dataset(name="celeba", folder=celeba_subset, **_outputs(tmp_path, "c"))
    assert record["n_files"] == 20 and record["n_incomplete"] == 2
    assert record["incomplete"] == ["000007.jpg", "000008.jpg"]
    rows = {row["name"]: row for row in _rows(_outputs(tmp_path, "c")["out_manifest"])}
    assert rows["000007.jpg"]["complete"] == "0" and rows["000008.jpg"]["complete"] == "0"
    assert rows["000001.jpg"]["complete"] == "1"
    shutil.copyfile(CELEBA / "img_align_celeba" / "000008.jpg", images / "000008.jpg")
    (images / "000007.jpg").write_bytes(data)
    # Without the identity file beside the images folder: an error naming it.
    (celeba_subset / "identity_CelebA.txt").unlink()
    with pytest.raises(UserError, match="identity_CelebA.txt"):
        ensure_photo_dataset(name="celeba", folder=celeba_subset, **_outputs(tmp_path, "e"))


def test_celeba_identity_file_format(tmp_path):
    (tmp_path / "identity_CelebA.txt").write_text("000001.jpg 12\n\n000002.jpg 7\n")
    assert read_celeba_identities(folder=tmp_path) == {"000001.jpg": 12, "000002.jpg": 7}
    (tmp_path / "identity_CelebA.txt").write_text("000001.jpg 12\n000002.jpg seven\n")
    with pytest.raises(UserError, match=r"identity_CelebA\.txt:2"):
        read_celeba_identities(folder=tmp_path)
    (tmp_path / "identity_CelebA.txt").write_text("000001.jpg 12\n000001.jpg 13\n")
    with pytest.raises(UserError, match="two identities"):
        read_celeba_identities(folder=tmp_path)


def test_lfw_layout_is_checked(tmp_path):
    images = tmp_path / "lfw-deepfunneled"
    for person in ("Ada_Lovelace", "Alan_Turing"):
        (images / person).mkdir(parents=True)
        for number in (1, 2):
            (images / person / f"{person}_{number:04d}.jpg").write_bytes(FAKE_JPEG)
    record = ensure_photo_dataset(name="lfw", folder=tmp_path, **_outputs(tmp_path))
    assert (record["n_files"], record["n_identities"]) == (4, 2)
    # A photo outside a person's folder, or named after another person, breaks the layout.
    (images / "stray.jpg").write_bytes(FAKE_JPEG)
    with pytest.raises(UserError, match=r"stray\.jpg"):
        ensure_photo_dataset(name="lfw", folder=tmp_path, **_outputs(tmp_path, "b"))
    (images / "stray.jpg").unlink()
    (images / "Ada_Lovelace" / "Alan_Turing_0003.jpg").write_bytes(FAKE_JPEG)
    with pytest.raises(UserError, match=r"Alan_Turing_0003\.jpg"):
        ensure_photo_dataset(name="lfw", folder=tmp_path, **_outputs(tmp_path, "c"))
    (images / "Ada_Lovelace" / "Alan_Turing_0003.jpg").unlink()
    # A file that is not a JPEG is recorded (complete 0), not fatal.
    (images / "Alan_Turing" / "Alan_Turing_0002.jpg").write_bytes(b"GIF89a not a jpeg")
    record = ensure_photo_dataset(name="lfw", folder=tmp_path, **_outputs(tmp_path, "d"))
    assert record["incomplete"] == ["Alan_Turing/Alan_Turing_0002.jpg"]
    with pytest.raises(UserError, match="faces.lfw.folder"):
        ensure_photo_dataset(name="lfw", folder=tmp_path / "absent", **_outputs(tmp_path, "e"))


# ----- what is missing, at parse time -----


def test_missing_datasets_message_lists_every_unreachable_dataset(tmp_path, monkeypatch):
    monkeypatch.setattr(photo_datasets, "_gdown_available", lambda: True)
    asked = []

    def unreachable(url):
        asked.append(url)
        return False

    needs = {"celeba": (None, tmp_path / "c"), "lfw": (None, tmp_path / "l")}
    message = missing_datasets_message(needs=needs, reachable=unreachable)
    assert message is not None
    for spec in DATASETS.values():
        assert spec.title in message
        assert spec.origin in message
        assert spec.folder_key in message
        assert spec.licence in message
        assert f"faces={{{spec.name}: {{folder: /path/to/{spec.name}}}}}" in message
    assert sorted(asked) == sorted(spec.download_url for spec in DATASETS.values())
    assert missing_datasets_message(needs=needs, reachable=lambda url: True) is None


def test_missing_datasets_message_without_gdown(tmp_path, monkeypatch):
    monkeypatch.setattr(photo_datasets, "_gdown_available", lambda: False)
    message = missing_datasets_message(
        needs={"celeba": (None, tmp_path)}, reachable=lambda url: True
    )
    assert message is not None and "pip install gdown" in message
    assert "faces.celeba.folder" in message


@needs_celeba
@needs_lfw
def test_missing_datasets_message_with_folders(tmp_path):
    asked = []

    def reachable(url):
        asked.append(url)
        return False

    present = {"celeba": (str(CELEBA), "unused"), "lfw": (str(LFW / "lfw-deepfunneled"), "x")}
    assert missing_datasets_message(needs=present, reachable=reachable) is None
    assert asked == []  # given folders are never probed
    absent = tmp_path / "no_such_folder"
    message = missing_datasets_message(
        needs={**present, "lfw": (str(absent), "x")}, reachable=reachable
    )
    assert message is not None
    assert f"folder {absent} not found" in message
    assert "faces.lfw.folder" in message
    assert DATASETS["celeba"].title not in message
    empty = tmp_path / "empty"
    empty.mkdir()
    message = missing_datasets_message(needs={"celeba": (empty, "x")}, reachable=reachable)
    assert message is not None and "holds no img_align_celeba" in message


def test_missing_datasets_message_never_hangs(tmp_path, monkeypatch):
    monkeypatch.setattr(photo_datasets, "_PROBE_DEADLINE", 0.2)

    def slow(url):
        time.sleep(5)
        return True

    started = time.perf_counter()
    message = missing_datasets_message(needs={"lfw": (None, tmp_path)}, reachable=slow)
    assert time.perf_counter() - started < 2
    assert message is not None and "cannot be reached" in message


def test_completed_download_is_not_probed(tmp_path):
    images = images_folder(name="lfw", download_dir=tmp_path)
    (images / "Some_Person").mkdir(parents=True)
    (images / "Some_Person" / "Some_Person_0001.jpg").write_bytes(FAKE_JPEG)
    (images.parent / MARKER).write_text("{}")
    message = missing_datasets_message(needs={"lfw": (None, tmp_path)}, reachable=lambda u: False)
    assert message is None


def test_default_reachable_opens_a_connection(monkeypatch):
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(variable, raising=False)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert photo_datasets.origin_reachable(f"http://127.0.0.1:{port}/lfw/x.tgz")
    assert not photo_datasets.origin_reachable(f"http://127.0.0.1:{port}/lfw/x.tgz")  # closed now


# ----- downloads -----


def test_celeba_download_without_network(tmp_path, monkeypatch):
    import torchvision.datasets

    calls = []

    class Offline:
        def __init__(self, root, **kwargs):
            calls.append((root, kwargs))
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CelebA", Offline)
    monkeypatch.setattr(photo_datasets, "_gdown_available", lambda: True)
    outputs = _outputs(tmp_path)
    with pytest.raises(UserError) as caught:
        ensure_photo_dataset(name="celeba", download_dir=tmp_path / "dl", **outputs)
    text = str(caught.value)
    assert "CelebA" in text and "faces.celeba.folder" in text
    assert "Temporary failure in name resolution" in text
    assert DATASETS["celeba"].origin in text
    assert calls == [
        (str(tmp_path / "dl"), {"split": "all", "target_type": "identity", "download": True})
    ]
    assert not outputs["out_json"].exists() and not outputs["out_manifest"].exists()


def test_celeba_download_needs_gdown(tmp_path, monkeypatch):
    import torchvision.datasets

    def never(*args, **kwargs):
        raise AssertionError("torchvision must not be called without gdown")

    monkeypatch.setattr(torchvision.datasets, "CelebA", never)
    monkeypatch.setattr(photo_datasets, "_gdown_available", lambda: False)
    with pytest.raises(UserError, match="pip install gdown") as caught:
        ensure_photo_dataset(name="celeba", download_dir=tmp_path, **_outputs(tmp_path))
    assert "faces.celeba.folder" in str(caught.value)


def test_lfw_download_without_network(tmp_path, monkeypatch):
    import torchvision.datasets

    class Offline:
        def __init__(self, root, **kwargs):
            assert kwargs == {"split": "10fold", "image_set": "deepfunneled", "download": True}
            raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torchvision.datasets, "LFWPeople", Offline)
    with pytest.raises(UserError) as caught:
        ensure_photo_dataset(name="lfw", download_dir=tmp_path, **_outputs(tmp_path))
    text = str(caught.value)
    assert "LFW" in text and "faces.lfw.folder" in text and "Name or service not known" in text


def test_lfw_download_when_torchvision_refuses(tmp_path, monkeypatch):
    """torchvision >= 0.2x refuses (ValueError); the published URLs are tried, offline here."""
    import torchvision.datasets
    import torchvision.datasets.utils

    class Refuses:
        def __init__(self, root, **kwargs):
            raise ValueError("LFW dataset is no longer available for download.")

    urls = []

    def offline(url, *args, **kwargs):
        urls.append(url)
        raise urllib.error.URLError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(torchvision.datasets, "LFWPeople", Refuses)
    monkeypatch.setattr(torchvision.datasets.utils, "download_and_extract_archive", offline)
    monkeypatch.setattr(torchvision.datasets.utils, "download_url", offline)
    with pytest.raises(UserError) as caught:
        ensure_photo_dataset(name="lfw", download_dir=tmp_path, **_outputs(tmp_path))
    text = str(caught.value)
    assert "LFW" in text and "faces.lfw.folder" in text and "Network is unreachable" in text
    assert urls == [DATASETS["lfw"].download_url]


def _fake_lfw_download(monkeypatch, tmp_path, files):
    """A fake LFWPeople that lays out a download; a shipped manifest pinning ``files``."""
    import torchvision.datasets

    calls = []

    class Downloads:
        def __init__(self, root, **kwargs):
            calls.append(root)
            base = tmp_path / "dl" / "lfw-py"
            for person in ("Ada_Lovelace", "Alan_Turing"):
                (base / "lfw-deepfunneled" / person).mkdir(parents=True, exist_ok=True)
                (base / "lfw-deepfunneled" / person / f"{person}_0001.jpg").write_bytes(FAKE_JPEG)
            for file, data in files.items():
                (base / file).write_bytes(data)

    manifest = tmp_path / "published.csv"
    lines = ["dataset,file,md5,source"] + [
        f"lfw,{file},{hashlib.md5(data).hexdigest()},http://example.invalid/{file}"
        for file, data in files.items()
    ]
    manifest.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(torchvision.datasets, "LFWPeople", Downloads)
    monkeypatch.setattr(photo_datasets, "archives_manifest_path", lambda: manifest)
    return calls


def test_lfw_download_is_checked_marked_and_reused(tmp_path, monkeypatch):
    files = {"lfw-deepfunneled.tgz": b"archive", "people.txt": b"people", "lfw-names.txt": b"n"}
    calls = _fake_lfw_download(monkeypatch, tmp_path, files)
    download_dir = tmp_path / "dl"
    assert not is_present(name="lfw", download_dir=download_dir)
    record = ensure_photo_dataset(name="lfw", download_dir=download_dir, **_outputs(tmp_path))
    assert record["source"] == "download"
    assert record["n_files"] == 2
    assert record["download_dir"] == str(download_dir.resolve())
    assert record["published_files"] == {f: hashlib.md5(d).hexdigest() for f, d in files.items()}
    assert is_present(name="lfw", download_dir=download_dir)
    assert len(calls) == 1
    # A completed download is reused (torchvision not called) but its files checked again.
    again = ensure_photo_dataset(name="lfw", download_dir=download_dir, **_outputs(tmp_path, "b"))
    assert len(calls) == 1 and again["manifest_sha256"] == record["manifest_sha256"]
    (download_dir / "lfw-py" / "people.txt").write_bytes(b"changed")
    with pytest.raises(UserError, match=r"people\.txt has md5") as caught:
        ensure_photo_dataset(name="lfw", download_dir=download_dir, **_outputs(tmp_path, "c"))
    assert "faces.lfw.folder" in str(caught.value)
    # An archive deleted after unpacking is fine; an annotation file deleted is not.
    (download_dir / "lfw-py" / "people.txt").write_bytes(b"people")
    (download_dir / "lfw-py" / "lfw-deepfunneled.tgz").unlink()
    ensure_photo_dataset(name="lfw", download_dir=download_dir, **_outputs(tmp_path, "d"))
    (download_dir / "lfw-py" / "lfw-names.txt").unlink()
    with pytest.raises(UserError, match=r"lfw-names\.txt is missing"):
        ensure_photo_dataset(name="lfw", download_dir=download_dir, **_outputs(tmp_path, "e"))


def test_download_with_a_wrong_archive_is_refused(tmp_path, monkeypatch):
    files = {"lfw-deepfunneled.tgz": b"archive", "people.txt": b"people"}
    _fake_lfw_download(monkeypatch, tmp_path, files)
    manifest = photo_datasets.archives_manifest_path()
    manifest.write_text(manifest.read_text().replace(hashlib.md5(b"archive").hexdigest(), "0" * 32))
    with pytest.raises(UserError, match=r"lfw-deepfunneled\.tgz has md5"):
        ensure_photo_dataset(name="lfw", download_dir=tmp_path / "dl", **_outputs(tmp_path))
    assert not is_present(name="lfw", download_dir=tmp_path / "dl")  # no marker written
