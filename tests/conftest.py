"""Shared test fixtures.

Tests that use the real exports and benchmarks in ``../shared`` (beside the repository) take
the ``shared_dir`` fixture: they skip with a clear reason on a fresh clone elsewhere and run
in CI, where ``../shared`` is present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = Path(os.environ.get("EVREVIEW_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (or $EVREVIEW_SHARED); skips the test when it is absent."""
    if not (SHARED / "fixtures" / "exports" / "MANIFEST.csv").exists():
        pytest.skip(f"shared data not found at {SHARED} (fresh clone without ../shared)")
    return SHARED


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The repository's own small test fixtures."""
    return FIXTURES
