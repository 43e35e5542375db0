"""Shared test helpers: where the real recordings live (skipping clearly without them), and
running the CLI as a user does."""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"  # small copies that ship with the repo (tests/data/README.md)
SHARED_DATA = REPO.parent / "shared" / "data"  # ../shared/data, beside the checkout


def real_recording(relative: str) -> Path:
    """Path of a real recording: tests/data/RELATIVE, else ../shared/data/RELATIVE, else skip
    the test saying what is missing. Both folders use the same relative paths."""
    for folder in (TEST_DATA, SHARED_DATA):
        path = folder / relative
        if path.exists():
            return path
    pytest.skip(f"real recording missing: {relative} is neither in {TEST_DATA} nor in {SHARED_DATA}")


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of an hrvcoach child process: its own data folder and no display."""
    env = {**os.environ, "HRVCOACH_HOME": str(home), **extra}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def run_cli(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m hrvcoach ARGS` in a child process with its own data folder and no display."""
    return subprocess.run([sys.executable, "-m", "hrvcoach", *args], capture_output=True, text=True,
                          env=cli_env(home, QT_QPA_PLATFORM="offscreen"), timeout=timeout,
                          check=False)


def recorded(home: Path) -> list[dict[str, str]]:
    """The rows of the one recording in HRVCOACH_HOME/recordings."""
    (path,) = (home / "recordings").glob("*.csv")
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


@contextlib.contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    """os.environ[name] = value while inside (this process and the children it starts)."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
