"""Batch analysis of a whole RR recording: correction, then every marker on the whole recording
and, optionally, on consecutive windows of it, each with the rhythm-quality gate's verdict.

The live markers (live.py) make the same correction decisions and use the same window functions,
so live and batch give the same numbers on the same beats. Time-domain markers leave out the
successive differences next to a moved beat (Correction.skip_difference); coherence over a
window is the median of its 64-s block ratios (coherence.summarised_coherence).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hrvcoach.analysis.artifacts import (
    Artifact,
    BoolArray,
    Correction,
    IntArray,
    correct_artifacts,
    merge_fragments,
)
from hrvcoach.analysis.breathing import Breathing, breathing_markers
from hrvcoach.analysis.coherence import (
    NO_SUMMARY,
    Coherence,
    CoherenceSummary,
    coherence_markers,
    summarised_coherence,
)
from hrvcoach.analysis.quality import Quality, rhythm_quality
from hrvcoach.analysis.spectral import (
    FloatArray,
    FrequencyDomain,
    frequency_markers,
    resample_rr,
    spectrum_of,
)
from hrvcoach.analysis.time_domain import TimeDomain, time_markers

__all__ = ["Analysis", "WindowAnalysis", "WindowMarkers", "analyze", "window_markers"]

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class WindowMarkers:
    """Every marker of one window of beats."""

    time: TimeDomain
    frequency: FrequencyDomain
    breathing: Breathing
    coherence: Coherence
    coherence_summary: CoherenceSummary = NO_SUMMARY  # with coherence_blocks=None only


@dataclass(frozen=True, slots=True)
class WindowAnalysis:
    """One analysed stretch of a recording (the whole of it, or one window)."""

    start_s: float  # from the beat before the first interval of the recording
    end_s: float
    n_beats: int  # intervals analysed (after correction)
    artifacts: tuple[Artifact, ...]  # flagged input intervals that fall in this stretch
    markers: WindowMarkers
    quality: Quality  # the rhythm-quality gate on this stretch


@dataclass(frozen=True, slots=True)
class Analysis:
    """A whole recording: the input, its correction, the whole and the windows."""

    n_beats: int  # RR intervals in the input
    duration_s: float  # sum of the input RR
    corrected: bool  # markers computed on the corrected series (False: --no-correct)
    correction: Correction  # detection result; its rr_ms is the corrected series
    whole: WindowAnalysis
    windows: tuple[WindowAnalysis, ...]  # empty unless window_s was given

    @property
    def quality(self) -> Quality:
        return self.whole.quality


def window_markers(rr_ms: FloatArray, *, after_gap: BoolArray | None = None,
                   paced_breaths_per_min: float | None = None,
                   coherence_blocks: int | None = None) -> WindowMarkers:
    """Time, frequency, breathing and coherence markers of one window of RR intervals.

    The spectrum treats the window as continuous (beat times are the cumulative RR); `after_gap`
    only keeps successive differences out of the time domain (gaps, or next to a moved beat:
    Correction.skip_difference). coherence_blocks=None: coherence is the median of the window's
    64-s blocks (one definition for every summary); a number: the mean spectrum of that many
    newest blocks (live uses 1).
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    resampled = resample_rr(rr)
    spectrum = spectrum_of(resampled)
    if coherence_blocks is None:
        coherence, summary = summarised_coherence(resampled)
    else:
        coherence, summary = coherence_markers(resampled, max_blocks=coherence_blocks), NO_SUMMARY
    return WindowMarkers(
        time=time_markers(rr, after_gap),
        frequency=frequency_markers(spectrum),
        breathing=breathing_markers(spectrum, resampled, paced_breaths_per_min=paced_breaths_per_min),
        coherence=coherence,
        coherence_summary=summary,
    )


def _artifact_times_s(correction: Correction, beat_time_s: FloatArray) -> FloatArray:
    """For each reported artifact, the time of the corrected beat at (or right after) it."""
    indices = np.asarray([artifact.index for artifact in correction.artifacts], dtype=np.int64)
    if indices.size == 0 or beat_time_s.size == 0:
        return np.empty(0)
    position = np.searchsorted(correction.source_index, indices, side="left")
    return beat_time_s[np.minimum(position, beat_time_s.size - 1)]


def analyze(rr_ms: FloatArray, *, correct: bool = True, window_s: float | None = None,
            paced_breaths_per_min: float | None = None,
            on_progress: ProgressCallback | None = None, input_unit: str = "ms") -> Analysis:
    """Detect and correct artifacts, then analyse the whole recording and each window.

    Windows are consecutive, [k·window_s, (k+1)·window_s) on the analysed series' own clock
    (the cumulative RR); the last one may be shorter. With correct=False artifacts are still
    detected and reported, but the markers use the input as it is (impossible values left out).
    input_unit: the unit the values were read in (they arrive converted to ms), for the gate's
    sentences.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be 1-D, got shape {rr.shape}")
    if window_s is not None and not (math.isfinite(window_s) and window_s > 0):
        raise ValueError(f"window_s must be a positive number of seconds, got {window_s!r}")
    correction = correct_artifacts(rr)
    merged, parts, _, _ = merge_fragments(rr, np.zeros(rr.size, dtype=bool))
    merged_index = np.asarray([part[-1] for part in parts], dtype=np.int64)  # input of each
    if correct:
        series, source, skip = correction.rr_ms, correction.source_index, correction.skip_difference
    else:
        series, source = merged, merged_index
        skip = np.zeros(series.size, dtype=bool)
    placed = Correction(series, source, correction.artifacts)
    times = np.cumsum(series) / 1000.0
    artifact_times = _artifact_times_s(placed, times)
    total = 1 + (math.ceil(times[-1] / window_s) if window_s is not None and times.size else 0)

    order = np.argsort(artifact_times, kind="stable")
    sorted_times = artifact_times[order]

    def stretch(start_s: float, end_s: float, first: int, last: int) -> WindowAnalysis:
        """The analysis of corrected intervals first..last-1 (times start_s..end_s)."""
        low, high = np.searchsorted(sorted_times, (start_s, end_s), side="left").tolist()
        flagged = tuple(sorted((correction.artifacts[k] for k in order[low:high].tolist()),
                               key=lambda artifact: artifact.index))
        markers = window_markers(series[first:last], after_gap=skip[first:last],
                                 paced_breaths_per_min=paced_breaths_per_min)
        quality = _quality(correction, rr, merged, merged_index, source, first, last, input_unit)
        return WindowAnalysis(start_s, end_s, last - first, flagged, markers, quality)

    end_s = float(times[-1]) if times.size else 0.0
    whole = stretch(0.0, math.inf, 0, series.size)
    whole = WindowAnalysis(0.0, end_s, whole.n_beats, whole.artifacts, whole.markers,
                           _quality(correction, rr, merged, merged_index, source, 0, series.size,
                                    input_unit, whole_input=True))
    if on_progress is not None:
        on_progress(1, total)
    windows: list[WindowAnalysis] = []
    if window_s is not None and times.size:
        edges = np.arange(total) * window_s
        first = np.searchsorted(times, edges[:-1], side="left")
        last = np.searchsorted(times, edges[1:], side="left")
        last[-1] = times.size  # the last window also takes a beat right on its end
        for k, (i, j) in enumerate(zip(first.tolist(), last.tolist(), strict=True)):
            window = stretch(float(edges[k]), float(edges[k + 1]), i, j)
            windows.append(WindowAnalysis(window.start_s, min(window.end_s, end_s),
                                          window.n_beats, window.artifacts, window.markers,
                                          window.quality))
            if on_progress is not None:
                on_progress(k + 2, total)
    return Analysis(int(rr.size), float(np.nansum(rr)) / 1000.0, correct, correction, whole,
                    tuple(windows))


def _quality(correction: Correction, rr: FloatArray, merged: FloatArray, merged_index: IntArray,
             source: IntArray, first: int, last: int, unit: str, *,
             whole_input: bool = False) -> Quality:
    """The gate on the input intervals behind corrected intervals first..last-1: the merged
    values there (premature beats), every input value there (input checks; the whole input for
    the whole recording) and the fixes among them."""
    if last <= first:
        low, high = 0, 0
    else:
        low, high = int(source[first]), int(source[last - 1]) + 1
    if whole_input:
        low, high = 0, rr.size
    in_window = (merged_index >= low) & (merged_index < high)
    fixed = correction.fixed_index
    fixes = int(np.count_nonzero((fixed >= low) & (fixed < high)))
    return rhythm_quality(merged[in_window], corrected_beats=fixes, raw_values=rr[low:high],
                          unit=unit)
