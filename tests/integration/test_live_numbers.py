"""What the coach shows live agrees with what it stores: a demo with artifacts, its headless
lines, live baseline and summary against the stored session corrected as `compare` does; a
rhythm that is not sinus-like is reported not valid by replay, headless and compare."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from hrvcoach.analysis import time_markers
from hrvcoach.history.phases import session_phase_data
from hrvcoach.store import Store
from tests.helpers import real_recording, run_cli

LINE = re.compile(r"^(\d\d):(\d\d)  HR +[\d.—]+ bpm  RMSSD +([\d.]+) ms")
SUMMARY = re.compile(r"RMSSD end of first phase ([\d.]+) ms → last 60 s ([\d.]+) ms")


def stored_corrected(home, session_id: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The session's beats corrected as compare corrects them: (rr_ms, time_s, skip)."""
    with Store.open(home) as store:
        phases = session_phase_data(store, session_id).phases
    rr = np.concatenate([p.rr_ms for p in phases])
    time_s = np.concatenate([p.time_s for p in phases])
    skip = np.concatenate([p.after_gap for p in phases])
    return rr, time_s, skip


def rmssd_between(rr, time_s, skip, start_s: float, end_s: float) -> float:
    inside = (time_s > start_s) & (time_s <= end_s + 1e-6)
    part_skip = skip[inside].copy()
    if part_skip.size:
        part_skip[0] = False
    return time_markers(rr[inside], part_skip).rmssd_ms


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_demo_with_artifacts_shows_live_what_compare_stores(tmp_path, seed):
    # at 100x: the simulated beats follow the clock, and at 300x a busy machine's stalls
    # (10 ms = 3 s) changed them, once leaving a premature beat still under its threshold as
    # the newest beat of a printed line (shown until the next beat reveals it)
    result = run_cli("demo", "--headless", "--speed", "100", "--sim-artifacts", "4",
                     "--seed", str(seed), home=tmp_path)
    assert result.returncode == 0, result.stderr
    rr, time_s, skip = stored_corrected(tmp_path)
    start = float(time_s[0] - rr[0] / 1000.0)
    whole = time_markers(rr, skip).rmssd_ms
    lines = [(int(m[1]) * 60 + int(m[2]), float(m[3]))
             for m in map(LINE.match, result.stdout.splitlines()) if m]
    assert len(lines) >= 25
    for t_s, shown in lines:
        assert shown < 2.0 * whole, (t_s, shown, whole)  # never the 429 ms
        if t_s - start < 60.0:
            continue  # a window not yet full: its own (shorter) beats
        truth = rmssd_between(rr, time_s, skip, t_s - 60.0, t_s + 0.999)
        assert shown == pytest.approx(truth, rel=0.15), (t_s, shown, truth)
    first, last = map(float, SUMMARY.search(result.stdout).groups())  # type: ignore[union-attr]
    compared = json.loads(run_cli("compare", "1", "--json", home=tmp_path).stdout)
    assert first == pytest.approx(compared["markers"]["rmssd_ms"]["before"], rel=0.15)
    end_s = float(time_s[-1])
    assert last == pytest.approx(rmssd_between(rr, time_s, skip, end_s - 60.0, end_s), rel=0.15)


def test_a_pvc_recording_is_not_valid_in_replay_and_compare(tmp_path):
    path = real_recording("polar_h10_pvc_10min/polar_h10_device_rr.csv")
    result = run_cli("replay", str(path), "--column", "rr_ms", "--headless", "--speed", "200",
                     "--duration", "240", home=tmp_path)
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stdout.splitlines() if "✗" in line]
    assert said and "irregular rhythm" in said[0] and "HRV not valid" in said[0]
    shown = [m for m in map(LINE.match, result.stdout.splitlines()) if m]
    assert not shown or all(float(m[3]) < 150 for m in shown)  # no "411 ms" as if it were fine
    compared = run_cli("compare", "1", "--before", "1", "--after", "1", "--json", home=tmp_path)
    report = json.loads(compared.stdout)
    assert report["before"]["hrv_valid"] is False
    assert any("premature" in reason for reason in report["before"]["not_valid_because"])
    assert report["markers"]["rmssd_ms"]["before"] is None
    assert "not valid" in report["marker_verdicts"]["rmssd_ms"]


def test_a_file_of_r_peak_sample_indices_is_not_valid_in_analyze(tmp_path):
    peaks = np.cumsum(np.full(300, 250.0) + 20 * np.sin(np.arange(300)))  # samples at 250 Hz
    path = tmp_path / "rpeaks.txt"
    path.write_text("\n".join(f"{int(p)}" for p in peaks) + "\n")
    result = run_cli("analyze", str(path), "--json", home=tmp_path)
    report = json.loads(result.stdout)
    assert report["quality"]["valid"] is False
    assert any("increas" in reason or "R-peak" in reason for reason in report["quality"]["reasons"])
    assert math.isfinite(report["n_beats"])
