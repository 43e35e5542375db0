"""Result rows: flattened from the JSON report under catalogue names, one per recording and per
window, with the version, the settings and their hash; the quality block becomes its columns."""

from __future__ import annotations

import hashlib
import json

import pytest

from hrvcoach import __version__
from hrvcoach.app.batch import BatchSettings, analyse_recording, error_row, report_rows, table_columns
from hrvcoach.app.batch.rows import LEADING_COLUMNS, TRAILING_COLUMNS
from hrvcoach.core.markers import MARKERS
from hrvcoach.files.recordings import ReadOptions
from tests.helpers import real_recording

SETTINGS = BatchSettings(window_s=300.0)


def rows_of(relative: str, settings: BatchSettings = SETTINGS) -> tuple[list[dict], object]:
    outcome = analyse_recording(str(real_recording(relative)), settings, keep_analysis=True)
    assert outcome.report is not None
    return report_rows(outcome.report, format=outcome.format, origin=outcome.origin,
                       settings=settings), outcome.analysis


def test_one_row_for_the_recording_then_one_per_window_with_the_analysis_numbers():
    rows, analysis = rows_of("polar_rri_bartels_hrv/rest_rri_rr.csv")
    assert [row["window"] for row in rows] == [None, 1, 2, 3, 4]
    whole, second = rows[0], rows[2]
    assert whole["rmssd_ms"] == analysis.whole.markers.time.rmssd_ms
    assert whole["n_beats"] == 910 and whole["origin"] == "RR in ms" and whole["format"] == "rr"
    assert (second["start_s"], second["end_s"]) == (300.0, 600.0)
    assert second["hf_ms2"] == analysis.windows[1].markers.frequency.hf_ms2
    assert second["artifacts_count"] == len(analysis.windows[1].artifacts)
    assert "artifacts_indices" not in whole  # one per flagged beat: --json has them


def test_marker_columns_carry_catalogue_names_and_the_rest_their_block():
    rows, _ = rows_of("polar_h10_breathing_10min/rr.csv")
    columns = table_columns(rows)
    assert columns[:len(LEADING_COLUMNS)] == list(LEADING_COLUMNS)
    assert columns[-len(TRAILING_COLUMNS):] == list(TRAILING_COLUMNS)
    middle = columns[len(LEADING_COLUMNS):-len(TRAILING_COLUMNS)]
    assert {"rmssd_ms", "hf_valid", "breaths_per_min", "coherence_ratio"} <= set(middle)
    assert [name for name in middle if name not in MARKERS] == [
        "artifacts_count", "artifacts_ectopic", "artifacts_missed", "artifacts_extra",
        "artifacts_long_short"]


def test_a_quality_block_in_the_report_becomes_the_gate_columns():
    report = {"file": "a.csv", "n_beats": 300, "duration_s": 240.0,
              "quality": {"valid": False, "corrected_pct": 22.5,
                          "reasons": ["too much was corrected", "premature beats in 12 %"]},
              "time": {"rmssd_ms": 41.0}}
    (row,) = report_rows(report, format="rr", origin="RR in ms", settings=SETTINGS)
    assert row["quality_valid"] is False and row["corrected_pct"] == 22.5
    assert row["quality_reasons"] == "too much was corrected; premature beats in 12 %"
    assert row["rmssd_ms"] == 41.0


def test_every_row_names_the_version_the_settings_and_their_hash():
    rows, _ = rows_of("pyhrv_samples/nsrdb_nni_5min_rr.csv")
    settings = json.loads(str(rows[0]["settings"]))
    assert settings == {"correct": True, "window_s": 300.0, "units": None, "column": None,
                        "nn_only": False, "annotator": None, "ecg_channel": None}
    digest = hashlib.sha256(str(rows[0]["settings"]).encode()).hexdigest()
    assert all(row["settings_hash"] == digest[:16] for row in rows)
    assert all(row["hrvcoach_version"] == __version__ for row in rows)
    other = BatchSettings(window_s=300.0, read=ReadOptions(units="ms"))
    assert other.settings_hash() != SETTINGS.settings_hash()
    assert BatchSettings(window_s=300.0).settings_hash() == SETTINGS.settings_hash()


def test_a_failed_recording_is_one_row_with_its_reason(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("800\nx\n")
    outcome = analyse_recording(str(bad), SETTINGS)
    assert not outcome.ok and outcome.bad_input and outcome.report is None
    row = error_row(outcome.file, format=outcome.format, error=str(outcome.error), settings=SETTINGS)
    assert row["error"] == f"{bad}:2: RR is not a number: 'x'"
    assert row["settings_hash"] == SETTINGS.settings_hash()


@pytest.mark.parametrize("key", ["rmssd_ms", "hf_valid"])
def test_catalogue_names_keep_their_name_in_any_block(key):
    (row,) = report_rows({"file": "x", "n_beats": 1, "duration_s": 1.0, "anything": {key: 1}},
                         format="rr", origin="", settings=SETTINGS)
    assert row[key] == 1
