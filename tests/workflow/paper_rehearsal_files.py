"""The files presets/paper.yaml expects, laid out at tiny size from public-format sources.

- Generators: the upstream projects' own small checkpoints (``../shared/fixtures/upstream``) under
  the paper preset's names: the pytorch_GAN_zoo PGAN at the registry file of ``pgan_celeba``,
  rosinality's converted StyleGAN2 at that of ``stylegan2_ffhq``, the WaveGAN port's training
  checkpoint at ``pretrained.wavegan``.
- Pretrained networks: random-weight files in the layouts facenet-pytorch (InceptionResnetV1,
  VGGFace2 release) and pytorch-fid (FID InceptionV3) load with their own code.
- Data: LFW identities as the VGGFace2 photo folder (``<identity>/*.jpg``), CelebA photos as the
  encoder's real photos, FSDD digits laid out as SC09 (``<word>/<speaker hash>_nohash_<k>.wav``,
  resampled to 16 kHz).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import soundfile
import torch
from scipy.signal import resample_poly

from ganinv.data.speech import DIGITS
from ganinv.weights import REGISTRY
from tests.helpers.fid_inception import fid_inception_random_state
from tests.helpers.paths import REPO

SHARED = REPO.parent / "shared"
UPSTREAM = SHARED / "fixtures" / "upstream"
LFW = SHARED / "data" / "lfw" / "lfw-deepfunneled"
CELEBA = SHARED / "data" / "celeba" / "img_align_celeba"
FSDD = SHARED / "data" / "fsdd" / "recordings"
SOURCES = (UPSTREAM, LFW, CELEBA, FSDD)
# The weights folder the rehearsal overlay names (pretrained.weights_dir).
WEIGHTS = "rehearsal/weights"
# Which WaveGAN port variant stands in for the SC09 generator: transposed convolutions with
# batch norm, the port's richest import path (the norm is folded into the convolutions).
WAVEGAN_CASE = "transposed_bn"
# FSDD speakers: five train; jackson's takes play SC09's validation and test speakers.
TRAIN_SPEAKERS = ("george", "lucas", "nicolas", "theo", "yweweler")
HELD_OUT = "jackson"


def lay_out_paper_files(
    workdir: Path, *, identities: int = 8, encoder_photos: int = 40, train_takes: int = 2
) -> None:
    """Place every file presets/paper.yaml reads (pretrained, data) under ``workdir``."""
    weights = workdir / WEIGHTS
    _copy(UPSTREAM / "pgan" / "pgan_zoo_s3_d32.pth", REGISTRY["pgan_celeba"].path(weights))
    _copy(
        UPSTREAM / "rosinality" / "small32_convert_layout.pt",
        REGISTRY["stylegan2_ffhq"].path(weights),
    )
    _copy(UPSTREAM / "wavegan" / f"gan_{WAVEGAN_CASE}.tar", workdir / "data/wavegan/gan_sc09.tar")
    write_random_vggface2(REGISTRY["vggface2"].path(weights))
    write_random_fid_inception(REGISTRY["fid_inception"].path(weights))
    people = [p for p in sorted(LFW.iterdir()) if len(list(p.glob("*.jpg"))) >= 3][:identities]
    for person in people:
        shutil.copytree(person, workdir / "data/vggface2_subset" / person.name)
    for photo in sorted(CELEBA.glob("*.jpg"))[:encoder_photos]:
        _copy(photo, workdir / "data/vggface2_encoder" / photo.name)
    sc09 = workdir / "data/sc09"
    for speaker in TRAIN_SPEAKERS:
        _write_sc09(sc09 / "train", speaker, range(train_takes))
    _write_sc09(sc09 / "valid", HELD_OUT, range(0, 2))
    _write_sc09(sc09 / "test", HELD_OUT, range(2, 3))


def write_random_vggface2(path: Path) -> None:
    """facenet-pytorch's VGGFace2 release layout (8,631-class logits), random weights."""
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    state = InceptionResnetV1(classify=True, num_classes=8631).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)


def write_random_fid_inception(path: Path) -> None:
    """pytorch-fid's weights file (its layout, random weights) at ``path``."""
    torch.manual_seed(0)
    state = fid_inception_random_state()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)


def _write_sc09(folder: Path, speaker: str, takes: range) -> None:
    """One speaker's FSDD takes as Speech Commands files, 8 kHz -> 16 kHz."""
    speaker_hash = hashlib.sha256(speaker.encode()).hexdigest()[:8]
    for digit, word in enumerate(DIGITS):
        for take in takes:
            audio, rate = soundfile.read(FSDD / f"{digit}_{speaker}_{take}.wav", dtype="float32")
            assert rate == 8000
            upsampled = resample_poly(audio, 2, 1).astype(np.float32)
            out = folder / word / f"{speaker_hash}_nohash_{take}.wav"
            out.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(out, upsampled, 16000, subtype="PCM_16")


def _copy(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)
