"""Validation of the workflow configuration: JSON Schema first, then cross-field consistency.

Errors name the key path (e.g. ``faces.progan.lr``) and what is wrong, all at once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from ganinv.weights import REGISTRY


class ConfigError(Exception):
    """The configuration is invalid; the message lists every problem found."""


def _path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def schema_problems(config: Mapping[str, Any], schema_path: str | os.PathLike) -> list[str]:
    """Problems found by the JSON schema, one line each, sorted by key path."""
    with open(schema_path) as handle:
        schema = yaml.safe_load(handle)
    validator = Draft202012Validator(schema)
    problems = []
    for error in validator.iter_errors(dict(config)):
        where = _path(error.absolute_path)
        if error.validator == "additionalProperties":
            unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            known = sorted(error.schema.get("properties", {}))
            for key in unknown:
                key_path = f"{where}.{key}" if error.absolute_path else key
                problems.append(f"{key_path}: unknown key (allowed here: {', '.join(known)})")
            continue
        problems.append(f"{where}: {error.message}")
    return sorted(problems)


def consistency_problems(config: Mapping[str, Any]) -> list[str]:
    """Cross-field rules the schema cannot express (sizes that must agree)."""
    problems = []
    faces = config.get("faces", {})
    resolution = faces.get("resolution")
    progan = faces.get("progan", {})
    channels = progan.get("channels", [])
    if resolution and channels:
        stages = resolution.bit_length() - 2  # log2(resolution) - 1
        if len(channels) != stages:
            problems.append(
                f"faces.progan.channels: {len(channels)} widths given, but {resolution} px needs "
                f"{stages} (one per resolution 4, 8, ..., {resolution})"
            )
        steps = progan.get("stage_steps", [])
        if steps and len(steps) != len(channels):
            problems.append(
                f"faces.progan.stage_steps: {len(steps)} entries, but faces.progan.channels has "
                f"{len(channels)}: give one number of steps per stage"
            )
    train = faces.get("splits", {}).get("train", {})
    n_train = train.get("identities", 0) * train.get("images_per_identity", 0)
    batch = progan.get("batch_size")
    if batch and n_train and n_train < batch:
        problems.append(
            f"faces.splits.train: {n_train} images is fewer than faces.progan.batch_size {batch}"
        )
    variants = faces.get("encoder", {}).get("variants", {})
    chosen = faces.get("inversion", {}).get("encoder_variant")
    if variants and chosen is not None and chosen not in variants:
        problems.append(
            f"faces.inversion.encoder_variant: '{chosen}' is not one of the encoder variants "
            f"({', '.join(variants)}) defined in faces.encoder.variants"
        )
    return (
        problems
        + real_face_problems(faces)
        + audio_problems(config.get("audio", {}))
        + pretrained_problems(config.get("pretrained", {}))
    )


def pretrained_problems(pretrained: Mapping[str, Any]) -> list[str]:
    """Registry names given to the wrong generator, and names that look like typos."""
    problems = []
    for gan in ("progan", "stylegan2", "wavegan"):
        value = pretrained.get(gan)
        if not value:
            continue
        names = sorted(name for name, entry in REGISTRY.items() if entry.generator == gan)
        entry = REGISTRY.get(value)
        if entry is not None and entry.generator != gan:
            problems.append(
                f"pretrained.{gan}: '{value}' is not a {gan} checkpoint "
                f"(registry names for {gan}: {', '.join(names) or 'none'})"
            )
        elif entry is None and "/" not in value and "." not in value:
            problems.append(
                f"pretrained.{gan}: '{value}' is neither a registry name "
                f"({', '.join(names) or 'none for ' + gan}) nor a file path"
            )
    return problems


def real_face_problems(faces: Mapping[str, Any]) -> list[str]:
    """Cross-field rules of the real-face experiment, the photo datasets and Figure 2.17."""
    problems = []
    real = faces.get("real_faces", {})
    if real.get("source") == "folder" and not real.get("folder"):
        problems.append(
            "faces.real_faces.folder: source is folder but no folder is given; set it to a "
            "folder of identity sub-folders of photos (or use source: procedural)"
        )
    elif real.get("source") == "procedural" and real.get("folder"):
        problems.append(
            "faces.real_faces.folder: a folder is given but source is procedural; set source: "
            "folder to use it, or set the folder to null"
        )
    heldout = faces.get("splits", {}).get("heldout", {}).get("images_per_identity")
    gallery = real.get("gallery_per_identity")
    if real.get("source") == "procedural" and heldout and gallery and heldout <= gallery:
        problems.append(
            f"faces.real_faces.gallery_per_identity: {gallery} gallery images leave no probe of "
            f"the {heldout} images per held-out identity; lower it or raise "
            "faces.splits.heldout.images_per_identity"
        )
    if real.get("source") == "lfw" and real.get("folder"):
        problems.append(
            "faces.real_faces.folder: a folder is given but source is lfw; name the LFW copy in "
            "faces.lfw.folder, or set source: folder"
        )
    resolution = faces.get("resolution")
    dcgan_pairs = [
        pair for pair in faces.get("generalisation", {}).get("directions", []) if "dcgan" in pair
    ]
    if resolution and resolution != 64 and dcgan_pairs:
        problems.append(
            f"faces.generalisation.directions: {dcgan_pairs[0]} pairs the 64 px DCGAN with "
            f"faces.resolution {resolution} px; one GAN's faces can only be inverted by a GAN of "
            "the same size: set faces.resolution: 64 or drop the pair"
        )
    for source, gan in faces.get("generalisation", {}).get("directions", []):
        if source == gan:
            problems.append(
                f"faces.generalisation.directions: [{source}, {gan}] inverts a GAN's own faces "
                "(that is Table 2.3); pair two different GANs"
            )
    celeba = faces.get("celeba", {})
    batch = faces.get("progan", {}).get("batch_size")
    if (
        faces.get("training_faces") == "celeba"
        and batch
        and celeba.get("gan_photos", batch) < batch
    ):
        problems.append(
            f"faces.celeba.gan_photos: {celeba['gan_photos']} photos is fewer than "
            f"faces.progan.batch_size {batch}"
        )
    for name in ("celeba", "lfw"):
        used = (
            faces.get("training_faces") == "celeba"
            if name == "celeba"
            else real.get("source") == "lfw"
        )
        if faces.get(name, {}).get("folder") and not used:
            how = "faces.training_faces: celeba" if name == "celeba" else "real_faces.source: lfw"
            problems.append(
                f"faces.{name}.folder: a folder is given but nothing reads it; set {how} to use "
                "it, or set the folder to null"
            )
    channels = faces.get("stylegan2", {}).get("channels", [])
    stylegan2_used = any(
        pair[0] == "stylegan2" for pair in faces.get("generalisation", {}).get("directions", [])
    )
    if stylegan2_used and resolution and channels and len(channels) != resolution.bit_length() - 2:
        problems.append(
            f"faces.stylegan2.channels: {len(channels)} widths given, but {resolution} px needs "
            f"{resolution.bit_length() - 2} (one per resolution 4, 8, ..., {resolution})"
        )
    return problems


def audio_problems(audio: Mapping[str, Any]) -> list[str]:
    """Cross-field rules of the audio chapter."""
    problems = []
    data = audio.get("data", {})
    folders = data.get("folders", {})
    if data.get("source") == "folder":
        problems += [
            f"audio.data.folders.{split}: the folder source needs a folder of WAV files for "
            f"every split; set it (or use audio.data.source: espeak)"
            for split, folder in folders.items()
            if not folder
        ]
    elif data.get("source") in ("espeak", "fsdd") and any(folders.values()):
        problems.append(
            f"audio.data.folders: folders are given but audio.data.source is {data['source']}; "
            "set source: folder to read them, or set the folders to null"
        )
    problems += fsdd_problems(data)
    encoder = audio.get("encoder", {})
    n = audio.get("samples", {}).get("sets", {}).get("encoder_train", {}).get("n")
    need = encoder.get("val_size", 0) + encoder.get("batch_size", 0)
    if n is not None and n <= need:
        problems.append(
            f"audio.samples.sets.encoder_train.n: {n} clips, but the encoder needs more than "
            f"val_size + batch_size = {need}"
        )
    classifier = audio.get("classifier", {})
    if classifier.get("hop", 0) > classifier.get("n_fft", 1 << 30):
        problems.append("audio.classifier.hop: the hop must not exceed the frame (n_fft)")
    return problems


def fsdd_problems(data: Mapping[str, Any]) -> list[str]:
    """Cross-field rules of the FSDD source: take ranges in order and disjoint."""
    problems = []
    fsdd = data.get("fsdd", {})
    if fsdd.get("folder") and data.get("source") != "fsdd":
        problems.append(
            f"audio.data.fsdd.folder: a folder is given but audio.data.source is "
            f"{data.get('source')}; set source: fsdd to read it, or set the folder to null"
        )
    ranges = {}
    for split, takes in fsdd.get("takes", {}).items():
        if isinstance(takes, list) and len(takes) == 2 and takes[0] > takes[1]:
            problems.append(
                f"audio.data.fsdd.takes.{split}: [{takes[0]}, {takes[1]}] is [first, last]; "
                "first must not exceed last"
            )
        elif isinstance(takes, list) and len(takes) == 2:
            ranges[split] = takes
    if len(ranges) == 2:
        (a, (a0, a1)), (b, (b0, b1)) = sorted(ranges.items())
        if a0 <= b1 and b0 <= a1:
            problems.append(
                f"audio.data.fsdd.takes: {a} [{a0}, {a1}] and {b} [{b0}, {b1}] overlap; the "
                "encoder's real phase must not see the real targets, so make them disjoint"
            )
    return problems


def validate_config(config: Mapping[str, Any], schema_path: str | os.PathLike) -> None:
    """Raise :class:`ConfigError` listing every schema and consistency problem."""
    problems = schema_problems(config, schema_path)
    if not problems:
        problems = consistency_problems(config)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(
            f"invalid configuration ({len(problems)} problem(s)):\n{lines}\n"
            "Fix these keys in config.yaml or in the file given with --configfile / --config; "
            "workflow/schemas/config.schema.yaml describes every key."
        )
