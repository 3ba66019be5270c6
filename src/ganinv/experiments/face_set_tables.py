"""The real-face table (identification of reconstructions) and Figure 2.17's table (StyleGAN2).

Numbers come from the run's metric summaries; the notes state the thesis's claim and whether this
run supports it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ganinv.experiments.face_tables import evaluator_description, generator_note
from ganinv.experiments.timing_tables import apply_timing, timing_note
from ganinv.runtime import UserError
from ganinv.tables import read_summaries, write_table

REAL_COLUMNS = (
    "method", "n_images", "n_identities", "top1", "top5", "identity_cosine", "identity_distance",
    "n_undetected", "psnr_db", "ssim", "fid", "kid", "generator", "evaluator", "fid_features",
)  # fmt: skip
STYLEGAN2_COLUMNS = (
    "method", "targets", "n_images", "psnr_db", "ssim", "identity_cosine", "identity_distance",
    "n_undetected", "fid", "kid", "generator", "evaluator", "fid_features",
)  # fmt: skip


def _evaluator_note(table: pd.DataFrame) -> str:
    return f"Identity is measured by {evaluator_description(str(table['evaluator'].iloc[0]))}."


def _sampling_note(top1: pd.Series, n: int) -> str:
    """How far apart two top-1 rates on ``n`` probes must be to mean anything."""
    p = float(top1.mean())
    se = float(np.sqrt(p * (1 - p) / max(n, 1)))
    return (
        f"Sampling error: with {n} probes one probe is {1 / max(n, 1):.3f} of top-1, and a rate "
        f"near {p:.2f} has a binomial standard error of {se:.3f}; the difference of two methods "
        f"on the same probes needs about {2 * np.sqrt(2) * se:.2f} to be more than noise."
    )


def write_table_real_faces(
    summaries: Mapping[str, str | os.PathLike],
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike,
    tex_path: str | os.PathLike,
    preset: str,
    source: str,
    gd_iterations: int,
    hybrid_iterations: int,
    timing_csv: str | os.PathLike,
) -> pd.DataFrame:
    """Identification of gd / encoder / hybrid reconstructions of real probe faces.

    The first row, ``targets``, identifies the probes themselves: the ceiling of every method.
    ``timing_csv``: the methods' times on the probes (rule time_face_inversions).
    """
    missing = {"gd", "encoder", "hybrid"} - set(summaries)
    if missing:
        raise UserError(f"the real-face table needs gd, encoder and hybrid; missing {missing}")
    rows = read_summaries(summaries)
    first = rows.iloc[0]
    ceiling = {
        "method": "targets", "n_images": first["n_images"], "n_identities": first["n_identities"],
        "top1": first["target_top1"], "top5": first["target_top5"], "identity_cosine": 1.0,
        "identity_distance": 0.0,
        "generator": first.get("generator", ""), "evaluator": first["evaluator"],
    }  # fmt: skip
    table = pd.concat([pd.DataFrame([ceiling]), rows], ignore_index=True)
    table = table[[c for c in REAL_COLUMNS if c in table.columns]]
    table = apply_timing(table, timing_csv, unit="image", skip=("targets",))
    by = table.set_index("method")
    top1 = by.loc[["gd", "encoder", "hybrid"], "top1"]
    beaten = [m for m in ("gd", "encoder") if top1["hybrid"] <= top1[m]]
    verdict = (
        "holds: the hybrid's reconstructions are identified most often"
        if not beaten
        else f"does not hold: the hybrid's top-1 is not above that of {' and '.join(beaten)}"
    )
    notes = [
        f"Preset: {preset}. Real faces: {source}. Each probe (a real face never seen by the GAN or "
        "the encoder) is inverted; its reconstruction is identified against a gallery of other "
        "images of the same people (one mean embedding per identity; top-k = true identity "
        "among the k most similar).",
        generator_note(table),
        _evaluator_note(table),
        "targets = the probes themselves (the ceiling); identity_cosine = cosine similarity of "
        "the embeddings of target and reconstruction.",
        f"Methods: GD-{gd_iterations} from a random start, the encoder in one forward pass, and "
        f"hybrid-{hybrid_iterations} (GD from the encoder's prediction).",
        f"Thesis claim: hybrid reconstructions are recognised more often than the others'. "
        f"In this run the claim {verdict} (top-1: gd {top1['gd']:.2f}, encoder "
        f"{top1['encoder']:.2f}, hybrid {top1['hybrid']:.2f}).",
        _sampling_note(top1, int(by.loc["hybrid", "n_images"])),
        timing_note(timing_csv, unit="image"),
    ]
    write_table(
        table, csv_path, md_path, tex_path,
        title="Real faces: identification of reconstructions against a gallery", notes=notes,
    )  # fmt: skip
    return table


def write_table_2_17(
    *,
    summaries: Mapping[str, str | os.PathLike],
    own_summaries: Mapping[str, str | os.PathLike],
    generator_name: str,
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike,
    tex_path: str | os.PathLike,
    preset: str,
    alignment: str,
    hybrid_iterations: int,
    timing_csv: str | os.PathLike,
    own_timing_csv: str | os.PathLike,
) -> pd.DataFrame:
    """Encoder and hybrid of another face GAN (``generator_name``, e.g. ProGAN) on StyleGAN2
    faces, beside the same methods on that GAN's own test faces (``own_summaries``).

    ``timing_csv`` / ``own_timing_csv``: the methods' times on each set (time_face_inversions).
    """
    columns = [c for c in STYLEGAN2_COLUMNS if c != "targets"]
    style = read_summaries(summaries)
    style = apply_timing(style[[c for c in columns if c in style.columns]], timing_csv,
                         unit="image").assign(targets="StyleGAN2")  # fmt: skip
    own = read_summaries(own_summaries)
    if "facenet_cosine" in own.columns and "identity_cosine" not in own.columns:
        own["identity_cosine"] = 1.0 - own["facenet_cosine"]
    own = apply_timing(
        own[[c for c in columns if c in own.columns]], own_timing_csv, unit="image"
    ).assign(targets=f"{generator_name} (own test faces)")
    table = pd.concat([style, own], ignore_index=True)
    table = table[
        ["method", "targets", *[c for c in table.columns if c not in ("method", "targets")]]
    ]
    n_faces = int(style["n_images"].iloc[0])
    notes = [
        f"Preset: {preset}. {n_faces} StyleGAN2 faces ({alignment}) inverted with the encoder "
        f"trained on {generator_name} faces and with hybrid-{hybrid_iterations} (the "
        f"{generator_name} generator); the {generator_name} rows are the same methods on that "
        "GAN's own test faces.",
        generator_note(table),
        _evaluator_note(table),
        timing_note(timing_csv, unit="image") + " The own-test-face rows are timed the same way "
        "on those faces.",
    ]
    gaps = []
    for method in summaries:
        s = style.set_index("method").loc[method, "psnr_db"]
        p = own.set_index("method")["psnr_db"].get(method, np.nan)
        gaps.append(f"{method} {s:.2f} vs {p:.2f} dB")
    notes.append(
        "Thesis: projecting StyleGAN2 faces is less accurate than ProGAN faces, but the encoder's "
        f"prediction is a good starting point for the hybrid. PSNR here, StyleGAN2 vs "
        f"{generator_name}: " + "; ".join(gaps) + "."
    )
    write_table(
        table, csv_path, md_path, tex_path,
        title=(
            f"Figure 2.17: StyleGAN2 faces inverted with the {generator_name}-trained encoder "
            "and hybrid"
        ),
        notes=notes,
    )  # fmt: skip
    return table
