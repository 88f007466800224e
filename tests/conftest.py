"""Shared test helpers: where the real data lives, and skipping cleanly without it."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_data(relative: str = "") -> Path:
    """Path into ../shared/data; skips the calling test when the folder is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real test data not present: {path} (../shared/data beside the repo)")
    return path


@pytest.fixture
def shared() -> Path:
    return shared_data()
