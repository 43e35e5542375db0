"""Shared test helpers: where the real recordings live (skipping clearly without them), and
running the CLI as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
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
