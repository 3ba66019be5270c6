"""Is an audio GAN worth inverting? Quality, digit coverage and diversity of its clips.

A GAN that says one sound cannot be inverted meaningfully, so the audio chapter measures its
generator on a sample of clips against as many real clips (the GAN's training data), with the
evaluator digit classifier:

- ``inception_score`` of the clips (evaluator, ``is_splits`` splits) and ``inception_ratio``, the
  generated score over the real clips' score;
- ``digits_read``: how many of the ten digits the evaluator reads (its arg-max) in at least
  ``min_digit_share`` of the clips, and ``max_digit_share``, the share of the most-read digit (a
  generator that says one word reads 1 digit at share 1.0);
- ``stft_diversity``: the mean pairwise RMS distance (dB) between the clips' log-magnitude STFTs
  (:func:`ganinv.metrics.audio.log_magnitude`), and ``diversity_ratio``, generated over real.

:class:`QualityFloors` holds the floors below which a generator is called collapsed; the verdict
names every number that missed its floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ganinv.metrics.audio import inception_score, log_magnitude
from ganinv.runtime import UserError

__all__ = [
    "QUALITY_COLUMNS",
    "QUALITY_CURVE_COLUMNS",
    "ClipQuality",
    "QualityFloors",
    "digit_readings",
    "stft_diversity",
]

QUALITY_COLUMNS = (
    "inception_score",
    "inception_ratio",
    "digits_read",
    "max_digit_share",
    "stft_diversity",
    "diversity_ratio",
)
# One row per evaluation of a generator during its training: the quality curve.
QUALITY_CURVE_COLUMNS = ("step", "seconds", *QUALITY_COLUMNS)
N_DIGITS = 10


@dataclass(frozen=True)
class QualityFloors:
    """Floors of a usable audio generator (ratios are generated / real)."""

    inception_ratio: float = 0.5
    digits_read: int = 8
    max_digit_share: float = 0.25
    diversity_ratio: float = 0.5
    min_digit_share: float = 0.02

    def __post_init__(self) -> None:
        for name in ("inception_ratio", "diversity_ratio", "max_digit_share", "min_digit_share"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value >= 0)
            ):
                raise UserError(f"audio.judge.floors.{name} must be a number >= 0, got {value!r}")
        digits = self.digits_read
        if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= N_DIGITS:
            raise UserError(
                f"audio.judge.floors.digits_read must be an integer in 0..{N_DIGITS}, "
                f"got {digits!r}"
            )

    def shortfalls(self, row: dict) -> list[str]:
        """One phrase per number of ``row`` (a :meth:`ClipQuality.measure` row) past its floor."""
        reasons = []
        if row["inception_ratio"] < self.inception_ratio:
            reasons.append(
                f"Inception Score {row['inception_score']:.2f} is {row['inception_ratio']:.0%} of "
                f"the real clips' (floor {self.inception_ratio:.0%})"
            )
        if row["digits_read"] < self.digits_read:
            reasons.append(
                f"the evaluator reads {row['digits_read']} of 10 digits (floor {self.digits_read})"
            )
        if row["max_digit_share"] > self.max_digit_share:
            reasons.append(
                f"{row['max_digit_share']:.0%} of the clips read as one digit "
                f"(ceiling {self.max_digit_share:.0%})"
            )
        if row["diversity_ratio"] < self.diversity_ratio:
            reasons.append(
                f"STFT diversity is {row['diversity_ratio']:.0%} of the real clips' "
                f"(floor {self.diversity_ratio:.0%})"
            )
        return reasons


def stft_diversity(clips: Tensor | np.ndarray) -> float:
    """Mean pairwise RMS distance (dB) between the log-magnitude STFTs of ``clips`` [N, 1, T]."""
    spectra = log_magnitude(clips).flatten(1)
    if len(spectra) < 2:
        raise UserError(f"STFT diversity needs at least 2 clips, got {len(spectra)}")
    return float(torch.pdist(spectra).mean() / math.sqrt(spectra.shape[1]))


def digit_readings(probabilities: Tensor, *, min_share: float) -> tuple[int, float]:
    """``(digits read in at least min_share of the clips, share of the most-read digit)``."""
    p = torch.as_tensor(probabilities)
    shares = torch.bincount(p.argmax(dim=1), minlength=p.shape[1]).double() / len(p)
    return int((shares >= min_share).sum()), float(shares.max())


class ClipQuality:
    """Measures clip sets against a fixed set of real clips with one evaluator.

    ``probabilities`` maps clips [n, 1, T] to the evaluator's class probabilities [n, 10]; it is
    called on batches of at most ``batch`` clips under ``torch.no_grad``.
    """

    def __init__(
        self,
        *,
        probabilities: Callable[[Tensor], Tensor],
        real: Tensor,
        is_splits: int,
        floors: QualityFloors,
        batch: int = 100,
    ) -> None:
        self._probabilities = probabilities
        self.is_splits = is_splits
        self.floors = floors
        self.batch = batch
        self.n_real = len(real)
        self.real = self._raw(real)

    def _raw(self, clips: Tensor) -> dict[str, float]:
        with torch.no_grad():
            p = torch.cat([self._probabilities(chunk).cpu() for chunk in clips.split(self.batch)])
        digits, top = digit_readings(p, min_share=self.floors.min_digit_share)
        return {
            "inception_score": inception_score(p, self.is_splits)[0],
            "digits_read": digits,
            "max_digit_share": top,
            "stft_diversity": stft_diversity(clips),
        }

    def measure(self, clips: Tensor) -> dict[str, float]:
        """The :data:`QUALITY_COLUMNS` of ``clips`` (ratios against the real clips)."""
        row = self._raw(clips)
        return {
            "inception_score": row["inception_score"],
            "inception_ratio": row["inception_score"] / self.real["inception_score"],
            "digits_read": row["digits_read"],
            "max_digit_share": row["max_digit_share"],
            "stft_diversity": row["stft_diversity"],
            "diversity_ratio": row["stft_diversity"] / self.real["stft_diversity"],
        }
