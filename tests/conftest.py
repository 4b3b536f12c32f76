"""Shared test fixtures: where ../shared is, and skipping cleanly without it."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CASES = SHARED / "cases"
REAL = SHARED / "data" / "real"
TEST_KEY = bytes(range(32))  # a fixed case key for tests: pseudonyms are reproducible


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the test with a message when it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is absent: this test reads ../shared beside the clone")
    return p


@pytest.fixture
def case_dir():
    """``case_dir("001-fallback-hour")`` -> Path, skipping when ../shared is absent."""
    return lambda name: shared_path("cases", name)


@pytest.fixture
def test_key():
    from labforensics.privacy import CaseKey

    return CaseKey(TEST_KEY)
