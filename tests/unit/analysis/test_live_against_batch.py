"""Issue 12, live markers you can trust: corrected from the first beat, equal to batch on the
beats so far (markers_at), close to the truth in every window, provisional where a fix is not
final, and gated for rhythm quality on every snapshot."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hrvcoach.analysis import correct_artifacts, rmssd_ms, time_markers
from hrvcoach.analysis.live import LiveMarkers, markers_at
from hrvcoach.core.beats import Beat
from hrvcoach.core.markers import Markers
from hrvcoach.files.rr_files import read_rr_file
from tests.known_truth import beats_of, demo_session, mitdb_beats, nn_rmssd_ms, recording_path

FIELDS = [f.name for f in dataclasses.fields(Markers)]


def assert_equal_markers(live: Markers, batch: Markers, where: object) -> None:
    for name in FIELDS:
        ours, theirs = getattr(live, name), getattr(batch, name)
        if isinstance(ours, float):
            assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12, nan_ok=True), (name, where)
        else:
            assert ours == theirs, (name, where)


def _messy_beats() -> list[Beat]:
    """Premature, missed and extra beats, fragments of double detections, no contact, a gap."""
    rng = np.random.default_rng(8)
    beats, now = [], 0.0
    for i in range(700):
        rr = 850.0 + 70.0 * math.sin(i / 2.2) + 10.0 * rng.standard_normal()
        event = rng.choice(["normal"] * 20 + ["early", "missed", "fragment", "extra", "lost"])
        if event == "fragment":  # a double detection 90 ms after the beat
            now += rr / 1000.0
            beats.append(Beat(rr, now))
            rr = 90.0
        rr = {"early": 0.65 * rr, "missed": 2.0 * rr, "extra": 0.45 * rr}.get(str(event), rr)
        now += rr / 1000.0
        beats.append(Beat(rr, now, contact=event != "lost", after_gap=i == 400))
    return beats


@pytest.mark.parametrize("case", ["demo seed 1", "demo seed 3", "mitdb_100", "polar_h10_pvc",
                                  "messy"])
def test_live_markers_equal_batch_on_the_beats_so_far(case):
    if case.startswith("demo"):
        beats = [s.beat for s in demo_session(int(case[-1]))]
    elif case == "mitdb_100":
        beats = beats_of(read_rr_file(recording_path("mitdb_100/100_beats_rr.csv")).rr_ms[:500])
    elif case == "polar_h10_pvc":
        beats = beats_of(read_rr_file(recording_path(
            "polar_h10_pvc_10min/polar_h10_device_rr.csv")).rr_ms[:300])
    else:
        beats = _messy_beats()
    # on every beat in use: live also reuses its corrected beats while the flags stand, and
    # must give what correcting afresh gives
    live = LiveMarkers(correct_artifacts=True)
    compared = 0
    for k, beat in enumerate(beats):
        markers = live.update(beat)
        if beat.usable and 250.0 <= beat.rr_ms <= 3000.0:
            assert_equal_markers(markers, markers_at(beats[:k + 1], beat.time_s), k)
            compared += 1
    assert compared > 250


def test_mitdb_100_replayed_live_keeps_rmssd_within_10_pct_of_its_annotated_nn_intervals():
    rr, nn, _premature = mitdb_beats(recording_path("mitdb_100/100_beats_rr.csv"))
    times = np.cumsum(rr) / 1000.0
    live = LiveMarkers(correct_artifacts=True)
    off: list[tuple[int, float]] = []
    errors = []
    for k, beat in enumerate(beats_of(rr)):
        markers = live.update(beat)
        if beat.time_s < 60.0:
            continue
        window = np.flatnonzero((times > beat.time_s - 60.0) & (times <= beat.time_s))
        error = markers.rmssd_ms / nn_rmssd_ms(rr, nn, window) - 1.0
        errors.append(abs(error))
        if abs(error) > 0.10:
            off.append((k, error))
    # Beat 2030 is annotated normal, but its RR (758, 697, 888 ms: short, then a full
    # compensatory pause) is a premature beat's; any RR-only method treats it as one, and its
    # 191-ms difference is then missing from the windows that hold it (batch alike: 78).
    # (A premature beat only 17.5 % shorter than the one before, 1084, is held back until the
    # next interval shows it: the window ending at it was 13.8 % off before that.)
    excused = [(k, e) for k, e in off if k - 2030 in range(0, 80)]
    assert [k for k, _ in off if (k, _) not in excused] == []  # before issue 12: 494 windows
    assert len(excused) <= 78 and max(abs(e) for _, e in excused) < 0.35  # 78, at most 33.5 %
    assert float(np.median(errors)) < 0.01  # measured 0.0
    # and at 830 s, where live read 62.8 ms against batch's 27.0 (truth ~27):
    at_830 = LiveMarkers(correct_artifacts=True)
    for beat in beats_of(rr[times <= 830.2]):
        markers = at_830.update(beat)
    assert markers.rmssd_ms == pytest.approx(25.9, abs=1.5)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_demo_at_4_artifacts_per_min_stays_near_batch_from_the_first_minute(seed):
    # `hrvcoach demo --sim-artifacts 4 --seed N`: live printed RMSSD 429, 289, 233 ms in the
    # first minute of seed 3 (truth ~29); the baseline was 83 ms
    session = demo_session(seed)
    rr = np.array([s.beat.rr_ms for s in session])
    times = np.array([s.beat.time_s for s in session])
    batch = correct_artifacts(rr)
    batch_times = times[batch.source_index] + batch.shift_ms / 1000.0
    live = LiveMarkers(correct_artifacts=True)
    ratios, first_minute = [], []
    for simulated in session:
        markers = live.update(simulated.beat)
        now = simulated.beat.time_s
        if now < 60.0:
            if now > 10.0:
                first_minute.append(markers.rmssd_ms)
            continue
        window = (batch_times > now - 60.0) & (batch_times <= now)
        expected = time_markers(batch.rr_ms[window], batch.skip_difference[window]).rmssd_ms
        ratios.append(markers.rmssd_ms / expected)
    assert min(ratios) >= 0.85 and max(ratios) <= 1.15  # measured 0.91..1.04 over the seeds
    assert max(ratios) < 2.0
    assert max(first_minute) < 60.0  # measured at most 31 ms


@pytest.mark.parametrize(("seed", "beat"), [(12, 94), (40, 293), (11, 322)])
def test_a_short_beat_within_its_threshold_waits_for_the_beat_after_it(seed, beat):
    # seeds 12 and 40: premature beats 29 and 27 % short, within their dRR thresholds (slow
    # breathing raises them), counted in live RMSSD for a beat (+73 %, +36 %); seed 11: an extra
    # detection merged into the interval before it while the one after it was held (+39 %).
    # Over seeds 1-60 (600 s) 15 showed such a jump (> 6 %); now live stays within -13..+5 %.
    session = demo_session(seed, seconds=330.0)
    assert session[beat].artifact in ("ectopic", "extra")
    live = LiveMarkers(correct_artifacts=True)
    rmssd = [live.update(simulated.beat).rmssd_ms for simulated in session[:beat + 6]]
    before = rmssd[beat - 1]
    assert max(abs(value / before - 1.0) for value in rmssd[beat:]) < 0.05


def test_a_missed_beat_in_the_first_seconds_is_corrected_at_once():
    session = demo_session(3)  # beat 3 is a missed detection (1857 ms)
    assert session[3].artifact == "missed"
    live = LiveMarkers(correct_artifacts=True)
    for simulated in session[:12]:
        markers = live.update(simulated.beat)
    clean = np.array([s.beat.rr_ms for s in demo_session(3, artifacts_per_min=0.0)[:12]])
    assert markers.rmssd_ms == pytest.approx(rmssd_ms(clean), rel=0.25)  # was ~10 x too high
    assert markers.provisional  # the start's decisions are not final yet


def test_values_resting_on_a_fix_not_final_yet_are_provisional_and_settle_to_batch():
    beats = [s.beat for s in demo_session(1)]
    live = LiveMarkers(correct_artifacts=True)
    provisional_then_final = 0
    for k, beat in enumerate(beats):
        markers = live.update(beat)
        if k > 150 and not markers.provisional:
            # no fix in the windows is younger than the final horizon: batch with every later
            # beat (final decisions) gives the same numbers
            final = markers_at(beats, beat.time_s)
            assert not final.provisional
            assert_equal_markers(markers, final, k)
            provisional_then_final += 1
    assert provisional_then_final > 10


def _live_quality(beats: list[Beat]) -> tuple[list[bool], tuple[str, ...]]:
    live = LiveMarkers(correct_artifacts=True)
    valid = [live.update(beat).hrv_valid for beat in beats]
    return valid, live.latest_quality.reasons


def test_live_gate_says_the_pvc_recording_is_not_valid_and_why():
    rr = read_rr_file(recording_path("polar_h10_pvc_10min/polar_h10_device_rr.csv")).rr_ms
    valid, reasons = _live_quality(beats_of(rr))
    assert sum(valid[200:]) / len(valid[200:]) < 0.1  # after two minutes: (almost) never valid
    assert any("bigeminy" in r or "premature" in r for r in reasons)
    assert all(r.endswith("HRV not valid") for r in reasons)


def test_live_gate_rejects_r_peak_sample_positions_and_heart_rates():
    positions = np.loadtxt(recording_path(
        "gudb_rpeaks_250hz/original/subject_00/sitting/annotation_cs.tsv"))
    beats = [Beat(float(v), i * 0.8) for i, v in enumerate(positions[:40])]
    valid, reasons = _live_quality(beats)
    assert not valid[-1] and any("increasing" in r for r in reasons)
    heart_rates = [Beat(70.0 + 5.0 * math.sin(i / 3.0), i * 0.85) for i in range(60)]
    valid, reasons = _live_quality(heart_rates)
    assert not valid[-1] and any("heart rates" in r for r in reasons)


def test_live_gate_lets_clean_recordings_through():
    for relative in ("polar_h10_breathing_10min/rr.csv", "polar_rri_bartels_hrv/rest_rri_rr.csv"):
        rr = read_rr_file(recording_path(relative)).rr_ms
        valid, _ = _live_quality(beats_of(rr[:400]))
        assert all(valid[10:]), relative
