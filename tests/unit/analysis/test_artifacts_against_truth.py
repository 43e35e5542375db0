"""Issue 12, detection and correction: beyond Lipponen & Tarvainen where it fails (phase-locked
breathing, dense artifacts), one pass, fixes planned well, fragments merged, and a stream that
decides as batch does. Numbers measured on 2026-12-01 are noted beside the asserts."""

from __future__ import annotations

import numpy as np
import pytest

from hrvcoach.analysis import (
    StreamingArtifactDetector,
    correct_artifacts,
    detect_artifacts,
    rmssd_ms,
    time_markers,
)
from hrvcoach.analysis.artifacts import Correction, judge_stretch
from hrvcoach.files.rr_files import read_rr_file
from tests.known_truth import (
    breathing_rr,
    demo_session,
    gudb_sitting,
    inject,
    joined,
    mitdb_beats,
    recall_and_precision,
    recording_path,
    rsa_grid,
    sampled_sinusoid_rr,
)


def corrected_rmssd_ms(correction: Correction) -> float:
    """RMSSD as the markers compute it: differences next to a moved beat left out."""
    return time_markers(correction.rr_ms, correction.skip_difference).rmssd_ms


def test_phase_locked_breathing_raises_no_false_flags():
    # HR 50-90, 4.5-15/min and exactly 3, 4 and 5 beats per breath, 20-150 ms, with and
    # without 3 ms of beat noise: 70 350 clean intervals
    intervals = ours = papers = 0
    for hr, rate, amplitude in rsa_grid():
        for noise in (0.0, 3.0):
            rr = breathing_rr(hr, rate, amplitude, 300.0, noise_ms=noise, seed=1)
            intervals += rr.size
            ours += detect_artifacts(rr).count
            papers += detect_artifacts(rr, bounded=False).count
    assert ours < 0.002 * intervals  # measured: 0
    assert papers > 0.01 * intervals  # the paper's thresholds: 2.6 % (1823) flagged


def test_the_issues_clean_sinusoid_at_15_per_min_and_60_bpm_is_left_alone():
    rr = sampled_sinusoid_rr(60.0, 15.0, 25.0, 300.0)  # exactly 4 beats per breath
    assert detect_artifacts(rr, bounded=False).count >= 200  # measured 298 of 301
    correction = correct_artifacts(rr)
    assert correction.artifacts == ()
    np.testing.assert_array_equal(correction.rr_ms, rr)


def test_dense_artifacts_do_not_lift_the_thresholds_out_of_reach():
    # the demo at 4 artifacts/min: each artifact puts 2-3 large dRR into the 91-beat window and
    # the paper's quartile threshold rose to 500-700 ms, missing premature beats
    ours, papers = [], []
    for seed in range(1, 6):
        session = demo_session(seed)
        rr = np.array([s.beat.rr_ms for s in session])
        truth = [i for i, s in enumerate(session) if s.artifact is not None]
        ours.append(recall_and_precision(list(correct_artifacts(rr).indices), truth))
        papers.append(recall_and_precision(list(detect_artifacts(rr, bounded=False).kinds()),
                                           truth)[0])
    assert min(recall for recall, _ in ours) >= 0.95  # measured: 1.00 in every seed
    assert min(precision for _, precision in ours) >= 0.95  # measured: 1.00
    assert min(papers) < 0.9  # one pass of the paper's method: 0.68 in seed 3


def _injected_cases() -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    gudb = gudb_sitting(recording_path("gudb_rpeaks_250hz/original"))
    rr, gap = joined(gudb)
    return {
        "polar_h10_breathing": (read_rr_file(recording_path(
            "polar_h10_breathing_10min/rr.csv")).rr_ms, None),
        "bartels_rest": (read_rr_file(recording_path(
            "polar_rri_bartels_hrv/rest_rri_rr.csv")).rr_ms, None),
        "gudb_sitting": (rr, gap),  # 25 subjects x 2 min, each after a gap
    }


@pytest.mark.parametrize("name", ["polar_h10_breathing", "bartels_rest", "gudb_sitting"])
def test_artifacts_injected_into_clean_recordings_are_found_and_mended(name):
    clean, gap = _injected_cases()[name]
    reference = correct_artifacts(clean, after_gap=gap)
    # the clean value: Polar and Bartels are left untouched; GUDB subject 13 holds one
    # irregular stretch of its own (788, 1188, 1032 ms) that is corrected in both
    assert len(reference.artifacts) <= 2
    parts = [clean] if gap is None else np.split(clean, np.flatnonzero(gap)[1:])
    for seed in range(4):
        pieces, truth, offset = [], [], 0
        for part in parts:
            bad, where = inject(part, seed)
            pieces.append(bad)
            truth += [t + offset for t in where]
            offset += bad.size
        bad, bad_gap = joined(pieces)
        correction = correct_artifacts(bad, after_gap=None if gap is None else bad_gap)
        recall, precision = recall_and_precision(list(correction.indices), truth)
        assert recall >= 0.95 and precision >= 0.95, seed  # measured: >= 0.99, >= 0.97
        # measured: Polar -0.5..+1.5 %, Bartels -1.1..+0.1 %, GUDB -3.0..+1.7 %
        assert corrected_rmssd_ms(correction) == pytest.approx(
            corrected_rmssd_ms(reference), rel=0.03), seed


def test_the_bartels_rest_recording_called_clean_by_its_author_is_left_as_it_is():
    rr = read_rr_file(recording_path("polar_rri_bartels_hrv/rest_rri_rr.csv")).rr_ms
    correction = correct_artifacts(rr)
    assert corrected_rmssd_ms(correction) == pytest.approx(rmssd_ms(rr), rel=0.03)  # was -7 %
    assert len(correction.artifacts) <= 2  # measured 0 (was 13: 11 first-pass, 2 more passes)


def test_one_pass_does_not_grow_flags_on_a_variable_clean_recording():
    # pyhrv's NSRDB NN series: repeated passes grew 83 first-pass flags into 131 (RMSSD -10.6 %)
    rr = read_rr_file(recording_path("pyhrv_samples/nsrdb_nni_60min_rr.csv")).rr_ms
    correction = correct_artifacts(rr)
    assert len(correction.artifacts) <= detect_artifacts(rr, bounded=False).count  # 24 <= 83
    change = corrected_rmssd_ms(correction) / rmssd_ms(rr) - 1.0
    assert abs(change) < 0.08  # measured -6.8 % (interpolated differences: -4.2 %)


def test_mitdb_100_premature_beats_are_found_with_few_other_flags():
    rr, _, premature = mitdb_beats(recording_path("mitdb_100/100_beats_rr.csv"))
    correction = correct_artifacts(rr)
    recall, precision = recall_and_precision(list(correction.indices), premature)
    assert recall == 1.0 and precision >= 0.95  # measured 1.00 and 0.98 (was 0.925)


@pytest.mark.parametrize("split", [(151.0, 867.0), (867.0, 151.0)])
def test_a_fragment_of_an_extra_detection_is_merged_back_and_keeps_the_time(split):
    base = 1000.0 + 20.0 * np.sin(np.arange(120) / 2.0)
    rr = np.concatenate((base[:60], [999.0, *split], base[60:]))
    correction = correct_artifacts(rr)
    np.testing.assert_allclose(correction.rr_ms[60:62], [999.0, 1018.0])  # was 933, 933
    assert correction.rr_ms.sum() == pytest.approx(rr.sum())
    assert [a.kind for a in correction.artifacts] == ["extra"]
    assert "merged" in correction.artifacts[0].correction


def test_fixes_land_on_their_own_beats_after_several_removals_before_them():
    # two extra detections, then a missed beat: neurokit2's index update (one change at a time,
    # against indices already shifted) split a normal interval and left the long one
    rng = np.random.default_rng(4)
    true = 800.0 + 30.0 * np.sin(np.arange(300) / 3.0) + rng.normal(0.0, 5.0, 300)
    rr: list[float] = []
    for k, value in enumerate(true.tolist()):
        if k in (100, 140):  # extra detections: the interval split 40/60
            rr += [0.4 * value, 0.6 * value]
        elif k == 181:  # a missed beat: intervals 180 and 181 merged
            rr[-1] += value
        else:
            rr.append(value)
    correction = correct_artifacts(np.array(rr))
    assert correction.rr_ms.size == true.size
    np.testing.assert_allclose(correction.rr_ms[:180], true[:180], atol=1e-9)
    assert correction.rr_ms[180:182] == pytest.approx([(true[180] + true[181]) / 2.0] * 2)


@pytest.mark.parametrize("case", ["demo seed 3", "polar_h10_pvc", "dense synthetic"])
def test_the_stream_decides_as_batch_does_on_the_beats_so_far(case):
    if case == "demo seed 3":
        rr = np.array([s.beat.rr_ms for s in demo_session(3)])
    elif case == "polar_h10_pvc":
        rr = read_rr_file(recording_path(
            "polar_h10_pvc_10min/polar_h10_device_rr.csv")).rr_ms[:400]
    else:
        rng = np.random.default_rng(1)
        rr = 900.0 + 60.0 * np.sin(np.arange(300) / 1.5) + 15.0 * rng.standard_normal(300)
        rr[5::9] *= rng.choice([0.6, 2.0, 0.45], size=rr[5::9].size)
    stream = StreamingArtifactDetector()
    flagged_early = 0
    for k, value in enumerate(rr.tolist()):
        stream.add(value)
        flags, held = judge_stretch(rr[:k + 1])
        expected = {j - 1: kind for j, kind in flags.items()}
        got = stream.flags()
        if held is not None:
            assert stream.held_from() == held - 1
            expected = {i: kind for i, kind in expected.items() if i < held - 1}
            got = {i: kind for i, kind in got.items() if i < held - 1}
        else:
            assert stream.held_from() is None
        assert got == expected, k
        flagged_early += k < 60 and bool(got)
    final_flags, _ = judge_stretch(rr)
    decided = range(stream.decided_through + 1)
    assert {i: k for i, k in stream.final_flags.items() if i in decided} == \
        {j - 1: kind for j, kind in final_flags.items() if j - 1 in decided}
    assert flagged_early > 0  # the first minute is judged too (no 91-beat wait)


def test_replacing_the_newest_interval_equals_having_received_that_value():
    rr = read_rr_file(recording_path("mitdb_100/100_beats_rr.csv")).rr_ms[:300]
    replaced, direct = StreamingArtifactDetector(), StreamingArtifactDetector()
    for k, value in enumerate(rr.tolist()):
        replaced.add(value * 0.5 if k % 37 == 5 else value)
        if k % 37 == 5:
            replaced.replace_last(value)
        direct.add(value)
        assert replaced.flags() == direct.flags() and replaced.held_from() == direct.held_from()
    assert replaced.final_flags == direct.final_flags


@pytest.mark.parametrize("relative", ["mitdb_100/100_beats_rr.csv",
                                      "polar_h10_pvc_10min/polar_h10_device_rr.csv",
                                      "polar_rri_bartels_hrv/noisy_rri_rr.csv",
                                      "pyhrv_samples/nsrdb_nni_60min_rr.csv"])
def test_the_bounds_only_take_flags_away_from_the_papers_method_on_real_recordings(relative):
    # neurokit2's Kubios method = the paper's (bounded=False, tested flag for flag in
    # test_analysis_artifacts.py); with bounds, every flag is one of its flags (or next to
    # one), the rest were flags on beats changing by less than 20 % (mitdb 79 -> 66, PVC
    # 20 -> 13, noisy_rri 54 -> 8, NSRDB 83 -> 24)
    rr = np.round(read_rr_file(recording_path(relative)).rr_ms)
    papers = set(detect_artifacts(rr, bounded=False).kinds())
    ours = set(detect_artifacts(rr).kinds())
    assert ours and all(any(abs(o - p) <= 1 for p in papers) for o in ours)
    assert len(ours) < len(papers)


def test_an_artifact_in_the_very_first_interval_is_corrected():
    # the first RR after a strap connects is often wrong; the made-up interval before it is the
    # median of the first three, not a copy of it (which hid it: dRR 0)
    rng = np.random.default_rng(0)
    rr = 900.0 + 40.0 * np.sin(np.arange(200) / 2.5) + rng.normal(0.0, 5.0, 200)
    missed = rr.copy()
    missed[0] = 2.0 * rr[0]
    correction = correct_artifacts(missed)
    assert [(a.index, a.kind) for a in correction.artifacts] == [(0, "missed")]
    assert correction.rr_ms[:2] == pytest.approx([rr[0], rr[0]])
