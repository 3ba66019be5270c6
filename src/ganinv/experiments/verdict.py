"""The verdict of a generator's judgement: one warning when it looks collapsed, a one-row CSV."""

from __future__ import annotations

import logging
import os

import pandas as pd

from ganinv.atomic import atomic_path

log = logging.getLogger("ganinv")


def record_verdict(
    *, row: dict, reasons: list[str], generator: str, out_csv: str | os.PathLike
) -> dict:
    """Add ``verdict`` to ``row`` ("ok", or "collapsed: " and the ``reasons``), warn once when
    collapsed, and write ``row`` as a one-row CSV; returns ``row``."""
    row["verdict"] = "collapsed: " + "; ".join(reasons) if reasons else "ok"
    if reasons:
        log.warning(
            "%s looks mode-collapsed: %s; its inversions say little", generator, "; ".join(reasons)
        )
    with atomic_path(out_csv) as tmp:
        pd.DataFrame([row]).to_csv(tmp, index=False)
    log.info("judgement of %s: %s", generator, row)
    return row
