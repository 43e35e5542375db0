"""Issue 12, the rhythm-quality gate: recordings whose HRV is not vagal tone (frequent premature
beats, bigeminy, trigeminy), heavy correction and input that is not RR intervals are reported
not valid with reasons, by the gate itself and by `hrvcoach analyze` (text and --json)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hrvcoach.analysis import analyze
from hrvcoach.analysis.quality import premature_beats, rhythm_quality
from hrvcoach.files.rr_files import read_rr_file
from hrvcoach.views.cli.main import main
from tests.known_truth import recording_path

PVC = "polar_h10_pvc_10min/polar_h10_device_rr.csv"
R_PEAKS = "gudb_rpeaks_250hz/original/subject_00/sitting/annotation_cs.tsv"


def test_the_pvc_recording_is_not_valid_because_of_its_premature_beats():
    rr = read_rr_file(recording_path(PVC)).rr_ms
    quality = rhythm_quality(rr, corrected_beats=0)
    assert not quality.valid
    assert 0.2 < premature_beats(rr).size / rr.size < 0.4  # measured 29 %
    text = " ".join(quality.reasons)
    assert "frequent premature beats" in text and "bigeminy" in text and "trigeminy" in text
    assert all(reason.endswith("HRV not valid") for reason in quality.reasons)


@pytest.mark.parametrize("relative", ["mitdb_100/100_beats_rr.csv",
                                      "polar_h10_breathing_10min/rr.csv",
                                      "polar_rri_bartels_hrv/rest_rri_rr.csv",
                                      "pyhrv_samples/nsrdb_nni_60min_rr.csv"])
def test_sinus_rhythm_with_occasional_premature_beats_is_valid(relative):
    rr = read_rr_file(recording_path(relative)).rr_ms
    quality = analyze(rr).quality
    assert quality.valid and quality.reasons == ()  # mitdb_100: 1.4 % premature beats
    assert quality.corrected_pct < 5.0


def test_r_peak_sample_positions_and_heart_rates_are_not_rr_intervals():
    positions = np.loadtxt(recording_path(R_PEAKS))
    assert "increasing" in " ".join(rhythm_quality(positions, corrected_beats=0).reasons)
    heart_rates = 70.0 + 5.0 * np.sin(np.arange(120) / 3.0)
    assert "heart rates" in " ".join(rhythm_quality(heart_rates, corrected_beats=0).reasons)
    minutes = np.full(50, 900.0)
    minutes[::3] = 9000.0  # a third of the values cannot be RR
    assert "cannot be RR intervals" in " ".join(rhythm_quality(minutes, corrected_beats=0).reasons)


def test_a_heavily_corrected_window_is_not_valid():
    rr = 900.0 + 30.0 * np.sin(np.arange(100) / 2.0)
    assert rhythm_quality(rr, corrected_beats=15).valid
    quality = rhythm_quality(rr, corrected_beats=16)
    assert not quality.valid and quality.corrected_pct == 16.0
    assert "too many corrected beats: 16 %" in quality.reasons[0]


def _analyze(capsys, *args: str) -> tuple[int, str]:
    code = main(["analyze", *args])
    return code, capsys.readouterr().out


def test_analyze_reports_the_pvc_recording_not_valid_per_file_and_window(capsys):
    path = str(recording_path(PVC))
    code, out = _analyze(capsys, path, "--json", "--window", "120")
    assert code == 0
    data = json.loads(out)
    assert data["quality"]["valid"] is False
    assert any("bigeminy" in reason for reason in data["quality"]["reasons"])
    assert 0.0 < data["quality"]["corrected_pct"] < 5.0
    assert all(window["quality"]["valid"] is False for window in data["windows"][:-1])
    code, out = _analyze(capsys, path)
    assert "HRV NOT VALID" in out and "irregular rhythm: bigeminy" in out


def test_analyze_reports_an_r_peak_index_file_not_valid(capsys):
    path = str(recording_path(R_PEAKS))
    code, out = _analyze(capsys, path, "--json")
    data = json.loads(out)
    assert code == 0 and data["quality"]["valid"] is False
    assert any("R-peak sample positions" in reason for reason in data["quality"]["reasons"])
    code, out = _analyze(capsys, path)
    assert code == 0
    assert "HRV NOT VALID" in out and "R-peak sample positions" in out


def test_analyze_says_valid_for_a_clean_recording(capsys):
    code, out = _analyze(capsys, str(recording_path("polar_h10_breathing_10min/rr.csv")),
                         "--json", "--window", "300")
    data = json.loads(out)
    assert code == 0
    assert data["quality"] == {"valid": True, "corrected_pct": 0.0, "reasons": []}
    assert all(w["quality"]["valid"] for w in data["windows"])
