"""Artifact detection: the Lipponen & Tarvainen (2019) classifier over a whole RR series.

Lipponen, J. A., & Tarvainen, M. P. (2019). A robust algorithm for heart rate variability time
series artefact correction using novel beat classification. J Med Eng Technol 43(3), 173-181.

Beats are classified from two normalised series: dRR (successive differences over a threshold
from the quartile deviation of the surrounding 91 beats) and mRR (deviation from the 11-beat
median over its own threshold), with the subspaces S12/S22 separating ectopic beats, missed and
extra detections and long or short beats. With bounded=False this is the paper's method,
equal flag for flag to neurokit2's `signal_fixpeaks(method="Kubios", iterative=False)` (tests);
it runs on a 24-hour recording in milliseconds.

bounded=True (the default) goes beyond the paper where its quartile thresholds fail:

- **Collapse.** When the |dRR| values of the window are nearly equal (phase-locked breathing:
  exactly 3, 4 or 5 beats per breath, common at rest), their quartile deviation tends to 0 and
  the method flags 20-99 % of clean beats (a sinusoid at 15/min and 60 bpm: 298 of 301). Both
  thresholds are therefore never below ARTIFACT_FLOOR_OF_RR (20 %) of the local median RR
  (Malik's rule: a change below 20 % is not an artifact) nor below ARTIFACT_FLOOR_OF_TYPICAL x
  the typical |dRR| (its median over the window, which does not collapse).
- **Explosion.** At 4 artifacts/min each artifact puts 2-3 large values into the window and the
  upper quartile lands on them: thresholds of 500-700 ms, and premature beats go unflagged.
  So neither threshold exceeds the larger of ARTIFACT_CEILING_OF_RR x the median RR and a
  multiple of the typical |dRR| (a median: robust up to half the window).
- **The ends.** The paper's windows are centred and shrink at the ends of a recording; where
  they hold a few beats, one artifact sets the threshold (at the end of a live stream: always).
  With bounds the windows are *anchored*: near an end a position uses the full-length window
  nearest to it (the first or last 91 beats; 11 for the median). The first interval has no
  predecessor: the made-up interval before it is the median of the first three (the paper and
  neurokit2 use the mean of the whole series, which a live stream cannot know), so live and
  batch decide alike and an artifact in the very first interval shows (the first RR after a
  strap connects is often wrong).

Where the bounds do not bind, the flags are the paper's. Measured: the synthetic RSA grid of
benchmarks/accuracy.py 2.6 % of intervals flagged -> 0; the demo's 4 artifacts/min: recall 0.92
-> 1.00 in one pass; mitdb_100 79 -> 66 flags (recall 1.00, precision 0.92 -> 0.98); the Bartels
rest recording ("no ectopic beat") 10 -> 0 flags.

Indices are 0-based positions in the input RR list: an artifact at index k is the interval
rr_ms[k], i.e. the beat that ends it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import median_filter, rank_filter

from hrvcoach.core.constants import (
    ARTIFACT_ALPHA,
    ARTIFACT_C1,
    ARTIFACT_C2,
    ARTIFACT_CEILING_OF_RR,
    ARTIFACT_DRR_CEILING_OF_TYPICAL,
    ARTIFACT_FLOOR_OF_RR,
    ARTIFACT_FLOOR_OF_TYPICAL,
    ARTIFACT_MEDIAN_BEATS,
    ARTIFACT_MRR_CEILING_OF_TYPICAL,
    ARTIFACT_THRESHOLD_BEATS,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ArtifactKind = Literal["ectopic", "missed", "extra", "long_short"]
FIRST_LEVEL_BEATS: Final = 3  # bounded: the made-up interval before the first is their median
ARTIFACT_KINDS: Final[tuple[ArtifactKind, ...]] = ("ectopic", "missed", "extra", "long_short")

__all__ = ["ARTIFACT_KINDS", "ArtifactKind", "Detection", "bounded_threshold", "detect_artifacts",
           "rolling_median"]


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


def _anchor_edges(out: FloatArray, half: int) -> FloatArray:
    """Edge positions take the value of the nearest full window (anchored windows, module
    note); a series shorter than the window gets the whole series' value everywhere."""
    n = out.size
    if n > 2 * half:
        out[:half] = out[half]
        out[n - half:] = out[n - 1 - half]
    return out


def _rolling_quantiles(values: FloatArray, window: int, q_low: float, q_high: float,
                       ends: tuple[bool, bool] = (True, True),
                       anchored: bool = False) -> tuple[FloatArray, FloatArray]:
    n = values.size
    half = window // 2
    low = np.empty(n)
    high = np.empty(n)
    if anchored and n <= 2 * half:
        part = np.sort(values)
        low[:], high[:] = _quantile_sorted(part, q_low), _quantile_sorted(part, q_high)
        return low, high
    edge = [] if anchored else _edges(n, half, ends) if n > 2 * half else list(range(n))
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
    if anchored:
        _anchor_edges(low, half)
        _anchor_edges(high, half)
    return low, high


def rolling_median(values: FloatArray, window: int, ends: tuple[bool, bool] = (True, True),
                   anchored: bool = False) -> FloatArray:
    """Centred running median, truncated at the ends (pandas rolling(window, center=True,
    min_periods=1).median()); `ends` False leaves that end's truncated windows approximate.
    anchored=True: at the ends the window keeps its length (module note)."""
    n = values.size
    half = window // 2
    if anchored:
        if n <= 2 * half:
            return np.full(n, median_of(values) if n else math.nan)
        return _anchor_edges(median_filter(values, size=window, mode="nearest"), half)
    out = median_filter(values, size=window, mode="nearest") if n > 2 * half else np.empty(n)
    for i in _edges(n, half, ends) if n > 2 * half else range(n):
        out[i] = median_of(values[max(i - half, 0):i + half + 1])
    return out


def _threshold(values: FloatArray, alpha: float, window: int,
               ends: tuple[bool, bool] = (True, True), anchored: bool = False) -> FloatArray:
    q1, q3 = _rolling_quantiles(np.abs(values), window, 0.25, 0.75, ends, anchored)
    return alpha * ((q3 - q1) / 2.0)


def bounded_threshold(threshold: FloatArray | float, typical: FloatArray | float,
                      median_rr: FloatArray | float, ceiling_of_typical: float) -> FloatArray:
    """A quartile threshold held within hrvcoach's bounds (see the module note): at least the
    larger of ARTIFACT_FLOOR_OF_RR x median_rr and ARTIFACT_FLOOR_OF_TYPICAL x typical (the
    median |dRR|), at most the larger of ARTIFACT_CEILING_OF_RR x median_rr and
    ceiling_of_typical x typical."""
    floor = np.maximum(ARTIFACT_FLOOR_OF_RR * np.asarray(median_rr),
                       ARTIFACT_FLOOR_OF_TYPICAL * np.asarray(typical))
    ceiling = np.maximum(ARTIFACT_CEILING_OF_RR * np.asarray(median_rr),
                         ceiling_of_typical * np.asarray(typical))
    return np.minimum(np.maximum(threshold, floor), ceiling)


def _normalised(values: FloatArray, threshold: FloatArray) -> FloatArray:
    out = np.full(values.size, np.nan)
    np.divide(values, threshold, out=out, where=threshold != 0)
    return out


def median_of(window: FloatArray) -> float:
    """np.median of a small window, without its overhead."""
    m = window.size
    half = m // 2
    if m % 2:
        return float(np.partition(window, half)[half])
    part = np.partition(window, (half - 1, half))
    return float((part[half - 1] + part[half]) * 0.5)


# --------------------------------------------------------------------------------------------
# The classifier. It works on "peak" indices, as the paper and neurokit2 do: rr[0] is a made-up
# interval (the mean) before the first beat, so rr[j] is the input interval j - 1.


@dataclass(frozen=True, slots=True)
class Series:
    rr: FloatArray  # rr[0] = the made-up interval
    drrs: FloatArray  # normalised dRR
    mrrs: FloatArray  # normalised mRR
    medrr: FloatArray
    th2: FloatArray
    s12: FloatArray
    s22: FloatArray


def subspaces(drrs: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The subspaces S12 and S22 of normalised dRR (the paper's Figure 1), with drrs reflected
    at both ends as np.pad "reflect" (the streaming detector passes a stretch's tail: its first
    position's S12 reads before the tail, so it judges from the second on)."""
    n = drrs.size
    if n <= 2:
        padded = np.pad(drrs, 2, mode="edge")
    else:  # np.pad(drrs, 2, mode="reflect"), without its overhead
        padded = np.empty(n + 4)
        padded[2:-2] = drrs
        padded[:2] = drrs[2:0:-1]
        padded[-2:] = drrs[-2:-4:-1]
    before, after, after2 = padded[1:-3], padded[3:-1], padded[4:]
    with np.errstate(invalid="ignore"):
        s12 = np.where(drrs > 0, np.maximum(before, after),
                       np.where(drrs < 0, np.minimum(before, after), 0.0))
        s22 = np.where(drrs >= 0, np.minimum(after, after2),
                       np.where(drrs < 0, np.maximum(after, after2), 0.0))
    return s12, s22


def classifier_series(rr_ms: FloatArray, *, alpha: float, window: int, median_window: int,
                      ends: tuple[bool, bool] = (True, True), bounded: bool = True) -> Series:
    """The classifier's series; `ends` False skips the exact (truncated-window) values at that
    end, for a slice whose end values are not used. bounded: hrvcoach's first interval and
    threshold bounds (module note); False: the paper's and neurokit2's."""
    rr = np.empty(rr_ms.size + 1)
    rr[1:] = rr_ms
    rr[0] = median_of(rr_ms[:FIRST_LEVEL_BEATS]) if bounded else rr_ms.mean()
    drr = np.empty_like(rr)
    drr[1:] = np.diff(rr)
    drr[0] = 0.0 if bounded else (drr[1:].mean() if rr.size > 1 else 0.0)
    medrr = rolling_median(rr, median_window, ends, anchored=bounded)
    th1 = _threshold(drr, alpha, window, ends, anchored=bounded)
    typical = np.empty(0)
    if bounded:
        typical = rolling_median(np.abs(drr), window, ends, anchored=True)
        th1 = bounded_threshold(th1, typical, medrr, ARTIFACT_DRR_CEILING_OF_TYPICAL)
    drrs = _normalised(drr, th1)
    s12, s22 = subspaces(drrs)
    mrrs = rr - medrr
    mrrs[mrrs < 0] *= 2.0
    th2 = _threshold(mrrs, alpha, window, ends, anchored=bounded)
    if bounded:
        th2 = bounded_threshold(th2, typical, medrr, ARTIFACT_MRR_CEILING_OF_TYPICAL)
    return Series(rr, drrs, _normalised(mrrs, th2), medrr, th2, s12, s22)


def classify(series: Series, *, c1: float, c2: float, start: int = 0,
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


def check_rr(rr_ms: FloatArray) -> FloatArray:
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be 1-D, got shape {rr.shape}")
    return rr


def detect_artifacts(rr_ms: FloatArray, *, c1: float = ARTIFACT_C1, c2: float = ARTIFACT_C2,
                     alpha: float = ARTIFACT_ALPHA, window_beats: int = ARTIFACT_THRESHOLD_BEATS,
                     median_beats: int = ARTIFACT_MEDIAN_BEATS, bounded: bool = True) -> Detection:
    """One pass of the Lipponen & Tarvainen classifier over an RR series (no correction).

    bounded=False gives the same flags as neurokit2's signal_fixpeaks(method="Kubios",
    iterative=False); True adds hrvcoach's bounds (module note). The last two intervals are
    never classified (the method needs two beats of look-ahead).
    """
    rr = check_rr(rr_ms)
    if window_beats % 2 == 0 or median_beats % 2 == 0:
        raise ValueError("window_beats and median_beats must be odd (centred windows)")
    if rr.size < 3:
        return Detection()
    series = classifier_series(rr, alpha=alpha, window=window_beats, median_window=median_beats,
                               bounded=bounded)
    flags, _ = classify(series, c1=c1, c2=c2)
    return Detection(**{kind: tuple(j - 1 for j in flags[kind] if j >= 1) for kind in ARTIFACT_KINDS})


