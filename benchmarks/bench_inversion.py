"""The speed ratios of Table 2.3 and Table 3, measured by the code that measures the tables.

The timing rules of the workflow (time_face_inversions, time_audio_inversions) call
``run_face_timing`` / ``run_audio_timing``; so does this benchmark, with the settings of the same
configuration (config.yaml, plus ``--configfile`` overlays). Printed: seconds per target of GD,
the encoder and the hybrid, the encoder/GD speed-up and the hybrid/GD time ratio, for the faces
of Table 2.3 and the generated clips of Table 3; beside them, the ratios in a finished run's
tables when there is one (``--run``). ``--check-full`` also times one full GD run directly
(``invert``, all iterations) and prints it against the fixed + per-iteration estimate.

Models: those of a finished run (``--run DIR``: DIR/results/...), else the configuration's
architectures with random weights (the pretrained DCGAN from its package file, random encoders,
WaveGAN and classifier). Inversion cost does not depend on the weights.

Usage: python benchmarks/bench_inversion.py [--run .] [--configfile presets/smoke.yaml]
       [--check-full]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from ganinv.data.h5io import write_h5
from ganinv.experiments.face_inversion import face_inversion_loss, load_face_targets
from ganinv.experiments.inversion_timing import run_audio_timing, run_face_timing
from ganinv.invert import InversionSettings, invert
from ganinv.models.encoder import AudioEncoder, ResNetEncoder
from ganinv.models.files import load_model, save_model
from ganinv.models.importers import import_generator
from ganinv.models.wavegan import Generator as WaveGenerator
from ganinv.runtime import configure_torch, resolve_device
from ganinv.weights import REGISTRY, check_package_file

REPO = Path(__file__).resolve().parents[1]


def merged_config(overlays: list[str]) -> dict:
    """config.yaml with the overlays merged key by key (as Snakemake merges config files)."""

    def merge(base: dict, extra: dict) -> dict:
        for key, value in extra.items():
            base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) else value
        return base

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for path in overlays:
        config = merge(config, yaml.safe_load(Path(path).read_text()))
    return config


def face_network(config: dict) -> tuple[str, None] | None:
    """The chapter GAN's perceptual network when its weights ship in a package (else None)."""
    gan = config["faces"]["inversion"]["generator"]
    choice = config["faces"]["encoder"]["perceptual_network"][gan]
    return None if choice == "facenet" else (choice, None)


def face_methods(config: dict, encoder_file: str) -> list[dict]:
    """Table 2.3's three methods with the settings its inversion jobs get."""
    inversion = config["faces"]["inversion"]
    gan = inversion["generator"]
    methods = []
    for method in ("gd", "encoder", "hybrid"):
        settings = dict(inversion.get(method, {}))
        if settings:
            settings["clip_bound"] = inversion["clip_bound"][gan]
        methods.append({"label": method, "method": method, "settings": settings,
                        "encoder": None if method == "gd" else encoder_file})  # fmt: skip
    return methods


def audio_methods(config: dict, encoder_file: str) -> list[dict]:
    return [{"label": m, "method": m, "settings": config["audio"]["inversion"].get(m, {}),
             "encoder": None if m == "gd" else encoder_file}
            for m in ("gd", "encoder", "hybrid")]  # fmt: skip


def random_face_files(config: dict, folder: Path) -> dict:
    """The pretrained DCGAN (its package file), a random encoder and 50 of its faces."""
    if config["faces"]["inversion"]["generator"] != "dcgan":
        raise SystemExit("without --run, only the DCGAN chapter GAN is built (use --run DIR)")
    generator_file = folder / "dcgan.pt"
    checkpoint = check_package_file(REGISTRY[config["pretrained"]["dcgan"]])
    import_generator(checkpoint=checkpoint, checkpoint_format="dcgan_tutorial",
                     model_path=generator_file)  # fmt: skip
    generator, _ = load_model(generator_file, "dcgan.Generator")
    n = config["faces"]["samples"]["sets"]["test"]["n"]
    with torch.no_grad():
        images = generator(
            torch.randn(n, generator.z_dim, generator=torch.Generator().manual_seed(0))
        )
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    write_h5(folder / "faces.h5", {"images": pixels}, {})
    size = config["faces"]["encoder"]["input_size"] or generator.resolution
    kwargs = {"z_dim": generator.z_dim, "input_size": size}
    save_model(folder / "face_encoder.pt", ResNetEncoder(**kwargs), "encoder.ResNetEncoder", kwargs)
    return {"generator": generator_file, "targets": folder / "faces.h5",
            "encoder": folder / "face_encoder.pt"}  # fmt: skip


def random_audio_files(config: dict, folder: Path) -> dict:
    """A random WaveGAN, audio encoder and digit classifier, and clips of the WaveGAN."""
    from ganinv.models.digits import DigitClassifier
    from ganinv.train.digits import N_CLASSES

    audio = config["audio"]
    wave = {"z_dim": audio["wavegan"]["z_dim"], "d": audio["wavegan"]["d"],
            "kernel_size": audio["wavegan"]["kernel_size"]}  # fmt: skip
    generator = WaveGenerator(**wave)
    save_model(folder / "wavegan.pt", generator, "wavegan.Generator", wave)
    n = audio["samples"]["sets"]["test"]["n"]
    with torch.no_grad():
        clips = generator(torch.rand(n, wave["z_dim"]) * 2 - 1).numpy().astype(np.float32)
    write_h5(folder / "clips.h5", {"audio": clips}, {})
    enc = {"z_dim": wave["z_dim"], "input_size": audio["encoder"]["input_size"],
           "representation": audio["encoder"]["representation"]}  # fmt: skip
    save_model(folder / "audio_encoder.pt", AudioEncoder(**enc), "encoder.AudioEncoder", enc)
    cls = audio["classifier"]
    digits = {"representation": cls["representation"], "width": cls["width"],
              "blocks": list(cls["blocks"]), "n_classes": N_CLASSES, "n_fft": cls["n_fft"],
              "hop": cls["hop"], "n_mels": cls["n_mels"], "channels": 3}  # fmt: skip
    save_model(folder / "classifier.pt", DigitClassifier(**digits), "digits.DigitClassifier",
               digits)  # fmt: skip
    return {"generator": folder / "wavegan.pt", "targets": folder / "clips.h5",
            "encoder": folder / "audio_encoder.pt",
            "classifier": folder / "classifier.pt"}  # fmt: skip


def run_files(run: Path, config: dict) -> tuple[dict, dict]:
    gan = config["faces"]["inversion"]["generator"]
    variant = config["faces"]["inversion"]["encoder_variant"]
    results = run / "results"
    faces = {"generator": results / "faces" / gan / "generator.pt",
             "targets": results / "faces" / gan / "samples" / "test.h5",
             "encoder": results / "faces" / gan / "encoder" / f"{variant}.pt"}  # fmt: skip
    audio = {"generator": results / "audio" / "wavegan" / "generator.pt",
             "targets": results / "audio" / "samples" / "test.h5",
             "encoder": results / "audio" / "encoder" / "encoder.pt",
             "classifier": results / "audio" / "classifier" / "perceptual.pt"}  # fmt: skip
    missing = [str(p) for p in (*faces.values(), *audio.values()) if not p.exists()]
    if missing:
        raise SystemExit(f"--run {run}: not a finished run ({missing[0]} is missing)")
    return faces, audio


def report(name: str, rows: list[dict], unit: str, table_csv: Path | None) -> None:
    by = {row["method"]: row for row in rows}
    gd, enc, hyb = by["gd"], by["encoder"], by["hybrid"]
    print(f"\n{name}: {gd['n_targets']} targets, {gd['device']}, {gd['repeats']} rounds")
    for row in rows:
        low, high = row["seconds_per_target_min"] * 1e3, row["seconds_per_target_max"] * 1e3
        print(f"  {row['method']:<8} {row['seconds_per_target'] * 1e3:10.2f} ms/{unit} wall "
              f"({low:.2f}-{high:.2f})  {row['cpu_seconds_per_target'] * 1e3:10.2f} ms/{unit} "
              "CPU")  # fmt: skip
    speedup = gd["seconds_per_target"] / enc["seconds_per_target"]
    ratio = hyb["seconds_total"] / gd["seconds_total"]
    print(f"  encoder vs GD-{gd['iterations']} (per {unit}): {speedup:8.1f}x")
    print(f"  hybrid-{hyb['iterations']} time / GD time:  {ratio:8.3f}")
    if table_csv is not None and table_csv.exists():
        table = pd.read_csv(table_csv).set_index("method")
        per = f"seconds_per_{unit}"
        t_speedup = table.loc["gd", per] / table.loc["encoder", per]
        t_ratio = table.loc["hybrid", "seconds_total"] / table.loc["gd", "seconds_total"]
        print(f"  in {table_csv.name}: encoder vs GD {t_speedup:.1f}x (bench/table "
              f"{speedup / t_speedup:.3f}), hybrid/GD {t_ratio:.3f} (bench/table "
              f"{ratio / t_ratio:.3f})")  # fmt: skip


def check_full(files: dict, config: dict, device: torch.device, rows: list[dict]) -> None:
    """Full GD and hybrid runs timed directly (one each), against the timing's estimates."""
    generator, targets = load_face_targets(
        generator_path=files["generator"], targets_path=files["targets"], device=device
    )
    encoder = load_model(files["encoder"], "encoder.ResNetEncoder", device)[0]
    estimates = {row["method"]: row["seconds_total"] for row in rows}
    for spec in face_methods(config, ""):
        if spec["method"] == "encoder":
            continue
        settings = InversionSettings.from_mapping(method=spec["method"], settings=spec["settings"])
        loss_fn = face_inversion_loss(perceptual_weight=settings.perceptual_weight,
                                      face_network=face_network(config), device=device)  # fmt: skip
        result = invert(generator, targets, settings=settings, encoder=encoder, loss_fn=loss_fn,
                        device=device)  # fmt: skip
        estimate = estimates[spec["label"]]
        print(f"  full {spec['label']}-{settings.iterations} run timed directly: "
              f"{result.seconds_total:.2f} s; estimate {estimate:.2f} s (estimate/direct "
              f"{estimate / result.seconds_total:.3f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="folder of a finished run (its results/ models and tables)")
    parser.add_argument("--configfile", action="append", default=[], help="config overlays")
    parser.add_argument("--check-full", action="store_true", help="time one full GD run too")
    args = parser.parse_args()
    config = merged_config(args.configfile)
    configure_torch(config["threads"])
    device = resolve_device(config["device"])
    timing = config["timing"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        if args.run:
            faces, audio = run_files(Path(args.run), config)
        else:
            faces, audio = random_face_files(config, folder), random_audio_files(config, folder)
        face_rows = run_face_timing(
            generator_path=faces["generator"], targets_path=faces["targets"],
            methods=face_methods(config, str(faces["encoder"])), face_network=face_network(config),
            timing=timing, chunk_size=config["faces"]["inversion"]["chunk_size"], seed=0,
            device=device, out_csv=folder / "faces_timing.csv",
        )  # fmt: skip
        audio_rows = run_audio_timing(
            generator_path=audio["generator"], targets_path=audio["targets"],
            methods=audio_methods(config, str(audio["encoder"])),
            loss_weights=config["audio"]["inversion"]["loss"],
            classifier_path=audio["classifier"], timing=timing,
            chunk_size=config["audio"]["inversion"]["chunk_size"], seed=0, device=device,
            out_csv=folder / "audio_timing.csv",
        )  # fmt: skip
        thesis = Path(args.run) / "results" / "thesis" if args.run else None
        source = f"models of {args.run}" if args.run else "random weights (pretrained DCGAN)"
        print(f"models: {source}; threads: {config['threads']}; preset: {config['preset']}")
        report("faces (Table 2.3)", face_rows, "image", thesis and thesis / "table_2_3.csv")
        if args.check_full:
            check_full(faces, config, device, face_rows)
        report("audio (Table 3, generated clips)", audio_rows, "clip",
               thesis and thesis / "table_3_generated.csv")  # fmt: skip


if __name__ == "__main__":
    main()
