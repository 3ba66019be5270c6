"""Progress bars that end up in the rule's log file as whole lines (tqdm through logging)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


class _LogStream(io.StringIO):
    """A file-like object that forwards each tqdm refresh to a logger as one line."""

    def __init__(self, logger: logging.Logger):
        super().__init__()
        self.logger = logger

    def write(self, text: str) -> int:
        text = text.strip("\r\n ")
        if text:
            self.logger.info(text)
        return len(text)

    def flush(self) -> None:  # noqa: D102 - nothing buffered
        pass


def progress(
    iterable: Iterable[T] | None = None,
    total: int | None = None,
    desc: str = "",
    logger: logging.Logger | None = None,
    mininterval: float = 15.0,
    initial: int = 0,
) -> tqdm:
    """A tqdm bar whose refreshes go to ``logger`` (default: the ``ganinv`` logger)."""
    stream = _LogStream(logger or logging.getLogger("ganinv"))
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        file=stream,
        mininterval=mininterval,
        ascii=True,
        dynamic_ncols=False,
        ncols=100,
        initial=initial,
    )


def iterate(iterable: Iterable[T], **kwargs) -> Iterator[T]:
    """Iterate with a logged progress bar."""
    yield from progress(iterable, **kwargs)
