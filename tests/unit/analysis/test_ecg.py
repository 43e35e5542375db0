"""hrvcoach's R-peak detector (analysis.ecg.r_peaks) on mitdb 100's first minute: against the
cardiologist's beat labels and beside neurokit2's detector, at the recording's 360 Hz and at the
Polar H10's 130 Hz."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from hrvcoach.analysis.ecg import r_peaks
from tests.helpers import mitdb_ecg_60s, real_recording


def annotated_s(seconds: float) -> np.ndarray:
    with real_recording("mitdb_100/100_annotations.csv").open() as rows:
        return np.array([float(row["time_s"]) for row in csv.DictReader(rows)
                         if row["symbol"] in "NLRAVj" and float(row["time_s"]) < seconds])


def at_rate(rate_hz: int) -> tuple[np.ndarray, float]:
    """The minute in µV at `rate_hz` (resampled from 360 Hz when lower)."""
    from scipy.signal import resample_poly

    mv, native = mitdb_ecg_60s()
    uv = np.asarray(mv) * 1000.0
    if rate_hz != native:
        uv = resample_poly(uv, rate_hz, native)
    return uv, float(rate_hz)


@pytest.mark.parametrize("rate_hz", [360, 130])
def test_every_annotated_beat_is_found_within_one_sample_or_the_labels_own_scatter(rate_hz):
    uv, rate = at_rate(rate_hz)
    found_s = r_peaks(uv, rate) / rate
    truth_s = annotated_s(len(uv) / rate - 0.3)  # a beat in the last 0.3 s may be cut
    nearest = np.array([np.min(np.abs(found_s - t)) for t in truth_s])
    assert len(truth_s) == 74
    # MIT-BIH labels sit on the R wave's peak give or take ~4 ms (1.6 samples at 360 Hz)
    assert np.all(nearest <= max(1.0 / rate, 0.005)), np.sort(nearest)[-3:]
    assert len(found_s) == len(truth_s)  # nothing extra
    assert np.median(nearest) < 0.0025


@pytest.mark.parametrize("rate_hz", [360, 130])
def test_neurokit2_finds_the_same_beats(rate_hz):
    nk = pytest.importorskip("neurokit2")
    uv, rate = at_rate(rate_hz)
    mine_s = r_peaks(uv, rate) / rate
    _, info = nk.ecg_peaks(nk.ecg_clean(uv, sampling_rate=rate), sampling_rate=rate)
    theirs_s = np.asarray(info["ECG_R_Peaks"], dtype=float) / rate
    close = [np.min(np.abs(mine_s - t)) <= 2.0 / rate for t in theirs_s]
    assert len(theirs_s) >= 72 and all(close)  # every beat neurokit2 finds, we find
    assert len(mine_s) >= len(theirs_s)  # and its missed first beat (0.21 s in) too
