"""The project folder the tests read files from (the copies in ../shared sit beside it)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
