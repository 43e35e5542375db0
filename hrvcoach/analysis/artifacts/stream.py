"""Streaming artifact detection: the batch classifier beat by beat, for live use.

After each beat the detector's decisions equal `judge_stretch` (batch) on the beats of the current
stretch so far: the same flags and the same held-back end. They come in two kinds:

- **final**: FINAL_AFTER_BEATS beats after a beat every window its decision depends on is
  complete, so no later beat can change it; it equals batch on the whole recording. These are
  computed incrementally (O(1) per beat). At a stretch's start the windows are anchored (the
  first 91 beats serve the first 45), so the first final decisions come after 96 beats.
- **provisional**: the newer beats, judged as batch judges the end of a recording (windows
  truncated at the newest beat). Recomputed on each beat from a slice of the last ~150 beats, and
  only when some newer beat changes by more than ARTIFACT_FLOOR_OF_RR of the local RR (below
  that no threshold can be exceeded: the bounds' floor), or one of the newest two falls by
  ARTIFACT_HOLD_SHORT_DRRS of that (it may have to wait), so a clean stream costs almost nothing.

The start needs no special rule: batch on the first beats uses all of them as its window, and
the threshold bounds keep it sane from the third beat on. A gap ends a stretch: its provisional
decisions become final (they are batch's on the whole stretch) and its held-back end is dropped.
`replace_last` changes the newest interval (a fragment merged back, see correct.py) as if it had
come that way.
"""

from __future__ import annotations

import bisect
import math
from functools import lru_cache
from typing import Any, Final

import numpy as np
from scipy.ndimage import minimum_filter1d

from hrvcoach.analysis.artifacts.correct import held_from, hold_with_flags
from hrvcoach.analysis.artifacts.detect import (
    ARTIFACT_KINDS,
    FIRST_LEVEL_BEATS,
    ArtifactKind,
    FloatArray,
    Series,
    bounded_threshold,
    classify,
    median_of,
    subspaces,
)
from hrvcoach.analysis.buffers import Columns
from hrvcoach.core.constants import (
    ARTIFACT_ALPHA,
    ARTIFACT_C1,
    ARTIFACT_C2,
    ARTIFACT_DRR_CEILING_OF_TYPICAL,
    ARTIFACT_FLOOR_OF_RR,
    ARTIFACT_HOLD_BEATS,
    ARTIFACT_HOLD_SHORT_DRRS,
    ARTIFACT_MEDIAN_BEATS,
    ARTIFACT_MRR_CEILING_OF_TYPICAL,
    ARTIFACT_THRESHOLD_BEATS,
)

__all__ = ["StreamingArtifactDetector"]

_SERIES: Final = ("rr", "drr", "typical", "drrs", "medrr", "mrr", "mrrs", "th2", "s12", "s22")
_STATE: Final = ("_n", "_added", "_next", "_held", "_end_threshold1")


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


class StreamingArtifactDetector:
    """Lipponen & Tarvainen with hrvcoach's bounds, beat by beat (see the module note).

    Indices count the intervals given to `add` (stream indices).
    """

    FINAL_AFTER_BEATS: Final = 51

    def __init__(self, *, c1: float = ARTIFACT_C1, c2: float = ARTIFACT_C2,
                 alpha: float = ARTIFACT_ALPHA, window_beats: int = ARTIFACT_THRESHOLD_BEATS,
                 median_beats: int = ARTIFACT_MEDIAN_BEATS, bounded: bool = True) -> None:
        if window_beats % 2 == 0 or median_beats % 2 == 0:
            raise ValueError("window_beats and median_beats must be odd (centred windows)")
        self._c1, self._c2, self._alpha, self._bounded = c1, c2, alpha, bounded
        self._window, self._median_window = window_beats, median_beats
        self._half = window_beats // 2
        self._median_half = median_beats // 2
        self._reach = 2 * self._half + median_beats + 1  # how far back a judgement reaches
        self._final: dict[int, ArtifactKind] = {}
        self._final_order: list[int] = []  # the keys of _final, ascending
        self._provisional: dict[int, ArtifactKind] = {}
        self._dropped: set[int] = set()
        self._added = 0
        self._journal: list[tuple[str, int, float]] = []
        self._journal_state: dict[str, Any] = {}
        self._journal_final: list[int] = []
        self._journal_provisional: dict[int, ArtifactKind] = {}
        self._start_segment()

    def _start_segment(self) -> None:
        self._offset = self._added  # stream index of this stretch's first beat
        self._n = 0  # peak-indexed length: rr[0] is the made-up interval
        self._columns = Columns(dict.fromkeys(_SERIES, np.float64), fill=math.nan)
        self._next = 0  # the final pass's loop position (peak index)
        self._held: int | None = None  # peak index of the first held-back beat
        self._end_threshold1 = math.nan  # raw dRR threshold of the newest full window

    # -- what it decided -------------------------------------------------------------------

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

    def held_from(self) -> int | None:
        """Stream index of the first beat held back now (it and all later beats cannot be
        judged yet: no look-ahead), or None."""
        return None if self._held is None else self._stream_index(self._held)

    @property
    def dropped(self) -> frozenset[int]:
        """Beats left out for good: held back when their stretch ended."""
        return frozenset(self._dropped)

    @property
    def decided_through(self) -> int:
        """Every decision on beats up to this stream index is final (-1: none yet)."""
        return self._stream_index(self._next) - 1 if self._n else self._added - 1

    # -- feeding it ------------------------------------------------------------------------

    def restart(self) -> None:
        """End the stretch (a gap): its decisions become final, its held-back end is dropped."""
        for index, kind in self._provisional.items():
            if index not in self._final:
                bisect.insort(self._final_order, index)
            self._final[index] = kind
        self._provisional = {}
        if self._held is not None:
            self._dropped.update(range(self._stream_index(self._held), self._added))
        self._journal = []
        self._journal_state = {}
        self._start_segment()

    def add(self, rr_ms: float) -> None:
        """One more interval."""
        self._journal = []
        self._journal_state = {name: getattr(self, name) for name in _STATE}
        self._journal_final = []
        self._journal_provisional = dict(self._provisional)
        if self._n == 0:
            self._append(rr_ms)  # the made-up interval: a copy, until the third (detect.py)
        self._append(rr_ms)
        self._added += 1
        k = self._n - 1
        self._update_final(k)
        self._update_provisional(k)

    def replace_last(self, rr_ms: float) -> None:
        """Replace the newest interval, as if it had arrived with this value."""
        if not self._journal_state:
            raise ValueError("no interval to replace since the last restart")
        for name, row, old in reversed(self._journal):
            self._columns.raw(name)[row] = old
        for index in self._journal_final:
            del self._final[index]
            self._final_order.remove(index)
        for name, value in self._journal_state.items():
            setattr(self, name, value)
        self._provisional = dict(self._journal_provisional)
        self._columns.end = self._n
        self.add(rr_ms)

    # -- internals -------------------------------------------------------------------------

    def _set(self, name: str, row: int, value: float) -> None:
        column = self._columns.raw(name)
        self._journal.append((name, row, float(column[row])))
        column[row] = value

    def _append(self, rr_ms: float) -> None:
        k = self._n
        self._columns.ensure_rows(k + 1)
        self._set("rr", k, rr_ms)
        self._set("drr", k, rr_ms - self._col("rr")[k - 1] if k > 0 else 0.0)
        self._n = k + 1
        if self._bounded and k == FIRST_LEVEL_BEATS:  # the made-up interval, as batch makes it
            rr = self._col("rr")
            self._set("rr", 0, median_of(rr[1:k + 1]))
            self._set("drr", 1, float(rr[1] - rr[0]))

    def _col(self, name: str) -> FloatArray:
        return self._columns.raw(name)

    def _stream_index(self, peak: int) -> int:
        return self._offset + peak - 1

    def _update_final(self, k: int) -> None:
        """The values whose windows complete with beat k, and the final pass up to k - 51.

        A centred window [i - h, i + h] completes with beat i + h. The first h positions use
        the first full window (anchored, see detect.py) and are filled when it completes.
        """
        half, mh = self._half, self._median_half
        c = k - mh  # its median window is complete now
        if c >= mh:
            for i in range(c if c > mh else 0, c + 1):
                self._set_median(i, c)
        m = k - half  # its dRR threshold window [m - half, m + half] is complete now
        if m >= half:
            for i in range(m if m > half else 0, m + 1):
                self._set_drr_threshold(i, m)
        e = c - half  # its mRR threshold window is complete now
        if e >= half:
            for i in range(e if e > half else 0, e + 1):
                self._set_mrr_threshold(i, e)
            self._final_pass(k)

    def _set_median(self, i: int, centre: int) -> None:
        mh = self._median_half
        rr = self._col("rr")
        med = median_of(rr[centre - mh: centre + mh + 1])
        self._set("medrr", i, med)
        dev = float(rr[i]) - med
        self._set("mrr", i, 2.0 * dev if dev < 0 else dev)

    def _set_drr_threshold(self, i: int, centre: int) -> None:
        """dRR threshold of beat i from the window centred on `centre`, and S12/S22 as far as
        they are known."""
        half = self._half
        window = self._col("drr")[centre - half: centre + half + 1]
        th1 = _threshold_of(window, self._alpha)
        self._end_threshold1 = th1  # the newest full window's: the end's, for _tail_series
        if self._bounded:
            typical = median_of(np.abs(window))
            self._set("typical", i, typical)
            th1 = float(bounded_threshold(th1, typical, self._col("medrr")[i],
                                          ARTIFACT_DRR_CEILING_OF_TYPICAL))
        drrs = self._col("drrs")
        self._set("drrs", i, self._col("drr")[i] / th1 if th1 != 0 else math.nan)

        def at(j: int) -> float:
            return float(drrs[-j if j < 0 else j])  # reflected at 0, as np.pad "reflect"

        if i >= 1:
            self._set("s12", i - 1, _s12(at(i - 1), at(i - 2), at(i)))
        if i >= 2:
            self._set("s22", i - 2, _s22(at(i - 2), at(i - 1), at(i)))

    def _set_mrr_threshold(self, i: int, centre: int) -> None:
        half = self._half
        th2 = _threshold_of(self._col("mrr")[centre - half: centre + half + 1], self._alpha)
        if self._bounded:
            th2 = float(bounded_threshold(th2, self._col("typical")[i], self._col("medrr")[i],
                                          ARTIFACT_MRR_CEILING_OF_TYPICAL))
        self._set("th2", i, th2)
        self._set("mrrs", i, self._col("mrr")[i] / th2 if th2 != 0 else math.nan)

    def _final_pass(self, k: int) -> None:
        drrs = self._col("drrs")
        stop = k - self.FINAL_AFTER_BEATS + 1
        while self._next < stop and abs(drrs[self._next]) <= 1.0:
            self._next += 1  # the common case: a normal beat, nothing to classify
        if stop <= self._next:
            return
        n = self._n
        c = self._col
        series = Series(c("rr")[:n], drrs[:n], c("mrrs")[:n], c("medrr")[:n], c("th2")[:n],
                        c("s12")[:n], c("s22")[:n])
        flags, self._next = classify(series, c1=self._c1, c2=self._c2, start=self._next, stop=stop)
        for kind in reversed(ARTIFACT_KINDS):  # an index in two lists keeps the first kind
            for j in flags[kind]:
                if j >= 1:
                    index = self._stream_index(j)
                    if index not in self._final:
                        bisect.insort(self._final_order, index)
                        self._journal_final.append(index)
                    self._final[index] = kind
        settled = self._stream_index(self._next)
        for index in [i for i in self._provisional if self._offset <= i < settled]:
            del self._provisional[index]

    def _update_provisional(self, k: int) -> None:
        """Judge the beats not final yet as batch judges the end of the stretch so far."""
        start = max(self._next, 1)
        ours = {i: kind for i, kind in self._provisional.items() if i < self._offset}
        self._held = None
        if k < 3 or not self._anything_to_judge(start, k):
            self._provisional = ours
            return
        low = max(start - 2, 0)
        series = self._tail_series(low, k)
        flags, _ = classify(series, c1=self._c1, c2=self._c2, start=start - low)
        peaks: dict[int, ArtifactKind] = {}
        for kind in reversed(ARTIFACT_KINDS):
            for j in flags[kind]:
                if j + low >= start:
                    peaks[j + low] = kind
                    ours[self._stream_index(j + low)] = kind
        self._provisional = ours
        held = held_from(series)
        self._held = hold_with_flags(None if held is None else held + low, peaks)

    def _tail_series(self, low: int, k: int) -> Series:
        """The classifier's series of peaks low..k as batch computes it on peaks 0..k: the
        stored final values where a position's (anchored) windows are complete, the rest from
        the windows at the end, which are anchored to the newest beat (detect.py)."""
        half, mh, alpha = self._half, self._median_half, self._alpha
        col = self._col
        n = k + 1
        rr, drr = col("rr")[:n], col("drr")[:n]
        positions = np.arange(low, n)
        # medians: final up to k - mh; after that the last full window (or all, if shorter)
        reach = max(low - 2 * half - mh, 0)
        medrr = col("medrr")[reach:n].copy()
        end_median = median_of(rr[max(n - 2 * mh - 1, 0):n])
        medrr[max(n - mh if n > 2 * mh + 1 else 0, reach) - reach:] = end_median
        mrr = rr[reach:] - medrr
        mrr[mrr < 0] *= 2.0
        here = positions - reach  # positions within medrr / mrr
        # dRR: final up to k - half, then the threshold of the last full window (or of all)
        drrs = np.empty(positions.size)
        typical = np.empty(positions.size)
        if n > 2 * half + 1:
            done = positions <= k - half
            drrs[done] = col("drrs")[positions[done]]
            typical[done] = col("typical")[positions[done]]
            end = ~done
            raw1 = self._end_threshold1
            typical[end] = col("typical")[k - half]
        else:
            end = np.ones(positions.size, dtype=bool)
            raw1 = _threshold_of(drr, alpha)
            typical[:] = median_of(np.abs(drr)) if self._bounded else 0.0
        th1 = (bounded_threshold(raw1, typical[end], medrr[here[end]],
                                 ARTIFACT_DRR_CEILING_OF_TYPICAL) if self._bounded
               else np.full(int(end.sum()), raw1))
        with np.errstate(divide="ignore", invalid="ignore"):
            drrs[end] = np.where(th1 != 0, drr[positions[end]] / th1, np.nan)
        # mRR: final up to k - half - mh, else from its anchored window of the mRR above
        stored = col("th2")[positions]
        final = ~np.isnan(stored) & (positions <= k - half - mh) if n > 2 * half + 1 else \
            np.zeros(positions.size, dtype=bool)
        th2 = stored.copy()
        mrrs = col("mrrs")[positions].copy()
        open_ = ~final
        if open_.any():
            if n > 2 * half + 1:
                centres = np.clip(positions[open_], half, k - half)
                raw = {c: _threshold_of(mrr[c - half - reach: c + half + 1 - reach], alpha)
                       for c in set(centres.tolist())}
                raw2 = np.array([raw[c] for c in centres.tolist()])
            else:
                raw2 = np.full(int(open_.sum()), _threshold_of(mrr, alpha))
            if self._bounded:
                raw2 = bounded_threshold(raw2, typical[open_], medrr[here[open_]],
                                         ARTIFACT_MRR_CEILING_OF_TYPICAL)
            th2[open_] = raw2
            with np.errstate(divide="ignore", invalid="ignore"):
                mrrs[open_] = np.where(raw2 != 0, mrr[here[open_]] / raw2, np.nan)
        s12, s22 = subspaces(drrs)
        return Series(rr[low:], drrs, mrrs, medrr[here], th2, s12, s22)

    def _anything_to_judge(self, start: int, k: int) -> bool:
        """False when no beat from `start` on can exceed its dRR threshold, nor any of the newest
        ARTIFACT_HOLD_BEATS fall by ARTIFACT_HOLD_SHORT_DRRS of it (held_from): none changes by
        more than that share of ARTIFACT_FLOOR_OF_RR of the smallest RR within its median
        window (the threshold's floor)."""
        if not self._bounded:
            return True
        low = max(start - self._median_half, 1)
        rr = self._col("rr")[low: k + 1]
        floor = ARTIFACT_FLOOR_OF_RR * minimum_filter1d(rr, size=self._median_window,
                                                         mode="nearest")
        drr = self._col("drr")[low: k + 1]
        if np.any(np.abs(drr[start - low:]) > floor[start - low:]):
            return True
        newest = max(start - low, drr.size - ARTIFACT_HOLD_BEATS)
        return bool(np.any(-drr[newest:] > ARTIFACT_HOLD_SHORT_DRRS * floor[newest:]))
