"""The whole DAG (faces and audio) on the smoke preset, through the snakemake CLI."""

from __future__ import annotations

import base64
import csv
import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
import skimage.data
import soundfile
import yaml
from matplotlib import cbook
from PIL import Image

from ganinv.data.h5io import read_h5
from ganinv.models.files import load_model
from ganinv.runtime import file_sha256
from tests.helpers.unwritable import unwritable

from .workflow_helpers import copy_workflow, jobs_beside, planned_jobs, snakemake

pytestmark = pytest.mark.workflow


def test_smoke_run_produces_every_output(smoke_run):
    results = smoke_run / "results" / "faces"
    train, attrs = read_h5(results / "data" / "train.h5")
    assert train["images"].shape == (400, 3, 32, 32) and train["images"].dtype == np.uint8
    assert train["identity"].min() == 0 and train["identity"].max() == 39
    assert train["attributes"].shape == (400, len(attrs["attribute_names"]))
    heldout, _ = read_h5(results / "data" / "heldout.h5")
    assert heldout["identity"].min() == 40  # held-out identities follow the training ones
    for name in ("loss.csv", "quality.csv", "training_curves.png", "grid_stage3.png"):
        assert (results / "progan" / name).stat().st_size > 0
    generator, meta = load_model(results / "progan" / "generator.pt", "progan.Generator")
    assert generator.z_dim == 64 and meta["steps"] == 180
    # The chapter's face GAN is the pretrained DCGAN; ProGAN serves the real-face experiment.
    # The sets that only train the encoders are temp(): gone once their consumers ran.
    seeds = []
    for gan, z_dim, side, removed in (
        ("dcgan", 100, 64, ("encoder_train", "encoder_real")),
        ("progan", 64, 32, ("encoder_train",)),
    ):
        arrays, attrs = read_h5(results / gan / "samples" / "test.h5")
        assert arrays["z"].shape == (30, z_dim) and arrays["z"].dtype == np.float32
        assert arrays["images"].shape == (30, 3, side, side)
        assert arrays["images"].dtype == np.uint8
        assert attrs["generator_sha256"] == file_sha256(results / gan / "generator.pt")
        assert attrs["prior"] == "normal" and len(attrs["config_hash"]) == 64
        seeds.append(attrs["seed"])
        for name in removed:
            assert not (results / gan / "samples" / f"{name}.h5").exists(), name
            log = smoke_run / "results" / "logs" / "faces" / f"sample_{gan}_{name}.log"
            seeds.append(int(re.search(r"z ~ normal, seed (\d+)\)", log.read_text()).group(1)))
    assert len(set(seeds)) == len(seeds)  # every set of every GAN has its own seed
    assert not (smoke_run / "results" / "audio" / "samples" / "encoder_train.h5").exists()
    encoders = results / "dcgan" / "encoder"
    assert sorted(p.name for p in encoders.glob("*.pt")) == ["full.pt"]  # ablation-only: removed
    assert (encoders / "pixel_resnet_curve.csv").is_file()
    _, meta = load_model(results / "dcgan" / "generator.pt", "dcgan.Generator")
    assert meta["checkpoint_format"] == "dcgan_tutorial"
    # Finished trainings leave no resume checkpoint behind (a killed one does: see
    # tests/workflow/test_resume_after_kill.py); the running curves beside them stay.
    assert not list((smoke_run / "results").rglob("checkpoint.pt"))
    assert (results / "progan" / "work" / "loss.csv").is_file()
    with open(results / "progan" / "loss.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert int(rows[-1]["step"]) == 180 and {r["stage"] for r in rows} == {"0", "1", "2", "3"}


def test_table_2_3_and_figures(smoke_run):
    thesis = smoke_run / "results" / "thesis"
    table = pd.read_csv(thesis / "table_2_3.csv")
    assert list(table["method"]) == ["gd", "encoder", "hybrid"]
    required = ["method", "n_images", "psnr_db", "ssim", "fid", "kid", "facenet_cosine",
                "seconds_total", "seconds_per_image", "cpu_seconds_per_image",
                "time_spread"]  # fmt: skip
    assert set(required) <= set(table.columns)
    assert (table["n_images"] == 30).all() and table["psnr_db"].notna().all()
    # Every number says what produced it: the pretrained DCGAN, dlib, Inception features.
    assert table["generator"].str.contains("DCGAN pretrained").all()
    assert (table["evaluator"] == "dlib").all()
    assert table["fid_features"].str.startswith("inception-2015-12-05").all()
    assert table["n_undetected"].between(0, 15).all() and table["identity_distance"].notna().all()
    markdown = (thesis / "table_2_3.md").read_text()
    assert "19.06" in markdown and "Preset: smoke" in markdown and "faster per image" in markdown
    assert "30.48" in markdown  # the thesis's FID beside ours: ours is on Inception features
    assert "\\begin{table}" in (thesis / "table_2_3.tex").read_text()
    ablation = pd.read_csv(thesis / "table_1_ablation.csv")
    assert list(ablation["method"]) == ["pixel_resnet", "z_perceptual", "full"]
    assert ablation["generator"].str.contains("DCGAN").all()
    for name in ("figure_reconstructions", "figure_psnr_iterations", "figure_encoder_training"):
        assert (thesis / f"{name}.png").stat().st_size > 10_000
    # The encoder is a single forward pass: far faster per image than 100 GD iterations.
    by = table.set_index("method")
    assert by.loc["gd", "seconds_per_image"] > 20 * by.loc["encoder", "seconds_per_image"]
    assert (table["cpu_seconds_per_image"] > 0).all() and table["device"].str.startswith(
        "cpu"
    ).all()
    assert "timed alone" in markdown and "cpu_seconds_per_image" in markdown
    # The hybrid starts where the encoder ends and only improves on it.
    assert by.loc["hybrid", "psnr_db"] > by.loc["encoder", "psnr_db"]


def test_real_faces_and_figure_2_17(smoke_run):
    faces = smoke_run / "results" / "faces"
    thesis = smoke_run / "results" / "thesis"
    # Smoke: 6 held-out identities x 4 images -> gallery 2 + probes 2 per identity.
    probes = read_h5(faces / "real" / "probes.h5", ["images", "identity"])[0]
    gallery = read_h5(faces / "real" / "gallery.h5", ["identity"])[0]
    assert probes["images"].shape == (12, 3, 32, 32)
    assert sorted(set(probes["identity"])) == sorted(set(gallery["identity"]))
    manifest = pd.read_csv(faces / "real" / "faces_manifest.csv")
    assert len(manifest) == 24 and manifest["alignment"].str.startswith("none").all()
    table = pd.read_csv(thesis / "table_real_faces.csv")
    assert list(table["method"]) == ["targets", "gd", "encoder", "hybrid"]
    assert table["top1"].between(0, 1).all() and (table["top5"] >= table["top1"]).all()
    assert (table["evaluator"] == "in_dag").all() and (table["n_identities"] == 6).all()
    assert "Thesis claim" in (thesis / "table_real_faces.md").read_text()
    by = table.set_index("method")
    assert by.loc["hybrid", "psnr_db"] > by.loc["encoder", "psnr_db"]
    generator, meta = load_model(faces / "stylegan2" / "generator.pt", "stylegan2.Generator")
    assert generator.z_dim == 64 and meta["prior"] == "normal"
    samples = read_h5(faces / "stylegan2_to_progan" / "faces.h5", ["images"])[0]["images"]
    assert samples.shape == (20, 3, 32, 32)
    style = pd.read_csv(thesis / "table_2_17.csv")
    assert list(style["method"]) == ["encoder", "hybrid", "encoder", "hybrid"]
    assert list(style["targets"]) == ["StyleGAN2 faces"] * 2 + ["ProGAN (own test faces)"] * 2
    assert (style["inverted_with"] == "ProGAN").all()
    assert style["generator"].str.startswith("ProGAN trained in this run").all()
    assert table["generator"].str.startswith("ProGAN trained in this run").all()
    assert table["fid_features"].iloc[1:].str.startswith("inception-2015-12-05").all()
    for name in ("figure_real_faces", "figure_2_17_stylegan2_to_progan"):
        assert (thesis / f"{name}.png").stat().st_size > 10_000
    assert (faces / "stylegan2" / "training_curves.png").stat().st_size > 10_000


def test_audio_chapter_outputs(smoke_run):
    audio = smoke_run / "results" / "audio"
    train, attrs = read_h5(audio / "data" / "train.h5")
    assert train["audio"].shape == (180, 1, 16384) and train["audio"].dtype == np.float32
    assert attrs["sample_rate"] == 16000 and set(train["label"]) == set(range(10))
    real_test, _ = read_h5(audio / "data" / "real_test.h5")
    assert not set(real_test["speaker"]) & set(train["speaker"])  # held-out voices
    generator, meta = load_model(audio / "wavegan" / "generator.pt", "wavegan.Generator")
    assert generator.z_dim == 100
    test, attrs = read_h5(audio / "samples" / "test.h5")
    assert test["audio"].shape == (20, 1, 16384) and attrs["prior"] == "uniform"
    assert np.abs(test["z"]).max() <= 1.0
    for target_set, n in (("generated", 20), ("real", 20)):
        table = pd.read_csv(smoke_run / "results" / "thesis" / f"table_3_{target_set}.csv")
        assert list(table["method"]) == ["gd", "encoder", "hybrid"]
        required = ["waveform_mse", "stft_ssim", "lsd_db", "inception_score", "digit_accuracy",
                    "seconds_total", "seconds_per_clip", "cpu_seconds_per_clip"]  # fmt: skip
        assert set(required) <= set(table.columns) and (table["n_clips"] == n).all()
        assert table[required].notna().all().all()
        assert ("latent_mse" in table.columns) == (target_set == "generated")
        markdown = (smoke_run / "results" / "thesis" / f"table_3_{target_set}.md").read_text()
        assert "Preset: smoke" in markdown and "faster per clip" in markdown
        by = table.set_index("method")
        assert by.loc["gd", "seconds_per_clip"] > 3 * by.loc["encoder", "seconds_per_clip"]
        assert (smoke_run / "results" / "thesis" / f"figure_audio_{target_set}.png").exists()
        for name in ("targets", "gd", "encoder", "hybrid"):
            info = soundfile.info(smoke_run / "results" / "thesis" / "audio" /
                                  f"{target_set}_{name}.wav")  # fmt: skip
            assert info.samplerate == 16000 and info.frames >= 4 * 16384
    assert (smoke_run / "results" / "thesis" / "figure_3_1.png").stat().st_size > 10_000
    assert soundfile.info(audio / "wavegan" / "samples.wav").frames >= 4 * 16384


def test_the_audio_gan_is_judged_before_inversion(smoke_run):
    thesis = smoke_run / "results" / "thesis"
    curve = pd.read_csv(smoke_run / "results" / "audio" / "wavegan" / "quality.csv")
    assert curve["step"].tolist() == [0, 10, 20]  # untrained, every 10 steps, the last
    assert curve[["inception_ratio", "diversity_ratio"]].gt(0).all().all()
    assert (thesis / "figure_wavegan_quality.png").stat().st_size > 10_000
    judged = pd.read_csv(thesis / "table_audio_generator.csv").iloc[0]
    assert judged["n_clips"] == judged["n_real"] == 60
    assert judged["generator"].startswith("WaveGAN trained in this run on espeak-ng speech")
    assert judged["evaluator"].startswith("evaluator digit classifier")
    # 20 steps of a d = 4 WaveGAN say one sound: the verdict says so, and so do the logs.
    assert judged["verdict"].startswith("collapsed: ")
    for log in ("audio/train_wavegan.log", "audio/judge_wavegan.log"):
        text = (smoke_run / "results" / "logs" / log).read_text()
        assert text.count("WARNING") == 1 and "mode-collapsed" in text
    for target_set in ("generated", "real"):
        markdown = (thesis / f"table_3_{target_set}.md").read_text()
        assert (
            "The generator judged before inversion (table_audio_generator): collapsed" in markdown
        )


def test_the_tables_times_are_measured_with_no_other_job_running(smoke_run):
    timing_rules = ("time_face_inversions", "time_audio_inversions")
    log = max((smoke_run / ".snakemake" / "log").glob("*.snakemake.log")).read_text()
    assert log.count("rule time_face_inversions:") == 4  # dcgan, progan, real, stylegan2
    assert log.count("rule time_audio_inversions:") == 2
    assert jobs_beside(smoke_run, timing_rules) == []
    timing = pd.read_csv(smoke_run / "results" / "faces" / "dcgan" / "timing.csv")
    assert timing["method"].tolist() == ["gd", "encoder", "hybrid", "pixel_resnet",
                                         "z_perceptual", "full"]  # fmt: skip
    assert (timing["repeats"] == 3).all()


def test_second_run_has_nothing_to_do(smoke_run):
    result = snakemake(smoke_run)
    assert "Nothing to be done" in result.stdout + result.stderr


def test_changed_gan_parameter_reruns_training_and_sampling_only(smoke_run, tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text(yaml.safe_dump({"faces": {"progan": {"lr": 0.002}}}))
    result = snakemake(smoke_run, "--configfile", "presets/smoke.yaml", str(override), "-n")
    jobs = planned_jobs(result)
    assert jobs.get("train_progan") == 1
    # ProGAN's test set, and its encoder_train set, drawn again (it was temporary) for the encoder
    assert jobs.get("sample_face_gan") == 1 and jobs.get("sample_face_gan_training") == 1
    assert "render_faces" not in jobs


def test_folder_source_reads_sc09_style_wavs(tmp_path):
    """audio.data.source: folder reads WAV folders (SC09 names), resampled and padded to 1 s."""
    workdir = copy_workflow(tmp_path / "folder")
    folders = {}
    for split in ("train", "real_train", "real_test"):
        folder = tmp_path / "sc09" / split
        folder.mkdir(parents=True)
        for k, word in enumerate(("Zero", "Seven", "Nine")):
            tone = 0.5 * np.sin(np.arange(8000 + 100 * k) * 0.05)  # 8 kHz, shorter than 1 s
            soundfile.write(folder / f"{word}_abc{k}_nohash_0.wav", tone, 8000)
        folders[split] = str(folder)
    override = tmp_path / "folder.yaml"
    override.write_text(
        yaml.safe_dump({"audio": {"data": {"source": "folder", "folders": folders}}})
    )
    # --nolock ends the helper's --configfile list, so the target is not read as a config file
    target = ("--nolock", "results/audio/data/real_test.h5")
    args = (*target, "--configfile", "presets/smoke.yaml", str(override))
    planned = planned_jobs(snakemake(workdir, "-n", *args))
    assert planned == {"read_speech_folder": 1}
    snakemake(workdir, *args)
    arrays, attrs = read_h5(workdir / "results" / "audio" / "data" / "real_test.h5")
    assert arrays["audio"].shape == (3, 1, 16384) and arrays["audio"].dtype == np.float32
    assert sorted(arrays["label"].tolist()) == [0, 7, 9] and attrs["kind"] == "speech-folder"


def _photo(array: np.ndarray, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_photo_folder_of_identities_is_aligned_and_split(tmp_path):
    """real_faces.source: folder aligns identity sub-folders with MTCNN, then splits them."""
    workdir = copy_workflow(tmp_path / "photos")
    root = tmp_path / "people"
    with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as photo:
        grace = np.asarray(photo.convert("RGB"))
    for name, face in (("eileen", skimage.data.astronaut()), ("grace", grace)):
        _photo(face, root / name / "1.png")
        _photo(face[:, ::-1].copy(), root / name / "2.png")
        _photo((face * 0.8).astype(np.uint8), root / name / "3.jpg")
    _photo(np.full((120, 160, 3), 90, np.uint8), root / "grace" / "4_blank.png")
    override = tmp_path / "photos.yaml"
    override.write_text(yaml.safe_dump({"faces": {"real_faces": {
        "source": "folder", "folder": str(root), "gallery_per_identity": 2,
        "probes_per_identity": 1}}}))  # fmt: skip
    args = ("--nolock", "results/faces/real/probes.h5", "--configfile", "presets/smoke.yaml",
            str(override))  # fmt: skip
    planned = planned_jobs(snakemake(workdir, "-n", *args))
    assert planned == {"align_faces": 1, "split_gallery_probes": 1}
    snakemake(workdir, *args)
    real = workdir / "results" / "faces" / "real"
    manifest = pd.read_csv(real / "faces_manifest.csv")
    assert manifest["detected"].tolist() == [1, 1, 1, 1, 1, 1, 0]
    assert (manifest["alignment"] == "mtcnn").all()
    probes = read_h5(real / "probes.h5", ["images", "identity", "source"])[0]
    assert probes["images"].shape == (2, 3, 32, 32)
    assert [s.decode() for s in probes["source"]] == ["eileen/3.jpg", "grace/3.jpg"]
    # The same photos can feed the encoder's real phase (the thesis trained it on real faces).
    override.write_text(yaml.safe_dump({"faces": {"real_faces": {"encoder_folder": str(root)}}}))
    target = ("--nolock", "results/faces/progan/encoder/full.pt")
    result = snakemake(workdir, "-n", *target, "--configfile", "presets/smoke.yaml",
                       str(override))  # fmt: skip
    assert planned_jobs(result)["align_faces"] == 1
    assert "results/faces/encoder_real/faces.h5" in result.stdout + result.stderr


def test_invalid_config_is_rejected_before_any_job(tmp_path):
    workdir = copy_workflow(tmp_path / "bad")
    result = snakemake(workdir, "--config", "seed=-5", check=False)
    assert result.returncode != 0
    assert "seed: -5 is less than the minimum of 0" in result.stderr
    assert not (workdir / "results").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"faces": {"progan": {"learning_rate": 0.1}}}))
    result = snakemake(workdir, "--configfile", "presets/smoke.yaml", str(bad), check=False)
    assert result.returncode != 0
    assert "faces.progan.learning_rate: unknown key" in result.stderr
    assert not (workdir / "results").exists()


def test_unwritable_results_folder_is_one_message_before_any_job(tmp_path):
    workdir = copy_workflow(tmp_path / "readonly")
    results = workdir / "results"
    results.mkdir()
    with unwritable(results):
        result = snakemake(workdir, "--", "results/faces/data/train.h5", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"ganinv: cannot write to the results folder '{results.resolve()}'" in output
    assert "chmod -R u+w results" in output and "Traceback" not in output
    assert "Error in rule" not in output  # caught before the first job, not by it
    assert list(results.iterdir()) == []  # no job ran, nothing was written


def _report_json(html: str, name: str):
    """One of the JSON values the Snakemake HTML report embeds in its own script element
    (``<script id="name">var name = ...;</script>``; ``-`` in the id is ``_`` in the variable)."""
    variable = name.replace("-", "_")
    match = re.search(rf'<script id="{name}">\s*var {variable} = (.*?);\s*</script>', html, re.S)
    assert match, f"no '{name}' object in the report"
    return json.loads(match.group(1))


def test_report_collects_thesis_outputs(smoke_run, tmp_path):
    """`snakemake --report` (HTML and zip) files the thesis outputs under Faces, Audio, Training,
    with their captions, offline: a proxy that refuses every connection makes any download fail."""
    offline = {name: "http://127.0.0.1:9" for name in ("http_proxy", "https_proxy",
                                                       "HTTP_PROXY", "HTTPS_PROXY")}  # fmt: skip
    html_path = tmp_path / "report.html"
    snakemake(smoke_run, "--report", str(html_path), env_extra=offline)
    html = html_path.read_text()
    assert html_path.stat().st_size < 12_000_000  # smoke: about 7.5 MB, a third of it JavaScript
    categories = _report_json(html, "categories")
    assert set(categories) == {"Faces", "Audio", "Training"}
    assert sorted(categories["Faces"]["Generated faces (Table 2.3)"]) == sorted(
        f"results/thesis/{name}"
        for name in ("table_2_3.md", "figure_reconstructions.png", "figure_psnr_iterations.png")
    )
    assert sorted(categories["Training"]["Face GANs"]) == [
        f"results/faces/{gan}/training_curves.png" for gan in ("progan", "stylegan2")
    ]
    real = categories["Audio"]["Spoken digits (real)"]
    assert (
        "results/thesis/table_3_real.md" in real and "results/thesis/figure_audio_real.png" in real
    )
    assert sum(path.endswith(".wav") for path in real) == 4
    filed = {path for cat in categories.values() for paths in cat.values() for path in paths}
    assert categories["Faces"]["Generators"] == ["results/thesis/table_generators.md"]
    assert sorted(categories["Audio"]["Generator"]) == [
        "results/thesis/figure_wavegan_quality.png",
        "results/thesis/table_audio_generator.md",
    ]
    assert len(filed) == 27 and not any(path.endswith((".csv", ".tex", ".h5")) for path in filed)
    results = _report_json(html, "results")
    # Captions as single-spaced text: the .rst line breaks are not part of what they say.
    captions = {path: " ".join(entry["caption"].split()) for path, entry in results.items()}
    caption = captions["results/thesis/table_2_3.md"]
    # The caption's Jinja (params) is rendered and it shows the Markdown table, thesis numbers
    # included.
    assert "Thesis Table 2.3" in caption and "(preset smoke)" in caption and "GD-100" in caption
    assert "psnr_db (thesis)" in caption and "19.060" in caption
    assert "held-out voices" in captions["results/thesis/table_3_real.md"]
    assert "the first 4 clips" in captions["results/thesis/audio/real_gd.wav"]
    assert "ProGAN training curves" in captions["results/faces/progan/training_curves.png"]
    assert results["results/thesis/table_2_3.md"]["labels"] == {"result": "Table 2.3",
                                                                "format": "table"}  # fmt: skip
    figure = results["results/thesis/figure_3_1.png"]["data_uri"]
    assert figure.startswith("data:image/png;")
    on_disk = (smoke_run / "results" / "thesis" / "figure_3_1.png").read_bytes()
    assert base64.b64decode(figure.split("base64,", 1)[1]) == on_disk
    description = _report_json(html, "workflow-desc")
    assert "This run used the preset <strong>smoke</strong>" in description
    zip_path = tmp_path / "report.zip"
    snakemake(smoke_run, "--report", str(zip_path), env_extra=offline)
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
    assert "report/report.html" in names
    raw = [name.rsplit("/", 1)[1] for name in names if name.startswith("report/data/raw/")]
    assert sorted(raw) == sorted(path.rsplit("/", 1)[1] for path in filed)
