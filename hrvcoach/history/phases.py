"""Per-phase markers of a stored session: beats without skin contact are left out (the
difference across them is not used), the rest are artifact-corrected over the whole session as
one series whose gaps start new stretches (analysis.artifacts, as the live coach does), and each
phase's markers come from its corrected beats (a beat belongs to the phase in which it ends):
time domain (differences touching a moved beat left out), Welch spectrum (LF, HF),
breathing-aware markers (HF valid only when the breathing peak lies wholly in HF), coherence
(the median of the 64-s block ratios, hrvcoach's score, the time at each level) and the
rhythm-quality gate (analysis.quality): a phase whose rhythm is not sinus-like has
`hrv_valid` false, with its reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from hrvcoach.analysis import Quality, correct_artifacts, rhythm_quality, window_markers
from hrvcoach.analysis.accel_breathing import (
    breath_rate_per_min,
    inhale_exhale_ratio,
    pacer_adherence,
    pacer_lag_s,
)
from hrvcoach.analysis.artifacts import merge_fragments
from hrvcoach.analysis.ecg import RRComparison, compare_rr, ecg_stretches, r_peaks
from hrvcoach.analysis.heart_breath import heart_breath
from hrvcoach.analysis.movement import still_fraction, still_mask
from hrvcoach.analysis.time_domain import BoolArray, FloatArray, mean_hr_bpm
from hrvcoach.core.markers import MarkerValue
from hrvcoach.core.raw import BreathRecord, MovementSegment
from hrvcoach.core.records import PhaseRecord
from hrvcoach.store import SessionInfo, Store

__all__ = [
    "MAX_RELIABLE_ARTIFACT_PCT",
    "MIN_RELIABLE_S",
    "PhaseData",
    "SessionAnalysis",
    "compute_markers",
    "phase_markers",
    "session_phase_data",
]

MIN_RELIABLE_S: Final = 120.0  # shorter phases are flagged (LF needs 2 min; 5 min is standard)
MAX_RELIABLE_ARTIFACT_PCT: Final = 5.0  # more corrected or contact-less beats than this: flagged
MOVING_MARGIN_S: Final = 5.0  # beats this close to a movement are left out of vagal markers too
RESPONSE_WINDOW_S: Final = 30.0  # a movement phase's highest heart rate: over this long
BEFORE_AFTER_S: Final = 60.0  # the minute before a movement phase, and the minute after it


@dataclass(frozen=True, slots=True)
class PhaseData:
    """One stored phase with its artifact-corrected beats."""

    session: SessionInfo
    phase: PhaseRecord
    rr_ms: FloatArray  # corrected intervals ending in this phase
    after_gap: BoolArray  # True where the difference to the previous interval is not used
    time_s: FloatArray  # session time of the beat that ends each corrected interval
    n_beats: int  # beats recorded in the phase (before correction)
    n_flagged: int  # of them: artifacts or without skin contact
    breaths_per_min: float | None  # the breathing rate known besides the RR: measured by the
    # accelerometer, else the pacer's; None: spontaneous breathing, estimated from the RSA
    quality: Quality  # the rhythm-quality gate on the phase's beats
    breaths: tuple[BreathRecord, ...] = ()  # measured, starting in this phase
    movement: tuple[MovementSegment, ...] = ()  # the session's movements (all of them)
    n_moving: int = 0  # beats left out because the body moved (rr_ms holds the still ones)
    all_time_s: FloatArray | None = None  # every corrected beat of the phase, moving or not
    all_rr_ms: FloatArray | None = None
    session_beats: tuple[FloatArray, FloatArray] | None = None  # (time, RR) of every corrected beat
    ecg_checks: dict[str, int] | None = None  # the strap's beats here against the ECG (None: no ECG)
    ecg_beat_time_s: FloatArray | None = None  # R-peak times of the phase's agreeing beats

    @property
    def beats_timed(self) -> tuple[FloatArray, FloatArray]:
        """(time, RR) of the phase's beats, moving or not, timed by the ECG's R-peaks where they
        agree with it (a strap's beats are timed when their packet arrives)."""
        times = self.all_time_s if self.all_time_s is not None else self.time_s
        rr = self.all_rr_ms if self.all_rr_ms is not None else self.rr_ms
        if self.ecg_beat_time_s is None or self.ecg_beat_time_s.size == 0:
            return times, rr
        ecg = self.ecg_beat_time_s
        return ecg[:, 0], ecg[:, 1]

    @property
    def moving_s(self) -> float:
        """Time of this phase in which the body moved."""
        start, end = self.phase.start_s, self.phase.end_s
        return sum(max(0.0, min(end, m.end_s) - max(start, m.start_s)) for m in self.movement)

    @property
    def label(self) -> str:
        return f"session {self.session.id} phase {self.phase.index + 1} ({self.phase.name})"

    @property
    def duration_s(self) -> float:
        return float(self.rr_ms.sum()) / 1000.0

    @property
    def flagged_pct(self) -> float:
        return 100.0 * self.n_flagged / self.n_beats if self.n_beats else math.nan

    def unreliable(self) -> list[str]:
        """Why this phase's markers should not be trusted much (empty: no reason)."""
        reasons = []
        if self.duration_s < MIN_RELIABLE_S and self.phase.kind != "movement":
            reasons.append(f"short: {self.duration_s / 60:.1f} min (< {MIN_RELIABLE_S / 60:g} min)")
        if self.moving_s >= 1.0 and self.phase.kind != "movement":
            reasons.append(f"moving: {self.moving_s:.0f} s of movement left out")
        if self.flagged_pct > MAX_RELIABLE_ARTIFACT_PCT:
            reasons.append(f"artifact-heavy: {self.flagged_pct:.0f} % of beats corrected or "
                           f"contact-less (> {MAX_RELIABLE_ARTIFACT_PCT:g} %)")
        return reasons


@dataclass(frozen=True, slots=True)
class SessionAnalysis:
    phases: list[PhaseData]
    artifacts: Mapping[int, str]  # beat seq -> artifact kind


def ecg_comparison(store: Store, session_id: int, time_s: FloatArray, rr_ms: FloatArray,
                   after_gap: BoolArray) -> RRComparison | None:
    """The session's beats against the R-peaks of its ECG (None without ECG)."""
    stretches = ecg_stretches(store.raw_chunks(session_id, "ecg"))
    if not stretches:
        return None
    peaks = np.concatenate([s.start_s + r_peaks(s.values_uv, s.rate_hz) / s.rate_hz
                            for s in stretches])
    return compare_rr(peaks, time_s, rr_ms, after_gap.tolist())


def session_phase_data(store: Store, session_id: int) -> SessionAnalysis:
    """Every phase of a stored session with its corrected beats, and the session's artifacts."""
    session = store.session(session_id)
    beats = store.beats(session_id)
    phases = store.phases(session_id)
    time_s = np.asarray(beats.time_s, dtype=np.float64)
    rr = np.asarray(beats.rr_ms, dtype=np.float64)
    usable = np.asarray(beats.usable, dtype=bool)
    gaps = np.asarray(beats.after_gap, dtype=bool)
    # A usable beat after a contact-less one (or a reported gap) starts a new stretch.
    follows_unusable = np.concatenate(([False], ~usable[:-1])) if rr.size else usable
    starts_run = (gaps | follows_unusable)
    kept = np.flatnonzero(usable)
    correction = correct_artifacts(rr[kept], after_gap=starts_run[kept])
    artifacts = {int(kept[a.index]): a.kind for a in correction.artifacts}
    source = kept[correction.source_index] if kept.size else np.empty(0, dtype=np.int64)
    corrected = correction.rr_ms
    skip = correction.skip_difference
    corrected_time = (time_s[source] + correction.shift_ms / 1000.0) if source.size else np.empty(0)
    # the gate sees the intervals as the detector does (fragments merged), before correction
    merged, parts, _, _ = merge_fragments(rr[kept], starts_run[kept])
    merged_end = kept[np.asarray([part[-1] for part in parts], dtype=np.int64)] if parts else \
        np.empty(0, dtype=np.int64)
    fixed_beat = kept[correction.fixed_index] if kept.size else np.empty(0, dtype=np.int64)
    flagged = ~usable
    flagged[list(artifacts)] = True
    movement = tuple(store.movement(session_id))
    breaths = store.breaths(session_id)
    ecg = ecg_comparison(store, session_id, time_s, rr, gaps)
    # vagal markers come from still stretches: beats while the body moved (and MOVING_MARGIN_S
    # around it) are left out, and the difference across the hole is not used
    still = still_mask(time_s, list(movement), margin_s=MOVING_MARGIN_S)
    still_corrected = still[source] if source.size else np.zeros(0, dtype=bool)
    skip = skip | np.concatenate(([False], ~still_corrected[:-1])) if skip.size else skip
    data = []
    for phase in phases:
        in_beats = (time_s >= phase.start_s) & (time_s < phase.end_s)
        if phase is phases[-1]:
            in_beats |= time_s >= phase.end_s  # the last phase keeps any beat after its end
        in_phase = in_beats[source] if source.size else np.zeros(0, dtype=bool)
        in_corrected = in_phase & still_corrected
        phase_skip = skip[in_corrected].copy()
        if phase_skip.size:
            phase_skip[0] = False
        in_beats_all = in_beats
        in_beats = in_beats & still
        quality = rhythm_quality(merged[in_beats[merged_end]],
                                 corrected_beats=int(np.count_nonzero(in_beats[fixed_beat])),
                                 raw_values=rr[in_beats & usable])
        # The pacer's rate stands for the breathing rate only where hrvcoach paced it: over an
        # import, a protocol's phases are a plan laid on afterwards, not what was breathed.
        paced = phase.breaths_per_min if phase.kind == "paced" and session.source != "import" \
            else None
        mine = tuple(b for b in breaths if phase.start_s <= b.onset_s < phase.end_s)
        checks, timed = None, None
        if ecg is not None:
            checks = {name: sum(1 for i in np.flatnonzero(in_beats_all) if ecg.checks[i] == check)
                      for name, check in (("ecg_missed_beats", "missed"),
                                          ("ecg_extra_beats", "extra"),
                                          ("ecg_disagreements", "differs"))}
            agreeing = in_beats_all & np.isfinite(ecg.ecg_time_s)
            timed = np.column_stack((ecg.ecg_time_s[agreeing], rr[agreeing]))
        measured = breath_rate_per_min(mine)
        known = measured if math.isfinite(measured) else paced
        data.append(PhaseData(session, phase, corrected[in_corrected], phase_skip,
                              corrected_time[in_corrected], int(in_beats_all.sum()),
                              int((flagged & in_beats).sum()), known, quality, mine, movement,
                              int((in_beats_all & ~still).sum()), corrected_time[in_phase],
                              corrected[in_phase], (corrected_time, corrected), checks, timed))
    return SessionAnalysis(data, artifacts)


def phase_markers(data: PhaseData) -> dict[str, MarkerValue]:
    """Every marker the store keeps for one phase (NaN where it cannot be computed), from the
    analysis engine's window_markers on the phase's corrected beats, and the gate's verdict."""
    rr, skip = data.rr_ms, data.after_gap
    markers: dict[str, MarkerValue] = {
        "n_beats": data.n_beats,
        "duration_s": data.duration_s,
        "artifact_pct": data.flagged_pct,
        "hrv_valid": data.quality.valid,
        "corrected_pct": data.quality.corrected_pct,
    }
    markers.update(body_markers(data))
    if data.phase is not None and data.phase.kind == "movement":  # a form: its HR response
        markers.update(movement_response(data))
        return markers
    found = window_markers(rr, after_gap=skip, paced_breaths_per_min=data.breaths_per_min)
    td, fd, breath, summary = found.time, found.frequency, found.breathing, found.coherence_summary
    markers.update(mean_rr_ms=td.mean_rr_ms, mean_hr_bpm=td.mean_hr_bpm, sdnn_ms=td.sdnn_ms,
                   rmssd_ms=td.rmssd_ms, ln_rmssd=td.ln_rmssd, pnn50_pct=td.pnn50_pct,
                   sd1_ms=td.sd1_ms, sd2_ms=td.sd2_ms, stress_index=td.stress_index,
                   vlf_ms2=fd.vlf_ms2, lf_ms2=fd.lf_ms2, hf_ms2=fd.hf_ms2, lf_hf=fd.lf_hf,
                   breaths_per_min=breath.breaths_per_min, hf_valid=breath.hf_valid,
                   breathing_power_ms2=breath.breathing_power_ms2, p2t_bpm=breath.p2t_bpm,
                   coherence_ratio=summary.coherence_ratio, coherence_score=summary.coherence_score,
                   low_coherence_pct=summary.low_coherence_pct,
                   medium_coherence_pct=summary.medium_coherence_pct,
                   high_coherence_pct=summary.high_coherence_pct,
                   high_coherence_s=summary.high_coherence_s)
    return markers


def body_markers(data: PhaseData) -> dict[str, MarkerValue]:
    """What the accelerometer says of a phase: the measured breath, the pacer followed or not,
    the heart-breath phase, and how still the body was (NaN without raw data)."""
    phase, breaths = data.phase, data.breaths
    found: dict[str, MarkerValue] = dict(data.ecg_checks or {})
    if not breaths and not data.movement:
        return found
    beat_time_s, beat_rr_ms = data.beats_timed
    together = heart_breath(beat_time_s, beat_rr_ms, breaths, phase.start_s, phase.end_s)
    found.update(breathing_rate_measured=breath_rate_per_min(breaths),
                 inhale_exhale_ratio=inhale_exhale_ratio(breaths),
                 pacer_adherence=pacer_adherence(breaths), pacer_lag_s=pacer_lag_s(breaths),
                 heart_breath_phase_deg=together.phase_deg,
                 heart_breath_coherence=together.coherence,
                 still_fraction=still_fraction(phase.start_s, phase.end_s, list(data.movement)),
                 moving_s=data.moving_s)
    return found


def movement_response(data: PhaseData) -> dict[str, MarkerValue]:
    """A movement phase's heart-rate response: its mean, its rise (the highest 30-s mean heart
    rate in the phase minus the mean of the minute before) and its recovery (how far the rate
    fell in the minute after it)."""
    times = data.all_time_s if data.all_time_s is not None else data.time_s
    rr = data.all_rr_ms if data.all_rr_ms is not None else data.rr_ms
    session = data.session_beats
    start, end = data.phase.start_s, data.phase.end_s
    nan = math.nan

    def hr_between(a: float, b: float) -> float:
        if session is None:
            return nan
        t, values = session
        inside = (t > a) & (t <= b)
        return mean_hr_bpm(values[inside]) if np.count_nonzero(inside) >= 3 else nan

    peak = nan
    for window_end in np.arange(start + RESPONSE_WINDOW_S, end + 1e-9, 5.0):
        value = hr_between(window_end - RESPONSE_WINDOW_S, window_end)
        if math.isfinite(value) and not (value <= peak):
            peak = value
    before = hr_between(start - BEFORE_AFTER_S, start)
    at_end = hr_between(end - RESPONSE_WINDOW_S, end)
    after = hr_between(end + BEFORE_AFTER_S - RESPONSE_WINDOW_S, end + BEFORE_AFTER_S)
    return {"mean_hr_bpm": mean_hr_bpm(rr) if rr.size else nan, "hr_rise_bpm": peak - before,
            "hr_recovery_bpm": at_end - after, "n_beats": data.n_beats,
            "duration_s": float(end - start) if times.size else 0.0}


def compute_markers(store: Store, session_id: int) -> dict[int, dict[str, MarkerValue]]:
    """Compute and store the markers of every phase of a session, and flag its artifacts."""
    analysis = session_phase_data(store, session_id)
    markers = {data.phase.index: phase_markers(data) for data in analysis.phases}
    store.save_markers(session_id, markers, analysis.artifacts)
    return markers


