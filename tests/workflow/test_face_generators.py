"""Which face GAN each experiment inverts: the DAG a generator choice plans (dry runs)."""

from __future__ import annotations

import pytest
import yaml

from .workflow_helpers import copy_workflow, planned_jobs, snakemake

pytestmark = pytest.mark.workflow


def _override(tmp_path, settings):
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump(settings))
    return ("presets/smoke.yaml", str(path))


def _dry_run(workdir, *configfiles):
    result = snakemake(workdir, "-n", configfiles=configfiles)
    return planned_jobs(result), result.stdout + result.stderr


def test_the_default_inverts_the_pretrained_dcgan_and_progan_for_real_faces(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    jobs, _ = _dry_run(workdir, "presets/smoke.yaml")
    # DCGAN imported from its package file, ProGAN trained for the procedural identities.
    assert jobs["import_generator"] == 1 and jobs["train_progan"] == 1
    # The ablation's three encoders for the DCGAN (two only for the ablation, temporary), the
    # hybrid's encoder for ProGAN.
    assert jobs["train_encoder"] == 2 and jobs["train_encoder_ablation"] == 2
    # DCGAN: test, and (temporary) encoder_train and the real-phase faces; ProGAN: test and
    # (temporary) encoder_train.
    assert jobs["sample_face_gan"] == 2 and jobs["sample_face_gan_training"] == 3
    plan = snakemake(workdir, "-n", configfiles=("presets/smoke.yaml",)).stdout
    assert "results/faces/dcgan/encoder/pixel_resnet.pt" in plan
    assert "results/faces/progan/encoder/full.pt" in plan
    assert "results/faces/progan/encoder/pixel_resnet.pt" not in plan


def test_progan_everywhere_drops_the_dcgan(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    configfiles = _override(tmp_path, {"faces": {"inversion": {"generator": "progan"}}})
    jobs, _ = _dry_run(workdir, *configfiles)
    assert "import_generator" not in jobs
    assert jobs["train_encoder"] == 1 and jobs["train_encoder_ablation"] == 2
    assert jobs["sample_face_gan"] == 1 and jobs["sample_face_gan_training"] == 1


def test_a_dcgan_experiment_without_the_dcgan_is_one_clear_error(tmp_path):
    workdir = copy_workflow(tmp_path / "wf")
    configfiles = _override(tmp_path, {"pretrained": {"dcgan": None}})
    result = snakemake(workdir, "-n", configfiles=configfiles, check=False)
    assert result.returncode != 0
    assert "faces.inversion names dcgan, which is only pretrained" in result.stderr
    assert "set pretrained.dcgan" in result.stderr and "Traceback" not in result.stderr
