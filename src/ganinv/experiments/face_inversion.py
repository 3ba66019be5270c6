"""Invert a set of generated faces with one method (gd, encoder or hybrid) and store everything.

The HDF5 output holds the recovered ``z``, the ``reconstructions`` (uint8 NCHW), the final
per-sample ``loss``, the per-iteration ``loss_curve`` and ``psnr_curve`` ([iterations + 1, N]),
``stopped_at`` (-1, or the iteration at which a sample's loss became non-finite), and the wall
time (total and per image) with the device in the attributes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import torch

from ganinv.data.h5io import check_images, read_h5
from ganinv.experiments.inversion_output import write_inversion_h5
from ganinv.images import from_uint8, to_uint8
from ganinv.invert import InversionSettings, invert, pixel_mae
from ganinv.losses import load_perceptual_network, perceptual_loss, weighted_sum
from ganinv.metrics.image import psnr_signed
from ganinv.models.files import FACE_GENERATORS, load_model
from ganinv.runtime import UserError

log = logging.getLogger("ganinv")


def make_loss(face_net, perceptual_weight: float):
    """Per-sample pixel MAE (+ weighted perceptual distance on precomputed target features)."""
    if perceptual_weight <= 0 or face_net is None:
        return pixel_mae
    return weighted_sum([(1.0, pixel_mae), (perceptual_weight, perceptual_loss(face_net))])


def load_face_targets(
    *, generator_path: str | os.PathLike, targets_path: str | os.PathLike, device: torch.device
) -> tuple[torch.nn.Module, torch.Tensor]:
    """The face generator and its targets (the ``images`` of ``targets_path``, in [-1, 1])."""
    generator, _ = load_model(generator_path, FACE_GENERATORS, device)
    arrays, _ = read_h5(targets_path, ["images"])
    check_images(arrays["images"], str(targets_path), generator.resolution)
    return generator, from_uint8(torch.from_numpy(arrays["images"]))


def load_face_encoder(
    *, method: str, encoder_path: str | os.PathLike | None, device: torch.device
) -> torch.nn.Module | None:
    """The encoder of the encoder and hybrid methods (None for gd, and when no file is given:
    :func:`ganinv.invert.invert` then says that the method needs one)."""
    if method == "gd" or encoder_path is None:
        return None
    return load_model(encoder_path, "encoder.ResNetEncoder", device)[0]


def face_inversion_loss(
    *,
    perceptual_weight: float,
    face_network: tuple[str, str | None] | None,
    device: torch.device,
):
    """Pixel MAE + ``perceptual_weight`` x the perceptual distance of ``face_network``."""
    face_net = None
    if perceptual_weight > 0:
        if face_network is None:
            raise UserError("a perceptual weight > 0 needs a face network")
        face_net = load_perceptual_network(face_network[0], face_network[1], device)
    return make_loss(face_net, perceptual_weight)


def run_face_inversion(
    *,
    method: str,
    generator_path: str | os.PathLike,
    targets_path: str | os.PathLike,
    out_h5: str | os.PathLike,
    settings: Mapping[str, object],
    chunk_size: int,
    seed: int,
    device: torch.device,
    encoder_path: str | os.PathLike | None = None,
    face_network: tuple[str, str | None] | None = None,
) -> dict:
    """Invert the ``images`` of ``targets_path``; ``settings`` are the method's hyperparameters
    as the config gives them (recorded as given in the output's provenance)."""
    inversion = InversionSettings.from_mapping(method=method, settings=settings)
    encoder = load_face_encoder(method=method, encoder_path=encoder_path, device=device)
    generator, targets = load_face_targets(
        generator_path=generator_path, targets_path=targets_path, device=device
    )
    loss_fn = face_inversion_loss(
        perceptual_weight=inversion.perceptual_weight, face_network=face_network, device=device
    )
    result = invert(generator, targets, settings=inversion, encoder=encoder, seed=seed,
                    loss_fn=loss_fn, chunk_size=chunk_size, device=device,
                    track_fn=psnr_signed)  # fmt: skip
    params = {"method": method, "settings": dict(settings), "chunk_size": chunk_size,
              "seed": seed}  # fmt: skip
    write_inversion_h5(
        result, out_h5=out_h5, reconstructions=to_uint8(result.reconstructions).numpy(),
        curve_name="psnr_curve", kind="inversion", seconds_attr="seconds_per_image",
        inputs={"generator": generator_path, "targets": targets_path,
                "encoder": encoder_path if encoder is not None else None},
        params=params, settings=dict(settings),
    )  # fmt: skip
    summary = {"method": method, "seconds_total": result.seconds_total,
               "seconds_per_image": result.seconds_per_target,
               "final_psnr_db": float(result.track_curve[-1].nanmean())}  # fmt: skip
    log.info("inversion done: %s", summary)
    return summary
