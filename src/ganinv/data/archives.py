"""Safe unpacking of downloaded dataset archives (FSDD, CelebA, LFW)."""

from __future__ import annotations

import contextlib
import tarfile
from collections.abc import Iterator

__all__ = ["safe_extraction"]


@contextlib.contextmanager
def safe_extraction() -> Iterator[None]:
    """Unpack tar archives with the standard library's "data" filter (no links out, no devices).

    Applies to every ``tarfile`` extraction inside the block, including those that torchvision's
    download helpers run.
    """
    if not hasattr(tarfile, "data_filter"):  # Python without PEP 706
        yield
        return
    previous = tarfile.TarFile.extraction_filter
    tarfile.TarFile.extraction_filter = staticmethod(tarfile.data_filter)
    try:
        yield
    finally:
        tarfile.TarFile.extraction_filter = previous
