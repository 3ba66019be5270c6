"""Tests of the CSV / Markdown / LaTeX table writer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ganinv.tables import MISSING, write_table

TITLE = "Table 2.3: inversion of 50 fake faces"
NOTES = ("FID from 50 images is degenerate (singular covariance).", "Times: 2 CPU cores.")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "psnr_db": [24.123456789, 22.5, np.nan],
            "fid": [110.25, 150.875, 130.0],
            "time_s": [12.3, 0.05, 300.0],
            "n_images": [50, 50, 50],
        },
        index=pd.Index(["encoder", "optimization", "hybrid"], name="method"),
    )


def _reference() -> pd.DataFrame:
    return pd.DataFrame(
        {"psnr_db": [25.75, 23.125, 26.5], "fid": [100.5, 120.0, 90.25]},
        index=pd.Index(["encoder", "optimization", "hybrid"], name="method"),
    )


def _write(tmp_path, frame, **kwargs):
    paths = [tmp_path / "out" / f"table.{ext}" for ext in ("csv", "md", "tex")]
    csv_path, md_path, tex_path = paths
    write_table(frame, csv_path=csv_path, md_path=md_path, tex_path=tex_path,
                **{"title": TITLE, "notes": NOTES, **kwargs})  # fmt: skip
    return paths


def test_csv_round_trips_at_full_precision(tmp_path):
    frame = _frame()
    csv, _, _ = _write(tmp_path, frame, reference=_reference())
    back = pd.read_csv(csv, index_col="method")
    pd.testing.assert_frame_equal(back, frame)
    assert back.loc["encoder", "psnr_db"] == 24.123456789
    assert "thesis" not in csv.read_text()


def test_csv_has_no_index_column_for_a_default_index(tmp_path):
    frame = _frame().reset_index()
    csv, md, _ = _write(tmp_path, frame)
    assert csv.read_text().splitlines()[0] == "method,psnr_db,fid,time_s,n_images"
    pd.testing.assert_frame_equal(pd.read_csv(csv), frame, check_dtype=False)
    assert "| method " in md.read_text()


def test_markdown_layout(tmp_path):
    _, md, _ = _write(tmp_path, _frame(), reference=_reference())
    text = md.read_text()
    lines = text.splitlines()
    assert lines[0] == f"**{TITLE}**" and not text.startswith("#")
    header = [h.strip() for h in lines[2].strip("|").split("|")]
    assert header == [
        "method", "psnr_db", "psnr_db (thesis)", "fid", "fid (thesis)", "time_s", "n_images",
    ]  # fmt: skip
    assert lines[3].startswith("|:") and lines[3].endswith(":|")  # text left, numbers right
    encoder = [c.strip() for c in lines[4].strip("|").split("|")]
    assert encoder == ["encoder", "24.123", "25.750", "110.250", "100.500", "12.300", "50"]
    hybrid = [c.strip() for c in lines[6].strip("|").split("|")]
    assert hybrid[1] == MISSING == "–" and hybrid[2] == "26.500"
    assert "nan" not in text.lower()
    for note in NOTES:
        assert f"- {note}" in text


def test_float_format_per_column_and_missing_reference_values(tmp_path):
    reference = _reference().drop(index="hybrid")
    reference["ssim"] = [0.9, 0.8]
    _, md, tex = _write(tmp_path, _frame(), reference=reference, float_format={"psnr_db": "{:.2f}"})
    text = md.read_text()
    assert "24.12" in text and "25.75" in text and "110.250" in text
    header = [h.strip() for h in text.splitlines()[2].strip("|").split("|")]
    assert header[-1] == "ssim (thesis)"
    hybrid = [c.strip() for c in text.splitlines()[6].strip("|").split("|")]
    assert hybrid[0] == "hybrid" and hybrid[2] == "–" and hybrid[-1] == "–"
    assert r"ssim (thesis)" in tex.read_text()


def test_reference_rows_missing_from_the_frame_are_appended(tmp_path):
    reference = pd.concat(
        [_reference(), pd.DataFrame({"psnr_db": [20.0]}, index=pd.Index(["bigan"]))]
    )
    _, md, _ = _write(tmp_path, _frame(), reference=reference)
    last = [c.strip() for c in md.read_text().split("\n\n")[1].splitlines()[-1].split("|")[1:-1]]
    assert last[:3] == ["bigan", "–", "20.000"] and last[-1] == "–"


def test_latex(tmp_path):
    _, _, tex = _write(tmp_path, _frame(), reference=_reference(), label="tab:inversion")
    text = tex.read_text()
    assert text.startswith(r"\begin{table}") and text.rstrip().endswith(r"\end{table}")
    assert rf"\caption{{{TITLE}}}" in text and r"\label{tab:inversion}" in text
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert rule in text
    assert r"\begin{tabular}{lrrrrrrr}" not in text and r"\begin{tabular}{lrrrrrr}" in text
    assert r"psnr\_db (thesis)" in text
    assert r"hybrid & – & 26.500 & 130.000 & 90.250 & 300.000 & 50 \\" in text
    assert r"\footnotesize" in text
    assert "FID from 50 images is degenerate (singular covariance)." in text
    assert "nan" not in text.lower()


def test_latex_escapes_special_characters(tmp_path):
    frame = pd.DataFrame({"a_b": [1.0], "100%": ["x&y"]}, index=pd.Index(["#1"], name="k"))
    _, _, tex = _write(tmp_path, frame, title="50% of $x_i$", notes=["a ~ b {c}"])
    text = tex.read_text()
    assert r"\caption{50\% of \$x\_i\$}" in text
    assert r"k & a\_b & 100\% \\" in text and r"\#1 & 1.000 & x\&y \\" in text
    assert r"a \textasciitilde{} b \{c\}" in text


def test_only_the_three_files_are_left(tmp_path):
    paths = _write(tmp_path, _frame(), reference=_reference())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)


def test_nothing_is_written_when_rendering_fails(tmp_path):
    unrelated = pd.DataFrame({"psnr_db": [1.0]}, index=pd.Index(["other"]))
    with pytest.raises(ValueError, match="no row label"):
        _write(tmp_path, _frame(), reference=unrelated)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
