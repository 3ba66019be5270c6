"""Face GANs are judged before inversion: diversity, identity spread, a collapse verdict."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from ganinv.data.h5io import write_h5
from ganinv.experiments.generator_quality import judge_face_generator, write_generator_table
from ganinv.weights import REGISTRY, check_package_file
from tests.helpers.dcgan_faces import dcgan_faces


def _judge(tmp_path, name, samples, reference=None):
    write_h5(tmp_path / f"{name}.h5", {"images": samples})
    if reference is not None:
        write_h5(tmp_path / f"{name}_ref.h5", {"images": reference})
    return judge_face_generator(
        samples_h5=tmp_path / f"{name}.h5",
        reference_h5=tmp_path / f"{name}_ref.h5" if reference is not None else None,
        out_csv=tmp_path / f"{name}.csv", generator=name,
        inception=("inception", check_package_file(REGISTRY["inception_torchscript"])),
        evaluator=("dlib", str(check_package_file(REGISTRY["dlib_recognition"]))),
        landmarks_path=check_package_file(REGISTRY["dlib_landmarks5"]),
        n=12, seed=0, min_diversity_ratio=0.5, max_same_identity=0.5,
        device=torch.device("cpu"),
    )  # fmt: skip


def test_a_diverse_gan_passes_and_a_collapsed_one_is_flagged(tmp_path, one_thread, caplog):
    faces = dcgan_faces(24).numpy()
    good = _judge(tmp_path, "good", faces[:12], reference=faces[12:])
    assert good["verdict"] == "ok" and good["diversity_ratio"] > 0.7
    assert good["same_identity_pairs"] < 0.5 and good["face_detection_rate"] > 0.5
    # One face with a little noise, twelve times: the collapse the judge exists to catch.
    noise = np.random.default_rng(0).integers(-2, 3, (12, *faces.shape[1:]))
    collapsed = np.clip(faces[0].astype(int) + noise, 0, 255).astype(np.uint8)
    with caplog.at_level(logging.WARNING, logger="ganinv"):
        bad = _judge(tmp_path, "bad", collapsed, reference=faces[12:])
    assert bad["verdict"].startswith("collapsed") and bad["diversity_ratio"] < 0.5
    assert "looks mode-collapsed" in caplog.text
    out = [tmp_path / f"table.{ext}" for ext in ("csv", "md", "tex")]
    table = write_generator_table(judgements=[tmp_path / "good.csv", tmp_path / "bad.csv"],
                                  csv_path=out[0], md_path=out[1], tex_path=out[2],
                                  preset="p")  # fmt: skip
    assert table["generator"].tolist() == ["good", "bad"]
    assert "collapsed" in out[1].read_text()
    assert pd.read_csv(out[0])["verdict"].iloc[0] == "ok"


class _UnitEmbeddings:
    """An identity network without a same-person threshold (as vggface2 or in_dag): random
    unit-norm embeddings."""

    def embed(self, images):
        rng = np.random.default_rng(len(images))
        x = rng.normal(size=(len(images), 16))
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_without_reference_faces_or_dlib_the_verdict_is_not_judged(tmp_path, monkeypatch, caplog):
    """No floor can be applied: the verdict must not claim 'ok'."""
    import ganinv.experiments.generator_quality as quality

    monkeypatch.setattr(quality, "load_identity_network", lambda **kwargs: _UnitEmbeddings())
    faces = dcgan_faces(24).numpy()
    write_h5(tmp_path / "samples.h5", {"images": faces[:12]})
    write_h5(tmp_path / "photos.h5", {"images": faces[12:]})
    common = dict(samples_h5=tmp_path / "samples.h5", generator="imported",
                  inception=("inception", check_package_file(REGISTRY["inception_torchscript"])),
                  evaluator=("vggface2", "unused"), n=12, seed=0, min_diversity_ratio=0.5,
                  max_same_identity=0.5, device=torch.device("cpu"))  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="ganinv"):
        row = judge_face_generator(out_csv=tmp_path / "a.csv", **common)
    assert row["verdict"].startswith("not judged: no reference faces")
    assert "vggface2" in row["verdict"] and "cannot be judged" in caplog.text
    assert pd.read_csv(tmp_path / "a.csv")["verdict"].iloc[0] == row["verdict"]
    # With the run's real photos as the reference, the diversity floor applies.
    row = judge_face_generator(out_csv=tmp_path / "b.csv", reference_h5=tmp_path / "photos.h5",
                               reference_label="real photos", **common)  # fmt: skip
    assert row["verdict"] == "ok" and row["reference"] == "real photos"
    assert row["diversity_ratio"] > 0.7
