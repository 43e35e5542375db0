"""Streaming artifact detection: the Lipponen & Tarvainen classifier beat by beat, for live use."""

from __future__ import annotations

import bisect
import math
from functools import lru_cache
from typing import Final

import numpy as np

from hrvcoach.analysis.artifacts.detect import (
    ARTIFACT_KINDS,
    ArtifactKind,
    FloatArray,
    Series,
    classify,
    median_of,
)
from hrvcoach.analysis.buffers import Columns
from hrvcoach.core.constants import (
    ARTIFACT_ALPHA,
    ARTIFACT_C1,
    ARTIFACT_C2,
    ARTIFACT_MEDIAN_BEATS,
    ARTIFACT_THRESHOLD_BEATS,
)

__all__ = ["StreamingArtifactDetector"]

_SERIES: Final = ("rr", "drr", "drrs", "medrr", "mrr", "mrrs", "th2", "s12", "s22")

# --------------------------------------------------------------------------------------------
# Streaming: the same classifier beat by beat.

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
        # peak-indexed series of this stretch, NaN where not computed yet
        self._columns = Columns(dict.fromkeys(_SERIES, np.float64), fill=math.nan)
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
        self._columns.ensure_rows(k + 1)
        self._col("rr")[k] = rr_ms
        self._col("drr")[k] = rr_ms - self._col("rr")[k - 1] if k > 0 else 0.0
        self._n = k + 1

    def _col(self, name: str) -> FloatArray:
        return self._columns.raw(name)

    def _stream_index(self, peak: int) -> int:
        return self._offset + peak - 1

    def _update_final(self, k: int) -> None:
        half, alpha = self._half, self._alpha
        rr, drr, drrs = self._col("rr"), self._col("drr"), self._col("drrs")
        m = k - half  # its dRR threshold window [m - half, m + half] is complete now
        if m >= 0:
            th1 = _threshold_of(drr[max(m - half, 0): m + half + 1], alpha)
            self._th1_last = th1
            drrs[m] = drr[m] / th1 if th1 != 0 else np.nan

            def at(i: int) -> float:
                return float(drrs[-i if i < 0 else i])  # reflected at 0, as np.pad "reflect"

            if m >= 1:
                self._col("s12")[m - 1] = _s12(at(m - 1), at(m - 2), at(m))
            if m >= 2:
                self._col("s22")[m - 2] = _s22(at(m - 2), at(m - 1), at(m))
        mh = self._median_half
        c = k - mh  # its median window is complete now
        if c >= 0:
            med = median_of(rr[max(c - mh, 0): c + mh + 1])
            self._col("medrr")[c] = med
            dev = float(rr[c]) - med
            self._col("mrr")[c] = 2.0 * dev if dev < 0 else dev
            e = c - half  # its mRR threshold window is complete now
            if e >= 0:
                th2 = _threshold_of(self._col("mrr")[max(e - half, 0): e + half + 1], alpha)
                self._th2_last = th2
                self._col("th2")[e] = th2
                self._col("mrrs")[e] = self._col("mrr")[e] / th2 if th2 != 0 else np.nan
        stop = k - self.FINAL_AFTER_BEATS + 1
        while self._next < stop and abs(drrs[self._next]) <= 1.0:
            self._next += 1  # the common case: a normal beat, nothing to classify
        if stop > self._next:
            n = self._n
            series = Series(rr[:n], drrs[:n], self._col("mrrs")[:n], self._col("medrr")[:n],
                             self._col("th2")[:n], self._col("s12")[:n], self._col("s22")[:n])
            flags, self._next = classify(series, c1=self._c1, c2=self._c2, start=self._next,
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
            th1 = _threshold_of(self._col("drr")[1: k + 1], self._alpha) if k >= 2 else math.nan
        newest_odd = th1 > 0 and abs(float(self._col("drr")[k])) > th1
        if newest_odd:
            self._suspect.add(self._stream_index(k))
        recent = self._stream_index(k) - 3
        if not (newest_odd or self._suspect or any(i >= recent for i in self._provisional)):
            return
        # Only the newest beats are judged again: older provisional flags stand until final.
        judge_from = max(start, k - _REJUDGE_BEATS)
        base = max(judge_from - 3, 0)
        rr = self._col("rr")[base: k + 1]
        drrs = self._col("drrs")[base: k + 1].copy()
        unknown = np.isnan(drrs)
        if th1 > 0:
            drrs[unknown] = self._col("drr")[base: k + 1][unknown] / th1
        mh = self._median_half
        medrr = self._col("medrr")[base: k + 1].copy()
        whole = self._col("rr")[: k + 1]
        for c in range(max(k - mh + 1, base), k + 1):
            medrr[c - base] = median_of(whole[max(c - mh, 0):])
        mrr = rr - medrr
        mrr[mrr < 0] *= 2.0
        th2_last = self._th2_last
        if not math.isfinite(th2_last):
            deviations = self._col("rr")[max(k - 2 * self._half, 0): k + 1]
            th2_last = _threshold_of(deviations - median_of(deviations), self._alpha)
        th2 = self._col("th2")[base: k + 1].copy()
        th2[np.isnan(th2)] = th2_last
        mrrs = np.full(rr.size, np.nan)
        np.divide(mrr, th2, out=mrrs, where=th2 != 0)
        s12, s22 = _subspaces(drrs, 0)
        series = Series(rr, drrs, mrrs, medrr, th2, s12, s22)
        flags, _ = classify(series, c1=self._c1, c2=self._c2, start=judge_from - base)
        settled = self._stream_index(judge_from)
        self._provisional = {i: kind for i, kind in self._provisional.items()
                             if not self._offset <= i or i < settled}
        for kind in ARTIFACT_KINDS:
            for j in flags[kind]:
                if j + base >= 1:
                    self._provisional[self._stream_index(j + base)] = kind
        classified_through = self._stream_index(k - 2)  # two beats of look-ahead needed
        self._suspect = {i for i in self._suspect if i > classified_through}
