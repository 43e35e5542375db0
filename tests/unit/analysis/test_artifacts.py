"""Artifact detection (Lipponen & Tarvainen 2019) and correction, batch and streaming.

Detection without hrvcoach's threshold bounds (bounded=False) is checked flag for flag against
neurokit2's Kubios method; detection quality and the corrected RMSSD against annotated premature
beats (MIT-BIH 100), artifacts injected into real recordings, and the simulator's labelled
artifacts. tests/test_trust_artifacts.py covers the bounds, the planning and the stream.
"""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

from hrvcoach.analysis import (
    StreamingArtifactDetector,
    correct_artifacts,
    detect_artifacts,
    rmssd_ms,
)
from hrvcoach.files.rr_files import read_rr_file
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.sources.simulator import SimulatedPerson, simulate_beats
from tests.helpers import real_recording
from tests.known_truth import inject_with_positions

RECORDINGS = [
    "polar_h10_breathing_10min/rr.csv",
    "polar_rri_bartels_hrv/rest_rri_rr.csv",
    "polar_rri_bartels_hrv/noisy_rri_rr.csv",
    "pyhrv_samples/nsrdb_nni_60min_rr.csv",
    "mitdb_100/100_beats_rr.csv",
    "polar_h10_pvc_10min/polar_h10_device_rr.csv",
]


def recall_and_precision(flags: list[int], truth: list[int]) -> tuple[float, float]:
    """An artifact at t is found if a flag lies within t-1..t+1; a flag is right if it lies
    within t-1..t+2 of an artifact (an ectopic beat also disturbs the two intervals after it)."""
    found = sum(1 for t in truth if any(t - 1 <= f <= t + 1 for f in flags))
    right = sum(1 for f in flags if any(t - 1 <= f <= t + 2 for t in truth))
    return found / len(truth), right / max(len(flags), 1)


def mitdb() -> tuple[np.ndarray, list[int], float]:
    """MIT-BIH 100: every interval, the rows of its 33 A and 1 V beats, and the published-table
    RMSSD of its normal-to-normal intervals."""
    with real_recording("mitdb_100/100_beats_rr.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["rr_ms"]]
    rr = np.array([float(row["rr_ms"]) for row in rows])
    premature = [i for i, row in enumerate(rows) if row["symbol"] in ("A", "V")]
    return rr, premature, 27.791  # reference_metrics_computed.csv, NN intervals only


@pytest.mark.parametrize("relative", RECORDINGS)
def test_detection_equals_neurokit2_kubios_method_flag_for_flag(relative):
    nk = pytest.importorskip("neurokit2")
    rr = np.round(read_rr_file(real_recording(relative)).rr_ms)  # whole ms: exact peaks
    peaks = nk.intervals_to_peaks(rr, sampling_rate=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=False, method="Kubios")
    ours = detect_artifacts(rr, bounded=False)  # the paper's method, as neurokit2 implements it
    for kind, theirs in (("ectopic", "ectopic"), ("missed", "missed"), ("extra", "extra"),
                         ("long_short", "longshort")):
        assert list(getattr(ours, kind)) == sorted(int(j) - 1 for j in info[theirs]), kind


def test_reference_module_gives_neurokit2_flags_too():
    pytest.importorskip("neurokit2")
    from hrvcoach.analysis.reference import neurokit_detect_artifacts

    rr = np.round(read_rr_file(real_recording("mitdb_100/100_beats_rr.csv")).rr_ms)
    assert neurokit_detect_artifacts(rr) == detect_artifacts(rr, bounded=False)


def test_mitdb_100_premature_beats_are_found_and_corrected():
    rr, premature, nn_rmssd = mitdb()
    assert len(premature) == 34
    correction = correct_artifacts(rr)
    recall, precision = recall_and_precision(list(correction.indices), premature)
    assert recall >= 0.9  # measured: 1.00
    assert precision >= 0.9  # measured: 0.98
    # raw RMSSD is 63.2 ms; the normal-to-normal intervals give 27.8 ms
    assert rmssd_ms(correction.rr_ms) == pytest.approx(nn_rmssd, rel=0.05)
    assert rmssd_ms(rr) > 2 * nn_rmssd


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_artifacts_injected_into_a_clean_recording_are_found_and_corrected(seed):
    rr = read_rr_file(real_recording("polar_h10_breathing_10min/rr.csv")).rr_ms
    bad, truth, _ = inject_with_positions(rr, seed)
    assert len(truth) == 20
    correction = correct_artifacts(bad)
    recall, precision = recall_and_precision(list(correction.indices), truth)
    assert recall >= 0.9 and precision >= 0.9  # measured: recall 1.00, precision 0.94-1.00
    assert rmssd_ms(bad) > 3 * rmssd_ms(rr)
    assert rmssd_ms(correction.rr_ms) == pytest.approx(rmssd_ms(rr), rel=0.05)  # +0.9..+4.0 %


@pytest.mark.parametrize("relative", ["pyhrv_samples/nsrdb_nni_60min_rr.csv",
                                      "polar_rri_bartels_hrv/rest_rri_rr.csv"])
def test_injected_artifacts_in_high_hrv_recordings_are_found(relative):
    # In these recordings the Kubios method itself flags physiological beats (large RSA swings:
    # 2.8 % of nsrdb's beats, as neurokit2 does). Those flags are not the injection's: precision
    # counts the flags the injection added. Correcting the physiological flags lowers RMSSD
    # (untouched nsrdb: 60.5 -> 54.1 ms), and injected artifacts raise the thresholds so fewer
    # of them are flagged: the corrected RMSSD lands 6-10 % below the raw clean value here,
    # not within 5 % (measured on seeds 0-3 and 5).
    rr = read_rr_file(real_recording(relative)).rr_ms
    untouched = correct_artifacts(rr)
    bad, truth, where = inject_with_positions(rr, seed=5)
    correction = correct_artifacts(bad)
    own = {where[i] for i in untouched.indices if i in where}
    added = [f for f in correction.indices if not any(abs(f - o) <= 1 for o in own)]
    recall, precision = recall_and_precision(added, truth)
    assert recall >= 0.9 and precision >= 0.9
    assert rmssd_ms(correction.rr_ms) == pytest.approx(rmssd_ms(rr), rel=0.10)


def test_simulated_artifacts_with_ground_truth_are_found_and_corrected():
    person = SimulatedPerson()
    clean, noisy = [], []
    truth = []
    for sim in simulate_beats(Pacer.constant(6.0), person, seed=7):
        if sim.beat.time_s > 600:
            break
        clean.append(sim.beat.rr_ms)
    for sim in simulate_beats(Pacer.constant(6.0), person, seed=7, artifacts_per_min=2.0):
        if sim.beat.time_s > 600:
            break
        if sim.artifact is not None:
            truth.append(len(noisy))
        noisy.append(sim.beat.rr_ms)
    assert len(truth) >= 15
    correction = correct_artifacts(np.array(noisy))
    recall, precision = recall_and_precision(list(correction.indices), truth)
    assert recall >= 0.9 and precision >= 0.9
    assert rmssd_ms(correction.rr_ms) == pytest.approx(rmssd_ms(np.array(clean)), rel=0.05)


def test_impossible_intervals_are_left_out_or_merged_and_reported():
    # changed with issue 12: a fragment under 250 ms (here 0 ms) is merged with a neighbour
    # instead of deleted, so no time is lost; an interval over 3 s is a gap (left out)
    rr = read_rr_file(real_recording("polar_rri_bartels_hrv/real_rri_rr.csv")).rr_ms
    zero = int(np.flatnonzero(rr == 0)[0])  # the recording holds an RR of 0 ms
    correction = correct_artifacts(np.concatenate(([225_800.0], rr)))  # and a 225-s offset
    reported = {a.index: a for a in correction.artifacts}
    assert reported[0].kind == "long_short" and "gap" in reported[0].correction
    assert reported[zero + 1].kind == "extra" and "merged" in reported[zero + 1].correction
    assert correction.rr_ms.min() >= 250 and correction.rr_ms.max() <= 3000
    assert 0 not in correction.source_index.tolist()
    assert correction.rr_ms.sum() == pytest.approx(rr.sum())  # no time lost


def test_each_correction_says_what_was_done_to_which_input_intervals():
    rr = np.full(200, 1000.0) + 20.0 * np.sin(np.arange(200) / 3.0)
    rr[60:62] = [rr[60] + rr[61], 0.0]  # a missed beat at 60 ...
    rr = np.delete(rr, 61)
    rr = np.insert(rr, 120, 400.0)  # ... and an extra detection splitting 120
    rr[121] -= 400.0
    kinds = {a.index: (a.kind, a.correction) for a in correct_artifacts(rr).artifacts}
    assert kinds[60][0] == "missed" and "interval 60 split in two" in kinds[60][1]
    assert kinds[120][0] == "extra" and "intervals 120 and 121 merged" in kinds[120][1]
    assert correct_artifacts(rr).rr_ms.size == rr.size  # one inserted, one removed


@pytest.mark.parametrize("relative", ["mitdb_100/100_beats_rr.csv",
                                      "polar_rri_bartels_hrv/noisy_rri_rr.csv"])
def test_streaming_detector_final_flags_equal_batch_detection(relative):
    # changed with issue 12: the made-up first interval is a copy of the first (not the series'
    # mean) and the windows are anchored at the ends, so the final flags equal batch from the
    # first beat on (they differed within the first ~55 beats)
    rr = read_rr_file(real_recording(relative)).rr_ms
    batch = detect_artifacts(rr).kinds()
    stream = StreamingArtifactDetector()
    first_seen: dict[int, int] = {}
    for i, value in enumerate(rr.tolist()):
        stream.add(value)
        held = stream.held_from()
        for index in [*stream.flags(), *([] if held is None else range(held, i + 1))]:
            first_seen.setdefault(index, i)
    decided = range(0, stream.decided_through + 1)
    final = {i: k for i, k in stream.final_flags.items() if i in decided}
    assert final == {i: k for i, k in batch.items() if i in decided}
    assert len(final) >= 5  # mitdb_100: 66; noisy_rri: 8 (the paper's thresholds: 54, mostly
    # gradual swings such as 681, 854, 1143, 1009 ms that the bounds no longer flag)
    at_once = [i for i in final if first_seen[i] - i <= 2]  # held back within two beats
    assert len(at_once) >= 0.9 * len(final)
