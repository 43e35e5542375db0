"""Time-domain HRV markers (Task Force 1996) on arrays of RR intervals in ms.

Conventions, chosen so users can compare with Kubios and neurokit2:

- SDNN, SD1 and SD2 use the sample standard deviation (ddof=1), as neurokit2 and Kubios do
  (pyhrv uses ddof=0: `poincare_sd_ms(..., ddof=0)` reproduces its reports).
- pNN50 divides NN50 by the number of successive differences (Task Force, Kubios, pyhrv).
  neurokit2 0.2.13 divides by the number of intervals (differences + 1), so its pNN50 is ours
  times n_differences / (n_differences + 1).
- Mean HR is the mean of the beat-by-beat heart rate 60000/RR (as pyhrv); Kubios HRV reports
  60000 / mean RR instead, which is lower by the spread of the RR (about SDNN²/meanRR² relative).
- Successive differences that span a gap (after_gap[i] True) are left out of RMSSD, pNN50, SD1
  and SD2; SDNN, mean RR and mean HR use every interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.constants import PNN_THRESHOLD_MS, STRESS_INDEX_BIN_MS

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

__all__ = [
    "TimeDomain",
    "baevsky_stress_index",
    "ln_rmssd",
    "mean_hr_bpm",
    "mean_rr_ms",
    "pnn50_pct",
    "poincare_sd_ms",
    "rmssd_ms",
    "sdnn_ms",
    "successive_differences_ms",
    "time_markers",
]


@dataclass(frozen=True, slots=True)
class TimeDomain:
    """Time-domain markers of one window. NaN where there are too few beats."""

    mean_rr_ms: float
    mean_hr_bpm: float
    sdnn_ms: float
    rmssd_ms: float
    ln_rmssd: float  # natural log of RMSSD in ms
    pnn50_pct: float
    sd1_ms: float  # Poincaré plot width (short-term, vagal)
    sd2_ms: float  # Poincaré plot length
    stress_index: float  # square root of Baevsky's stress index, as Kubios reports it


def _one_d(rr_ms: FloatArray) -> FloatArray:
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be 1-D, got shape {rr.shape}")
    return rr


def _pair_mask(rr: FloatArray, after_gap: BoolArray | None) -> BoolArray | None:
    """Which successive pairs (i-1, i) do not span a gap; None when every pair counts."""
    if after_gap is None:
        return None
    gaps = np.asarray(after_gap, dtype=bool)
    if gaps.shape != rr.shape:
        raise ValueError(f"after_gap shape {gaps.shape} differs from rr_ms shape {rr.shape}")
    if not gaps[1:].any():
        return None
    return ~gaps[1:]


def successive_differences_ms(rr_ms: FloatArray, after_gap: BoolArray | None = None) -> FloatArray:
    """RR[i] - RR[i-1], leaving out differences that span a gap (after_gap[i] True)."""
    rr = _one_d(rr_ms)
    diffs = rr[1:] - rr[:-1]
    keep = _pair_mask(rr, after_gap)
    return diffs if keep is None else diffs[keep]


def rmssd_ms(rr_ms: FloatArray, after_gap: BoolArray | None = None) -> float:
    """Root mean square of successive differences; NaN with fewer than 2 differences."""
    return _rms(successive_differences_ms(rr_ms, after_gap))


def _rms(diffs: FloatArray) -> float:
    return math.sqrt(float(np.dot(diffs, diffs)) / diffs.size) if diffs.size >= 2 else math.nan


def ln_rmssd(rr_ms: FloatArray, after_gap: BoolArray | None = None) -> float:
    """Natural logarithm of RMSSD in ms (NaN when RMSSD is NaN or 0)."""
    value = rmssd_ms(rr_ms, after_gap)
    return math.log(value) if value > 0 else math.nan


def mean_hr_bpm(rr_ms: FloatArray) -> float:
    """Mean of the beat-by-beat heart rate 60000/RR (as pyhrv); NaN for no beats."""
    rr = _one_d(rr_ms)
    return float((60_000.0 / rr).sum()) / rr.size if rr.size else math.nan


def mean_rr_ms(rr_ms: FloatArray) -> float:
    """Mean RR interval; NaN for no beats."""
    rr = _one_d(rr_ms)
    return float(rr.sum()) / rr.size if rr.size else math.nan


def _sd(values: FloatArray, ddof: int, mean: float | None = None) -> float:
    centred = values - (values.sum() / values.size if mean is None else mean)
    return math.sqrt(float(np.dot(centred, centred)) / (values.size - ddof))


def sdnn_ms(rr_ms: FloatArray) -> float:
    """Sample standard deviation (ddof=1) of the RR intervals; NaN with fewer than 2."""
    rr = _one_d(rr_ms)
    return _sd(rr, 1) if rr.size >= 2 else math.nan


def pnn50_pct(rr_ms: FloatArray, after_gap: BoolArray | None = None, *,
              threshold_ms: float = PNN_THRESHOLD_MS) -> float:
    """Percentage of successive differences larger than threshold_ms, out of all differences
    (see the module note for neurokit2's different denominator); NaN with no difference."""
    return _share_above_pct(successive_differences_ms(rr_ms, after_gap), threshold_ms)


def _share_above_pct(diffs: FloatArray, threshold_ms: float) -> float:
    if diffs.size == 0:
        return math.nan
    return float(np.count_nonzero(np.abs(diffs) > threshold_ms)) * 100.0 / diffs.size


def poincare_sd_ms(rr_ms: FloatArray, after_gap: BoolArray | None = None, *,
                   ddof: int = 1) -> tuple[float, float]:
    """(SD1, SD2) of the Poincaré plot RR[i] against RR[i-1] (Brennan et al. 2001).

    SD1 is the spread across the identity line, SD(RR[i-1] - RR[i]) / sqrt 2; SD2 along it,
    SD(RR[i-1] + RR[i]) / sqrt 2. NaN with fewer than ddof + 1 pairs.
    """
    diffs, sums = _pairs(_one_d(rr_ms), after_gap)
    return _poincare(diffs, sums, ddof)


def _pairs(rr: FloatArray, after_gap: BoolArray | None) -> tuple[FloatArray, FloatArray]:
    """(RR[i] - RR[i-1], RR[i] + RR[i-1]) of the successive pairs that do not span a gap."""
    diffs, sums = rr[1:] - rr[:-1], rr[1:] + rr[:-1]
    keep = _pair_mask(rr, after_gap)
    return (diffs, sums) if keep is None else (diffs[keep], sums[keep])


def _poincare(diffs: FloatArray, sums: FloatArray, ddof: int) -> tuple[float, float]:
    if diffs.size <= ddof:
        return math.nan, math.nan
    return _sd(diffs, ddof) / math.sqrt(2.0), _sd(sums, ddof) / math.sqrt(2.0)


def baevsky_stress_index(rr_ms: FloatArray, *, bin_ms: float = STRESS_INDEX_BIN_MS,
                         square_root: bool = True) -> float:
    """Baevsky's stress index SI = AMo / (2 Mo MxDMn), or its square root (Kubios' "Stress index").

    On a histogram of RR with bins of bin_ms starting at multiples of bin_ms: Mo is the centre of
    the fullest bin (s), AMo the share of intervals in it (%), MxDMn the RR range (s).
    NaN with fewer than 2 intervals or no spread.
    """
    rr = _one_d(rr_ms)
    if rr.size < 2:
        return math.nan
    shortest = float(rr.min())
    spread_s = (float(rr.max()) - shortest) / 1000.0
    if spread_s <= 0:
        return math.nan
    lowest = math.floor(shortest / bin_ms)  # the bin of the shortest interval
    bins = rr / bin_ms
    np.floor(bins, out=bins)
    bins -= lowest
    counts = np.bincount(bins.astype(np.intp))
    fullest = int(counts.argmax())
    mode_s = ((fullest + lowest) + 0.5) * bin_ms / 1000.0
    amplitude_pct = 100.0 * float(counts[fullest]) / rr.size
    index = amplitude_pct / (2.0 * mode_s * spread_s)
    return math.sqrt(index) if square_root else index


def time_markers(rr_ms: FloatArray, after_gap: BoolArray | None = None) -> TimeDomain:
    """Every time-domain marker of one window of RR intervals."""
    rr = _one_d(rr_ms)
    n = rr.size
    diffs, sums = _pairs(rr, after_gap)  # shared by RMSSD, pNN50 and the Poincaré plot
    rmssd = _rms(diffs)
    sd1, sd2 = _poincare(diffs, sums, 1)
    mean_rr = mean_rr_ms(rr)
    return TimeDomain(
        mean_rr_ms=mean_rr,
        mean_hr_bpm=mean_hr_bpm(rr),
        sdnn_ms=_sd(rr, 1, mean_rr) if n >= 2 else math.nan,  # sdnn_ms, sharing the mean
        rmssd_ms=rmssd,
        ln_rmssd=math.log(rmssd) if rmssd > 0 else math.nan,
        pnn50_pct=_share_above_pct(diffs, PNN_THRESHOLD_MS),
        sd1_ms=sd1,
        sd2_ms=sd2,
        stress_index=baevsky_stress_index(rr),
    )
