"""Time-domain HRV markers (Task Force 1996) on arrays of RR intervals in ms."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _one_d(rr_ms: FloatArray) -> FloatArray:
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be 1-D, got shape {rr.shape}")
    return rr


def successive_differences_ms(rr_ms: FloatArray, after_gap: BoolArray | None = None) -> FloatArray:
    """RR[i] - RR[i-1], leaving out differences that span a gap (after_gap[i] True)."""
    rr = _one_d(rr_ms)
    diffs = np.diff(rr)
    if after_gap is None:
        return diffs
    gaps = np.asarray(after_gap, dtype=bool)
    if gaps.shape != rr.shape:
        raise ValueError(f"after_gap shape {gaps.shape} differs from rr_ms shape {rr.shape}")
    return diffs[~gaps[1:]]


def rmssd_ms(rr_ms: FloatArray, after_gap: BoolArray | None = None) -> float:
    """Root mean square of successive differences; NaN with fewer than 2 differences."""
    diffs = successive_differences_ms(rr_ms, after_gap)
    if diffs.size < 2:
        return math.nan
    return float(np.sqrt(np.mean(diffs * diffs)))


def mean_hr_bpm(rr_ms: FloatArray) -> float:
    """Mean of the beat-by-beat heart rate 60000/RR (as Kubios and pyhrv); NaN for no beats."""
    rr = _one_d(rr_ms)
    return float(np.mean(60_000.0 / rr)) if rr.size else math.nan
