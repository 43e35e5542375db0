"""Live markers updated on every beat, with the same functions and decisions as batch.

Windows (ending at the newest beat): heart rate over the last 10 s; RMSSD and the other time-
domain markers over the last 60 s; the spectrum (LF, HF, breathing) over the last 120 s, which
gives HF from 1 min and LF from 2 min of data; coherence over the last 64 s of that spectrum's
resampled series.

With correct_artifacts=True every beat goes through the same steps as `correct_artifacts`
(artifacts/correct.py): fragments merged, gaps start a new stretch, the streaming detector's
flags (equal to batch on the beats so far), one fix per event planned by the same `plan_fixes`,
the newest unjudged beats held back, differences touching a moved beat left out of the time
domain. So the markers after a beat equal `markers_at` (batch) on the beats up to it, and, once
the decisions in the windows are final (56 beats after a fix; at a stretch's start, from its
101st beat), batch on the whole recording. `provisional` says when a value rests on a fix that
is not final yet (`rests_on_provisional_fix`); the rhythm-quality gate (analysis/quality.py)
runs over the spectrum window on every beat, left-out values included.

Beats without skin contact and intervals over MAX_RR_MS are left out and start a new stretch:
no successive difference and no spectrum spans them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np

from hrvcoach.analysis.artifacts import (
    ARTIFACT_KINDS,
    FIX_KIND,
    ArtifactKind,
    BoolArray,
    Correction,
    Fix,
    IntArray,
    StreamingArtifactDetector,
    apply_corrections,
    correct_artifacts,
    fragment_goes_back,
    merge_fragments,
    moved_mask,
)
from hrvcoach.analysis.artifacts.correct import (
    FRAGMENT_LEVEL_BEATS,
    HELD,
    PLAN_REACH_BEATS,
    _events,
    fix_of_event,
    nearby_flags,
)
from hrvcoach.analysis.breathing import Breathing, breathing_markers
from hrvcoach.analysis.buffers import Columns
from hrvcoach.analysis.coherence import Coherence, coherence_markers
from hrvcoach.analysis.quality import NO_QUALITY, Quality, rhythm_quality
from hrvcoach.analysis.spectral import (
    FloatArray,
    FrequencyDomain,
    Spectrum,
    frequency_markers,
    resample_rr,
    spectrum_of,
)
from hrvcoach.analysis.time_domain import TimeDomain, mean_hr_bpm, time_markers
from hrvcoach.core.beats import Beat
from hrvcoach.core.constants import (
    ARTIFACT_MEDIAN_BEATS,
    ARTIFACT_THRESHOLD_BEATS,
    HR_WINDOW_S,
    LIVE_SPECTRUM_WINDOW_S,
    MAX_RR_MS,
    MIN_RR_MS,
    RMSSD_WINDOW_S,
)
from hrvcoach.core.markers import EMPTY_MARKERS, Markers

__all__ = ["CorrectedBeats", "Engine", "LiveMarkers", "in_use", "live_window_markers", "markers_at",
           "rests_on_provisional_fix"]

Engine = Literal["hrvcoach", "neurokit2"]
NAN = math.nan
FIX_FINAL_AFTER_BEATS: Final = StreamingArtifactDetector.FINAL_AFTER_BEATS + PLAN_REACH_BEATS + 1
# a stretch's first decisions become final once its first full windows are in (anchored windows:
# 91 beats for the thresholds, 5 more for the medians in them) and its plans' reach
START_FINAL_BEATS: Final = ARTIFACT_THRESHOLD_BEATS + ARTIFACT_MEDIAN_BEATS // 2 + PLAN_REACH_BEATS + 1
_MARGIN_S: Final = 10.0  # kept beyond the longest window: a fix at its oldest edge stays whole
_MAX_PLANS: Final = 4096  # remembered event fixes (cleared when full)


def in_use(beat: Beat) -> bool:
    """Whether the markers use this beat as it is: skin contact and RR within MIN_RR_MS..MAX_RR_MS
    (a shorter one is a fragment, merged with a neighbour)."""
    return beat.usable and MIN_RR_MS <= beat.rr_ms <= MAX_RR_MS


def _is_gap(beat: Beat) -> bool:
    """No contact, or an interval that cannot be a fragment nor a beat: a new stretch."""
    return not beat.usable or not (math.isfinite(beat.rr_ms) and 0.0 <= beat.rr_ms <= MAX_RR_MS)


_BEAT_COLUMNS: Final = {"rr": np.float64, "time": np.float64, "gap": np.bool_, "seq": np.int64}
_RAW_COLUMNS: Final = {"rr": np.float64, "time": np.float64}


@dataclass(frozen=True, slots=True)
class CorrectedBeats:
    """The beats the markers use, after correction (oldest first)."""

    rr_ms: FloatArray
    time_s: FloatArray  # the corrected time of the beat ending each interval
    skip_difference: BoolArray  # its difference to the previous interval is left out
    stretch_start: BoolArray  # it follows a gap: no spectrum spans it
    flagged: BoolArray  # came from a flagged beat
    seq: IntArray  # the stream (or input) index of the beat it came from
    fix_seq: IntArray  # stream (or input) index of each corrected beat


class LiveMarkers:
    """Sliding-window markers; O(window) work per beat.

    correct_artifacts=True corrects as batch does (the module note); False takes the beats as
    they come. engine="neurokit2" computes the time- and frequency-domain numbers with neurokit2
    itself (hrv_time, hrv_frequency with normalize=False, interpolation_rate=4) on the same
    windows; breathing, coherence, the stress index and the peak frequencies stay ours. It costs
    milliseconds per beat.
    """

    def __init__(self, rmssd_window_s: float = RMSSD_WINDOW_S,
                 hr_window_s: float = HR_WINDOW_S, *,
                 spectrum_window_s: float = LIVE_SPECTRUM_WINDOW_S,
                 correct_artifacts: bool = False, engine: Engine = "hrvcoach") -> None:
        if engine not in ("hrvcoach", "neurokit2"):
            raise ValueError(f"engine must be 'hrvcoach' or 'neurokit2', got {engine!r}")
        self.rmssd_window_s = rmssd_window_s
        self.hr_window_s = hr_window_s
        self.spectrum_window_s = spectrum_window_s
        self.correct_artifacts = correct_artifacts
        self.engine = engine
        self._keep_s = max(rmssd_window_s, hr_window_s, spectrum_window_s) + _MARGIN_S
        self._kept = Columns(_BEAT_COLUMNS)  # beats in use (fragments merged) of the last _keep_s
        self._raw = Columns(_RAW_COLUMNS)  # every value received, for the input checks
        self._count = 0  # beats in use so far (the detector's stream index)
        self._pending_gap = False
        self._stretch_first = 0  # stream index of the current stretch's first beat
        self._fragments: list[Beat] = []  # fragments waiting for the next interval
        self._detector = StreamingArtifactDetector()
        self._plans: dict[tuple[object, ...], Fix | None] = {}  # event context -> its fix
        self._merged_seq: list[int] = []  # beats a fragment was merged into (stream index)
        self._reuse: _Reuse | None = None  # the last corrected beats, while their flags stand
        self.latest = EMPTY_MARKERS
        self.latest_quality: Quality = NO_QUALITY
        self.latest_spectrum: Spectrum | None = None  # behind `latest` (None with neurokit2)

    # -- feeding it ------------------------------------------------------------------------

    def update(self, beat: Beat, pacer_breaths_per_min: float | None = None) -> Markers:
        """Take one beat (from any source) and return the markers after it.

        pacer_breaths_per_min: the pacer's rate while it paces (None when breathing freely).
        """
        self._raw.append(rr=beat.rr_ms, time=beat.time_s)
        self._raw.drop_front(int(np.searchsorted(self._raw.view("time"),
                                                 beat.time_s - self.spectrum_window_s,
                                                 side="right")))
        if _is_gap(beat):
            self._settle_fragments(None)
            if not self._pending_gap and self._count:
                self._detector.restart()
            self._pending_gap = True
            return self._requalified()
        if beat.rr_ms < MIN_RR_MS:
            if beat.after_gap:
                self._settle_fragments(None)
                self._start_stretch()
            self._fragments.append(beat)
            if sum(b.rr_ms for b in self._fragments) >= MIN_RR_MS:  # no single beat's fragments
                self._fragments = []
                if not self._pending_gap and self._count:
                    self._detector.restart()
                self._pending_gap = True
            return self._requalified()
        if beat.after_gap and not self._pending_gap:
            self._settle_fragments(None)
            self._start_stretch()
        had_fragments = bool(self._fragments)
        rr_ms = beat.rr_ms + self._settle_fragments(beat.rr_ms)
        if had_fragments and rr_ms != beat.rr_ms:
            self._merged_seq.append(self._count)
        after_gap = self._pending_gap or (self._count == self._stretch_first)
        if self._pending_gap:
            self._stretch_first = self._count
        self._pending_gap = False
        self._append(rr_ms, beat.time_s, after_gap)
        if self.correct_artifacts:
            self._detector.add(rr_ms)
        self.latest = self._markers(beat.time_s, pacer_breaths_per_min)
        return self.latest

    def _start_stretch(self) -> None:
        if self._count:
            self._detector.restart()
        self._pending_gap = True

    def _settle_fragments(self, next_ms: float | None) -> float:
        """Merge waiting fragments back into the last beat (returns 0) or forward (returns their
        sum, to add to the next interval); the rule of artifacts.correct.merge_fragments."""
        if not self._fragments:
            return 0.0
        fragment = sum(b.rr_ms for b in self._fragments)
        end_s = self._fragments[-1].time_s
        self._fragments = []
        kept = self._kept
        in_stretch = len(kept) > 0 and not self._pending_gap and self._count > self._stretch_first
        previous = float(kept.view("rr")[-1]) if in_stretch else None
        stretch_rr = kept.view("rr")[-min(FRAGMENT_LEVEL_BEATS, self._count - self._stretch_first):] \
            if in_stretch else np.zeros(0)
        level = float(np.median(stretch_rr)) if stretch_rr.size else NAN
        if previous is None and next_ms is None:
            return 0.0  # nothing beside it: left out
        if not fragment_goes_back(previous, fragment, next_ms, level):
            return fragment
        merged = (previous or 0.0) + fragment
        self._merged_seq.append(self._count - 1)
        kept.raw("rr")[kept.end - 1] = merged
        kept.raw("time")[kept.end - 1] = end_s
        self._plans.clear()
        self._reuse = None
        if self.correct_artifacts:
            self._detector.replace_last(merged)
        return 0.0

    def _append(self, rr_ms: float, time_s: float, after_gap: bool) -> None:
        kept = self._kept
        kept.append(rr=rr_ms, time=time_s, gap=after_gap, seq=self._count)
        self._count += 1
        kept.drop_front(int(np.searchsorted(kept.view("time"), time_s - self._keep_s,
                                            side="right")))

    # -- the corrected beats ---------------------------------------------------------------

    def _corrected(self) -> CorrectedBeats:
        """The kept beats after correction, without held-back and dropped ones."""
        kept = self._kept
        rr, times, gaps, seq = kept.view("rr"), kept.view("time"), kept.view("gap"), kept.view("seq")
        if not self.correct_artifacts or rr.size == 0:
            return _as_they_came(rr, times, gaps, seq)
        first_seq, last_seq = int(seq[0]), int(seq[-1])
        detector = self._detector
        flags = detector.flags_between(first_seq, last_seq)
        held = detector.held_from()
        dropped = detector.dropped
        use = np.ones(rr.size, dtype=bool)
        if held is not None:
            use &= seq < held
        if dropped:
            use &= ~np.isin(seq, np.fromiter(dropped, dtype=np.int64))
        if not flags and use.all():
            self._reuse = None
            return _as_they_came(rr, times, gaps, seq)
        if not use.any():  # every kept beat is held back or dropped: nothing to correct yet
            self._reuse = None
            return _as_they_came(rr[use], times[use], gaps[use], seq[use])
        context = (flags, held, len(dropped))
        reuse = self._reuse
        if reuse is not None and reuse.fits(context, first_seq, int(seq[use][-1])):
            beats = reuse.extended(rr[use], times[use], gaps[use], seq[use])
        else:
            beats = self._correct(flags, rr[use], times[use], gaps[use], seq[use])
        self._reuse = _Reuse(context, beats, flags)
        return beats

    def _correct(self, flags: dict[int, ArtifactKind], rr: FloatArray, times: FloatArray,
                 gaps: BoolArray, seq: IntArray) -> CorrectedBeats:
        """Fix each stretch's events (plan_fixes' choice, remembered per event context)."""
        parts: list[tuple[FloatArray, FloatArray, BoolArray, BoolArray, BoolArray, IntArray]] = []
        fix_seq: list[int] = []
        starts = [0, *(np.flatnonzero(gaps[1:]) + 1).tolist()]
        for a, b in zip(starts, [*starts[1:], rr.size], strict=True):
            if b <= a:
                continue
            base = int(seq[a])  # stream index of this part's peak 1
            local = {int(i) - base + 1: kind for i, kind in flags.items()
                     if base <= i < base + b - a}
            flagged = np.zeros(b - a, dtype=bool)
            flagged[[j - 1 for j in local]] = True
            start = np.zeros(b - a, dtype=bool)
            start[0] = bool(gaps[a])
            plan = self._plan(local, np.concatenate((rr[a:a + 1], rr[a:b])), base)
            if not any(plan.values()):
                skip = start.copy()
                parts.append((rr[a:b], times[a:b], skip, start, flagged, seq[a:b]))
                continue
            fix_seq += [base + peak - 1 for peaks in plan.values() for peak in peaks]
            peaks = np.concatenate(([0.0], np.cumsum(rr[a:b])))
            new_peaks, ids = apply_corrections(plan, peaks, np.arange(peaks.size, dtype=np.int64))
            origin = np.maximum(ids[1:], 1) - 1  # the kept beat each corrected one came from
            shift_s = (new_peaks[1:] - peaks[origin + 1]) / 1000.0
            skip = moved_mask(plan["ectopic"], ids)
            skip[0] = start[0]
            new_start = np.zeros(origin.size, dtype=bool)
            new_start[0] = start[0]
            parts.append((np.diff(new_peaks), times[a:b][origin] + shift_s, skip, new_start,
                          flagged[origin], seq[a:b][origin]))
        if not parts:
            return _as_they_came(rr, times, gaps, seq)
        rr_out, time_out, skip_out, start_out, flag_out, seq_out = (
            np.concatenate(column) for column in zip(*parts, strict=True))
        return CorrectedBeats(rr_out, time_out, skip_out, start_out, flag_out, seq_out,
                              np.asarray(sorted(fix_seq), dtype=np.int64))

    def _plan(self, flags: dict[int, ArtifactKind], rr: FloatArray,
              base: int) -> dict[ArtifactKind, list[int]]:
        """plan_fixes one event at a time, remembering each event's fix while its context (its
        flags, the flags and beats within reach) stays the same."""
        plan: dict[ArtifactKind, list[int]] = {kind: [] for kind in ARTIFACT_KINDS}
        flagged = sorted(j for j in flags if 1 <= j <= rr.size - 1)
        last = rr.size - 1
        for event in _events(flagged):
            others = nearby_flags(event, flagged)
            key = (tuple(j + base for j in event), tuple(j + base for j in others),
                   max(event[0] - PLAN_REACH_BEATS, 1) + base,
                   min(event[-1] + PLAN_REACH_BEATS, last) + base)
            if key not in self._plans:
                if len(self._plans) > _MAX_PLANS:
                    self._plans.clear()
                fix = fix_of_event(event, rr, others)
                self._plans[key] = None if fix is None else (fix[0], fix[1] + base)  # stream
            known = self._plans[key]
            if known is not None:
                plan[FIX_KIND[known[0]]].append(known[1] - base)
        return plan

    # -- windows and markers ---------------------------------------------------------------

    def window(self, window_s: float) -> tuple[FloatArray, BoolArray, int]:
        """The beats the markers use for the last window_s seconds, after correction and without
        held-back beats: (rr_ms, skip_difference, flagged among them)."""
        beats = self._corrected()
        if beats.rr_ms.size == 0:
            return beats.rr_ms, beats.skip_difference, 0
        now_s = float(self._kept.view("time")[-1])
        first = int(np.searchsorted(beats.time_s, now_s - window_s, side="right"))
        return (beats.rr_ms[first:], beats.skip_difference[first:],
                int(np.count_nonzero(beats.flagged[first:])))

    def _quality(self, beats: CorrectedBeats, now_s: float) -> Quality:
        """The gate over the spectrum window: the beats in use, the fixes among them and every
        value received in it."""
        kept_rr, kept_time = self._kept.view("rr"), self._kept.view("time")
        first = int(np.searchsorted(kept_time, now_s - self.spectrum_window_s, side="right"))
        used = kept_rr[first:]
        if used.size == 0 and len(self._raw) == 0:
            return NO_QUALITY
        lowest = int(self._kept.view("seq")[first]) if used.size else self._count
        self._merged_seq = [i for i in self._merged_seq if i >= lowest]
        fixes = len(set(beats.fix_seq[beats.fix_seq >= lowest].tolist()) | set(self._merged_seq))
        return rhythm_quality(used, corrected_beats=fixes, raw_values=self._raw.view("rr"))

    def _requalified(self) -> Markers:
        """After a value the markers do not use: the same markers, the gate updated (left-out
        values count against the input checks)."""
        raw_time = self._raw.view("time")
        quality = self._quality(self._corrected(), float(raw_time[-1]))
        self.latest_quality = quality
        self.latest = replace(self.latest, hrv_valid=quality.valid,
                              corrected_pct=quality.corrected_pct)
        return self.latest

    def _markers(self, now_s: float, pacer_breaths_per_min: float | None) -> Markers:
        beats = self._corrected()
        if beats.rr_ms.size == 0:
            return EMPTY_MARKERS
        quality = self._quality(beats, now_s)
        self.latest_quality = quality
        newest = self._count - 1
        provisional = self.correct_artifacts and rests_on_provisional_fix(
            beats.fix_seq, held=self._detector.held_from() is not None,
            stretch_first=self._stretch_first, newest=newest, last=newest)
        markers, spectrum = live_window_markers(
            beats, now_s, hr_window_s=self.hr_window_s, rmssd_window_s=self.rmssd_window_s,
            spectrum_window_s=self.spectrum_window_s, pacer_breaths_per_min=pacer_breaths_per_min,
            engine=self.engine, quality=quality, provisional=provisional)
        self.latest_spectrum = spectrum
        return markers

    # -- what the coach marks --------------------------------------------------------------

    def recent_artifacts(self, beats: int) -> tuple[tuple[float, ...], float]:
        """(times of the flagged or held-back beats among the newest `beats` beats in use, time
        of the oldest of those beats): what the coach marks. ((), NaN) before the first beat."""
        if len(self._kept) == 0:
            return (), NAN
        times, seq = self._kept.view("time")[-beats:], self._kept.view("seq")[-beats:]
        oldest_s = float(times[0])
        if not self.correct_artifacts:
            return (), oldest_s
        first_seq, last_seq = int(seq[0]), int(seq[-1])
        marked = set(self._detector.flags_between(first_seq, last_seq))
        held = self._detector.held_from()
        if held is not None:
            marked.update(range(max(held, first_seq), last_seq + 1))
        # the kept beats are consecutive in the stream: position = seq - first_seq
        return tuple(float(times[i - first_seq]) for i in sorted(marked)), oldest_s


class _Reuse:
    """The corrected beats of the last update, extended with new clean beats while the flags,
    the held-back end and the dropped beats stay the same and no event's plan can reach the new
    or the trimmed beats: the same beats as correcting afresh, at a fraction of the cost."""

    def __init__(self, context: tuple[object, ...], beats: CorrectedBeats,
                 flags: dict[int, ArtifactKind]) -> None:
        self.context = context
        self.beats = beats
        reach = PLAN_REACH_BEATS + 1
        self.first_reached = min(flags, default=_NEVER) - reach  # plans read beats from here
        self.last_reached = max(flags, default=-_NEVER) + reach  # ... to here
        self.last_seq = int(beats.seq[-1]) if beats.seq.size else -1

    def fits(self, context: tuple[object, ...], first_seq: int, newest_seq: int) -> bool:
        return (context == self.context and first_seq < self.first_reached
                and newest_seq >= self.last_seq and self.last_reached < self.last_seq)

    def extended(self, rr: FloatArray, times: FloatArray, gaps: BoolArray,
                 seq: IntArray) -> CorrectedBeats:
        """The cached beats from the first of `seq` on, then the new ones after last_seq."""
        old = self.beats
        keep = int(np.searchsorted(old.seq, seq[0], side="left"))
        new = int(np.searchsorted(seq, self.last_seq, side="right"))
        added = seq.size - new
        nothing = np.zeros(added, dtype=bool)
        return CorrectedBeats(
            np.concatenate((old.rr_ms[keep:], rr[new:])),
            np.concatenate((old.time_s[keep:], times[new:])),
            np.concatenate((old.skip_difference[keep:], gaps[new:])),
            np.concatenate((old.stretch_start[keep:], gaps[new:])),
            np.concatenate((old.flagged[keep:], nothing)),
            np.concatenate((old.seq[keep:], seq[new:])), old.fix_seq)


_NEVER: Final = 2**62  # a stream index no beat reaches


def _as_they_came(rr: FloatArray, times: FloatArray, gaps: BoolArray,
                  seq: IntArray) -> CorrectedBeats:
    start = gaps.copy()
    return CorrectedBeats(rr, times, start, start, np.zeros(rr.size, dtype=bool), seq,
                          np.zeros(0, dtype=np.int64))


def live_window_markers(beats: CorrectedBeats, now_s: float, *, hr_window_s: float = HR_WINDOW_S,
                        rmssd_window_s: float = RMSSD_WINDOW_S,
                        spectrum_window_s: float = LIVE_SPECTRUM_WINDOW_S,
                        pacer_breaths_per_min: float | None = None, engine: Engine = "hrvcoach",
                        quality: Quality = NO_QUALITY,
                        provisional: bool = False) -> tuple[Markers, Spectrum | None]:
    """The live Markers of corrected beats at now_s (the windows of the module note; the
    spectrum window starts after the last gap in it)."""
    times = beats.time_s
    hr_first, first, spectral_first = np.searchsorted(
        times, (now_s - hr_window_s, now_s - rmssd_window_s, now_s - spectrum_window_s),
        side="right").tolist()
    after_gap = np.flatnonzero(beats.stretch_start[spectral_first + 1:])
    if after_gap.size:
        spectral_first += int(after_gap[-1]) + 1
    window, skip = beats.rr_ms[first:], beats.skip_difference[first:]
    spectral_rr = beats.rr_ms[spectral_first:]
    hr = mean_hr_bpm(beats.rr_ms[hr_first:])
    neurokit = None
    if engine == "neurokit2":
        from hrvcoach.analysis.reference import neurokit_frequency_domain, neurokit_time_domain

        neurokit = (neurokit_time_domain(window), neurokit_frequency_domain(spectral_rr))
    markers, spectrum = _window_markers(
        window, skip, spectral_rr, mean_hr_bpm=hr,
        artifacts=int(np.count_nonzero(beats.flagged[first:])),
        pacer_breaths_per_min=pacer_breaths_per_min, neurokit=neurokit)
    markers = replace(markers, corrected_pct=quality.corrected_pct, hrv_valid=quality.valid,
                      provisional=provisional)
    return markers, None if neurokit is not None else spectrum


def _window_markers(window: FloatArray, window_skip: BoolArray, spectral_rr: FloatArray, *,
                    mean_hr_bpm: float, artifacts: int, pacer_breaths_per_min: float | None,
                    neurokit: tuple[TimeDomain, FrequencyDomain] | None = None
                    ) -> tuple[Markers, Spectrum]:
    """The live markers of the windows; `neurokit`: its time and frequency domains instead."""
    resampled = resample_rr(spectral_rr)
    spectrum = spectrum_of(resampled)
    if neurokit is None:
        time, frequency = time_markers(window, window_skip), frequency_markers(spectrum)
    else:
        time, frequency = neurokit
    breath = breathing_markers(spectrum, resampled, paced_breaths_per_min=pacer_breaths_per_min)
    coherent = coherence_markers(resampled, max_blocks=1)
    markers = markers_of(time, frequency, breath, coherent, mean_hr_bpm=mean_hr_bpm,
                         beats=int(window.size), artifacts=artifacts)
    return markers, spectrum


def markers_of(time: TimeDomain, frequency: FrequencyDomain, breath: Breathing,
               coherent: Coherence, *, mean_hr_bpm: float, beats: int, artifacts: int) -> Markers:
    """The live Markers from each family's markers of their windows."""
    return Markers(
        mean_hr_bpm=mean_hr_bpm,
        rmssd_ms=time.rmssd_ms,
        beats_in_window=beats,
        ln_rmssd=time.ln_rmssd,
        sdnn_ms=time.sdnn_ms,
        pnn50_pct=time.pnn50_pct,
        sd1_ms=time.sd1_ms,
        sd2_ms=time.sd2_ms,
        stress_index=time.stress_index,
        lf_ms2=frequency.lf_ms2,
        hf_ms2=frequency.hf_ms2,
        lf_hf=frequency.lf_hf,
        lf_peak_hz=frequency.lf_peak_hz,
        hf_peak_hz=frequency.hf_peak_hz,
        hf_valid=breath.hf_valid,
        breaths_per_min=breath.breaths_per_min,
        breathing_power_ms2=breath.breathing_power_ms2,
        p2t_ms=breath.p2t_ms,
        p2t_bpm=breath.p2t_bpm,
        coherence_ratio=coherent.coherence_ratio,
        coherence_peak_hz=coherent.coherence_peak_hz,
        coherence_score=coherent.coherence_score,
        artifacts_in_window=artifacts,
    )


def markers_at(beats: Sequence[Beat], end_s: float, *, pacer_breaths_per_min: float | None = None,
               rmssd_window_s: float = RMSSD_WINDOW_S, hr_window_s: float = HR_WINDOW_S,
               spectrum_window_s: float = LIVE_SPECTRUM_WINDOW_S) -> Markers:
    """The live Markers at end_s from recorded beats, with batch's correction of all of them.

    Given the beats up to end_s it equals LiveMarkers(correct_artifacts=True) right after the
    beat at end_s. Given later beats too (at least FIX_FINAL_AFTER_BEATS more), its decisions
    are final: the baseline and a phase's end summary should come from it, once those beats are
    in (`provisional` is then False).
    """
    rr = np.array([b.rr_ms for b in beats], dtype=np.float64)
    times = np.array([b.time_s for b in beats], dtype=np.float64)
    usable = np.array([b.usable for b in beats], dtype=bool)
    after_gap = np.array([b.after_gap for b in beats], dtype=bool)
    follows_unusable = np.concatenate(([False], ~usable[:-1])) if usable.size else usable
    gap = (after_gap | follows_unusable)[usable]
    rr, times = rr[usable], times[usable]
    if rr.size == 0:
        return EMPTY_MARKERS
    correction = correct_artifacts(rr, after_gap=gap)
    source = correction.source_index
    corrected = CorrectedBeats(
        correction.rr_ms, times[source] + correction.shift_ms / 1000.0,
        correction.skip_difference, correction.stretch_start,
        np.isin(source, np.asarray([a.index for a in correction.artifacts if a.classified],
                                   dtype=np.int64)),
        source, correction.fixed_index)
    upto = corrected.time_s <= end_s + 1e-9
    if not upto.any():
        return EMPTY_MARKERS
    window = CorrectedBeats(corrected.rr_ms[upto], corrected.time_s[upto],
                            corrected.skip_difference[upto], corrected.stretch_start[upto],
                            corrected.flagged[upto], corrected.seq[upto], corrected.fix_seq)
    newest = int(np.searchsorted(times, end_s + 1e-9, side="right"))
    quality = _window_quality(beats, rr, times, gap, correction, end_s - spectrum_window_s, end_s)
    provisional = _provisional_at(correction, rr, gap, newest - 1)
    markers, _ = live_window_markers(window, end_s, hr_window_s=hr_window_s,
                                     rmssd_window_s=rmssd_window_s,
                                     spectrum_window_s=spectrum_window_s,
                                     pacer_breaths_per_min=pacer_breaths_per_min, quality=quality,
                                     provisional=provisional)
    return markers


def _window_quality(beats: Sequence[Beat], rr: FloatArray, times: FloatArray, gap: BoolArray,
                    correction: Correction, start_s: float, end_s: float) -> Quality:
    """The gate as live runs it over (start_s, end_s]: the intervals in use (fragments merged),
    the fixes among them and every value received."""
    merged, parts, _, _ = merge_fragments(rr, gap)
    ends_s = times[[part[-1] for part in parts]] if parts else np.zeros(0)
    used = (ends_s > start_s) & (ends_s <= end_s + 1e-9)
    raw = np.array([b.rr_ms for b in beats if start_s < b.time_s <= end_s + 1e-9])
    if not used.any():
        return rhythm_quality(np.zeros(0), corrected_beats=0, raw_values=raw)
    positions = np.flatnonzero(used)
    lowest, highest = parts[int(positions[0])][0], parts[int(positions[-1])][-1]
    fixed = correction.fixed_index
    fixes = int(np.count_nonzero((fixed >= lowest) & (fixed <= highest)))
    return rhythm_quality(merged[used], corrected_beats=fixes, raw_values=raw)


def rests_on_provisional_fix(fixes: IntArray, *, held: bool, stretch_first: int, newest: int,
                             last: int) -> bool:
    """Whether values at beat `newest` rest on a decision not final while beats up to `last` are
    known (one counting of beats in use: the stream index): a held-back end, or a fix in the
    current stretch less than FIX_FINAL_AFTER_BEATS before `last`, or any fix while the stretch
    is younger than START_FINAL_BEATS."""
    if held:
        return True
    mine = fixes[(fixes >= stretch_first) & (fixes <= newest)]
    if mine.size == 0:
        return False
    if last - stretch_first + 1 < START_FINAL_BEATS:
        return True
    return bool(np.any(mine > last - FIX_FINAL_AFTER_BEATS))


def _provisional_at(correction: Correction, rr: FloatArray, gap: BoolArray, newest: int) -> bool:
    """rests_on_provisional_fix for batch with look-ahead: input interval `newest` is the beat
    at end_s; indices become positions among the intervals in use (fragments merged)."""
    _, parts, starts, _ = merge_fragments(rr, gap)
    if not parts:
        return False
    position = np.full(rr.size, -1, dtype=np.int64)
    for k, part in enumerate(parts):
        position[part] = k
    used = position[: newest + 1]
    here = int(used[used >= 0].max()) if (used >= 0).any() else 0
    stretch_starts = np.flatnonzero(starts)
    first = int(stretch_starts[np.searchsorted(stretch_starts, here, side="right") - 1])
    following = stretch_starts[stretch_starts > here]
    last = int(following[0]) - 1 if following.size else len(parts) - 1
    held = any(a.correction == HELD and first <= position[a.index] <= here
               for a in correction.artifacts if position[a.index] >= 0)
    fixes = position[correction.plan_index]
    return rests_on_provisional_fix(fixes[fixes >= 0], held=held, stretch_first=first,
                                    newest=here, last=last)
