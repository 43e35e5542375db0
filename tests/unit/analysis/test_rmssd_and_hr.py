"""RMSSD and HR: against a direct numpy computation, neurokit2 and the shared reference table."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from hrvcoach.analysis import LiveMarkers, mean_hr_bpm, rmssd_ms, successive_differences_ms
from hrvcoach.core.beats import Beat
from hrvcoach.files.rr_files import read_rr_file
from tests.helpers import real_recording


@pytest.fixture
def breathing_rr_ms() -> np.ndarray:
    return read_rr_file(real_recording("polar_h10_breathing_10min/rr.csv")).rr_ms


def direct_rmssd(rr: np.ndarray) -> float:
    return math.sqrt(sum((b - a) ** 2 for a, b in itertools.pairwise(rr)) / (len(rr) - 1))


def test_rmssd_equals_a_direct_computation(breathing_rr_ms):
    assert rmssd_ms(breathing_rr_ms) == pytest.approx(direct_rmssd(breathing_rr_ms), rel=1e-12)


def test_rmssd_matches_neurokit2_on_a_polar_h10_recording(breathing_rr_ms):
    nk = pytest.importorskip("neurokit2")
    rri = {"RRI": breathing_rr_ms, "RRI_Time": np.cumsum(breathing_rr_ms) / 1000.0}
    expected = float(nk.hrv_time(rri)["HRV_RMSSD"].iloc[0])
    assert rmssd_ms(breathing_rr_ms) == pytest.approx(expected, rel=1e-9)
    assert rmssd_ms(breathing_rr_ms) == pytest.approx(37.361, abs=5e-4)  # shared reference table


@pytest.mark.parametrize(
    ("relative", "rmssd", "hr"),
    [
        ("pyhrv_samples/nsrdb_nni_60min_rr.csv", 60.523, 78.990),  # pyhrv's published report
        ("polar_rri_bartels_hrv/rest_rri_rr.csv", 55.137, 56.853),
    ],
)
def test_rmssd_and_hr_match_the_shared_reference_values(relative, rmssd, hr):
    rr = read_rr_file(real_recording(relative)).rr_ms
    assert rmssd_ms(rr) == pytest.approx(rmssd, abs=5e-4)
    assert mean_hr_bpm(rr) == pytest.approx(hr, abs=5e-4)


def test_differences_across_a_gap_are_left_out():
    rr = np.array([800.0, 810.0, 1500.0, 820.0, 830.0])
    gaps = np.array([False, False, False, True, False])
    assert successive_differences_ms(rr, gaps).tolist() == [10.0, 690.0, 10.0]
    assert rmssd_ms(rr, gaps) == pytest.approx(math.sqrt((100 + 690**2 + 100) / 3))


def test_rmssd_is_nan_with_too_few_beats_and_rejects_2d_input():
    assert math.isnan(rmssd_ms(np.array([800.0, 810.0])))
    with pytest.raises(ValueError, match="1-D"):
        rmssd_ms(np.ones((3, 3)))


def test_live_rmssd_equals_batch_rmssd_on_the_same_60_s_window(breathing_rr_ms):
    live = LiveMarkers(rmssd_window_s=60.0)
    times = np.cumsum(breathing_rr_ms) / 1000.0
    for i, (rr, t) in enumerate(zip(breathing_rr_ms, times, strict=True)):
        markers = live.update(Beat(float(rr), float(t)))
        if i % 50 == 49:
            window = breathing_rr_ms[(times > t - 60.0) & (times <= t)]
            assert markers.rmssd_ms == pytest.approx(direct_rmssd(window), rel=1e-12)
            recent = breathing_rr_ms[(times > t - 10.0) & (times <= t)]
            assert markers.mean_hr_bpm == pytest.approx(np.mean(60_000 / recent), rel=1e-12)
            assert markers.beats_in_window == window.size


def test_live_markers_skip_no_contact_beats_and_do_not_difference_across_them():
    live = LiveMarkers()
    for i, rr in enumerate([800.0, 820.0, 800.0]):
        live.update(Beat(rr, i + 1.0, contact=True))
    before = live.update(Beat(810.0, 4.0, contact=True))
    assert live.update(Beat(2000.0, 6.0, contact=False)) == before  # ignored
    after = live.update(Beat(830.0, 7.0, contact=True))
    # 830 follows a no-contact beat: the 810->830 difference is not used
    assert after.rmssd_ms == pytest.approx(math.sqrt((400 + 400 + 100) / 3))
    assert after.beats_in_window == 5
