"""Shared test helpers: where the real recordings live (skipping clearly without them), and
running the CLI as a user does."""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

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


def assert_refused(result: subprocess.CompletedProcess[str], *messages: str) -> None:
    """Exit 2 with one error line holding every message, and no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "error" in line]
    for message in messages:
        assert message in line


def pacer_part_changes(pacer: Any, end_s: float, *, start_s: float = 0.0,
                       step_s: float = 0.02) -> list[tuple[float, str | None]]:
    """(time, part) of every change of a pacer's breath part after start_s, found from its
    state alone (sampled, then bisected to a microsecond): the truth that its
    `changes_between` and the sound's cues are checked against."""
    import numpy as np

    times = np.arange(start_s, end_s, step_s)
    parts = [pacer.state_at(t).part for t in times]
    found = []
    for i in range(1, len(times)):
        if parts[i] == parts[i - 1]:
            continue
        lo, hi = times[i - 1], times[i]
        while hi - lo > 1e-6:
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if pacer.state_at(mid).part == parts[i - 1] else (lo, mid)
        found.append((float(hi), parts[i]))
    return found


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


def write_ecg_edf(path: Path, ecg_mv: Sequence[float], sampling_rate_hz: int, *,
                  label: str = "ECG MLII", bdf: bool = False) -> Path:
    """An EDF+ (or BDF+) file with one ECG channel in mV, as a Holter export has it."""
    import numpy as np
    import pyedflib

    signal = np.asarray(ecg_mv, dtype=np.float64)
    kind = pyedflib.FILETYPE_BDFPLUS if bdf else pyedflib.FILETYPE_EDFPLUS
    writer = pyedflib.EdfWriter(str(path), 1, file_type=kind)
    try:
        writer.setSignalHeader(0, {
            "label": label, "dimension": "mV", "sample_frequency": sampling_rate_hz,
            "physical_min": -10.0, "physical_max": 10.0,
            "digital_min": -8_388_608 if bdf else -32_768,
            "digital_max": 8_388_607 if bdf else 32_767})
        writer.writeSamples([signal])
    finally:
        writer.close()
    return path


def mitdb_ecg_60s() -> tuple[list[float], int]:
    """The first 60 s of mitdb record 100's MLII lead (mV) and its sampling rate."""
    path = real_recording("mitdb_100/100_ecg_first60s_mlii_360hz.csv")
    return [float(line) for line in path.read_text().split()[1:]], 360
