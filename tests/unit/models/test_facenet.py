"""Face networks (in-workflow FaceNet, facenet-pytorch VGGFace2 wrapper) and FaceNet training."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import torch

from ganinv.losses import feature_targets, perceptual_distance
from ganinv.models.facenet import (
    FaceNet,
    PretrainedFaceNet,
    default_vggface2_path,
    load_face_network,
)
from ganinv.models.files import load_model, save_model
from ganinv.runtime import UserError
from ganinv.train.facenet import FaceNetTraining, train_facenet
from tests.helpers.kill import (
    assert_same_weights,
    curve_rows,
    resumed_at,
    train_in_subprocess,
    training_script,
)

KWARGS = {"n_identities": 7, "n_attributes": 5, "input_size": 32, "width": 8, "embedding_dim": 16}


def _images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("input_size", [32, 64])
@pytest.mark.parametrize("image_size", [32, 64])
def test_facenet_shapes(input_size, image_size):
    torch.manual_seed(0)
    net = FaceNet(**{**KWARGS, "input_size": input_size}).eval()
    x = _images(3, image_size)
    features = net.features(x)
    side = input_size // 2
    assert [tuple(f.shape) for f in features] == [
        (3, 8, side, side),
        (3, 16, side // 2, side // 2),
        (3, 32, side // 4, side // 4),
        (3, 64, side // 8, side // 8),
    ]
    embedding = net.embed(x)
    assert embedding.shape == (3, 16)
    assert torch.allclose(embedding.norm(dim=1), torch.ones(3), atol=1e-5)
    logits, attributes = net(x)
    assert logits.shape == (3, 7) and attributes.shape == (3, 5)
    assert logits.abs().max() <= FaceNet.LOGIT_SCALE + 1e-4  # cosine head
    net.attribute_mean.fill_(10.0)
    net.attribute_std.fill_(2.0)
    assert torch.allclose(net.predict_attributes(x), attributes * 2 + 10, atol=1e-5)
    assert "attribute_mean" in net.state_dict() and "attribute_std" in net.state_dict()


def test_perceptual_distance(one_thread):
    torch.manual_seed(0)
    net = FaceNet(**KWARGS).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    y = _images(4, 32, seed=1)
    assert torch.equal(perceptual_distance(net, y, y), torch.zeros(4))
    x = y.clone()
    x[2] = _images(1, 32, seed=2)[0]
    x.requires_grad_(True)
    distance = perceptual_distance(net, x, y)
    assert distance.shape == (4,)
    assert distance[2] > 0 and torch.all(distance[[0, 1, 3]] == 0)  # per sample
    targets = feature_targets(net, y)
    assert all(not t.requires_grad for t in targets)
    assert torch.allclose(perceptual_distance(net, x, targets), distance)
    distance.sum().backward()
    assert x.grad is not None and x.grad[2].abs().sum() > 0 and x.grad[0].abs().sum() == 0
    # A single precomputed target broadcasts over a batch.
    single = feature_targets(net, y[:1])
    assert perceptual_distance(net, y[:1].expand(3, -1, -1, -1), single).abs().max() < 1e-10


def test_in_dag_network_loads_frozen(tmp_path):
    torch.manual_seed(0)
    net = FaceNet(**KWARGS)
    save_model(tmp_path / "f.pt", net, "facenet.FaceNet", KWARGS, meta={"identity_ids": [1]})
    loaded = load_face_network("in_dag", tmp_path / "f.pt", "cpu")
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    x = _images(2, 32)
    assert torch.equal(loaded.embed(x), net.eval().embed(x))
    with pytest.raises(UserError, match=r"not found: .*missing\.pt"):
        load_face_network("in_dag", tmp_path / "missing.pt", "cpu")
    with pytest.raises(UserError, match="unknown face network kind"):
        load_face_network("arcface", None, "cpu")


def test_pretrained_facenet_from_fabricated_weights(tmp_path, monkeypatch, one_thread):
    from facenet_pytorch import InceptionResnetV1

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = default_vggface2_path()
    assert path == tmp_path / "torch" / "checkpoints" / "20180402-114759-vggface2.pt"
    with pytest.raises(UserError, match=re.escape(str(path)) + ".*cannot be downloaded"):
        load_face_network("vggface2", None, "cpu")

    torch.manual_seed(0)
    state = InceptionResnetV1(classify=True, num_classes=8631).state_dict()  # the release layout
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    net = load_face_network("vggface2", None, "cpu")
    assert isinstance(net, PretrainedFaceNet) and not net.training
    assert not any(p.requires_grad for p in net.parameters())
    x = _images(2, 32)
    with torch.no_grad():
        embedding = net.embed(x)
        features = net.features(x)
    assert embedding.shape == (2, 512)
    assert torch.allclose(embedding.norm(dim=1), torch.ones(2), atol=1e-4)
    assert len(features) == 5 and all(f.shape[0] == 2 for f in features)
    assert [f.shape[1] for f in features] == [256, 256, 896, 896, 1792]
    with torch.no_grad():
        assert perceptual_distance(net, x, x).abs().max() == 0

    renamed = {k.replace("conv2d_1a", "conv2d_1x"): v for k, v in state.items()}
    wrong = tmp_path / "wrong.pt"
    torch.save(renamed, wrong)
    with pytest.raises(UserError, match=r"missing keys \['conv2d_1a.*unexpected keys \['conv2d_1x"):
        load_face_network("vggface2", wrong, "cpu")


@pytest.fixture(scope="module")
def tiny_faces(tmp_path_factory):
    from ganinv.data.faces import render_split
    from ganinv.data.h5io import write_h5

    faces = render_split(0, 10, 8, 32, seed=0)
    path = tmp_path_factory.mktemp("faces") / "faces.h5"
    write_h5(
        path,
        {"images": faces.images, "identity": faces.identity + 100, "attributes": faces.attributes},
        {"attribute_names": list(faces.attribute_names)},
    )
    return path


TINY = dict(
    width=8,
    embedding_dim=16,
    batch_size=16,
    steps=150,
    lr=0.01,
    val_images_per_identity=2,
    checkpoint_every=50,
    eval_every=50,
    log_every=10,
    warmup_steps=10,
    seed=1,
)


def test_training_config_is_validated():
    with pytest.raises(UserError, match="batch_size"):
        FaceNetTraining(batch_size=0)
    with pytest.raises(UserError, match="lr"):
        FaceNetTraining(lr=-1.0)
    with pytest.raises(UserError, match="warmup_steps"):
        FaceNetTraining(steps=10, warmup_steps=10)
    with pytest.raises(UserError, match="augment"):
        FaceNetTraining(augment="yes")


def test_training_learns_identities(tiny_faces, tmp_path, one_thread):
    summary = train_facenet(
        tiny_faces, tmp_path / "f.pt", tmp_path / "curve.csv", tmp_path / "work",
        FaceNetTraining(**TINY), torch.device("cpu"),
    )  # fmt: skip
    assert summary["n_train"] == 60 and summary["n_val"] == 20 and summary["steps"] == 150
    assert summary["val_accuracy"] >= 0.5, summary  # chance: 0.1
    net, meta = load_model(tmp_path / "f.pt", "facenet.FaceNet")
    assert meta["identity_ids"] == list(range(100, 110))
    assert meta["val_accuracy"] == summary["val_accuracy"]
    assert "skin_tone" in meta["val_attribute_r2_per_attribute"]
    assert meta["val_attribute_r2_per_attribute"]["skin_tone"] > 0.3
    assert set(meta["val_discrete_accuracy"]) == {"eye_color", "hair_style", "hair_color", "beard",
                                                  "glasses", "glasses_color"}  # fmt: skip
    assert torch.all(net.attribute_std > 0) and net.attribute_mean.abs().sum() > 0
    with open(tmp_path / "curve.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == list(range(10, 151, 10))
    assert rows[-1]["val_accuracy"] != "" and rows[0]["val_accuracy"] == ""
    with pytest.raises(UserError, match="held out"):
        train_facenet(
            tiny_faces, tmp_path / "g.pt", tmp_path / "c.csv", tmp_path / "w2",
            FaceNetTraining(**{**TINY, "val_images_per_identity": 8}), torch.device("cpu"),
        )  # fmt: skip


SCRIPT = training_script(
    """
    from ganinv.train.facenet import FaceNetTraining, train_facenet
    train_facenet(sys.argv[1], out + "/f.pt", out + "/curve.csv", out + "/work",
                  FaceNetTraining(**eval(sys.argv[3])), torch.device("cpu"))
    """
)


def _train(data: Path, out: Path, config: dict, kill_after_step: int | None = None) -> None:
    train_in_subprocess(SCRIPT, data, out, config, kill_after_step)


def test_resume_after_kill_matches_uninterrupted_run(tiny_faces, tmp_path):
    config = {**TINY, "steps": 80, "checkpoint_every": 5, "eval_every": 20}
    _train(tiny_faces, tmp_path / "whole", config)
    _train(tiny_faces, tmp_path / "killed", config, kill_after_step=30)
    assert not (tmp_path / "killed" / "f.pt").exists()  # no final model from a killed run
    _train(tiny_faces, tmp_path / "killed", config)
    resumed = resumed_at(tmp_path / "killed")
    assert 30 <= resumed < 80
    meta_whole, meta_resumed = assert_same_weights(
        tmp_path / "whole" / "f.pt", tmp_path / "killed" / "f.pt"
    )
    assert meta_whole["val_accuracy"] == meta_resumed["val_accuracy"]
    columns = ["step", "loss", "train_accuracy", "val_accuracy", "val_attribute_r2"]
    whole_rows = curve_rows(tmp_path / "whole" / "curve.csv", columns)
    resumed_rows = curve_rows(tmp_path / "killed" / "curve.csv", columns)
    assert whole_rows == resumed_rows and int(whole_rows[-1][0]) == 80
