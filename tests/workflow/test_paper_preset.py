"""Paper preset: the whole DAG planned from public-layout files; imports run; weights fetched."""

from __future__ import annotations

import pytest
import torch
import yaml

from ganinv.models.files import load_model
from ganinv.weights import REGISTRY
from tests.helpers.pgan_zoo import pgan_state, write_pgan
from tests.helpers.rosinality import rosinality_state, write_converted_checkpoint
from tests.helpers.wavegan_port import port_state, training_checkpoint

from .workflow_helpers import copy_workflow, planned_jobs, snakemake

pytestmark = pytest.mark.workflow

PAPER = ("presets/paper.yaml", "paper_files.yaml")
TRAINING_RULES = {"train_progan", "train_stylegan2", "train_wavegan", "train_facenet"}


@pytest.fixture(scope="module")
def paper_workdir(tmp_path_factory):
    """A workflow copy, a weights folder with small public-layout checkpoints, data folders."""
    workdir = copy_workflow(tmp_path_factory.mktemp("paper"))
    root = workdir / "weights"
    depths = [8] * 6  # a 128 px PGAN (as pgan_celeba) with narrow layers
    write_pgan(
        _place(REGISTRY["pgan_celeba"].path(root)),
        pgan_state(depths=depths, z_dim=16),
        depthScale0=depths[0],
        depthOtherScales=depths[1:],
        latentVectorDim=16,
    )
    write_converted_checkpoint(
        _place(REGISTRY["stylegan2_ffhq"].path(root)), rosinality_state(), torch.zeros(32)
    )
    # Evaluator weights only need to exist for planning (their loaders are tested elsewhere).
    _place(REGISTRY["vggface2"].path(root)).write_bytes(b"placeholder")
    _place(REGISTRY["fid_inception"].path(root)).write_bytes(b"placeholder")
    wavegan = workdir / "data/wavegan/gan_sc09.tar"
    torch.save(training_checkpoint(port_state(d=2)), _place(wavegan))
    for identity in ("id_a", "id_b"):
        (workdir / "data/vggface2_subset" / identity).mkdir(parents=True)
    (workdir / "data/vggface2_encoder").mkdir(parents=True)
    for split in ("train", "valid", "test"):
        (workdir / "data/sc09" / split).mkdir(parents=True)
    overrides = {"pretrained": {"weights_dir": str(root)}}
    (workdir / "paper_files.yaml").write_text(yaml.safe_dump(overrides))
    return workdir


def _place(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_paper_preset_plans_the_full_dag_from_imported_generators(paper_workdir):
    jobs = planned_jobs(snakemake(paper_workdir, "-n", configfiles=PAPER))
    assert jobs["import_generator"] == 3
    assert not TRAINING_RULES & set(jobs), "imported GANs and vggface2 replace in-DAG training"
    for rule in (
        "align_faces",
        "train_encoder",
        "train_audio_encoder",
        "invert_faces",
        "invert_face_set",
        "table_2_3",
        "table_real_faces",
        "table_2_17",
        "table_3",
    ):
        assert jobs.get(rule, 0) >= 1, rule  # fmt: skip
    assert not {"fetch_weights", "fetch_weights_by_name_hash"} & set(jobs)  # all files present


def test_import_rules_convert_the_public_checkpoints(paper_workdir):
    targets = [
        "results/faces/progan/generator.pt",
        "results/faces/stylegan2/generator.pt",
        "results/audio/wavegan/generator.pt",
    ]
    snakemake(paper_workdir, "--printshellcmds", *targets, configfiles=PAPER)
    progan, meta = load_model(paper_workdir / targets[0], "progan.Generator")
    assert (progan.resolution, progan.z_dim) == (128, 16)
    assert meta["checkpoint_format"] == "pytorch_gan_zoo" and meta["state"] == "avgG"
    stylegan2, meta = load_model(paper_workdir / targets[1], "stylegan2.Generator")
    assert stylegan2.resolution == 32 and meta["latent_avg"] is True
    wavegan, meta = load_model(paper_workdir / targets[2], "wavegan.Generator")
    assert wavegan.prior == "normal" and meta["prior"] == "normal"
    with torch.no_grad():
        assert torch.isfinite(progan(torch.randn(1, 16))).all()


def test_missing_weights_are_fetched_or_listed_for_placing_by_hand(paper_workdir):
    root = paper_workdir / "weights"
    inception = REGISTRY["fid_inception"].path(root)
    inception.unlink()
    try:
        jobs = planned_jobs(snakemake(paper_workdir, "-n", configfiles=PAPER))
        assert jobs["fetch_weights"] == 1  # the pinned-sha256 file
        # No network here (and a dead proxy, in case there is one): the fetch fails at once.
        dead_proxy = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
        result = snakemake(paper_workdir, "--printshellcmds", str(inception), configfiles=PAPER,
                           check=False,
                           env_extra=dead_proxy, timeout=300)  # fmt: skip
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert "Place these files by hand" in output  # the fetch job's message
        assert "pretrained files still missing" in output  # the run's summary (onerror)
        summary = output.split("pretrained files still missing")[1]
        assert str(inception) in summary and "pytorch-fid" in summary
        assert str(REGISTRY["vggface2"].path(root)) not in summary  # present: not listed
        assert not inception.exists()
    finally:
        inception.write_bytes(b"placeholder")
