"""A folder made unwritable for the duration of a test (a read-only mount, for root)."""

from __future__ import annotations

import contextlib
import os
import subprocess

import pytest


@contextlib.contextmanager
def unwritable(folder):
    """Make ``folder`` unwritable for this user: chmod for a normal user; root ignores modes, so
    for root the folder is made immutable (chattr +i, as a read-only mount would)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("as root, chattr +i is needed to make a folder unwritable; it failed here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
