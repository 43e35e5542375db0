"""Artifact detection and correction: Lipponen & Tarvainen (2019), the method Kubios uses.

Lipponen, J. A., & Tarvainen, M. P. (2019). A robust algorithm for heart rate variability time
series artefact correction using novel beat classification. J Med Eng Technol 43(3), 173-181.

Beats are classified from two normalised series: dRR (successive differences over a threshold
from the quartile deviation of the surrounding 91 beats) and mRR (deviation from the 11-beat
median over its own threshold), with the subspaces S12/S22 separating ectopic beats, missed and
extra detections and long or short beats. This is our own vectorised implementation of the
same algorithm as neurokit2's `signal_fixpeaks(method="Kubios")`, checked against it flag for
flag (tests/test_analysis_artifacts.py); it runs on a 24-hour recording in milliseconds.

Corrections (plan_fixes): an extra detection is removed (its interval merges with the next),
a missed beat is inserted half-way (the interval splits in two), a misplaced beat (ectopic,
early or late) is moved half-way between its neighbours: the same operations as Kubios and
neurokit2, but one fix per event and on the beat that is actually misplaced (neurokit2 moves the
flagged one, which for an ectopic beat is the beat after it). Intervals outside
MIN_RR_MS..MAX_RR_MS cannot be heartbeats at all; they are removed first and reported as
long/short.

Indices are 0-based positions in the input RR list: an artifact at index k is the interval
rr_ms[k], i.e. the beat that ends it.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import median_filter, rank_filter

from hrvcoach.core.constants import (
    ARTIFACT_ALPHA,
    ARTIFACT_C1,
    ARTIFACT_C2,
    ARTIFACT_MEDIAN_BEATS,
    ARTIFACT_THRESHOLD_BEATS,
    MAX_RR_MS,
    MIN_RR_MS,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ArtifactKind = Literal["ectopic", "missed", "extra", "long_short"]
ARTIFACT_KINDS: Final[tuple[ArtifactKind, ...]] = ("ectopic", "missed", "extra", "long_short")
REMOVED: Final = "removed (outside the physiological range)"

__all__ = [
    "ARTIFACT_KINDS",
    "Artifact",
    "ArtifactKind",
    "Correction",
    "Detection",
    "StreamingArtifactDetector",
    "apply_corrections",
    "correct_artifacts",
    "detect_artifacts",
]


@dataclass(frozen=True, slots=True)
class Detection:
    """One pass of the classifier: indices into the RR list, per kind (sorted)."""

    ectopic: tuple[int, ...] = ()
    missed: tuple[int, ...] = ()
    extra: tuple[int, ...] = ()
    long_short: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        return len(self.ectopic) + len(self.missed) + len(self.extra) + len(self.long_short)

    def kinds(self) -> dict[int, ArtifactKind]:
        """{index: kind}; an index in two lists keeps the first kind in ARTIFACT_KINDS order."""
        found: dict[int, ArtifactKind] = {}
        for kind in ARTIFACT_KINDS:
            for index in getattr(self, kind):
                found.setdefault(index, kind)
        return found


@dataclass(frozen=True, slots=True)
class Artifact:
    """A flagged interval of the input and what the correction did to it."""

    index: int  # position in the input RR list
    kind: ArtifactKind
    correction: str


@dataclass(frozen=True, slots=True)
class Correction:
    """The corrected RR series and how it relates to the input."""

    rr_ms: FloatArray  # corrected intervals
    source_index: IntArray  # for each corrected interval, the input interval it came from
    artifacts: tuple[Artifact, ...] = field(default=())

    def counts(self) -> dict[ArtifactKind, int]:
        totals: dict[ArtifactKind, int] = dict.fromkeys(ARTIFACT_KINDS, 0)
        for artifact in self.artifacts:
            totals[artifact.kind] += 1
        return totals

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(sorted(artifact.index for artifact in self.artifacts))


# --------------------------------------------------------------------------------------------
# Rolling statistics with pandas' semantics: centred window, truncated at the ends
# (rolling(w, center=True, min_periods=1)), linear interpolation between order statistics.


def _quantile_sorted(values: FloatArray, q: float) -> float:
    position = q * (values.size - 1)
    low = int(position)
    if low == position or low + 1 >= values.size:
        return float(values[low])
    return float(values[low] + (values[low + 1] - values[low]) * (position - low))


def _edges(n: int, half: int, ends: tuple[bool, bool]) -> list[int]:
    """The positions whose centred window is truncated, at the ends asked for."""
    left = list(range(min(half, n))) if ends[0] else []
    right = list(range(max(n - half, half), n)) if ends[1] else []
    return left + right


def _rolling_quantiles(values: FloatArray, window: int, q_low: float, q_high: float,
                       ends: tuple[bool, bool] = (True, True)) -> tuple[FloatArray, FloatArray]:
    n = values.size
    half = window // 2
    low = np.empty(n)
    high = np.empty(n)
    edge = _edges(n, half, ends) if n > 2 * half else list(range(n))
    if n > 2 * half:
        for q, out in ((q_low, low), (q_high, high)):
            position = q * (window - 1)
            rank = int(position)
            fraction = position - rank
            lower = rank_filter(values, rank, size=window, mode="nearest")
            if fraction:
                upper = rank_filter(values, rank + 1, size=window, mode="nearest")
                out[:] = lower + (upper - lower) * fraction
            else:
                out[:] = lower
    for i in edge:
        part = np.sort(values[max(i - half, 0):i + half + 1])
        low[i] = _quantile_sorted(part, q_low)
        high[i] = _quantile_sorted(part, q_high)
    return low, high


def rolling_median(values: FloatArray, window: int,
                   ends: tuple[bool, bool] = (True, True)) -> FloatArray:
    """Centred running median, truncated at the ends (pandas rolling(window, center=True,
    min_periods=1).median()); `ends` False leaves that end's truncated windows approximate."""
    n = values.size
    half = window // 2
    out = median_filter(values, size=window, mode="nearest") if n > 2 * half else np.empty(n)
    for i in _edges(n, half, ends) if n > 2 * half else range(n):
        out[i] = _median_of(values[max(i - half, 0):i + half + 1])
    return out


def _threshold(values: FloatArray, alpha: float, window: int,
               ends: tuple[bool, bool] = (True, True)) -> FloatArray:
    q1, q3 = _rolling_quantiles(np.abs(values), window, 0.25, 0.75, ends)
    return alpha * ((q3 - q1) / 2.0)


def _normalised(values: FloatArray, threshold: FloatArray) -> FloatArray:
    out = np.full(values.size, np.nan)
    np.divide(values, threshold, out=out, where=threshold != 0)
    return out


# --------------------------------------------------------------------------------------------
# The classifier. It works on "peak" indices, as the paper and neurokit2 do: rr[0] is a made-up
# interval (the mean) before the first beat, so rr[j] is the input interval j - 1.


@dataclass(frozen=True, slots=True)
class _Series:
    rr: FloatArray  # rr[0] = the made-up interval
    drrs: FloatArray  # normalised dRR
    mrrs: FloatArray  # normalised mRR
    medrr: FloatArray
    th2: FloatArray
    s12: FloatArray
    s22: FloatArray


def _series(rr_ms: FloatArray, *, alpha: float, window: int, median_window: int,
            ends: tuple[bool, bool] = (True, True)) -> _Series:
    """The classifier's series; `ends` False skips the exact (truncated-window) values at that
    end, for a slice whose end values are not used."""
    rr = np.empty(rr_ms.size + 1)
    rr[1:] = rr_ms
    rr[0] = rr_ms.mean()
    drrs = np.empty_like(rr)
    drrs[1:] = np.diff(rr)
    drrs[0] = drrs[1:].mean() if rr.size > 1 else 0.0
    drrs = _normalised(drrs, _threshold(drrs, alpha, window, ends))
    padded = np.pad(drrs, 2, mode="reflect") if drrs.size > 2 else np.pad(drrs, 2, mode="edge")
    before, after, after2 = padded[1:-3], padded[3:-1], padded[4:]
    with np.errstate(invalid="ignore"):
        s12 = np.where(drrs > 0, np.maximum(before, after),
                       np.where(drrs < 0, np.minimum(before, after), 0.0))
        s22 = np.where(drrs >= 0, np.minimum(after, after2),
                       np.where(drrs < 0, np.maximum(after, after2), 0.0))
    medrr = rolling_median(rr, median_window, ends)
    mrrs = rr - medrr
    mrrs[mrrs < 0] *= 2.0
    th2 = _threshold(mrrs, alpha, window, ends)
    return _Series(rr, drrs, _normalised(mrrs, th2), medrr, th2, s12, s22)


def _classify(series: _Series, *, c1: float, c2: float, start: int = 0,
              stop: int | None = None) -> tuple[dict[ArtifactKind, list[int]], int]:
    """Figure 1 of the paper, beat by beat from `start` to before `stop` (peak indices).

    Returns the flags and the index the loop would visit next (loop state for streaming).
    """
    rr, drrs, mrrs, medrr, th2, s12, s22 = (series.rr, series.drrs, series.mrrs, series.medrr,
                                             series.th2, series.s12, series.s22)
    flags: dict[ArtifactKind, list[int]] = {kind: [] for kind in ARTIFACT_KINDS}
    end = rr.size - 2 if stop is None else min(stop, rr.size - 2)
    with np.errstate(invalid="ignore"):
        candidates = np.flatnonzero(~(np.abs(drrs[start:end]) <= 1.0)) + start
    i = start
    for candidate in candidates.tolist():
        if candidate < i:
            continue
        i = candidate
        d = drrs[i]
        if (d > 1 and s12[i] < -c1 * d - c2) or (d < -1 and s12[i] > -c1 * d + c2):
            flags["ectopic"].append(i)
            i += 1
            continue
        if not (abs(d) > 1 or abs(mrrs[i]) > 3):
            i += 1
            continue
        pair = [i, i + 1] if abs(drrs[i + 1]) < abs(drrs[i + 2]) else [i]
        for j in pair:
            long_beat = drrs[j] > 1 and s22[j] < -1
            short_beat = drrs[j] < -1 and s22[j] > 1
            i += 1
            if not (long_beat or short_beat or abs(mrrs[j]) > 3):
                continue
            if short_beat and abs(rr[j] + rr[j + 1] - medrr[j]) < th2[j]:
                flags["extra"].append(j)
            elif long_beat and abs(rr[j] / 2.0 - medrr[j]) < th2[j]:
                flags["missed"].append(j)
            else:
                flags["long_short"].append(j)
    return flags, max(i, end)


def _check(rr_ms: FloatArray) -> FloatArray:
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be 1-D, got shape {rr.shape}")
    return rr


def detect_artifacts(rr_ms: FloatArray, *, c1: float = ARTIFACT_C1, c2: float = ARTIFACT_C2,
                     alpha: float = ARTIFACT_ALPHA, window_beats: int = ARTIFACT_THRESHOLD_BEATS,
                     median_beats: int = ARTIFACT_MEDIAN_BEATS) -> Detection:
    """One pass of the Lipponen & Tarvainen classifier over an RR series (no correction).

    The same flags as neurokit2's signal_fixpeaks(method="Kubios", iterative=False). The last two
    intervals are never classified (the method needs two beats of look-ahead).
    """
    rr = _check(rr_ms)
    if window_beats % 2 == 0 or median_beats % 2 == 0:
        raise ValueError("window_beats and median_beats must be odd (centred windows)")
    if rr.size < 3:
        return Detection()
    series = _series(rr, alpha=alpha, window=window_beats, median_window=median_beats)
    flags, _ = _classify(series, c1=c1, c2=c2)
    return Detection(**{kind: tuple(j - 1 for j in flags[kind] if j >= 1) for kind in ARTIFACT_KINDS})


# --------------------------------------------------------------------------------------------
# Correction in the beat-time domain, as neurokit2 does it, carrying each beat's input index.


def _shift(indices: list[int], removed_or_added: list[int], step: int) -> list[int]:
    for s in removed_or_added:
        indices = [u + step if u > s else u for u in indices]
    return sorted(set(indices))


def apply_corrections(flags: dict[ArtifactKind, list[int]], peaks: FloatArray,
           sources: IntArray) -> tuple[FloatArray, IntArray]:
    """Correct flagged beats (peak indices: peaks[0] is the beat before the first interval), as
    neurokit2's _correct_artifacts but on float beat times; `sources` rides along."""
    extra, missed = sorted(flags["extra"]), sorted(flags["missed"])
    ectopic, long_short = sorted(flags["ectopic"]), sorted(flags["long_short"])
    if extra:
        keep = np.ones(peaks.size, dtype=bool)
        keep[extra] = False
        peaks, sources = peaks[keep], sources[keep]
        missed = _shift(missed, extra, -1)
        ectopic = _shift(ectopic, extra, -1)
        long_short = _shift(long_short, extra, -1)
    if missed:
        index = np.asarray(missed, dtype=np.int64)
        index = index[(index > 1) & (index < peaks.size)]
        added = peaks[index - 1] + (peaks[index] - peaks[index - 1]) / 2.0
        peaks = np.insert(peaks, index, added)
        sources = np.insert(sources, index, sources[index])
        ectopic = _shift(ectopic, missed, 1)
        long_short = _shift(long_short, missed, 1)
    for moved in (ectopic, long_short):
        if not moved:
            continue
        index = np.asarray(moved, dtype=np.int64)
        index = index[(index > 1) & (index < peaks.size - 1)]
        halfway = peaks[index - 1] + (peaks[index + 1] - peaks[index - 1]) / 2.0
        moved_sources = sources[index]
        keep = np.ones(peaks.size, dtype=bool)
        keep[index] = False
        peaks = np.concatenate((peaks[keep], halfway))
        sources = np.concatenate((sources[keep], moved_sources))
        order = np.argsort(peaks, kind="mergesort")
        peaks, sources = peaks[order], sources[order]
    return peaks, sources


Fix = tuple[Literal["remove", "insert", "move"], int]  # (what, peak index)
FIX_KIND: Final[dict[str, ArtifactKind]] = {"remove": "extra", "insert": "missed",
                                              "move": "ectopic"}


def plan_fixes(flags: dict[int, ArtifactKind], rr: FloatArray, medrr: FloatArray,
               th2: FloatArray) -> tuple[dict[ArtifactKind, list[int]], dict[int, Fix]]:
    """One fix per cluster of flagged beats (peak indices; rr[j] ends at peak j).

    neurokit2 moves each flagged beat itself. For an ectopic beat the classifier flags the
    interval *after* the premature beat, so that moves the wrong beat (on mitdb_100 its RMSSD
    stays 16 % above the normal-to-normal value). Here a run of adjacent flags is one event,
    fixed once, by the first rule that fits (m: median RR there, t: the classifier's mRR
    threshold Th2):

    1. a beat classified extra: remove it (its interval merges with the next); the flags right
       beside it belong to the same event;
    2. a beat classified missed: insert a beat half-way (the same);
    then, for a run of other flags:
    3. two short intervals that add up to about one (|a + b - level| < t, level: the mean of
       their outer neighbours): an extra detection: remove the beat between them;
    4. one interval of about two (> 1.6 m, |r/2 - m| < t) between normal ones: insert a beat;
    5. a beat between a short and a long interval that add up to two normal ones: it is
       misplaced (ectopic, early or late detection): move it half-way between its neighbours;
    6. otherwise move the beat whose neighbouring intervals differ most, half-way.

    Returns the fixes in apply_corrections' form ({"extra": removals, "missed": insertions,
    "ectopic": moves}) and, per flagged beat, the fix of its event.
    """
    plan: dict[ArtifactKind, list[int]] = {kind: [] for kind in ARTIFACT_KINDS}
    by_beat: dict[int, Fix] = {}
    last_peak = rr.size - 1

    def record(fix: Fix, beats: list[int]) -> None:
        what, peak = fix
        plan[FIX_KIND[what]].append(peak)
        for j in beats:
            by_beat[j] = fix

    # 1-2: a classified extra or missed beat is one event with the flags right next to it
    rest = sorted(j for j in flags if j >= 1)
    for q in sorted(j for j in rest if flags[j] in ("extra", "missed")):
        if q in by_beat:
            continue
        record(("remove" if flags[q] == "extra" else "insert", q),
               [j for j in rest if abs(j - q) <= 1 and j not in by_beat])
    rest = [j for j in rest if j not in by_beat]
    events: list[list[int]] = []
    for j in rest:
        if events and j - events[-1][-1] <= 1:
            events[-1].append(j)
        else:
            events.append([j])
    for event in events:
        m, t = float(medrr[event[0]]), float(th2[event[0]])
        around = [p for p in range(event[0] - 1, event[-1] + 1) if 1 <= p < last_peak]
        if not around:
            continue

        def gap(p: int) -> float:
            return abs(float(rr[p + 1] - rr[p]))

        def level(p: int, m: float = m) -> float:
            """The local RR level around the pair (rr[p], rr[p + 1]): its outer neighbours."""
            if p - 1 >= 1 and p + 2 <= last_peak:
                return 0.5 * float(rr[p - 1] + rr[p + 2])
            return m

        split = [p for p in around if rr[p] < 0.8 * level(p) and rr[p + 1] < 0.8 * level(p)
                 and abs(rr[p] + rr[p + 1] - level(p)) < t]
        merged = [p for p in event if rr[p] > 1.6 * m and abs(rr[p] / 2.0 - m) < t
                  and rr[p - 1] > 0.8 * m and (p + 1 > last_peak or rr[p + 1] > 0.8 * m)]
        misplaced = [p for p in around if any(
            (rr[p] - ref) * (rr[p + 1] - ref) < 0 and abs(rr[p] + rr[p + 1] - 2.0 * ref) < t
            for ref in (level(p), m))]
        if split:
            fix: Fix = ("remove", split[0])
        elif merged:
            fix = ("insert", merged[0])
        elif misplaced:
            fix = ("move", max(misplaced, key=gap))
        else:
            fix = ("move", max(around, key=gap))
        record(fix, event)
    return plan, by_beat


def _describe(fix: Fix, source: int) -> str:
    """What a fix did, naming input intervals (source: the input interval ending at the beat)."""
    what, _ = fix
    if source < 0:
        return "left as it is (at the start of the recording)"
    if what == "remove":
        return f"extra beat removed: intervals {source} and {source + 1} merged"
    if what == "insert":
        return f"missed beat inserted: interval {source} split in two"
    return f"misplaced beat moved half-way: intervals {source} and {source + 1} evened out"


def correct_artifacts(rr_ms: FloatArray, *, iterative: bool = True, c1: float = ARTIFACT_C1,
                      c2: float = ARTIFACT_C2, alpha: float = ARTIFACT_ALPHA,
                      window_beats: int = ARTIFACT_THRESHOLD_BEATS,
                      median_beats: int = ARTIFACT_MEDIAN_BEATS,
                      min_rr_ms: float = MIN_RR_MS, max_rr_ms: float = MAX_RR_MS) -> Correction:
    """Remove impossible intervals, then detect (as detect_artifacts) and correct (plan_fixes).

    iterative=True repeats detection on the corrected series while the number of flags keeps
    falling (neurokit2's rule). The classifier never judges the last two intervals (it needs two
    beats of look-ahead); here they are flagged as long/short when both their dRR and mRR are out
    of range, and fixed by the same rules. Every flagged interval of every pass is reported by
    input index, with its classifier kind and what was done about it.
    """
    rr = _check(rr_ms)
    found: dict[int, Artifact] = {}
    possible = (rr >= min_rr_ms) & (rr <= max_rr_ms)
    for index in np.flatnonzero(~possible).tolist():
        found[index] = Artifact(index, "long_short", REMOVED)
    kept = rr[possible]
    sources = np.concatenate(([-1], np.flatnonzero(possible))).astype(np.int64)
    peaks = np.concatenate(([0.0], np.cumsum(kept)))
    settings = {"alpha": alpha, "window": window_beats, "median_window": median_beats}
    reach = 2 * (window_beats // 2) + median_beats  # how far a change moves other flags
    dirty: list[tuple[int, int]] | None = None  # None: judge every beat
    previous_count: int | None = None
    while peaks.size >= 4:
        flags, series = _flags_in(np.diff(peaks), dirty, reach, settings, c1, c2)
        if not flags or (previous_count is not None and len(flags) >= previous_count):
            break
        plan, fixes = plan_fixes(flags, series.rr, series.medrr, series.th2)
        for j, kind in sorted(flags.items()):
            source = int(sources[j])
            if source >= 0 and source not in found:
                fix = fixes[j]
                found[source] = Artifact(source, kind, _describe(fix, int(sources[fix[1]])))
        before = peaks
        peaks, ids = apply_corrections(plan, peaks, np.arange(peaks.size, dtype=np.int64))
        sources = sources[ids]
        dirty = _changed_regions(before, peaks, ids, reach)
        previous_count = len(flags)
        if not iterative:
            break
    corrected = np.diff(peaks)
    artifacts = tuple(found[index] for index in sorted(found))
    return Correction(corrected, sources[1:].copy(), artifacts)


@dataclass(frozen=True, slots=True)
class _Judged:
    """The parts of a _Series that plan_fixes needs, for the whole series (NaN where unjudged)."""

    rr: FloatArray
    medrr: FloatArray
    th2: FloatArray


def _flags_in(rr: FloatArray, regions: list[tuple[int, int]] | None, reach: int,
              settings: dict[str, float | int], c1: float,
              c2: float) -> tuple[dict[int, ArtifactKind], _Judged]:
    """Classifier flags (peak indices) over the whole series, or only within `regions` (peak
    index ranges) after a correction pass: there every flag, threshold and median equals the
    whole series' because each slice reaches `reach` beats beyond its region."""
    n = rr.size + 1
    spans = [(0, n)] if regions is None else regions
    flags: dict[int, ArtifactKind] = {}
    medrr = np.full(n, np.nan)
    th2 = np.full(n, np.nan)
    for low, high in spans:
        start, stop = max(low - reach, 0), min(high + reach, n)
        if start > 0:
            start += 1  # slice rr from interval `start`: peak `start` becomes the slice's peak 1
        part = _series(rr[max(start - 1, 0): stop - 1], ends=(start == 0, stop == n),
                       **settings)  # type: ignore[arg-type]
        offset = max(start - 1, 0)
        classified, _ = _classify(part, c1=c1, c2=c2)
        for kind in reversed(ARTIFACT_KINDS):
            for j in classified[kind]:
                if j >= 1 and low <= j + offset < high:
                    flags[j + offset] = kind
        inside = slice(max(low, offset + 1), min(high, offset + part.rr.size))
        medrr[inside] = part.medrr[inside.start - offset: inside.stop - offset]
        th2[inside] = part.th2[inside.start - offset: inside.stop - offset]
        if stop == n:  # the classifier never judges the last two intervals (no look-ahead)
            for j in (part.rr.size - 2, part.rr.size - 1):
                if (j >= 1 and j + offset not in flags and abs(part.drrs[j]) > 1
                        and abs(part.mrrs[j]) > 3):
                    flags[j + offset] = "long_short"
    full_rr = np.empty(n)
    full_rr[1:] = rr
    full_rr[0] = rr.mean()
    return flags, _Judged(full_rr, medrr, th2)


_MERGE_GAP_BEATS: Final = 1000  # slices closer than this are judged as one (per-call overhead)


def _changed_regions(before: FloatArray, after: FloatArray, ids: IntArray,
                     reach: int) -> list[tuple[int, int]]:
    """Peak index ranges of `after` within `reach` beats of a moved, inserted or removed beat."""
    moved = after != before[ids]
    inserted = np.zeros(after.size, dtype=bool)
    inserted[1:] = ids[1:] == ids[:-1]
    removed = np.zeros(after.size, dtype=bool)
    removed[1:] = ids[1:] - ids[:-1] > 1
    changed = np.flatnonzero(moved | inserted | removed)
    regions: list[tuple[int, int]] = []
    for index in changed.tolist():
        low, high = max(index - reach, 0), min(index + reach + 1, after.size)
        if regions and low <= regions[-1][1] + _MERGE_GAP_BEATS:  # fewer, longer slices
            regions[-1] = (regions[-1][0], max(regions[-1][1], high))
        else:
            regions.append((low, high))
    return regions


# --------------------------------------------------------------------------------------------
# Streaming: the same classifier beat by beat.

_GROW = 1024


class _Buffer:
    """A growing float array with NaN for values not computed yet."""

    def __init__(self) -> None:
        self.data = np.full(_GROW, np.nan)

    def ensure(self, size: int) -> None:
        if size > self.data.size:
            grown = np.full(max(size, 2 * self.data.size), np.nan)
            grown[: self.data.size] = self.data
            self.data = grown


@lru_cache(maxsize=128)
def _quartile_ranks(m: int) -> tuple[tuple[int, ...], float, float]:
    low, high = 0.25 * (m - 1), 0.75 * (m - 1)
    ranks = sorted({int(low), min(int(low) + 1, m - 1), int(high), min(int(high) + 1, m - 1)})
    return tuple(ranks), low, high


def _threshold_of(window: FloatArray, alpha: float) -> float:
    """alpha x quartile deviation of |window| (pandas' linear quantiles)."""
    m = window.size
    ranks, low_pos, high_pos = _quartile_ranks(m)
    part = np.partition(np.abs(window), ranks)
    i, j = int(low_pos), int(high_pos)
    q1 = float(part[i]) if i == low_pos else float(part[i] + (part[i + 1] - part[i]) * (low_pos - i))
    q3 = float(part[j]) if j == high_pos else float(part[j] + (part[j + 1] - part[j]) * (high_pos - j))
    return alpha * (q3 - q1) / 2.0


def _median_of(window: FloatArray) -> float:
    """np.median of a small window, without its overhead."""
    m = window.size
    half = m // 2
    if m % 2:
        return float(np.partition(window, half)[half])
    part = np.partition(window, (half - 1, half))
    return float((part[half - 1] + part[half]) * 0.5)


def _subspaces(drrs: FloatArray, first: int) -> tuple[FloatArray, FloatArray]:
    """S12 and S22 of drrs[first:], with drrs reflected at both ends as np.pad "reflect"."""
    n = drrs.size
    index = np.arange(first - 1, n + 2)
    index = np.where(index < 0, -index, np.where(index > n - 1, 2 * (n - 1) - index, index))
    values = drrs[index]
    centre, before, after, after2 = values[1:-2], values[:-3], values[2:-1], values[3:]
    with np.errstate(invalid="ignore"):
        s12 = np.where(centre > 0, np.maximum(before, after),
                       np.where(centre < 0, np.minimum(before, after), 0.0))
        s22 = np.where(centre >= 0, np.minimum(after, after2),
                       np.where(centre < 0, np.maximum(after, after2), 0.0))
    return s12, s22


def _s12(centre: float, before: float, after: float) -> float:
    """S12 of one beat, with the batch version's NaN behaviour (np.where over np.maximum)."""
    if not (centre > 0 or centre < 0):
        return 0.0
    if math.isnan(before) or math.isnan(after):
        return math.nan
    return max(before, after) if centre > 0 else min(before, after)


def _s22(centre: float, after: float, after2: float) -> float:
    if not (centre >= 0 or centre < 0):
        return 0.0
    if math.isnan(after) or math.isnan(after2):
        return math.nan
    return min(after, after2) if centre >= 0 else max(after, after2)


_REJUDGE_BEATS: Final = 6  # provisional judgement covers the newest beats only


class StreamingArtifactDetector:
    """Lipponen & Tarvainen beat by beat, for live use.

    Each beat is judged at once, provisionally: the newest one is a "suspect" when its dRR
    exceeds the latest threshold (it cannot be classified before two more beats arrive); older
    beats not yet final are classified with the latest thresholds standing in for the windows
    still open. A decision becomes final FINAL_AFTER_BEATS beats later, when every centred window
    it depends on is complete; final decisions equal `detect_artifacts` on the whole series,
    except within the first ~55 beats (the batch method fills its made-up first interval with
    the whole series' mean, which a stream cannot know). Indices count the beats given to `add`.
    """

    FINAL_AFTER_BEATS: Final = 51

    def __init__(self, *, c1: float = ARTIFACT_C1, c2: float = ARTIFACT_C2,
                 alpha: float = ARTIFACT_ALPHA, window_beats: int = ARTIFACT_THRESHOLD_BEATS,
                 median_beats: int = ARTIFACT_MEDIAN_BEATS) -> None:
        if window_beats % 2 == 0 or median_beats % 2 == 0:
            raise ValueError("window_beats and median_beats must be odd (centred windows)")
        self._c1, self._c2, self._alpha = c1, c2, alpha
        self._half = window_beats // 2
        self._median_half = median_beats // 2
        self._final: dict[int, ArtifactKind] = {}
        self._final_order: list[int] = []  # the keys of _final, ascending
        self._provisional: dict[int, ArtifactKind] = {}
        self._suspect: set[int] = set()
        self._added = 0
        self._start_segment()

    def _start_segment(self) -> None:
        self._offset = self._added  # stream index of this stretch's first beat
        self._n = 0  # peak-indexed length: rr[0] is the made-up interval
        self._rr, self._drr, self._drrs = _Buffer(), _Buffer(), _Buffer()
        self._medrr, self._mrr, self._mrrs, self._th2 = _Buffer(), _Buffer(), _Buffer(), _Buffer()
        self._s12, self._s22 = _Buffer(), _Buffer()
        self._next = 0  # the final pass's loop position (peak index)
        self._th1_last = math.nan
        self._th2_last = math.nan

    @property
    def mrr_threshold_ms(self) -> float:
        """The latest Th2 (threshold of the deviation from the median RR); NaN at first."""
        return self._th2_last

    @property
    def final_flags(self) -> dict[int, ArtifactKind]:
        """Decided for good: {stream index: kind}."""
        return dict(self._final)

    def flags(self) -> dict[int, ArtifactKind]:
        """Final and provisional flags: {stream index: kind}."""
        merged = dict(self._provisional)
        merged.update(self._final)
        return merged

    def flags_between(self, first: int, last: int) -> dict[int, ArtifactKind]:
        """flags() of the beats first..last (stream indices, inclusive), without copying all."""
        low = bisect.bisect_left(self._final_order, first)
        high = bisect.bisect_right(self._final_order, last)
        merged = {i: kind for i, kind in self._provisional.items() if first <= i <= last}
        final = self._final
        merged.update((i, final[i]) for i in self._final_order[low:high])
        return merged

    def suspects(self) -> set[int]:
        """The newest beats that look wrong but cannot be classified yet (no look-ahead)."""
        return set(self._suspect)

    def first_suspect_between(self, first: int, last: int) -> int | None:
        """The oldest suspect among the beats first..last, or None."""
        return min((i for i in self._suspect if first <= i <= last), default=None)

    def restart(self) -> None:
        """Begin a new stretch (after a gap): no window spans the break. Pending decisions of
        the old stretch stay provisional."""
        self._suspect.clear()
        self._start_segment()

    def add(self, rr_ms: float) -> None:
        """One more interval."""
        if self._n == 0:
            self._append(rr_ms)  # the made-up interval before the first: a copy of it
        self._append(rr_ms)
        self._added += 1
        k = self._n - 1
        self._update_final(k)
        self._update_provisional(k)

    def _append(self, rr_ms: float) -> None:
        k = self._n
        if k >= self._rr.data.size:
            for buffer in (self._rr, self._drr, self._drrs, self._medrr, self._mrr, self._mrrs,
                           self._th2, self._s12, self._s22):
                buffer.ensure(k + 1)
        self._rr.data[k] = rr_ms
        self._drr.data[k] = rr_ms - self._rr.data[k - 1] if k > 0 else 0.0
        self._n = k + 1

    def _stream_index(self, peak: int) -> int:
        return self._offset + peak - 1

    def _update_final(self, k: int) -> None:
        half, alpha = self._half, self._alpha
        rr, drr, drrs = self._rr.data, self._drr.data, self._drrs.data
        m = k - half  # its dRR threshold window [m - half, m + half] is complete now
        if m >= 0:
            th1 = _threshold_of(drr[max(m - half, 0): m + half + 1], alpha)
            self._th1_last = th1
            drrs[m] = drr[m] / th1 if th1 != 0 else np.nan

            def at(i: int) -> float:
                return float(drrs[-i if i < 0 else i])  # reflected at 0, as np.pad "reflect"

            if m >= 1:
                self._s12.data[m - 1] = _s12(at(m - 1), at(m - 2), at(m))
            if m >= 2:
                self._s22.data[m - 2] = _s22(at(m - 2), at(m - 1), at(m))
        mh = self._median_half
        c = k - mh  # its median window is complete now
        if c >= 0:
            med = _median_of(rr[max(c - mh, 0): c + mh + 1])
            self._medrr.data[c] = med
            dev = float(rr[c]) - med
            self._mrr.data[c] = 2.0 * dev if dev < 0 else dev
            e = c - half  # its mRR threshold window is complete now
            if e >= 0:
                th2 = _threshold_of(self._mrr.data[max(e - half, 0): e + half + 1], alpha)
                self._th2_last = th2
                self._th2.data[e] = th2
                self._mrrs.data[e] = self._mrr.data[e] / th2 if th2 != 0 else np.nan
        stop = k - self.FINAL_AFTER_BEATS + 1
        while self._next < stop and abs(drrs[self._next]) <= 1.0:
            self._next += 1  # the common case: a normal beat, nothing to classify
        if stop > self._next:
            n = self._n
            series = _Series(rr[:n], drrs[:n], self._mrrs.data[:n], self._medrr.data[:n],
                             self._th2.data[:n], self._s12.data[:n], self._s22.data[:n])
            flags, self._next = _classify(series, c1=self._c1, c2=self._c2, start=self._next,
                                          stop=stop)
            for kind in ARTIFACT_KINDS:
                for j in flags[kind]:
                    if j >= 1:
                        index = self._stream_index(j)
                        if index not in self._final:
                            bisect.insort(self._final_order, index)
                        self._final[index] = kind
            settled = self._stream_index(self._next)
            for index in [i for i in self._provisional if self._offset <= i < settled]:
                del self._provisional[index]

    def _update_provisional(self, k: int) -> None:
        """Judge the beats not yet final, with the latest thresholds standing in for windows
        still open and medians over what has arrived (as the batch method at a record's end)."""
        start = self._next
        th1 = self._th1_last
        if not math.isfinite(th1):
            th1 = _threshold_of(self._drr.data[1: k + 1], self._alpha) if k >= 2 else math.nan
        newest_odd = th1 > 0 and abs(float(self._drr.data[k])) > th1
        if newest_odd:
            self._suspect.add(self._stream_index(k))
        recent = self._stream_index(k) - 3
        if not (newest_odd or self._suspect or any(i >= recent for i in self._provisional)):
            return
        # Only the newest beats are judged again: older provisional flags stand until final.
        judge_from = max(start, k - _REJUDGE_BEATS)
        base = max(judge_from - 3, 0)
        rr = self._rr.data[base: k + 1]
        drrs = self._drrs.data[base: k + 1].copy()
        unknown = np.isnan(drrs)
        if th1 > 0:
            drrs[unknown] = self._drr.data[base: k + 1][unknown] / th1
        mh = self._median_half
        medrr = self._medrr.data[base: k + 1].copy()
        whole = self._rr.data[: k + 1]
        for c in range(max(k - mh + 1, base), k + 1):
            medrr[c - base] = _median_of(whole[max(c - mh, 0):])
        mrr = rr - medrr
        mrr[mrr < 0] *= 2.0
        th2_last = self._th2_last
        if not math.isfinite(th2_last):
            deviations = self._rr.data[max(k - 2 * self._half, 0): k + 1]
            th2_last = _threshold_of(deviations - _median_of(deviations), self._alpha)
        th2 = self._th2.data[base: k + 1].copy()
        th2[np.isnan(th2)] = th2_last
        mrrs = np.full(rr.size, np.nan)
        np.divide(mrr, th2, out=mrrs, where=th2 != 0)
        s12, s22 = _subspaces(drrs, 0)
        series = _Series(rr, drrs, mrrs, medrr, th2, s12, s22)
        flags, _ = _classify(series, c1=self._c1, c2=self._c2, start=judge_from - base)
        settled = self._stream_index(judge_from)
        self._provisional = {i: kind for i, kind in self._provisional.items()
                             if not self._offset <= i or i < settled}
        for kind in ARTIFACT_KINDS:
            for j in flags[kind]:
                if j + base >= 1:
                    self._provisional[self._stream_index(j + base)] = kind
        classified_through = self._stream_index(k - 2)  # two beats of look-ahead needed
        self._suspect = {i for i in self._suspect if i > classified_through}
