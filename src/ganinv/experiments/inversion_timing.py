"""The times of the inversion tables: every method of a target set timed alone (rules time_*).

Each timed method is a mapping ``{label, method, settings, encoder}``: ``label`` names the table
row (gd, encoder, hybrid or an encoder variant), ``method`` is what inverts it, ``settings`` are
the method's settings exactly as its inversion job gets them (made into
:class:`ganinv.invert.InversionSettings` here, as the job does), ``encoder`` is the encoder's
model file (None for gd). Models, targets and losses are loaded by the same functions as the
inversion jobs; :func:`ganinv.timing.time_methods` does the measuring. The output is one CSV row
per method (:data:`ganinv.timing.TIMING_COLUMNS`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence

import pandas as pd
import torch

from ganinv.atomic import atomic_path
from ganinv.experiments.audio_inversion import (
    audio_inversion_loss,
    load_audio_encoder,
    load_audio_targets,
)
from ganinv.experiments.face_inversion import (
    face_inversion_loss,
    load_face_encoder,
    load_face_targets,
)
from ganinv.invert import InversionSettings, LossFn
from ganinv.runtime import UserError
from ganinv.timing import TIMING_COLUMNS, TimedMethod, time_methods

__all__ = ["run_face_timing", "run_audio_timing", "write_timing_csv"]

log = logging.getLogger("ganinv")


def write_timing_csv(rows: Sequence[Mapping[str, object]], *, out_csv: str | os.PathLike) -> None:
    """The timing table, written atomically (a killed job leaves no partial CSV)."""
    frame = pd.DataFrame(list(rows), columns=list(TIMING_COLUMNS))
    with atomic_path(out_csv) as tmp:
        frame.to_csv(tmp, index=False)


def _timed_methods(
    methods: Sequence[Mapping[str, object]],
    load_encoder: Callable[..., torch.nn.Module | None],
    loss_of: Callable[[InversionSettings], LossFn],
    device: torch.device,
) -> list[TimedMethod]:
    if not methods:
        raise UserError("timing: no methods to time")
    timed = []
    for spec in methods:
        settings = InversionSettings.from_mapping(
            method=str(spec["method"]), settings=spec.get("settings") or {}
        )
        encoder = load_encoder(
            method=settings.method, encoder_path=spec.get("encoder"), device=device
        )
        timed.append(TimedMethod(label=str(spec["label"]), settings=settings,
                                 loss_fn=loss_of(settings), encoder=encoder))  # fmt: skip
    return timed


def _measure_and_write(
    generator, targets, timed, timing: Mapping[str, int], seed, chunk_size, device, out_csv
) -> list[dict]:
    rows = time_methods(
        generator=generator, targets=targets, methods=timed, repeats=int(timing["repeats"]),
        warmup=int(timing["warmup"]), block=int(timing["block"]), seed=seed,
        chunk_size=chunk_size, device=device,
    )  # fmt: skip
    write_timing_csv(rows, out_csv=out_csv)
    for row in rows:
        log.info(
            "timing %s: %.4f s per target (wall; %.4f-%.4f over %d rounds), CPU %.4f s",
            row["method"], row["seconds_per_target"], row["seconds_per_target_min"],
            row["seconds_per_target_max"], row["repeats"], row["cpu_seconds_per_target"],
        )  # fmt: skip
    return rows


def run_face_timing(
    *,
    generator_path: str | os.PathLike,
    targets_path: str | os.PathLike,
    methods: Sequence[Mapping[str, object]],
    face_network: tuple[str, str | None] | None,
    timing: Mapping[str, int],
    chunk_size: int,
    seed: int,
    device: torch.device,
    out_csv: str | os.PathLike,
) -> list[dict]:
    """Time the face inversion ``methods`` on the images of ``targets_path``.

    ``timing``: ``{repeats, warmup, block}`` (see :mod:`ganinv.timing`).
    """
    generator, targets = load_face_targets(
        generator_path=generator_path, targets_path=targets_path, device=device
    )
    timed = _timed_methods(
        methods,
        load_face_encoder,
        lambda settings: face_inversion_loss(
            perceptual_weight=settings.perceptual_weight, face_network=face_network, device=device
        ),
        device,
    )
    return _measure_and_write(generator, targets, timed, timing, seed, chunk_size, device, out_csv)


def run_audio_timing(
    *,
    generator_path: str | os.PathLike,
    targets_path: str | os.PathLike,
    methods: Sequence[Mapping[str, object]],
    loss_weights: Mapping[str, float],
    classifier_path: str | os.PathLike | None,
    timing: Mapping[str, int],
    chunk_size: int,
    seed: int,
    device: torch.device,
    out_csv: str | os.PathLike,
) -> list[dict]:
    """Time the audio inversion ``methods`` on the clips of ``targets_path`` (one loss for all)."""
    generator, targets = load_audio_targets(
        generator_path=generator_path, targets_path=targets_path, device=device
    )
    loss_fn = audio_inversion_loss(
        loss_weights=loss_weights, classifier_path=classifier_path, device=device
    )
    timed = _timed_methods(methods, load_audio_encoder, lambda settings: loss_fn, device)
    return _measure_and_write(generator, targets, timed, timing, seed, chunk_size, device, out_csv)
