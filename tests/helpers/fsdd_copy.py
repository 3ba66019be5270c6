"""The local copy of the FSDD archive's recordings/ folder, next to the project (see
../shared/data/README.md), and the mark that skips the tests that read it when it is absent."""

from __future__ import annotations

import pytest

from ganinv.data.fsdd import URL
from tests.helpers.paths import REPO

LOCAL_COPY = REPO.parent / "shared" / "data" / "fsdd" / "recordings"
needs_copy = pytest.mark.skipif(
    not LOCAL_COPY.is_dir(),
    reason="no local FSDD copy at ../shared/data/fsdd/recordings (the recordings/ folder of "
    f"{URL}, unpacked)",
)
