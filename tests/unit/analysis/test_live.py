"""Live markers: per beat, the same numbers as the batch functions on the same windows."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrvcoach.analysis import (
    LiveMarkers,
    mean_hr_bpm,
    time_markers,
    window_markers,
)
from hrvcoach.analysis.live import in_use, markers_at
from hrvcoach.core.beats import Beat
from hrvcoach.core.markers import Markers
from hrvcoach.files.rr_files import read_rr_file
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.sources.simulator import SimulatedPerson, simulate_beats
from tests.helpers import real_recording


def beats_of(rr: np.ndarray) -> list[Beat]:
    return [Beat(float(r), float(t)) for r, t in zip(rr, np.cumsum(rr) / 1000.0, strict=True)]


def assert_same(live: Markers, rr60: np.ndarray, rr120: np.ndarray, rr10: np.ndarray,
                skip60: np.ndarray | None = None) -> None:
    """Every live marker equals the batch functions on the windows' beats (skip60: differences
    left out of the time domain, next to a moved beat)."""
    time = time_markers(rr60, skip60)
    batch = window_markers(rr120, coherence_blocks=1)
    pairs = {
        "mean_hr_bpm": (live.mean_hr_bpm, mean_hr_bpm(rr10)),
        "rmssd_ms": (live.rmssd_ms, time.rmssd_ms),
        "ln_rmssd": (live.ln_rmssd, time.ln_rmssd),
        "sdnn_ms": (live.sdnn_ms, time.sdnn_ms),
        "pnn50_pct": (live.pnn50_pct, time.pnn50_pct),
        "sd1_ms": (live.sd1_ms, time.sd1_ms),
        "sd2_ms": (live.sd2_ms, time.sd2_ms),
        "stress_index": (live.stress_index, time.stress_index),
        "lf_ms2": (live.lf_ms2, batch.frequency.lf_ms2),
        "hf_ms2": (live.hf_ms2, batch.frequency.hf_ms2),
        "lf_hf": (live.lf_hf, batch.frequency.lf_hf),
        "lf_peak_hz": (live.lf_peak_hz, batch.frequency.lf_peak_hz),
        "hf_peak_hz": (live.hf_peak_hz, batch.frequency.hf_peak_hz),
        "breaths_per_min": (live.breaths_per_min, batch.breathing.breaths_per_min),
        "breathing_power_ms2": (live.breathing_power_ms2, batch.breathing.breathing_power_ms2),
        "p2t_ms": (live.p2t_ms, batch.breathing.p2t_ms),
        "p2t_bpm": (live.p2t_bpm, batch.breathing.p2t_bpm),
        "coherence_ratio": (live.coherence_ratio, batch.coherence.coherence_ratio),
        "coherence_peak_hz": (live.coherence_peak_hz, batch.coherence.coherence_peak_hz),
    }
    for name, (ours, theirs) in pairs.items():
        assert ours == pytest.approx(theirs, rel=1e-12, nan_ok=True), name
    assert live.hf_valid == batch.breathing.hf_valid
    assert live.beats_in_window == rr60.size


def test_live_markers_equal_batch_on_the_same_windows():
    rr = read_rr_file(real_recording("polar_h10_breathing_10min/rr.csv")).rr_ms
    times = np.cumsum(rr) / 1000.0
    live = LiveMarkers()
    checked = 0
    for i, beat in enumerate(beats_of(rr)):
        markers = live.update(beat)
        if i % 37 == 36:
            now = beat.time_s

            def window(seconds: float, now: float = now) -> np.ndarray:
                return rr[(times > now - seconds) & (times <= now)]

            assert_same(markers, window(60.0), window(120.0), window(10.0))
            checked += 1
    assert checked >= 15
    assert math.isfinite(markers.lf_ms2) and math.isfinite(markers.coherence_ratio)


def test_with_correction_on_live_markers_equal_batch_on_the_beats_they_use():
    # a beat that looks odd is held back until the two beats after it allow classifying it;
    # otherwise the windows are the recording's own
    rr = read_rr_file(real_recording("polar_h10_breathing_10min/rr.csv")).rr_ms
    times = np.cumsum(rr) / 1000.0
    live = LiveMarkers(correct_artifacts=True)
    as_recorded = 0
    for i, beat in enumerate(beats_of(rr)):
        markers = live.update(beat)
        if i % 23 == 22:
            rr60, skip60, _ = live.window(60.0)
            assert_same(markers, rr60, live.window(120.0)[0], live.window(10.0)[0], skip60)
            now = beat.time_s
            own = rr[(times > now - 120.0) & (times <= now)]
            as_recorded += np.array_equal(live.window(120.0)[0], own)
    assert as_recorded >= 15  # of 26: most windows are the recording's own beats


def test_live_markers_with_corrected_artifacts_equal_batch_on_the_corrected_windows():
    beats = [sim.beat for sim in itertools.takewhile(
        lambda s: s.beat.time_s <= 400.0,
        simulate_beats(Pacer.constant(6.0), SimulatedPerson(), seed=3, artifacts_per_min=3.0))]
    live = LiveMarkers(correct_artifacts=True)
    corrected_windows = 0
    for i, beat in enumerate(beats):
        markers = live.update(beat)
        if i > 150 and i % 29 == 0:
            rr60, skip60, flagged = live.window(60.0)
            rr120, _, _ = live.window(120.0)
            rr10, _, _ = live.window(10.0)
            assert_same(markers, rr60, rr120, rr10, skip60)
            assert markers.artifacts_in_window == flagged
            corrected_windows += flagged > 0
    assert corrected_windows >= 3
    # and the correction works: RMSSD stays near the artifact-free run's
    clean = LiveMarkers()
    for beat in itertools.takewhile(lambda b: b.time_s <= beats[-1].time_s, (
            s.beat for s in simulate_beats(Pacer.constant(6.0), SimulatedPerson(), seed=3))):
        reference = clean.update(beat)
    assert markers.rmssd_ms == pytest.approx(reference.rmssd_ms, rel=0.1)


def test_markers_appear_once_their_window_is_long_enough():
    rr = read_rr_file(real_recording("polar_rri_bartels_hrv/rest_rri_rr.csv")).rr_ms
    live = LiveMarkers()
    seen: dict[int, Markers] = {}
    for beat in beats_of(rr[:200]):
        seen[int(beat.time_s)] = live.update(beat)
    at = sorted(seen)

    def first(seconds: int) -> Markers:
        return seen[next(t for t in at if t >= seconds)]

    assert math.isnan(first(30).hf_ms2) and math.isfinite(first(30).rmssd_ms)
    assert math.isfinite(first(65).hf_ms2) and math.isnan(first(65).lf_ms2)
    assert math.isnan(first(50).coherence_ratio) and math.isfinite(first(70).coherence_ratio)
    assert math.isfinite(first(125).lf_ms2)


def test_a_gap_restarts_the_spectrum_and_keeps_differences_from_spanning_it():
    rr = read_rr_file(real_recording("polar_rri_bartels_hrv/rest_rri_rr.csv")).rr_ms[:300]
    live = LiveMarkers()
    beats = beats_of(rr)
    for beat in beats[:150]:
        before = live.update(beat)
    assert math.isfinite(before.hf_ms2)
    gone = Beat(900.0, beats[150].time_s, contact=False)
    assert live.update(gone) == before  # ignored
    after = live.update(beats[151])
    assert math.isnan(after.hf_ms2)  # a new stretch: no spectrum across the gap yet
    kept = [b.rr_ms for b in beats[:150] if b.time_s > beats[151].time_s - 60.0]
    window = np.array([*kept, beats[151].rr_ms])
    gaps = np.zeros(window.size, dtype=bool)
    gaps[-1] = True
    assert after.rmssd_ms == pytest.approx(time_markers(window, gaps).rmssd_ms, rel=1e-12)
    impossible = live.update(Beat(5000.0, beats[152].time_s))  # > MAX_RR_MS: also a gap
    assert impossible == after


def test_the_pacer_rate_stands_for_the_breathing_rate_while_pacing():
    rr = read_rr_file(real_recording("polar_rri_bartels_hrv/rest_rri_rr.csv")).rr_ms[:150]
    live = LiveMarkers()
    for beat in beats_of(rr):
        paced = live.update(beat, pacer_breaths_per_min=6.0)
    assert paced.breaths_per_min == 6.0 and not paced.hf_valid
    assert math.isfinite(paced.breathing_power_ms2)


def test_the_neurokit2_engine_gives_neurokit2_numbers_on_the_same_windows():
    pytest.importorskip("neurokit2")
    from hrvcoach.analysis.reference import neurokit_frequency_domain, neurokit_time_domain

    rr = read_rr_file(real_recording("polar_h10_breathing_10min/rr.csv")).rr_ms[:160]
    ours, theirs = LiveMarkers(), LiveMarkers(engine="neurokit2")
    for beat in beats_of(rr):
        mine, nk = ours.update(beat), theirs.update(beat)
    times = np.cumsum(rr) / 1000.0
    now = times[-1]
    expected_time = neurokit_time_domain(rr[times > now - 60.0])
    expected_frequency = neurokit_frequency_domain(rr[times > now - 120.0])
    assert nk.rmssd_ms == pytest.approx(expected_time.rmssd_ms, rel=1e-12)
    assert nk.pnn50_pct == pytest.approx(expected_time.pnn50_pct, rel=1e-12)
    assert nk.hf_ms2 == pytest.approx(expected_frequency.hf_ms2, rel=1e-12)
    assert nk.rmssd_ms == pytest.approx(mine.rmssd_ms, rel=1e-9)  # same beats, same RMSSD
    assert nk.hf_ms2 == pytest.approx(mine.hf_ms2, rel=0.25)  # its own Welch on a 2-min window
    assert nk.coherence_ratio == mine.coherence_ratio  # ours in both engines


def test_analysis_reference_module_imports_neurokit2_only_when_called():
    import subprocess
    import sys

    code = ("import sys, hrvcoach.analysis.reference, hrvcoach.analysis\n"
            "print('neurokit2' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_recent_artifacts_are_the_times_of_the_beats_the_detector_marks():
    simulated = list(itertools.takewhile(
        lambda s: s.beat.time_s <= 300.0,
        simulate_beats(Pacer.constant(6.0), SimulatedPerson(), seed=5, artifacts_per_min=4.0)))
    live = LiveMarkers(correct_artifacts=True)
    assert live.recent_artifacts(64) == ((), pytest.approx(math.nan, nan_ok=True))
    final: set[float] = set()  # marked when leaving the lookback: decided for good by then
    for sim in simulated:
        live.update(sim.beat)
        times, oldest_s = live.recent_artifacts(64)
        assert all(oldest_s <= t <= sim.beat.time_s for t in times)
        assert list(times) == sorted(times)
        final.update(t for t in times if t == oldest_s)
    truth = {s.beat.time_s for s in simulated if s.artifact is not None and s.beat.time_s < 230}
    final = {t for t in final if t >= 60.0}  # the detector's first ~55 beats lack context
    near = 1.6  # the marked beat may be the artifact's neighbour (an ectopic's long interval)
    assert len(truth) >= 6
    assert all(any(abs(t - m) < near for m in final) for t in truth if t >= 60.0)
    assert all(any(abs(m - t) < near for t in truth) for m in final)
    in_use_times = [s.beat.time_s for s in simulated if in_use(s.beat)]
    assert live.recent_artifacts(64)[1] == in_use_times[-64]
    assert not LiveMarkers().recent_artifacts(64)[0]  # no detector without correction


# One beat of a messy stream: normal, premature, missed or extra beats, no contact, a gap.
_BEAT_EVENTS = st.sampled_from(["normal"] * 12 + ["early", "missed", "extra", "no contact",
                                                   "gap", "out of range"])


@settings(max_examples=25, deadline=None)
@given(events=st.lists(_BEAT_EVENTS, min_size=50, max_size=400), seed=st.integers(0, 1000))
def test_live_markers_survive_any_messy_stream_and_equal_batch_on_it(events, seed):
    # changed with issue 12: the corrected-window cache is gone (live plans each event once and
    # remembers the fix); what must hold is that live equals batch (markers_at) on the beats so
    # far, whatever the stream throws at it
    rng = np.random.default_rng(seed)
    live, plain = LiveMarkers(correct_artifacts=True), LiveMarkers()
    now = 0.0
    beats = []
    for i, event in enumerate(events):
        rr = 900.0 + 60.0 * math.sin(i / 1.5) + 15.0 * rng.standard_normal()
        rr = {"early": 0.6 * rr, "missed": 2.0 * rr, "extra": 0.45 * rr,
              "out of range": 4000.0}.get(event, rr)
        now += rr / 1000.0
        beat = Beat(rr, now, contact=event != "no contact", after_gap=event == "gap")
        beats.append(beat)
        for markers in (live.update(beat), plain.update(beat)):
            assert 0 <= markers.artifacts_in_window <= max(markers.beats_in_window, 0)
            assert math.isnan(markers.mean_hr_bpm) or 20.0 < markers.mean_hr_bpm < 250.0
            assert math.isnan(markers.rmssd_ms) or markers.rmssd_ms >= 0.0
    last = max(i for i, b in enumerate(beats) if in_use(b))
    if live.latest.beats_in_window:
        expected = markers_at(beats[:last + 1], beats[last].time_s)
        assert live.latest.rmssd_ms == pytest.approx(expected.rmssd_ms, rel=1e-9, nan_ok=True)
        assert live.latest.hf_ms2 == pytest.approx(expected.hf_ms2, rel=1e-9, nan_ok=True)
