"""Batch analysis and the `analyze` command: windows, artifacts by input index, JSON and text."""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import pytest

from hrvcoach.analysis import analyze, window_markers
from hrvcoach.core.markers import MARKERS
from hrvcoach.files.rr_files import read_rr_file
from hrvcoach.views.cli.main import main
from tests.helpers import real_recording

TIME_KEYS = {"mean_rr_ms", "mean_hr_bpm", "sdnn_ms", "rmssd_ms", "ln_rmssd", "pnn50_pct",
             "sd1_ms", "sd2_ms", "stress_index"}
FREQUENCY_KEYS = {"vlf_ms2", "lf_ms2", "hf_ms2", "lf_hf", "total_ms2", "lf_peak_hz", "hf_peak_hz",
                  "hf_valid"}


def test_windows_are_consecutive_and_each_is_analysed_like_its_own_beats():
    rr = read_rr_file(real_recording("polar_rri_bartels_hrv/rest_rri_rr.csv")).rr_ms
    result = analyze(rr, window_s=300.0)
    assert result.n_beats == 910 and result.duration_s == pytest.approx(rr.sum() / 1000.0)
    assert [w.start_s for w in result.windows] == [0.0, 300.0, 600.0, 900.0]
    assert sum(w.n_beats for w in result.windows) == result.whole.n_beats
    corrected = result.correction.rr_ms
    times = np.cumsum(corrected) / 1000.0
    second = corrected[(times >= 300.0) & (times < 600.0)]
    expected = window_markers(second)
    assert result.windows[1].markers == expected
    assert result.windows[-1].end_s == pytest.approx(times[-1])


def test_artifact_indices_are_positions_in_the_input_and_fall_in_their_windows():
    rr = read_rr_file(real_recording("mitdb_100/100_beats_rr.csv")).rr_ms
    result = analyze(rr, window_s=600.0)
    indices = sorted(a.index for a in result.whole.artifacts)
    assert 6 in indices and 229 in indices  # two of the annotated premature beats
    per_window = sorted(a.index for w in result.windows for a in w.artifacts)
    assert per_window == indices
    input_times = np.cumsum(rr) / 1000.0
    for window in result.windows:
        for artifact in window.artifacts:
            assert window.start_s - 2.0 <= input_times[artifact.index] < window.end_s + 2.0


def test_no_correct_reports_artifacts_but_analyses_the_recording_as_it_is():
    rr = read_rr_file(real_recording("mitdb_100/100_beats_rr.csv")).rr_ms
    raw = analyze(rr, correct=False)
    fixed = analyze(rr)
    assert raw.whole.artifacts == fixed.whole.artifacts
    assert raw.whole.markers.time.rmssd_ms == pytest.approx(63.232, abs=5e-3)  # the raw value
    assert fixed.whole.markers.time.rmssd_ms < 30.0


def test_bad_window_length_is_refused():
    with pytest.raises(ValueError, match="window_s"):
        analyze(np.full(100, 800.0), window_s=0.0)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["analyze", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_output_has_the_documented_shape(capsys):
    path = real_recording("pyhrv_samples/nsrdb_nni_5min_rr.csv")
    code, out, _ = run(capsys, str(path), "--json")
    assert code == 0
    data = json.loads(out)
    # changed with issue 12: a "quality" block (the rhythm-quality gate) and coherence's time
    # shares and score
    assert set(data) == {"file", "n_beats", "duration_s", "quality", "artifacts", "time",
                         "frequency", "breathing", "coherence"}
    assert set(data["quality"]) == {"valid", "corrected_pct", "reasons"}
    assert data["quality"]["valid"] is True and data["quality"]["reasons"] == []
    assert data["file"] == str(path) and data["n_beats"] == 337
    assert set(data["artifacts"]) == {"count", "ectopic", "missed", "extra", "long_short",
                                      "indices"}
    assert data["artifacts"]["count"] == len(data["artifacts"]["indices"])
    assert set(data["time"]) == TIME_KEYS and set(data["frequency"]) == FREQUENCY_KEYS
    assert set(data["breathing"]) == {"breaths_per_min", "breathing_power_ms2", "p2t_ms", "p2t_bpm"}
    assert set(data["coherence"]) == {"coherence_ratio", "coherence_peak_hz", "coherence_score",
                                      "low_coherence_pct", "medium_coherence_pct",
                                      "high_coherence_pct"}
    for block in ("time", "frequency", "breathing", "coherence"):
        assert set(data[block]) <= set(MARKERS), block  # the catalogue's names, nothing else
    assert data["frequency"]["hf_valid"] is True
    assert 12 < data["breathing"]["breaths_per_min"] < 18


def test_json_for_several_files_with_windows_is_a_list_with_null_for_missing_markers(capsys):
    first = real_recording("polar_h10_breathing_10min/rr.csv")
    second = real_recording("polar_rri_bartels_hrv/original/exercise_rri.hrm")
    code, out, _ = run(capsys, str(first), str(second), "--json", "--window", "300",
                       "--no-correct")
    assert code == 0
    data = json.loads(out)  # strict JSON: no NaN
    assert [d["file"] for d in data] == [str(first), str(second)]
    windows = data[0]["windows"]
    assert [w["start_s"] for w in windows] == [0.0, 300.0, 600.0]
    assert set(windows[0]) == {"start_s", "end_s", "n_beats", "quality", "artifacts", "time",
                               "frequency", "breathing", "coherence"}
    assert windows[0]["frequency"]["hf_valid"] is False  # slow breathing: HF not valid
    assert windows[-1]["frequency"]["lf_ms2"] is None  # a 1-s stump has no LF
    assert data[1]["n_beats"] == 4117


def test_text_output_is_a_table_that_says_when_hf_is_not_valid(capsys):
    path = real_recording("polar_h10_breathing_10min/rr.csv")
    code, out, _ = run(capsys, str(path), "--window", "300")
    assert code == 0
    assert "RMSSD" in out and "breaths/min" in out and "HF NOT VALID" in out
    assert "00:00-05:00" in out and "05:00-10:00" in out


def test_text_output_lists_each_artifact_event_once_with_its_correction(capsys):
    path = real_recording("mitdb_100/100_beats_rr.csv")
    code, out, _ = run(capsys, str(path))
    artifacts = analyze(read_rr_file(path).rr_ms).whole.artifacts
    assert code == 0
    events = [line.strip() for line in out.splitlines() if line.startswith("    interval")]
    # an ectopic beat flags two neighbouring intervals that one move fixes: one line
    pair = next(a for a, b in itertools.pairwise(artifacts)
                if b.index == a.index + 1 and b.correction == a.correction)
    assert f"intervals {pair.index}-{pair.index + 1}: " in "\n".join(events)
    assert len(events) == 8 and len(events) < len(artifacts)
    spans = [re.match(r"intervals? (\d+)(?:-(\d+))?:", e).groups() for e in events]
    listed = sum(int(last or first) - int(first) + 1 for first, last in spans)
    assert f"... and {len(artifacts) - listed} more flagged intervals" in out


def test_a_bad_file_exits_2_naming_file_and_line(capsys, tmp_path):
    bad = tmp_path / "rr.txt"
    bad.write_text("800\n810\nx\n")
    code, _, err = run(capsys, str(bad))
    assert code == 2 and f"{bad}:3: RR is not a number: 'x'" in err


def test_whole_record_of_a_day_uses_every_beat_and_drops_the_offset(capsys):
    path = real_recording("physionet_rr_rhrvbook/nsr2db/nsr001_rr_secs.txt")
    rr = read_rr_file(path, heartbeats=False).rr_ms  # as `analyze` reads it
    result = analyze(rr, window_s=300.0)
    assert rr[0] > 200_000  # the file starts with the offset to the first beat
    assert result.whole.artifacts[0].index == 0  # removed as impossible
    assert 250 < len(result.windows) < 300
    assert all(math.isfinite(w.markers.time.rmssd_ms) for w in result.windows[:-1])


def test_coach_commands_take_the_markers_engine_and_the_session_computes_with_it(tmp_path):
    import asyncio

    from hrvcoach.app.coach_run import CoachRun, CoachSettings
    from hrvcoach.protocols.protocol import load_protocol
    from hrvcoach.session import Snapshot
    from hrvcoach.sources.factory import SimulatorSpec
    from hrvcoach.views.cli.main import build_parser

    args = build_parser().parse_args(["demo", "--engine", "neurokit2"])
    assert args.engine == "neurokit2"
    assert build_parser().parse_args(["replay", "x.csv"]).engine == "hrvcoach"
    snapshots: list[Snapshot] = []
    settings = CoachSettings(speed=300.0, duration_s=90.0, engine=args.engine)
    with CoachRun(tmp_path, load_protocol("demo"), SimulatorSpec(), settings) as run:
        session = run.session(lambda e: snapshots.append(e) if isinstance(e, Snapshot) else None)
        asyncio.run(session.run())
    assert session.markers_engine == "neurokit2"
    with_hf = [s for s in snapshots if math.isfinite(s.markers.hf_ms2)]
    assert with_hf and all(math.isfinite(s.markers.rmssd_ms) for s in with_hf)
    assert all(s.spectrum is None for s in snapshots)  # neurokit2's spectrum: none of ours to draw
