"""Shared test helpers: where the real recordings live, and skipping clearly without them."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"  # ../shared/data, beside the checkout


def shared_recording(relative: str) -> Path:
    """Path of a real recording under ../shared/data, or skip the test saying what is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"real recording missing: {path} (needs ../shared/data beside the checkout)")
    return path
