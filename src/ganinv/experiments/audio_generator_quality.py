"""Judge the audio GAN before inverting it (see :mod:`ganinv.metrics.audio_quality`).

The judgement compares ``n`` generated clips (from a sample set of the generator) with ``n``
clips of the GAN's training split, both drawn with a seeded permutation, through the evaluator
classifier. A generator past a floor is called collapsed: the judgement's log carries one warning
and the table names the numbers that missed.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import torch

from ganinv.data.h5io import read_h5
from ganinv.experiments.verdict import record_verdict
from ganinv.metrics.audio_quality import ClipQuality, QualityFloors
from ganinv.models.files import load_model
from ganinv.runtime import UserError, file_sha256
from ganinv.tables import write_table


def _some_clips(path: str | os.PathLike, n: int, seed: int) -> torch.Tensor:
    audio = read_h5(path, ["audio"])[0]["audio"]
    if len(audio) < 2:
        raise UserError(f"{path} holds {len(audio)} clips; judging an audio GAN needs at least 2")
    if len(audio) > n:
        audio = audio[np.sort(np.random.default_rng(seed).choice(len(audio), n, replace=False))]
    return torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))


def load_clip_quality(
    *,
    evaluator_path: str | os.PathLike,
    real_h5: str | os.PathLike,
    n: int,
    seed: int,
    is_splits: int,
    floors: QualityFloors,
    device: torch.device,
) -> ClipQuality:
    """A :class:`ClipQuality` with the evaluator classifier and ``n`` clips of ``real_h5``."""
    net, _ = load_model(evaluator_path, "digits.DigitClassifier", device)
    net.eval()
    return ClipQuality(
        probabilities=lambda clips: net.probabilities(clips.to(device)),
        real=_some_clips(real_h5, n, seed),
        is_splits=is_splits,
        floors=floors,
    )


def quality_key(evaluator_path: str | os.PathLike) -> str:
    """What a quality curve depends on besides the GAN run: the evaluator file's digest."""
    return file_sha256(evaluator_path)


def judge_audio_generator(
    *,
    samples_h5: str | os.PathLike,
    real_h5: str | os.PathLike,
    evaluator_path: str | os.PathLike,
    out_csv: str | os.PathLike,
    generator: str,
    evaluator: str,
    n: int,
    seed: int,
    is_splits: int,
    floors: QualityFloors,
    device: torch.device,
) -> dict:
    """Measure ``n`` clips of ``samples_h5`` against ``n`` of ``real_h5``; one-row CSV."""
    quality = load_clip_quality(evaluator_path=evaluator_path, real_h5=real_h5, n=n,
                                seed=seed + 1, is_splits=is_splits, floors=floors,
                                device=device)  # fmt: skip
    clips = _some_clips(samples_h5, n, seed)
    row: dict[str, object] = {"generator": generator, "n_clips": len(clips),
                              "n_real": quality.n_real}  # fmt: skip
    row.update(quality.measure(clips))
    row.update({
        "real_inception_score": quality.real["inception_score"],
        "real_digits_read": quality.real["digits_read"],
        "real_max_digit_share": quality.real["max_digit_share"],
        "real_stft_diversity": quality.real["stft_diversity"],
        "evaluator": evaluator,
    })  # fmt: skip
    reasons = floors.shortfalls(row)
    return record_verdict(row=row, reasons=reasons, generator=generator, out_csv=out_csv)


def write_audio_generator_table(
    *,
    judgement: str | os.PathLike,
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike,
    tex_path: str | os.PathLike,
    preset: str,
    floors: QualityFloors,
) -> pd.DataFrame:
    """The audio GAN of this run, judged before its inversions are read."""
    table = pd.read_csv(judgement)
    notes = [
        f"Preset: {preset}. n_clips generated clips (z from the generator's prior) against "
        "n_real clips of its training split, both read by the evaluator digit classifier.",
        "inception_ratio = Inception Score of the generated clips / that of the real clips "
        f"(floor {floors.inception_ratio:g}); digits_read = digits the evaluator reads in at "
        f"least {floors.min_digit_share:.0%} of the clips (floor {floors.digits_read}); "
        f"max_digit_share = share of the most-read digit (ceiling {floors.max_digit_share:g}).",
        "stft_diversity = mean pairwise RMS distance (dB) of the clips' log-magnitude STFTs "
        f"(256/128); diversity_ratio = generated / real (floor {floors.diversity_ratio:g}).",
        "verdict: collapsed when any number is past its floor (config audio.judge.floors).",
    ]
    write_table(table, csv_path=csv_path, md_path=md_path, tex_path=tex_path,
                title="Audio GAN judged before inversion", notes=notes)  # fmt: skip
    return table
