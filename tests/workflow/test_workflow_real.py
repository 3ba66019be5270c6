"""The real-data preset, reduced (presets/real_smoke.yaml), on the local dataset copies.

CelebA trains the ProGAN, LFW gives the identities, FSDD the speech; every table and figure of
presets/real.yaml must be produced. The copies live at ../shared/data (read-only; see its
README); without them these tests skip.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ganinv.data.h5io import read_h5
from tests.helpers.paths import REPO

from .workflow_helpers import copy_workflow, planned_jobs, snakemake

pytestmark = pytest.mark.workflow

DATA = REPO.parent / "shared" / "data"
CELEBA, LFW, FSDD = DATA / "celeba", DATA / "lfw", DATA / "fsdd" / "recordings"
needs_data = pytest.mark.skipif(
    not all(p.is_dir() for p in (CELEBA, LFW, FSDD)),
    reason="no local copies of CelebA, LFW and FSDD at ../shared/data (see its README)",
)
REAL_PRESETS = ("presets/smoke.yaml", "presets/real.yaml", "presets/real_smoke.yaml")


def _folders(celeba=CELEBA, lfw=LFW, fsdd=FSDD) -> list[str]:
    """--config arguments naming the local copies."""
    return [
        "--config",
        f"faces={{celeba: {{folder: {celeba}}}, lfw: {{folder: {lfw}}}}}",
        f"audio={{data: {{fsdd: {{folder: {fsdd}}}}}}}",
    ]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """One reduced real-preset run from scratch; tests only read it."""
    workdir = copy_workflow(tmp_path_factory.mktemp("real"))
    snakemake(workdir, *_folders(), configfiles=REAL_PRESETS, timeout=2400)
    return workdir


# Every named table and figure of presets/real.yaml.
REAL_TABLES = [
    f"{prefix}{table}.{ext}"
    for prefix, tables in (
        ("", ("table_generators", "table_2_3", "table_1_ablation", "table_real_faces",
              "table_2_17", "table_3_generated", "table_3_real", "table_audio_generator")),
        ("progan/", ("table_2_3", "table_1_ablation")),
    )
    for table in tables
    for ext in ("csv", "md", "tex")
]  # fmt: skip
REAL_FIGURES = [
    f"{prefix}{figure}.png"
    for prefix in ("", "progan/")
    for figure in ("figure_reconstructions", "figure_psnr_iterations", "figure_encoder_training")
] + [
    "figure_real_faces.png",
    "figure_2_17_dcgan_to_progan.png",
    "figure_2_17_progan_to_dcgan.png",
    "figure_3_1.png",
    "figure_audio_generated.png",
    "figure_audio_real.png",
    "figure_wavegan_quality.png",
]


@needs_data
def test_real_preset_produces_every_table_and_figure(real_run):
    thesis = real_run / "results" / "thesis"
    missing = [name for name in REAL_TABLES + REAL_FIGURES if not (thesis / name).is_file()]
    assert not missing
    for name in REAL_FIGURES:
        assert (thesis / name).stat().st_size > 10_000, name
    for name in REAL_TABLES:
        if name.endswith(".md"):
            assert "Preset: real-smoke" in (thesis / name).read_text(), name


@needs_data
def test_the_progan_learns_celeba_and_its_encoder_sees_other_photos(real_run):
    faces = real_run / "results" / "faces"
    verified = json.loads((real_run / "results/datasets/celeba/verified.json").read_text())
    assert verified["n_files"] == 10_000
    files = pd.read_csv(real_run / "results/datasets/celeba/files.csv")
    assert len(files) == 10_000 and files["sha256"].str.len().eq(64).all()
    train = pd.read_csv(faces / "gan_train" / "faces_manifest.csv")
    real = pd.read_csv(faces / "encoder_real" / "faces_manifest.csv")
    # The first 240 photos train the GAN, the next 40 the encoder's real phase: disjoint.
    assert len(train) == 240 and len(real) == 40
    assert not set(train["source"]) & set(real["source"])
    assert (train["alignment"] == "mtcnn").all() and train["detected"].mean() > 0.9
    images = read_h5(faces / "gan_train" / "faces.h5", ["images"])[0]["images"]
    assert images.shape[1:] == (3, 64, 64)
    generators = pd.read_csv(real_run / "results" / "thesis" / "table_generators.csv")
    progan = generators[generators["generator"].str.startswith("ProGAN")]
    assert progan["generator"].str.contains("CelebA").all()
    table = pd.read_csv(real_run / "results" / "thesis" / "progan" / "table_2_3.csv")
    assert list(table["method"]) == ["gd", "encoder", "hybrid"]
    assert table["generator"].str.contains("CelebA photos").all()
    assert (table["evaluator"] == "dlib").all()


@needs_data
def test_lfw_identities_are_aligned_and_identified_with_dlib(real_run):
    faces = real_run / "results" / "faces" / "real"
    manifest = pd.read_csv(faces / "faces_manifest.csv")
    # Every LFW photo is listed, aligned by MTCNN or recorded as dropped.
    assert len(manifest) == 1_585 and (manifest["alignment"] == "mtcnn").all()
    assert manifest["identity"].nunique() == 100
    probes = read_h5(faces / "probes.h5", ["images", "identity"])[0]
    assert probes["images"].shape == (8, 3, 64, 64)
    table = pd.read_csv(real_run / "results" / "thesis" / "table_real_faces.csv")
    assert list(table["method"]) == ["targets", "gd", "encoder", "hybrid"]
    assert (table["evaluator"] == "dlib").all() and (table["n_identities"] == 8).all()
    assert table["top1"].between(0, 1).all()
    assert "LFW" in (real_run / "results" / "thesis" / "table_real_faces.md").read_text()


@needs_data
def test_figure_2_17_runs_both_directions_between_the_two_gans(real_run):
    table = pd.read_csv(real_run / "results" / "thesis" / "table_2_17.csv")
    directions = table[~table["targets"].str.endswith("(own test faces)")]
    pairs = set(zip(directions["targets"], directions["inverted_with"], strict=True))
    assert pairs == {("DCGAN faces", "ProGAN"), ("ProGAN faces", "DCGAN")}
    manifest = pd.read_csv(
        real_run / "results" / "faces" / "dcgan_to_progan" / "faces_manifest.csv"
    )
    assert len(manifest) == 10 and (manifest["alignment"] == "mtcnn").all()


@needs_data
def test_audio_runs_on_fsdd(real_run):
    table = pd.read_csv(real_run / "results" / "thesis" / "table_3_real.csv")
    assert list(table["method"]) == ["gd", "encoder", "hybrid"]
    assert "fsdd speech" in (real_run / "results" / "thesis" / "table_3_real.md").read_text()


def test_offline_without_folders_stops_before_any_job_naming_each_dataset(tmp_path):
    workdir = copy_workflow(tmp_path / "offline")
    result = snakemake(
        workdir, "-n", configfiles=("presets/real.yaml",), check=False,
        env_extra={"GANINV_OFFLINE": "1"},
    )  # fmt: skip
    assert result.returncode != 0
    text = result.stdout + result.stderr
    for needle in ("CelebA", "LFW", "FSDD", "faces.celeba.folder", "faces.lfw.folder"):
        assert needle in text, needle
    assert "Traceback" not in text and not (workdir / "results").exists()


@needs_data
def test_the_real_preset_plans_every_experiment(tmp_path):
    workdir = copy_workflow(tmp_path / "plan")
    result = snakemake(workdir, "-n", *_folders(), configfiles=("presets/real.yaml",))
    jobs = planned_jobs(result)
    for rule in (
        "fetch_photo_dataset",
        "fetch_fsdd",
        "train_progan",
        "table_2_3_more",
        "table_1_ablation_more",
        "figure_2_17",
        "table_real_faces",
        "table_3",
    ):
        assert jobs.get(rule, 0) >= 1, rule  # fmt: skip
    assert "train_stylegan2" not in jobs and "render_faces" not in jobs
    assert jobs["align_faces"] == 5  # gan_train, encoder_real, real, two directions
