"""The verdict of a generator's judgement: one warning when it looks collapsed or cannot be
judged, a one-row CSV."""

from __future__ import annotations

import logging
import os

import pandas as pd

from ganinv.atomic import atomic_path

log = logging.getLogger("ganinv")


def record_verdict(
    *,
    row: dict,
    reasons: list[str],
    generator: str,
    out_csv: str | os.PathLike,
    unjudged: str | None = None,
) -> dict:
    """Add ``verdict`` to ``row`` and write ``row`` as a one-row CSV; returns ``row``.

    The verdict is "collapsed: " and the ``reasons`` (one warning), else "not judged: " and
    ``unjudged`` when no floor could be applied (one warning: "ok" would claim a check that did
    not run), else "ok"."""
    if reasons:
        row["verdict"] = "collapsed: " + "; ".join(reasons)
        log.warning(
            "%s looks mode-collapsed: %s; its inversions say little", generator, "; ".join(reasons)
        )
    elif unjudged:
        row["verdict"] = "not judged: " + unjudged
        log.warning(
            "%s cannot be judged: %s; its inversions are read without knowing whether it "
            "collapsed", generator, unjudged,
        )  # fmt: skip
    else:
        row["verdict"] = "ok"
    with atomic_path(out_csv) as tmp:
        pd.DataFrame([row]).to_csv(tmp, index=False)
    log.info("judgement of %s: %s", generator, row)
    return row
