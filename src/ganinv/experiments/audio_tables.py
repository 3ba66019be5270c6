"""Thesis chapter 3 tables: the three inversion methods on generated clips and on held-out voices.

The numbers come from the run's metric summaries. The thesis excerpt this project reproduces from
does not contain the chapter's published numbers, so there is no "(thesis)" column; the notes state
the thesis's qualitative finding (the hybrid does not help audio) and what this run measured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pandas as pd

from ganinv.experiments.timing_tables import apply_timing, timing_note
from ganinv.runtime import UserError
from ganinv.tables import read_summaries, write_table

COLUMNS = (
    "method", "n_clips", "waveform_mse", "stft_ssim", "lsd_db", "inception_score",
    "inception_score_std", "digit_accuracy", "latent_mse", "latent_mae", "n_stopped",
    "inception_score_targets",
)  # fmt: skip
# MSEs of waveforms in [-1, 1] are small: scientific notation keeps their digits.
FLOAT_FORMATS = {"waveform_mse": "{:.3e}", "seconds_per_clip": "{:.4f}",
                 "cpu_seconds_per_clip": "{:.4f}"}  # fmt: skip
TITLES = {
    "generated": "Table 3 (generated): inversion of WaveGAN-generated spoken digits",
    "real": "Table 3 (real): inversion of spoken digits from held-out voices",
}


def _finding(by: pd.DataFrame, gd_label: str, hybrid_label: str) -> list[str]:
    speedup = by.loc["gd", "seconds_per_clip"] / by.loc["encoder", "seconds_per_clip"]
    cpu_speedup = by.loc["gd", "cpu_seconds_per_clip"] / by.loc["encoder", "cpu_seconds_per_clip"]
    best_mse = by["waveform_mse"].idxmin()
    best_ssim = by["stft_ssim"].idxmax()
    hybrid_vs_encoder = by.loc["hybrid", "waveform_mse"] / by.loc["encoder", "waveform_mse"]
    helps = by.loc["hybrid", "stft_ssim"] > by.loc["encoder", "stft_ssim"]
    return [
        f"Finding (speed): the encoder is {speedup:.0f}x faster per clip than {gd_label} in wall "
        f"time, {cpu_speedup:.0f}x in CPU time.",
        f"Finding (accuracy): lowest waveform MSE: {best_mse}; highest STFT SSIM: {best_ssim}.",
        f"Finding (hybrid): {hybrid_label} has {hybrid_vs_encoder:.2f}x the encoder's waveform MSE "
        f"and {'a higher' if helps else 'a lower'} STFT SSIM "
        f"({by.loc['hybrid', 'stft_ssim']:.3f} vs {by.loc['encoder', 'stft_ssim']:.3f}); "
        "the thesis found that the hybrid does not help audio.",
    ]


def _judgement_notes(judgement_csv: str | os.PathLike) -> list[str]:
    """The generator, the evaluator and the generator's verdict (table_audio_generator)."""
    row = pd.read_csv(judgement_csv).iloc[0]
    return [
        f"Generator inverted: {row['generator']}; evaluator: {row['evaluator']}.",
        f"The generator judged before inversion (table_audio_generator): {row['verdict']} "
        f"(Inception Score {row['inception_score']:.2f} vs {row['real_inception_score']:.2f} "
        f"for its training clips, {int(row['digits_read'])} of 10 digits read, STFT diversity "
        f"{row['diversity_ratio']:.0%} of the training clips').",
    ]


def _real_digits_finding(by: pd.DataFrame) -> str:
    accuracy = ", ".join(f"{method} {by.loc[method, 'digit_accuracy']:.2f}" for method in by.index)
    return (
        "Finding (real digits): share of the held-out voices' reconstructions that the evaluator "
        f"reads as the spoken digit: {accuracy} (chance 0.10)."
    )


def write_table_3(
    *,
    summaries: Mapping[str, str | os.PathLike],
    target_set: str,
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike,
    tex_path: str | os.PathLike,
    preset: str,
    gd_settings: Mapping[str, object],
    hybrid_settings: Mapping[str, object],
    timing_csv: str | os.PathLike,
    judgement_csv: str | os.PathLike,
) -> pd.DataFrame:
    """Assemble one chapter-3 table from the per-method summaries (keys gd, encoder, hybrid);
    the times come from ``timing_csv`` (rule time_audio_inversions), the generator and its
    verdict from ``judgement_csv`` (rule judge_audio_gan)."""
    if target_set not in TITLES:
        raise UserError(f"unknown target set '{target_set}': use one of {', '.join(TITLES)}")
    missing = {"gd", "encoder", "hybrid"} - set(summaries)
    if missing:
        raise UserError(f"table 3 needs summaries of gd, encoder and hybrid; missing {missing}")
    table = read_summaries(summaries)
    table = apply_timing(table[[c for c in COLUMNS if c in table.columns]], timing_csv,
                         unit="clip")  # fmt: skip
    by = table.set_index("method")
    gd_label = f"GD-{gd_settings['iterations']} ({gd_settings.get('optimizer', 'adam')})"
    hybrid_label = f"hybrid-{hybrid_settings['iterations']}"
    label_note = (
        "digit_accuracy: the evaluator classifier's digit for the reconstruction against the "
        + ("rendered word of the held-out voice." if target_set == "real" else
           "evaluator's reading of the generated target (generated clips carry no label).")
    )  # fmt: skip
    notes = [
        f"Preset: {preset}. Every number comes from this run (no published chapter-3 numbers "
        "are in the thesis excerpt this project reproduces from).",
        "waveform_mse: mean squared error of the waveforms in [-1, 1]; stft_ssim: SSIM of the "
        "log-magnitude STFTs (frame 256, hop 128); lsd_db: log-spectral distance; "
        "inception_score: from the separately seeded evaluator classifier "
        f"(inception_score_targets = {by['inception_score_targets'].iloc[0]:.2f} is the targets' "
        "own score, the ceiling to compare with).",
        label_note,
        f"Methods: {gd_label} from z ~ U[-1, 1]; encoder = one ResNet-18 pass on the STFT; "
        f"{hybrid_label} = encoder start + {hybrid_settings['iterations']} GD steps. Loss: "
        "perceptual (classifier stage activations) + STFT MAE + waveform MAE.",
        *_judgement_notes(judgement_csv),
        timing_note(timing_csv, unit="clip"),
        *_finding(by, gd_label, hybrid_label),
    ]
    if target_set == "real":
        notes.append(_real_digits_finding(by))
    if target_set == "generated":
        notes.append("latent_mse / latent_mae: error of the recovered z against the true z.")
    write_table(table.drop(columns="inception_score_targets"), csv_path=csv_path,
                md_path=md_path, tex_path=tex_path, title=TITLES[target_set], notes=notes,
                float_format=FLOAT_FORMATS)  # fmt: skip
    return table
