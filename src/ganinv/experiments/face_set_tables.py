"""The real-face table (identification of reconstructions) and Figure 2.17's table (another GAN).

Numbers come from the run's metric summaries; the notes state the thesis's claim and whether this
run supports it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

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
    *,
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
        table, csv_path=csv_path, md_path=md_path, tex_path=tex_path,
        title="Real faces: identification of reconstructions against a gallery", notes=notes,
    )  # fmt: skip
    return table


def _alignment_count(manifest: str | os.PathLike | None) -> str:
    """How many of a face set's faces MTCNN aligned, from its manifest (empty: no manifest)."""
    if manifest is None:
        return ""
    rows = pd.read_csv(manifest)
    if not rows["alignment"].eq("mtcnn").any():
        return ""
    found = int(rows["detected"].sum())
    if found == len(rows):
        return f"; MTCNN aligned all {found}"
    return (
        f"; MTCNN found a face in {found} of {len(rows)} (the others were inverted as drawn, "
        "not aligned)"
    )


def _own_rows(own: Mapping[str, Mapping], columns: list[str]) -> list[pd.DataFrame]:
    """Each inverting GAN's methods on its own test faces (the reference rows)."""
    frames = []
    for name, files in own.items():
        rows = read_summaries(files["summaries"])
        if "facenet_cosine" in rows.columns and "identity_cosine" not in rows.columns:
            rows["identity_cosine"] = 1.0 - rows["facenet_cosine"]
        rows = apply_timing(rows[[c for c in columns if c in rows.columns]], files["timing"],
                            unit="image")  # fmt: skip
        frames.append(rows.assign(targets=f"{name} (own test faces)", inverted_with=name))
    return frames


def write_table_2_17(
    *,
    directions: Sequence[Mapping],
    own: Mapping[str, Mapping],
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike,
    tex_path: str | os.PathLike,
    preset: str,
    alignment: str,
    hybrid_iterations: int,
) -> pd.DataFrame:
    """Encoder and hybrid of one face GAN on another GAN's faces, beside the same methods on
    the inverting GAN's own test faces.

    ``directions``: one mapping per direction with ``faces`` (the drawing GAN's name, e.g.
    StyleGAN2), ``generator`` (the inverting GAN's, e.g. ProGAN), ``summaries`` (method ->
    metric summary CSV) and ``timing`` (time_face_inversions CSV); optional ``faces_generator``
    (how the drawing GAN came to be, for the notes). ``own``: inverting GAN name
    -> {``summaries``, ``timing``} of its own test faces. A direction's optional ``manifest``
    (its face set's alignment manifest) gives the notes the share MTCNN aligned.
    """
    if not directions:
        raise UserError("Figure 2.17's table needs at least one direction [faces, generator]")
    columns = [c for c in STYLEGAN2_COLUMNS if c != "targets"]
    frames, gaps, lines = [], [], []
    own_frames = {f["inverted_with"].iloc[0]: f for f in _own_rows(own, columns)}
    for spec in directions:
        rows = read_summaries(spec["summaries"])
        rows = apply_timing(rows[[c for c in columns if c in rows.columns]], spec["timing"],
                            unit="image")  # fmt: skip
        frames.append(
            rows.assign(targets=f"{spec['faces']} faces", inverted_with=spec["generator"])
        )
        reference = own_frames.get(spec["generator"])
        pairs = []
        for method in spec["summaries"]:
            s = rows.set_index("method").loc[method, "psnr_db"]
            p = np.nan
            if reference is not None:
                p = reference.set_index("method")["psnr_db"].get(method, np.nan)
            pairs.append(f"{method} {s:.2f} vs {p:.2f} dB")
        gaps.append(f"{spec['faces']} faces vs {spec['generator']}'s own: " + "; ".join(pairs))
        drawn_by = f", drawn by {spec['faces_generator']}" if spec.get("faces_generator") else ""
        lines.append(
            f"{int(rows['n_images'].iloc[0])} {spec['faces']} faces{drawn_by}, inverted with the "
            f"encoder trained on {spec['generator']} faces and with hybrid-{hybrid_iterations} "
            f"(the {spec['generator']} generator)" + _alignment_count(spec.get("manifest"))
        )
    table = pd.concat([*frames, *own_frames.values()], ignore_index=True)
    first = ["method", "targets", "inverted_with"]
    table = table[[*first, *[c for c in table.columns if c not in first]]]
    notes = [
        f"Preset: {preset}. " + "; ".join(lines) + f" ({alignment}). The own-test-face rows are "
        "the same methods on the inverting GAN's own test faces.",
        generator_note(table),
        _evaluator_note(table),
        timing_note(directions[0]["timing"], unit="image") + " Every row is timed the same way "
        "on its own faces.",
        "Thesis: projecting another GAN's faces (StyleGAN2's) is less accurate than the GAN's "
        "own (ProGAN's), but the encoder's prediction is a good starting point for the hybrid. "
        "PSNR here: " + " | ".join(gaps) + ".",
    ]
    title = "Figure 2.17: " + "; ".join(
        f"{spec['faces']} faces inverted with the {spec['generator']}-trained encoder"
        for spec in directions
    )
    write_table(table, csv_path=csv_path, md_path=md_path, tex_path=tex_path,
                title=title + " and hybrid", notes=notes)  # fmt: skip
    return table
