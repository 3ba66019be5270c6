"""The paper preset executed end to end at tiny size, with the README's own commands.

tests/workflow/presets/paper_rehearsal.yaml shrinks only sizes and counts;
tests/workflow/paper_rehearsal_files.py lays out the files presets/paper.yaml names, in their
public formats. The commands come from the README's "Reproducing the thesis at full scale" block,
so the README and this test cannot drift apart: each is run with the rehearsal overlay after the
configuration files it names, on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time

import h5py
import numpy as np
import pandas as pd
import pytest
import soundfile
import yaml

from tests.helpers.paths import REPO

from .paper_rehearsal_files import SOURCES, lay_out_paper_files
from .workflow_helpers import SNAKEMAKE, copy_workflow

pytestmark = pytest.mark.workflow

OVERLAY = REPO / "tests" / "workflow" / "presets" / "paper_rehearsal.yaml"
SECTION = "## Reproducing the thesis at full scale"
# Outputs the workflow declares temp(): the encoders' training sets and ablation-only encoders.
TEMPORARY = re.compile(
    r"results/(audio|faces/\w+)/samples/encoder_(train|real)\.h5"
    r"|results/faces/\w+/encoder/(pixel_resnet|z_perceptual)\.pt"
)
needs_sources = pytest.mark.skipif(
    not all(p.is_dir() for p in SOURCES),
    reason="the upstream checkpoints and dataset copies in ../shared are absent",
)


def readme_commands() -> list[list[str]]:
    """The snakemake command lines of the README's full-scale block, as argument lists."""
    text = (REPO / "README.md").read_text()
    assert SECTION in text, f"README.md has no '{SECTION}' section"
    section = text.split(SECTION, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the full-scale section has no bash block"
    commands = []
    for line in block.group(1).splitlines():
        argv = shlex.split(line, comments=True)
        if argv and argv[0].endswith("snakemake"):
            commands.append(argv)
    return commands


def _configfiles(argv: list[str]) -> list[str]:
    """The configuration files a command names, directly or through its workflow profile."""
    if "--configfile" in argv:
        files = []
        for arg in argv[argv.index("--configfile") + 1 :]:
            if arg.startswith("-"):
                break
            files.append(arg)
        return files
    profile = argv[argv.index("--workflow-profile") + 1]
    return yaml.safe_load((REPO / profile / "config.yaml").read_text())["configfile"]


def rehearsed(argv: list[str]) -> list[str]:
    """A README command as the rehearsal runs it: this interpreter's snakemake, the rehearsal
    overlay after the command's own configuration files, 2 cores (the last --cores wins)."""
    out, skip = [], False
    for arg in argv[1:]:
        if arg == "--configfile":
            skip = True
            continue
        if skip and not arg.startswith("-"):
            continue
        skip = False
        out.append(arg)
    return [*SNAKEMAKE, *out, "--configfile", *_configfiles(argv), str(OVERLAY), "--cores", "2"]


def _run(workdir, argv, timeout=1800):
    env = dict(os.environ, MPLCONFIGDIR=str(workdir / ".mpl"))
    result = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=timeout)  # fmt: skip
    assert result.returncode == 0, (
        f"{shlex.join(argv)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
        f"{result.stderr[-6000:]}"
    )
    return result


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    """The README's first command run from a clean folder; then its other commands."""
    workdir = copy_workflow(tmp_path_factory.mktemp("rehearsal"))
    lay_out_paper_files(workdir)
    commands = readme_commands()
    start = time.monotonic()
    results = [_run(workdir, rehearsed(commands[0]))]
    wall = time.monotonic() - start
    results += [_run(workdir, rehearsed(argv)) for argv in commands[1:]]
    return workdir, commands, results, wall


def test_the_readme_names_the_profile_the_explicit_command_and_the_report():
    commands = readme_commands()
    assert len(commands) == 3
    assert commands[0][1:] == ["--workflow-profile", "profiles/paper"]
    assert _configfiles(commands[0]) == _configfiles(commands[1]) == ["presets/paper.yaml"]
    assert "--report" in commands[2]
    for argv in commands:
        assert (REPO / _configfiles(argv)[0]).is_file()


def test_the_overlay_changes_only_sizes_counts_and_the_weights_folder():
    """Every key the overlay sets is a size, a count or the weights folder: the rehearsal runs
    the paper preset's rules and data paths, not a different configuration."""
    sizes = re.compile(
        r"(^|_)(n|steps|iterations|size|subsets|faces|clips|every|repeats|warmup|channels|dim|"
        r"layers|identity|identities|resolution|threads)$"
    )

    def leaves(tree, prefix=""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    overlay = dict(leaves(yaml.safe_load(OVERLAY.read_text())))
    paper = dict(leaves(yaml.safe_load((REPO / "presets/paper.yaml").read_text())))
    other = sorted(key for key in overlay if not sizes.search(key.split(".")[-1]))
    priors = [f"{chapter}.samples.sets.{name}.prior" for chapter in ("audio", "faces")
              for name in ("encoder_train", "test")]  # fmt: skip
    assert other == sorted([*priors, "preset", "pretrained.weights_dir"])
    for key in priors:  # restated beside their counts (a sample set is replaced whole)
        assert overlay[key] == paper[key], key


@needs_sources
def test_every_output_the_paper_preset_promises_exists_and_is_finite(rehearsal):
    workdir, commands, results, wall = rehearsal
    print(f"paper rehearsal: {wall:.0f} s wall from a clean folder")
    summary = _run(workdir, [*rehearsed(commands[0]), "--summary"]).stdout
    rows = [line.split("\t") for line in summary.splitlines()[1:] if "\t" in line]
    status = {row[0]: row[4] for row in rows}
    assert len(status) > 100
    assert set(status.values()) == {"ok", "removed temp file"}, status
    # What only trains the encoders, and the ablation-only encoders, is gone once read.
    removed = sorted(name for name, state in status.items() if state != "ok")
    assert all(TEMPORARY.fullmatch(name) for name in removed), removed
    assert "results/audio/samples/encoder_train.h5" in removed
    assert any(name.endswith("/encoder/pixel_resnet.pt") for name in removed), removed
    assert not any((workdir / name).exists() for name in removed)
    for name in (name for name, state in status.items() if state == "ok"):
        path = workdir / name
        assert path.is_file() and path.stat().st_size > 0, name
        if name.endswith(".h5"):
            with h5py.File(path) as handle:
                handle.visititems(lambda key, item, name=name: _finite_dataset(name, key, item))
        elif name.endswith(".csv"):
            numbers = pd.read_csv(path).select_dtypes("number").to_numpy(float)
            assert not np.isinf(numbers).any(), name
        elif name.endswith(".wav"):
            audio, rate = soundfile.read(path)
            assert rate == 16000 and np.isfinite(audio).all() and len(audio) > 0, name
    # The thesis's headline numbers are all measured (not NaN) on the pretrained evaluators.
    thesis = workdir / "results" / "thesis"
    for table, columns in (
        ("table_2_3", ["psnr_db", "ssim", "fid", "kid", "identity_cosine", "seconds_per_image"]),
        ("table_1_ablation", ["psnr_db", "ssim", "identity_cosine"]),
        ("table_2_17", ["psnr_db", "ssim", "identity_cosine"]),
        ("table_3_generated", ["waveform_mse", "stft_ssim", "inception_score"]),
        ("table_3_real", ["waveform_mse", "stft_ssim", "digit_accuracy"]),
    ):
        frame = pd.read_csv(thesis / f"{table}.csv")
        assert np.isfinite(frame[columns].to_numpy(float)).all(), table
    real = pd.read_csv(thesis / "table_real_faces.csv").set_index("method")
    assert np.isfinite(real.loc[["gd", "encoder", "hybrid"], ["top1", "psnr_db"]]).all().all()
    assert (thesis / "figure_2_17_stylegan2_to_progan.png").stat().st_size > 10_000


def _finite_dataset(file_name, key, item):
    if isinstance(item, h5py.Dataset) and item.dtype.kind == "f":
        assert np.isfinite(item[()]).all(), f"{file_name}:{key}"


@needs_sources
def test_tables_name_the_imported_generators_and_the_pretrained_evaluators(rehearsal):
    workdir = rehearsal[0]
    thesis = workdir / "results" / "thesis"
    for table in ("table_2_3", "table_1_ablation", "table_real_faces", "table_2_17"):
        frame = pd.read_csv(thesis / f"{table}.csv")
        assert frame["generator"].str.contains(r"pytorch_GAN_zoo.*\[pgan_celeba\]").all(), table
        assert (frame["evaluator"] == "vggface2").all(), table
        features = frame["fid_features"].dropna()  # the real-face ceiling row has no FID
        assert len(features) >= 3 and (features == "inception-2015-12-05 (pytorch-fid)").all()
        assert "InceptionResnetV1 with VGGFace2 weights" in (thesis / f"{table}.md").read_text()
    assert "drawn by StyleGAN2 pretrained" in (thesis / "table_2_17.md").read_text()
    assert "[stylegan2_ffhq]" in (thesis / "table_2_17.md").read_text()
    judged = pd.read_csv(thesis / "table_generators.csv").iloc[0]
    # An imported GAN has no training faces here: it is judged against the run's real photos.
    assert judged["reference"] == "real photos (encoder_real)"
    assert np.isfinite(judged["diversity_ratio"])
    assert judged["verdict"].startswith(("ok", "collapsed")), judged["verdict"]  # a floor applied
    for table in ("table_3_generated", "table_3_real", "table_audio_generator"):
        assert (
            "WaveGAN imported from data/wavegan/gan_sc09.tar"
            in (thesis / f"{table}.md").read_text()
        ), table
    manifest = pd.read_csv(workdir / "results/faces/stylegan2_to_progan/faces_manifest.csv")
    assert (manifest["alignment"] == "mtcnn").all()  # MTCNN ran on the StyleGAN2 faces


@needs_sources
def test_the_other_readme_commands_agree_and_the_report_is_built(rehearsal):
    workdir, commands, results, _ = rehearsal
    # The explicit command describes the same DAG as the profile: nothing left to do.
    assert "Nothing to be done" in results[1].stdout + results[1].stderr
    report = workdir / commands[2][commands[2].index("--report") + 1]
    html = report.read_text()
    match = re.search(r'<script id="categories">\s*var categories = (.*?);\s*</script>', html, re.S)
    assert match, "no categories in the report"
    categories = json.loads(match.group(1))
    assert set(categories) == {"Faces", "Audio", "Training"}
    filed = {path for cat in categories.values() for paths in cat.values() for path in paths}
    for name in ("table_2_3.md", "table_real_faces.md", "table_2_17.md", "table_3_real.md",
                 "figure_2_17_stylegan2_to_progan.png"):  # fmt: skip
        assert f"results/thesis/{name}" in filed, name
