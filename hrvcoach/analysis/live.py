"""Live markers updated on every beat, with the same functions as the batch analysis.

Windows (ending at the newest beat): heart rate over the last 10 s; RMSSD and the other time-
domain markers over the last 60 s; the spectrum (LF, HF, breathing) over the last 120 s, which
gives HF from 1 min and LF from 2 min of data; coherence over the last 64 s of that spectrum's
resampled series. Each window's numbers equal the batch functions on the same beats
(`window_markers`, `time_markers`, ...): the live face only chooses the windows.

Artifacts are handled as they arrive (StreamingArtifactDetector): a beat that looks wrong is held
back at once; after two more beats it is classified and corrected like in batch (moved, split or
merged); the decision becomes final ~51 beats later. Beats without skin contact, and intervals
outside MIN_RR_MS..MAX_RR_MS, are left out and start a new stretch: no successive difference and
no spectrum spans them.
"""

from __future__ import annotations

import math
from typing import Final, Literal

import numpy as np

from hrvcoach.analysis.artifacts import (
    ARTIFACT_KINDS,
    FIX_KIND,
    ArtifactKind,
    Fix,
    IntArray,
    StreamingArtifactDetector,
    apply_corrections,
    plan_fixes,
    rolling_median,
)
from hrvcoach.analysis.breathing import Breathing, breathing_markers
from hrvcoach.analysis.buffers import Columns
from hrvcoach.analysis.coherence import Coherence, coherence_markers
from hrvcoach.analysis.spectral import (
    FloatArray,
    FrequencyDomain,
    Spectrum,
    frequency_markers,
    resample_rr,
    spectrum_of,
)
from hrvcoach.analysis.time_domain import BoolArray, TimeDomain, mean_hr_bpm, time_markers
from hrvcoach.core.beats import Beat
from hrvcoach.core.constants import (
    ARTIFACT_MEDIAN_BEATS,
    HR_WINDOW_S,
    LIVE_SPECTRUM_WINDOW_S,
    MAX_RR_MS,
    MIN_RR_MS,
    RMSSD_WINDOW_S,
)
from hrvcoach.core.markers import EMPTY_MARKERS, Markers

Engine = Literal["hrvcoach", "neurokit2"]
NAN = math.nan




def in_use(beat: Beat) -> bool:
    """Whether the markers use this beat: skin contact and RR within MIN_RR_MS..MAX_RR_MS."""
    return beat.usable and MIN_RR_MS <= beat.rr_ms <= MAX_RR_MS


_BEAT_COLUMNS: Final = {"rr": np.float64, "time": np.float64, "gap": np.bool_, "seq": np.int64}
_CORRECTED_COLUMNS: Final = {**_BEAT_COLUMNS, "touched": np.bool_}
_NEVER = 2**62  # a stream index no beat reaches
_MARGIN_S = 10.0


class LiveMarkers:
    """Sliding-window markers; O(window) work per beat.

    correct_artifacts=True runs the streaming artifact detector and computes every marker on the
    corrected beats (the coach session does); False takes the beats as they come.

    engine="neurokit2" computes the time- and frequency-domain numbers with neurokit2 itself
    (hrv_time, hrv_frequency with normalize=False, interpolation_rate=4) on the same windows,
    for users who want its exact numbers; breathing, coherence, the stress index and the peak
    frequencies (which neurokit2 does not give) stay ours. It costs milliseconds per beat.
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
        # a margin, so that an artifact at the oldest edge of a window can still be corrected
        self._keep_s = max(rmssd_window_s, hr_window_s, spectrum_window_s) + _MARGIN_S
        self._kept = Columns(_BEAT_COLUMNS)  # usable beats of the last _keep_s seconds
        self._count = 0  # usable beats so far (the detector's stream index)
        self._pending_gap = False
        self._detector = StreamingArtifactDetector()
        self._planned_flags: dict[int, ArtifactKind] = {}
        self._fixes: dict[int, Fix] = {}  # flagged beat -> its event's fix (stream indices)
        self._cache: _CorrectedBeats | None = None  # the last corrected window, for reuse
        self._zeros = np.zeros(0, dtype=bool)
        self.latest = EMPTY_MARKERS
        self.latest_spectrum: Spectrum | None = None  # behind `latest` (None with neurokit2)

    # -- the buffer of usable beats -------------------------------------------------------

    def _append(self, rr_ms: float, time_s: float, after_gap: bool) -> None:
        kept = self._kept
        kept.append(rr=rr_ms, time=time_s, gap=after_gap, seq=self._count)
        self._count += 1
        times = kept.view("time")
        kept.drop_front(int(np.searchsorted(times, time_s - self._keep_s, side="right")))

    def window(self, window_s: float) -> tuple[FloatArray, BoolArray, int]:
        """The beats the markers use for the last window_s seconds, after correction and without
        the newest beats while they are held back: (rr_ms, after_gap, flagged among them)."""
        rr, times, gaps, flagged = self._corrected()
        if rr.size == 0:
            return rr, gaps, 0
        now_s = float(self._kept.view("time")[-1])  # the newest beat, even while it is held back
        first = int(np.searchsorted(times, now_s - window_s, side="right"))
        return rr[first:], gaps[first:], int(np.count_nonzero(flagged[first:]))

    def _corrected(self) -> tuple[FloatArray, FloatArray, BoolArray, BoolArray]:
        """Kept beats after correction: (rr_ms, time_s, after_gap, touched by an artifact).

        While the flags stay the same, the last result is reused: clean new beats are appended
        and beats that left the window are dropped, which gives the same beats as correcting
        the window again (to rounding) at a fraction of the cost.
        """
        kept = self._kept
        rr, times, gaps, seq = kept.view("rr"), kept.view("time"), kept.view("gap"), kept.view("seq")
        if not self.correct_artifacts or rr.size == 0:
            self._cache = None
            return rr, times, gaps, self._no_flags(rr.size)
        first_seq, last_seq = int(seq[0]), int(seq[-1])
        flags = self._detector.flags_between(first_seq, last_seq)
        held = self._detector.first_suspect_between(first_seq, last_seq)
        if not flags and held is None:
            self._cache = None
            return rr, times, gaps, self._no_flags(rr.size)
        keep = rr.size if held is None else int(np.searchsorted(seq, held, side="left"))
        cache = self._cache
        if (cache is not None and keep and cache.flags == flags
                and cache.reusable(first_seq, int(seq[keep - 1]), held)):
            cache.extend(rr[:keep], times[:keep], gaps[:keep], seq[:keep])
            cache.trim(first_seq)
            return cache.arrays()
        self._cache = None
        corrected = self._correct(flags, rr[:keep], times[:keep], gaps[:keep], seq[:keep])
        self._cache = _CorrectedBeats(flags, self._fixes, *corrected)
        return corrected[:4]

    def _no_flags(self, size: int) -> BoolArray:
        if self._zeros.size < size:
            self._zeros = np.zeros(2 * size, dtype=bool)
            self._zeros.setflags(write=False)
        return self._zeros[:size]

    def _correct(self, flags: dict[int, ArtifactKind], rr: FloatArray, times: FloatArray,
                 gaps: BoolArray, seq: IntArray
                 ) -> tuple[FloatArray, FloatArray, BoolArray, BoolArray, IntArray]:
        """Correct the flagged beats of each stretch (apply_corrections); returns the beats and
        the stream index each came from."""
        if flags != self._planned_flags:
            self._plan(flags, rr, gaps, seq)
        out_rr: list[FloatArray] = []
        out_time: list[FloatArray] = []
        out_gap: list[BoolArray] = []
        out_flag: list[BoolArray] = []
        out_seq: list[IntArray] = []
        starts = [0, *(np.flatnonzero(gaps[1:]) + 1).tolist()]
        for a, b in zip(starts, [*starts[1:], rr.size], strict=True):
            if b <= a:
                continue
            base = int(seq[a])
            plan: dict[ArtifactKind, list[int]] = {kind: [] for kind in ARTIFACT_KINDS}
            for what, peak in {fix for i, fix in self._fixes.items() if base <= i < base + b - a}:
                if base <= peak < base + b - a:
                    plan[FIX_KIND[what]].append(peak - base + 1)
            touched = np.zeros(b - a, dtype=bool)
            for i in flags:
                if base <= i < base + b - a:
                    touched[i - base] = True
            if not any(plan.values()):
                out_rr.append(rr[a:b])
                out_time.append(times[a:b])
                out_gap.append(gaps[a:b])
                out_flag.append(touched)
                out_seq.append(seq[a:b])
                continue
            peaks = np.concatenate(([0.0], np.cumsum(rr[a:b])))
            sources = np.arange(-1, b - a, dtype=np.int64)
            peaks, sources = apply_corrections(plan, peaks, sources)
            origin = np.maximum(sources[1:], 0)
            out_rr.append(np.diff(peaks))
            out_time.append(times[a:b][origin])
            gap_part = np.zeros(origin.size, dtype=bool)
            gap_part[0] = bool(gaps[a])
            out_gap.append(gap_part)
            out_flag.append(touched[origin])
            out_seq.append(seq[a:b][origin])
        if not out_rr:
            return rr, times, gaps, np.zeros(0, dtype=bool), seq
        return (np.concatenate(out_rr), np.concatenate(out_time), np.concatenate(out_gap),
                np.concatenate(out_flag), np.concatenate(out_seq))

    def _plan(self, flags: dict[int, ArtifactKind], rr: FloatArray, gaps: BoolArray,
              seq: IntArray) -> None:
        """Decide how to fix each flagged event (plan_fixes), once per change of the flags."""
        self._planned_flags = dict(flags)
        self._fixes = {}
        threshold = self._detector.mrr_threshold_ms
        starts = [0, *(np.flatnonzero(gaps[1:]) + 1).tolist()]
        for a, b in zip(starts, [*starts[1:], rr.size], strict=True):
            base = int(seq[a]) if b > a else 0
            local = {i - base + 1: kind for i, kind in flags.items() if base <= i < base + b - a}
            if not local:
                continue
            peaks_rr = np.concatenate((rr[a:a + 1], rr[a:b]))  # rr[j] ends at peak j
            medrr = rolling_median(peaks_rr, ARTIFACT_MEDIAN_BEATS)
            th2 = np.full(peaks_rr.size, threshold if math.isfinite(threshold) else np.inf)
            _, fixes = plan_fixes(local, peaks_rr, medrr, th2)
            for j, (what, peak) in fixes.items():
                self._fixes[base + j - 1] = (what, base + peak - 1)

    # -- per beat -----------------------------------------------------------------------

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
        marked.update(i for i in self._detector.suspects() if first_seq <= i <= last_seq)
        # the kept beats are consecutive in the stream: position = seq - first_seq
        return tuple(float(times[i - first_seq]) for i in sorted(marked)), oldest_s

    def update(self, beat: Beat, pacer_breaths_per_min: float | None = None) -> Markers:
        """Take one beat (from any source) and return the markers after it.

        pacer_breaths_per_min: the pacer's rate while it paces (None when breathing freely).
        """
        if not in_use(beat):
            if not self._pending_gap and self._count:
                self._detector.restart()
            self._pending_gap = True
            return self.latest
        after_gap = beat.after_gap or self._pending_gap
        if after_gap and not self._pending_gap and self._count:
            self._detector.restart()
        self._pending_gap = False
        self._append(beat.rr_ms, beat.time_s, after_gap)
        if self.correct_artifacts:
            self._detector.add(beat.rr_ms)
        self.latest = self._markers(beat.time_s, pacer_breaths_per_min)
        return self.latest

    def _markers(self, now_s: float, pacer_breaths_per_min: float | None) -> Markers:
        rr, times, gaps, flagged = self._corrected()
        if rr.size == 0:
            return EMPTY_MARKERS
        starts = (now_s - self.hr_window_s, now_s - self.rmssd_window_s,
                  now_s - self.spectrum_window_s)
        hr_first, first, spectral_first = np.searchsorted(times, starts, side="right").tolist()
        window, window_gaps = rr[first:], gaps[first:]
        after_gap = np.flatnonzero(gaps[spectral_first + 1:])
        if after_gap.size:
            spectral_first += int(after_gap[-1]) + 1
        spectral_rr = rr[spectral_first:]
        hr = mean_hr_bpm(rr[hr_first:])
        neurokit = None
        if self.engine == "neurokit2":
            from hrvcoach.analysis.reference import neurokit_frequency_domain, neurokit_time_domain

            neurokit = (neurokit_time_domain(window), neurokit_frequency_domain(spectral_rr))
        markers, spectrum = _window_markers(
            window, window_gaps, spectral_rr, mean_hr_bpm=hr,
            artifacts=int(np.count_nonzero(flagged[first:])),
            pacer_breaths_per_min=pacer_breaths_per_min, neurokit=neurokit)
        self.latest_spectrum = None if neurokit is not None else spectrum
        return markers


def _window_markers(window: FloatArray, window_gaps: BoolArray, spectral_rr: FloatArray, *,
                    mean_hr_bpm: float, artifacts: int, pacer_breaths_per_min: float | None,
                    neurokit: tuple[TimeDomain, FrequencyDomain] | None = None
                    ) -> tuple[Markers, Spectrum]:
    """The live markers of the windows; `neurokit`: its time and frequency domains instead."""
    resampled = resample_rr(spectral_rr)
    spectrum = spectrum_of(resampled)
    if neurokit is None:
        time, frequency = time_markers(window, window_gaps), frequency_markers(spectrum)
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
        artifacts_in_window=artifacts,
    )


class _CorrectedBeats:
    """The corrected beats of the last window, kept to be extended while the flags stand."""

    def __init__(self, flags: dict[int, ArtifactKind], fixes: dict[int, Fix],
                 rr: FloatArray, times: FloatArray, gaps: BoolArray, touched: BoolArray,
                 seq: IntArray) -> None:
        self.flags = flags
        # beats whose corrected values depend on a fix: the flagged ones, the moved peaks
        # and the intervals on both sides of each
        involved = [*flags, *(peak for _, peak in (fixes[i] for i in flags if i in fixes))]
        self.first_involved = min(involved, default=_NEVER) - 1
        self.last_involved = max(involved, default=-_NEVER) + 1
        self._beats = Columns(_CORRECTED_COLUMNS, capacity=2 * rr.size)
        self._beats.extend(rr=rr, time=times, gap=gaps, touched=touched, seq=seq)
        self._last_seq = int(seq[-1]) if seq.size else -1  # the newest beat taken, even if trimmed

    def reusable(self, first_seq: int, newest_seq: int, held: int | None) -> bool:
        """True when no kept beat is held back now, dropping the beats before first_seq leaves
        every fix whole, and no fix reaches the beats up to newest_seq not kept yet."""
        last = self._last_seq
        return ((held is None or held > last) and first_seq < self.first_involved
                and (newest_seq <= last or last >= self.last_involved))

    def extend(self, rr: FloatArray, times: FloatArray, gaps: BoolArray, seq: IntArray) -> None:
        """Append the beats of seq after the last one kept (they are clean: flags unchanged)."""
        new = int(np.searchsorted(seq, self._last_seq, side="right"))
        if new >= seq.size:
            return
        self._beats.extend(rr=rr[new:], time=times[new:], gap=gaps[new:],
                           touched=np.zeros(seq.size - new, dtype=bool), seq=seq[new:])
        self._last_seq = int(seq[-1])

    def trim(self, first_seq: int) -> None:
        """Drop the beats that came from before first_seq."""
        kept = self._beats.view("seq")
        self._beats.drop_front(int(np.searchsorted(kept, first_seq, side="left")))

    def arrays(self) -> tuple[FloatArray, FloatArray, BoolArray, BoolArray]:
        beats = self._beats
        return beats.view("rr"), beats.view("time"), beats.view("gap"), beats.view("touched")
