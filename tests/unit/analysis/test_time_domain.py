"""Time-domain markers: equal to neurokit2 on the same beats, and pyhrv's published reports."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from hrvcoach.analysis import (
    baevsky_stress_index,
    pnn50_pct,
    poincare_sd_ms,
    sdnn_ms,
    time_markers,
)
from hrvcoach.files.rr_files import read_rr_file
from tests.helpers import real_recording

REAL_RECORDINGS = [
    "polar_h10_breathing_10min/rr.csv",
    "polar_rri_bartels_hrv/rest_rri_rr.csv",
    "pyhrv_samples/nsrdb_nni_60min_rr.csv",
    "mitdb_100/100_beats_rr.csv",
    "gudb_rpeaks_250hz/original/subject_00/sitting/annotation_cs.tsv",
]


def rr_of(relative: str) -> np.ndarray:
    path = real_recording(relative)
    if path.suffix == ".tsv":  # R-peak sample indices at 250 Hz
        return np.diff(np.loadtxt(path)) * 4.0
    return read_rr_file(path).rr_ms


@pytest.mark.parametrize("relative", REAL_RECORDINGS)
def test_time_domain_equals_neurokit2_on_the_same_beats(relative):
    nk = pytest.importorskip("neurokit2")
    from neurokit2.hrv.hrv_nonlinear import _hrv_nonlinear_poincare

    rr = rr_of(relative)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = nk.hrv_time({"RRI": rr, "RRI_Time": np.cumsum(rr) / 1000.0}).iloc[0]
        poincare = _hrv_nonlinear_poincare(rr, out={})
    ours = time_markers(rr)
    n_differences = rr.size - 1
    assert ours.mean_rr_ms == pytest.approx(expected["HRV_MeanNN"], rel=1e-6)
    assert ours.sdnn_ms == pytest.approx(expected["HRV_SDNN"], rel=1e-6)
    assert ours.rmssd_ms == pytest.approx(expected["HRV_RMSSD"], rel=1e-6)
    # pNN50: ours divides by the differences (Task Force, Kubios, pyhrv), neurokit2 by the
    # intervals, i.e. by differences + 1
    assert ours.pnn50_pct * n_differences / (n_differences + 1) == pytest.approx(
        expected["HRV_pNN50"], rel=1e-6)
    assert ours.sd1_ms == pytest.approx(poincare["SD1"], rel=1e-6)
    assert ours.sd2_ms == pytest.approx(poincare["SD2"], rel=1e-6)
    assert ours.mean_hr_bpm == pytest.approx(np.mean(60_000.0 / rr), rel=1e-12)
    assert ours.ln_rmssd == pytest.approx(math.log(ours.rmssd_ms), rel=1e-12)


def test_pyhrv_published_report_of_the_60_min_series_is_reproduced():
    # pyhrv/BioSPPy SampleReport.txt (pyhrv 0.5.0 wheel): the 60-min NSRDB series
    rr = rr_of("pyhrv_samples/nsrdb_nni_60min_rr.csv")
    assert rr.size == 4684
    ours = time_markers(rr)
    assert ours.mean_rr_ms == pytest.approx(768.438, abs=5e-4)
    assert ours.mean_hr_bpm == pytest.approx(78.990, abs=5e-4)
    assert ours.sdnn_ms == pytest.approx(85.357, abs=5e-4)
    assert ours.rmssd_ms == pytest.approx(60.523, abs=5e-4)
    assert ours.pnn50_pct == pytest.approx(28.571, abs=5e-4)  # 1338 of 4683 differences
    sd1, sd2 = poincare_sd_ms(rr, ddof=0)  # pyhrv's Poincaré uses the population SD
    assert (sd1, sd2) == (pytest.approx(42.797, abs=5e-4), pytest.approx(112.837, abs=5e-4))


def test_pyhrv_published_export_of_the_5_min_series_is_reproduced():
    export = json.loads(real_recording("pyhrv_samples/original/SampleExport.json").read_text())
    rr = rr_of("pyhrv_samples/nsrdb_nni_5min_rr.csv")
    assert rr.size == export["nni_counter"] == 337
    ours = time_markers(rr)
    assert ours.mean_rr_ms == pytest.approx(export["nni_mean"], rel=1e-9)
    assert ours.sdnn_ms == pytest.approx(export["sdnn"], rel=1e-9)
    assert ours.rmssd_ms == pytest.approx(export["rmssd"], rel=1e-9)
    assert ours.pnn50_pct == pytest.approx(export["pnn50"], rel=1e-9)
    assert ours.mean_hr_bpm == pytest.approx(export["hr_mean"], rel=1e-3)  # 4 digits published
    sd1, sd2 = poincare_sd_ms(rr, ddof=0)
    assert sd1 == pytest.approx(export["sd1"], rel=1e-9)
    assert sd2 == pytest.approx(export["sd2"], rel=1e-9)


def test_pnn50_counts_differences_strictly_above_50_ms_out_of_all_differences():
    rr = np.array([800.0, 851.0, 801.0, 851.0, 900.0])  # |d| = 51, 50, 50, 49
    assert pnn50_pct(rr) == pytest.approx(25.0)
    gaps = np.array([False, False, True, False, False])  # the 851 -> 801 difference spans a gap
    assert pnn50_pct(rr, gaps) == pytest.approx(100.0 / 3.0)


def test_sdnn_is_the_sample_standard_deviation():
    rr = np.array([800.0, 900.0, 1000.0])
    assert sdnn_ms(rr) == pytest.approx(100.0)
    assert math.isnan(sdnn_ms(np.array([800.0])))


def test_stress_index_follows_baevsky_with_50_ms_bins():
    # 10 RR: 6 in the 800-850 bin (mode 825 ms, AMo 60 %), range 700..1000 (MxDMn 0.3 s)
    rr = np.array([810.0, 820.0, 830.0, 840.0, 805.0, 845.0, 700.0, 1000.0, 900.0, 760.0])
    raw = 60.0 / (2.0 * 0.825 * 0.3)
    assert baevsky_stress_index(rr, square_root=False) == pytest.approx(raw)
    assert baevsky_stress_index(rr) == pytest.approx(math.sqrt(raw))  # Kubios reports the root
    assert math.isnan(baevsky_stress_index(np.array([800.0, 800.0, 800.0])))


def test_poincare_widths_follow_their_definitions():
    rng = np.random.default_rng(4)
    rr = 900.0 + 50.0 * rng.standard_normal(500)
    sd1, sd2 = poincare_sd_ms(rr)
    assert sd1 == pytest.approx(np.std(np.diff(rr), ddof=1) / math.sqrt(2.0), rel=1e-12)
    assert sd2 == pytest.approx(np.std(rr[:-1] + rr[1:], ddof=1) / math.sqrt(2.0), rel=1e-12)


def test_too_few_beats_give_nan_not_errors():
    markers = time_markers(np.array([800.0]))
    assert math.isnan(markers.rmssd_ms) and math.isnan(markers.sdnn_ms)
    assert math.isnan(markers.sd1_ms) and math.isnan(markers.pnn50_pct)
    assert markers.mean_rr_ms == 800.0
