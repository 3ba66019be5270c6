# Shared helpers (config validation, seeds, split parameters) for every .smk file.
# Scripts never read config[...]: everything reaches them through params.

import os
import re
import sys

from ganinv.config import ConfigError, validate_config
from ganinv.runtime import UserError, check_writable_folder, derive_seed
from ganinv.weights import (
    REGISTRY,
    fetch_logged,
    manual_instructions,
    resolve,
    weights_dir,
)

try:
    validate_config(
        config,
        os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml"),
    )
except ConfigError as exc:
    sys.exit(f"ganinv: {exc}")


def check_results_folder():
    """Before the first job (onstart; not on dry runs): results/ must be writable."""
    try:
        check_writable_folder("results")
    except UserError as exc:
        sys.exit(f"ganinv: {exc}")


PRETRAINED = config["pretrained"]
WEIGHTS_DIR = str(weights_dir(PRETRAINED["weights_dir"]))


def pretrained_file(name):
    """Path of a registry file (e.g. vggface2) in the weights folder."""
    return str(REGISTRY[name].path(WEIGHTS_DIR))


# Generators imported from public checkpoints instead of trained: gan -> checkpoint path
# (IMPORT_FORMATS: the format of each).
IMPORT_FORMATS = {
    "progan": "pytorch_gan_zoo",
    "stylegan2": "rosinality",
    "wavegan": "wavegan_port",
}
IMPORTED = {
    gan: str(resolve(PRETRAINED[gan], WEIGHTS_DIR)[0])
    for gan in IMPORT_FORMATS
    if PRETRAINED[gan]
}


def training_reports():
    """Training curves and listening samples of the GANs trained here (imported ones have none)."""
    reports = [
        f"results/faces/{gan}/training_curves.png"
        for gan in ("progan", "stylegan2")
        if gan not in IMPORTED
    ]
    if "wavegan" not in IMPORTED:
        reports.append("results/audio/wavegan/samples.wav")
    return reports


FACES = config["faces"]
PRESET_LABEL = config["preset"]
FACE_SPLITS = list(FACES["splits"])
SAMPLE_SETS = list(FACES["samples"]["sets"])
N_STAGES = len(FACES["progan"]["channels"])


def rule_seed(*names):
    """The seed of one job (or wildcard instance), derived from the global seed."""
    return derive_seed(config["seed"], *names)


def face_split_params(split):
    """Identity range and sizes of one procedural face split (ids are consecutive, train first)."""
    first = 0
    for name in FACE_SPLITS:
        if name == split:
            break
        first += FACES["splits"][name]["identities"]
    return {
        "first_identity": first,
        "n_identities": FACES["splits"][split]["identities"],
        "images_per_identity": FACES["splits"][split]["images_per_identity"],
        "resolution": FACES["resolution"],
        # Identities share one seed across splits: identity k looks the same in every split.
        "seed": rule_seed("faces", "render"),
    }


FACE_ROLES = ["perceptual", "evaluator"]
ENCODER_VARIANTS = list(FACES["encoder"]["variants"])
INVERSION_METHODS = ["gd", "encoder", "hybrid"]


def face_network_file(role):
    """The face network of a role: trained in the DAG, or facenet-pytorch's vggface2 weights."""
    if FACES["facenet"][role] == "in_dag":
        return f"results/faces/facenet/{role}.pt"
    return pretrained_file("vggface2")


def facenet_training_params(role):
    """Hyperparameters of one in-DAG face network (its own seed per role)."""
    keys = [
        "input_size",
        "width",
        "embedding_dim",
        "batch_size",
        "steps",
        "lr",
        "weight_decay",
        "attribute_weight",
        "val_images_per_identity",
        "augment",
        "checkpoint_every",
    ]
    return {
        **{key: FACES["facenet"][key] for key in keys},
        "seed": rule_seed("faces", "facenet", role),
    }


def encoder_training_params(variant):
    """Hyperparameters of one encoder variant (shared settings + the variant's loss weights)."""
    shared = {k: v for k, v in FACES["encoder"].items() if k != "variants"}
    return {
        **shared,
        **FACES["encoder"]["variants"][variant],
        "seed": rule_seed("faces", "encoder", variant),
    }


def encoder_real_faces():
    """Real faces of the encoder's real phase: aligned photos when configured, else the train split."""
    if FACES["real_faces"]["encoder_folder"]:
        return "results/faces/encoder_real/faces.h5"
    return "results/faces/data/train.h5"


def encoder_inputs(variant):
    """Files one encoder variant trains from (real faces and face network only when used)."""
    spec = FACES["encoder"]["variants"][variant]
    inputs = {
        "generator": "results/faces/progan/generator.pt",
        "generated": "results/faces/samples/encoder_train.h5",
    }
    if spec["real_phase"]:
        inputs["real"] = encoder_real_faces()
    if spec["perceptual_weight"] > 0:
        inputs["perceptual_network"] = face_network_file("perceptual")
    return inputs


def inversion_inputs(method):
    """Files one inversion method needs."""
    inputs = {
        "generator": "results/faces/progan/generator.pt",
        "targets": "results/faces/samples/test.h5",
    }
    if method in ("encoder", "hybrid"):
        variant = FACES["inversion"]["encoder_variant"]
        inputs["encoder"] = f"results/faces/encoder/{variant}.pt"
    settings = FACES["inversion"].get(method, {})
    if settings.get("perceptual_weight", 0) > 0:
        inputs["face_network"] = face_network_file("perceptual")
    return inputs


# ----- faces that are not the generator's own: real faces, StyleGAN2 (Figure 2.17) -----
# The face sets this configuration makes (encoder_real only when its photo folder is set).
FACE_SETS = ["real", "stylegan2"] + (
    ["encoder_real"] if FACES["real_faces"]["encoder_folder"] else []
)
STYLEGAN2_METHODS = ["encoder", "hybrid"]
REAL_FACES = FACES["real_faces"]
GENERALISATION = FACES["generalisation"]


def face_set_source(face_set):
    """Where a face set comes from: a photo folder, the held-out split, or StyleGAN2 samples."""
    if face_set == "stylegan2":
        return "results/faces/stylegan2/samples.h5"
    if face_set == "encoder_real":
        return REAL_FACES["encoder_folder"]
    if REAL_FACES["source"] == "folder":
        return REAL_FACES["folder"]
    return "results/faces/data/heldout.h5"


def face_set_inputs(wildcards):
    """The input file of a face set (none for a photo folder: it is read directly)."""
    source = face_set_source(wildcards.face_set)
    return {"source": source} if source.endswith(".h5") else {}


def face_set_align(face_set):
    """MTCNN for photo folders and when asked; generated/procedural faces are pre-aligned."""
    if face_set == "stylegan2":
        return GENERALISATION["align"]
    return face_set == "encoder_real" or REAL_FACES["source"] == "folder"


def face_set_targets(face_set):
    """The faces that are inverted: real probes, or the (aligned) StyleGAN2 samples."""
    if face_set == "real":
        return "results/faces/real/probes.h5"
    return "results/faces/stylegan2/faces.h5"


def identity_evaluator():
    """(kind, file) of the identity network: vggface2 when asked, or on auto when its file exists."""
    kind = REAL_FACES["evaluator"]
    if kind == "auto":
        kind = "vggface2" if os.path.exists(pretrained_file("vggface2")) else "in_dag"
    if kind == "vggface2":
        return kind, pretrained_file("vggface2")
    return kind, "results/faces/facenet/evaluator.pt"


def face_set_inversion_inputs(wildcards):
    """Files one inversion of a face set needs (the ProGAN generator and its encoder)."""
    inputs = inversion_inputs(wildcards.method)
    inputs["targets"] = face_set_targets(wildcards.face_set)
    return inputs


def face_set_metric_inputs(wildcards):
    """Inversion, targets, identity network and (real faces) the gallery."""
    inputs = {
        "inversion": f"results/faces/{wildcards.face_set}/inversion/{wildcards.method}.h5",
        "targets": face_set_targets(wildcards.face_set),
        "evaluator": identity_evaluator()[1],
    }
    if wildcards.face_set == "real":
        inputs["gallery"] = "results/faces/real/gallery.h5"
    return inputs


# ----- audio chapter -----
AUDIO = config["audio"]
AUDIO_SPLITS = ["train", "real_train", "real_test"]
AUDIO_SAMPLE_SETS = list(AUDIO["samples"]["sets"])
AUDIO_ROLES = ["perceptual", "evaluator"]
AUDIO_TARGET_SETS = ["generated", "real"]


def speech_split_params(split):
    """espeak-ng rendering of one split; one seed for all splits keeps the speaker draw shared."""
    data = AUDIO["data"]
    return {
        "split": split,
        "seed": rule_seed("audio", "speech"),
        "train_speakers": data["train_speakers"],
        "heldout_speakers": data["heldout_speakers"],
        "clips_per_digit": data["clips_per_digit"][split],
        "peak": data["peak"],
    }


def classifier_training_params(role):
    """Hyperparameters of one digit classifier (its own seed per role)."""
    return {**AUDIO["classifier"], "seed": rule_seed("audio", "classifier", role)}


def audio_encoder_params():
    """The audio encoder: thesis z-loss MSE on raw z (WaveGAN does not normalise z)."""
    return {
        **AUDIO["encoder"],
        "domain": "audio",
        "z_loss": "mse",
        "normalize_z": False,
        "seed": rule_seed("audio", "encoder"),
    }


def audio_targets(target_set):
    """Generated test clips (with their true z) or held-out voices (the thesis's real audio)."""
    if target_set == "generated":
        return "results/audio/samples/test.h5"
    return "results/audio/data/real_test.h5"


def audio_inversion_inputs(wildcards):
    """Files one audio inversion needs."""
    inputs = {
        "generator": "results/audio/wavegan/generator.pt",
        "targets": audio_targets(wildcards.target_set),
    }
    if wildcards.method in ("encoder", "hybrid"):
        inputs["encoder"] = "results/audio/encoder/encoder.pt"
    if AUDIO["inversion"]["loss"]["perceptual"] > 0:
        inputs["classifier"] = "results/audio/classifier/perceptual.pt"
    return inputs


# ----- pretrained files the fetch_weights rule may download -----
def inception_inputs():
    """pytorch-fid's Inception file as an input when the config requires it."""
    if FACES["metrics"]["fid_network"] == "inception":
        return {"inception": pretrained_file("fid_inception")}
    return {}


def needed_weights():
    """Registry files in the weights folder that this configuration reads."""
    paths = set(IMPORTED.values())
    roles = [FACES["facenet"]["perceptual"], FACES["facenet"]["evaluator"]]
    if "vggface2" in roles or identity_evaluator()[0] == "vggface2":
        paths.add(pretrained_file("vggface2"))
    paths.update(inception_inputs().values())
    registry_paths = {str(entry.path(WEIGHTS_DIR)) for entry in REGISTRY.values()}
    return sorted(paths & registry_paths)


NEEDED_WEIGHTS = needed_weights()


def report_missing_weights():
    """After a failed run: every pretrained file this configuration needs that is still missing."""
    missing = [path for path in NEEDED_WEIGHTS if not os.path.exists(path)]
    if missing:
        print(
            "ganinv: pretrained files still missing (place them by hand if they cannot be "
            f"downloaded here):\n{manual_instructions(missing, WEIGHTS_DIR)}",
            file=sys.stderr,
        )


def registry_entry(relpath):
    """The registry entry stored at ``relpath`` inside the weights folder."""
    return next(entry for entry in REGISTRY.values() if entry.relpath == relpath)


def weights_pattern(pinned):
    """Regex matching exactly the needed files with (or without) a full pinned sha256."""
    relpaths = [
        entry.relpath
        for entry in REGISTRY.values()
        if str(entry.path(WEIGHTS_DIR)) in NEEDED_WEIGHTS
        and (entry.sha256 is not None) == pinned
    ]
    return "|".join(re.escape(relpath) for relpath in relpaths) or "(?!)"


def weights_root(path, relpath):
    """The weights folder of a file at ``path`` = ``<folder>/<relpath>``."""
    return os.path.dirname(path[: -len(relpath)])
