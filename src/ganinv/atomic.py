"""Atomic file writes: write under a temporary name in the same folder, then rename.

A killed writer leaves at most a ``.tmp-*`` file behind, never a truncated file under its
final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ganinv.runtime import UserError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    The temporary name keeps the final suffix (libraries such as PIL pick the format from it).
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".tmp-{final.stem}-",
            suffix=suffix if suffix is not None else final.suffix,
            dir=final.parent,
        )
    except PermissionError as exc:
        raise UserError(
            f"cannot write {final}: {exc.strerror} in '{exc.filename or final.parent}'; "
            "make that folder writable for this user"
        ) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates the file owner-only (0600); give it the permissions of a normal file.
        umask = os.umask(0)
        os.umask(umask)
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
