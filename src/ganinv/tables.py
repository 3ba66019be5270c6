"""Result tables in three forms: CSV (the data), Markdown and LaTeX (for reading and the thesis).

:func:`write_table` writes one ``pandas.DataFrame`` to all three, each atomically.

- CSV is exactly the frame at full precision (pandas writes the shortest round-tripping
  representation of each float). The index is written only when it is meaningful, i.e. not
  the default unnamed ``RangeIndex`` 0..n-1.
- Markdown is a bold title line, a pipe table (``DataFrame.to_markdown``, i.e. tabulate) and
  the notes as a bullet list.
- LaTeX is a ``table`` float with the title as caption, a booktabs ``tabular``
  (``Styler.to_latex``) and the notes as a footnote-size paragraph under it.

Published numbers (``reference``, e.g. the thesis's table) are shown *interleaved*: each
column of the frame that the reference also has is followed by ``"<column> (thesis)"``, so
the reproduced and published values sit side by side in each row. Reference columns the
frame lacks come last, also suffixed; reference rows the frame lacks are appended (with "–"
for the reproduction). Rows are matched by index label.

Display rules (Markdown and LaTeX only): missing values (NaN, None, pd.NA) show as "–";
floats use ``float_format`` (one format string, or a mapping column -> format string with
"{:.3f}" for unlisted columns); integers print as integers; numeric columns are right
aligned, others left aligned. LaTeX special characters in the title, headers, cells and
notes are escaped, so notes are plain text, not LaTeX.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ganinv.atomic import atomic_path, write_text_atomic
from ganinv.runtime import UserError

__all__ = ["write_table", "MISSING", "REFERENCE_SUFFIX"]

MISSING = "–"  # en dash, U+2013 (LaTeX >= 2018 reads UTF-8 input by default)
REFERENCE_SUFFIX = " (thesis)"
DEFAULT_FLOAT_FORMAT = "{:.3f}"

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _has_meaningful_index(frame: pd.DataFrame) -> bool:
    index = frame.index
    default = (
        isinstance(index, pd.RangeIndex)
        and index.name is None
        and index.start == 0
        and index.step == 1
    )
    return not default


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    return False


def _format_cell(value: object, fmt: str, integer_column: bool) -> str:
    if _is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if integer_column and math.isfinite(value) and float(value).is_integer():
            return str(int(value))  # an int column turned float by alignment NaNs
        return fmt.format(float(value))
    return str(value)


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    )


def _display_columns(
    frame: pd.DataFrame,
    reference: pd.DataFrame | None,
    float_format: str | Mapping[str, str],
) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, rows of cell strings and a right-align flag per column, ready to render."""

    def fmt_for(column: object) -> str:
        if isinstance(float_format, str):
            return float_format
        return float_format.get(str(column), DEFAULT_FLOAT_FORMAT)

    rows = frame.index
    if reference is not None:
        if not frame.index.is_unique or not reference.index.is_unique:
            raise ValueError("frame and reference need unique row labels to be aligned")
        if not frame.index.intersection(reference.index).size and len(reference):
            raise ValueError(
                "reference shares no row label with the frame: set the same index on both "
                f"(frame: {list(frame.index)}, reference: {list(reference.index)})"
            )
        rows = frame.index.append(reference.index.difference(frame.index, sort=False))

    headers: list[str] = []
    columns: list[list[str]] = []
    right: list[bool] = []

    if _has_meaningful_index(frame):
        for level in range(rows.nlevels):
            name = rows.names[level]
            headers.append("" if name is None else str(name))
            columns.append([str(v) for v in rows.get_level_values(level)])
            right.append(False)

    def add(header: str, source: pd.Series, fmt: str) -> None:
        integer = pd.api.types.is_integer_dtype(source.dtype)
        aligned = source.reindex(rows)
        headers.append(header)
        columns.append([_format_cell(v, fmt, integer) for v in aligned.tolist()])
        right.append(_is_numeric(source))

    shared = set(reference.columns) if reference is not None else set()
    for column in frame.columns:
        add(str(column), frame[column], fmt_for(column))
        if column in shared:
            add(f"{column}{REFERENCE_SUFFIX}", reference[column], fmt_for(column))
    if reference is not None:
        for column in reference.columns:
            if column not in frame.columns:
                add(f"{column}{REFERENCE_SUFFIX}", reference[column], fmt_for(column))

    body = [list(cells) for cells in zip(*columns, strict=True)] if columns else []
    return headers, body, right


def _markdown(
    title: str, headers: list[str], body: list[list[str]], right: list[bool], notes: Sequence[str]
) -> str:
    def cell(text: str) -> str:
        return text.replace("|", r"\|")

    table = pd.DataFrame(
        [[cell(c) for c in row] for row in body], columns=[cell(h) for h in headers], dtype=object
    ).to_markdown(
        index=False,
        disable_numparse=True,  # keep our formatted strings ("1.500") as they are
        colalign=["right" if r else "left" for r in right],
    )
    parts = [f"**{title}**", "", table]
    if notes:
        parts += ["", *[f"- {note}" for note in notes]]
    return "\n".join(parts) + "\n"


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex(
    title: str,
    headers: list[str],
    body: list[list[str]],
    right: list[bool],
    notes: Sequence[str],
    label: str | None,
) -> str:
    shown = pd.DataFrame(
        [[_latex_escape(c) for c in row] for row in body],
        columns=pd.Index([_latex_escape(h) for h in headers], dtype=object),
        dtype=object,
    )
    tabular = shown.style.hide(axis="index").to_latex(
        hrules=True, column_format="".join("r" if r else "l" for r in right)
    )
    lines = [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{_latex_escape(title)}}}"]
    if label:
        lines.append(rf"\label{{{label}}}")
    lines.append(tabular.rstrip("\n"))
    if notes:
        lines += [r"\par\smallskip", r"{\footnotesize\raggedright"]
        lines += [f"{_latex_escape(note)}\\par" for note in notes]
        lines.append("}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_table(
    frame: pd.DataFrame,
    *,
    csv_path: str | os.PathLike,
    md_path: str | os.PathLike,
    tex_path: str | os.PathLike,
    title: str,
    notes: Sequence[str] = (),
    reference: pd.DataFrame | None = None,
    float_format: str | Mapping[str, str] = DEFAULT_FLOAT_FORMAT,
    label: str | None = None,
) -> None:
    """Write ``frame`` as CSV (data), Markdown and LaTeX (display); see the module docstring.

    ``reference``: published numbers with the same row labels (index) as ``frame``; shown
    interleaved as ``"<column> (thesis)"`` in Markdown and LaTeX, never in the CSV.
    ``float_format``: a ``str.format`` pattern for floats, or a mapping column -> pattern.
    ``label``: optional LaTeX ``\\label``. All text is rendered before anything is written;
    each file is then written under a temporary name and renamed.
    """
    if isinstance(notes, str):
        notes = (notes,)
    headers, body, right = _display_columns(frame, reference, float_format)
    markdown = _markdown(title, headers, body, right, notes)
    latex = _latex(title, headers, body, right, notes, label)
    with atomic_path(csv_path) as tmp:
        frame.to_csv(tmp, index=_has_meaningful_index(frame))
    write_text_atomic(md_path, markdown)
    write_text_atomic(tex_path, latex)


def read_summaries(summaries: Mapping[str, str | os.PathLike]) -> pd.DataFrame:
    """One row per key from one-row summary CSVs; the key becomes the ``method`` column."""
    rows = []
    for method, path in summaries.items():
        frame = pd.read_csv(path)
        if len(frame) != 1:
            raise UserError(f"{path}: expected one summary row, found {len(frame)}")
        row = frame.iloc[0].to_dict()
        row["method"] = method
        rows.append(row)
    return pd.DataFrame(rows)
