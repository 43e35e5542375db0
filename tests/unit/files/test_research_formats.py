"""Research formats: WFDB beat annotations (all beats or normal-to-normal only) and the ECG
channel of EDF+/BDF files (R-peaks by analysis.ecg), checked against mitdb 100's cardiologist labels."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from hrvcoach.analysis import rmssd_ms
from hrvcoach.core.errors import InputError
from hrvcoach.files import ecg_files
from hrvcoach.files.ecg_files import read_ecg_rr
from hrvcoach.files.recordings import ReadOptions, read_rr_series, recording_format
from hrvcoach.files.wfdb_files import read_wfdb_rr
from tests.helpers import mitdb_ecg_60s, real_recording, write_ecg_edf


def annotated_beats() -> list[dict[str, str]]:
    with real_recording("mitdb_100/100_beats_rr.csv").open() as rows:
        return list(csv.DictReader(rows))


def test_wfdb_beats_give_the_annotated_intervals():
    beats = annotated_beats()
    series = read_wfdb_rr(real_recording("mitdb_100/100.hea"))
    expected = [float(beat["rr_ms"]) for beat in beats[1:]]
    assert series.format == "wfdb" and series.rr_ms.size == 2272
    np.testing.assert_allclose(series.rr_ms, expected, atol=1e-4)  # the CSV rounds to 0.1 µs
    assert series.origin == "WFDB 100.atr: 2273 beats at 360 Hz"


def test_nn_only_keeps_the_intervals_between_two_normal_beats():
    beats = annotated_beats()
    normal = [float(beat["rr_ms"]) for beat in beats[1:] if beat["nn_interval"] == "True"]
    series = read_wfdb_rr(real_recording("mitdb_100/100.hea"), nn_only=True)
    assert series.rr_ms.size == len(normal) == 2204  # 68 intervals touch one of the 34 A/V beats
    np.testing.assert_allclose(series.rr_ms, normal, atol=1e-4)
    assert rmssd_ms(series.rr_ms) == pytest.approx(rmssd_ms(np.asarray(normal)), rel=1e-6)


def test_a_record_named_without_extension_is_read_as_wfdb(tmp_path):
    header = real_recording("mitdb_100/100.hea")
    assert recording_format(header.with_suffix("")) == "wfdb"
    series = read_rr_series(header.with_suffix(""), ReadOptions())
    assert series.rr_ms.size == 2272


def test_wfdb_errors_name_the_annotation_file(tmp_path):
    header = tmp_path / "100.hea"
    header.write_bytes(real_recording("mitdb_100/100.hea").read_bytes())
    with pytest.raises(InputError, match=r"100.hea: no beat annotation file .*\.atr, \.ecg, \.qrs"):
        read_wfdb_rr(header)
    (tmp_path / "100.atr").write_bytes(b"x")
    with pytest.raises(InputError, match=r"100.atr: not a readable WFDB record"):
        read_wfdb_rr(header)
    with pytest.raises(InputError, match=r"100.qrs: no such file"):
        read_wfdb_rr(header, annotator="qrs")


def test_nn_only_is_refused_for_files_without_beat_labels():
    path = real_recording("polar_h10_breathing_10min/rr.csv")
    with pytest.raises(InputError, match="--nn-only needs beat labels"):
        read_rr_series(path, ReadOptions(nn_only=True))


@pytest.mark.parametrize("bdf", [False, True])
def test_ecg_channel_r_peaks_fall_on_the_annotated_beats(tmp_path, bdf):
    ecg, rate_hz = mitdb_ecg_60s()
    path = write_ecg_edf(tmp_path / ("holter.bdf" if bdf else "holter.edf"), ecg, rate_hz, bdf=bdf)
    series = read_ecg_rr(path)
    assert series.format == ("bdf" if bdf else "edf")
    assert series.origin == "ECG 'ECG MLII' at 360 Hz: 74 R-peaks"
    samples = np.array([int(beat["sample"]) for beat in annotated_beats()])
    annotated_ms = np.diff(samples[samples < len(ecg)]) / rate_hz * 1000.0  # 74 beats
    # every annotated beat is found, even the first, 0.21 s in (neurokit2 finds 73)
    np.testing.assert_allclose(series.rr_ms, annotated_ms, atol=2 * 1000.0 / rate_hz)


def test_ecg_peaks_found_chunk_by_chunk_equal_those_of_one_pass(tmp_path, monkeypatch):
    ecg, rate_hz = mitdb_ecg_60s()
    path = write_ecg_edf(tmp_path / "holter.edf", ecg, rate_hz)
    whole = read_ecg_rr(path)
    monkeypatch.setattr(ecg_files, "CHUNK_S", 7.0)  # 9 chunks, 8 seams
    chunked = read_ecg_rr(path)
    # the same peaks (placed between samples: equal to a micro-second, float sums differ)
    np.testing.assert_allclose(chunked.rr_ms, whole.rr_ms, atol=1e-3)


def test_the_ecg_channel_is_found_by_label_or_named(tmp_path):
    ecg, rate_hz = mitdb_ecg_60s()
    path = write_ecg_edf(tmp_path / "lead.edf", ecg, rate_hz, label="Lead II")
    with pytest.raises(InputError, match=r"no ECG channel among Lead II \(name it with --ecg-channel\)"):
        read_ecg_rr(path)
    assert read_ecg_rr(path, ecg_channel="lead ii").rr_ms.size > 60
    with pytest.raises(InputError, match=r"no channel 'V5' \(channels: Lead II\)"):
        read_ecg_rr(path, ecg_channel="V5")


def test_a_file_that_is_not_edf_is_an_input_error(tmp_path):
    path = tmp_path / "broken.edf"
    path.write_text("not an EDF file\n")
    with pytest.raises(InputError, match="not a readable EDF\\+/BDF file"):
        read_ecg_rr(path)


def test_an_ecg_too_short_for_a_beat_is_an_input_error(tmp_path):
    ecg, rate_hz = mitdb_ecg_60s()
    path = write_ecg_edf(tmp_path / "stump.edf", ecg[: 3 * rate_hz], rate_hz)
    with pytest.raises(InputError, match=r"stump.edf: 0 R-peaks found in ECG channel 'ECG MLII'"):
        read_ecg_rr(path)
