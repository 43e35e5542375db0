"""The rhythm-quality gate: whether the beats can carry vagal markers at all.

HRV markers read vagal tone only from a sinus rhythm measured well. The gate says "not valid",
with the reasons in plain sentences, when:

- **the input is not RR intervals**: values that keep increasing (R-peak sample positions or
  beat times), values that look like heart rates in beats/min, or many values that cannot be
  an RR interval in the unit they were read in (outside MIN_RR_MS..MAX_RR_MS);
- **the rhythm is irregular**: premature beats (a short interval, at most PREMATURE_RATIO of the
  one before, followed by a long one that makes up for it) in more than MAX_PREMATURE_PCT of
  the beats, or a run of MIN_PATTERN_CYCLES bigeminy (short, long, ...) or trigeminy (normal,
  short, long, ...) cycles. The correction can mend an occasional premature beat; in a run, the
  "normal" beats themselves follow premature ones and the markers measure the arrhythmia (the
  Polar H10 PVC recording: RMSSD 411 ms);
- **too much was corrected**: more than MAX_CORRECTED_PCT of the beats moved, inserted, removed
  or merged, so the markers would mostly describe the correction.

Measured (benchmarks/accuracy.py): the PVC recording has premature beats in 29 % of its beats and
runs of 19 bigeminy and 36 trigeminy cycles; mitdb_100 (33 atrial premature beats, 1 ventricular)
1.4 % (at most 5 % of any 120 beats); clean recordings 0 %; a day of heart failure (chf201) 6.7 %
at worst in 120 beats; the simulator at 4 artifacts/min at most 7.5 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.constants import MAX_RR_MS, MIN_RR_MS

FloatArray = NDArray[np.float64]

__all__ = [
    "MAX_CORRECTED_PCT",
    "MAX_PREMATURE_PCT",
    "NO_QUALITY",
    "Quality",
    "implausible_input",
    "premature_beats",
    "rhythm_quality",
]

PREMATURE_RATIO: Final = 0.8  # a premature interval is at most this share of the one before
COMPENSATION_RATIO: Final = 1.25  # ... and the next is at least this multiple of it
COMPENSATED_SUM_RATIO: Final = 1.3  # ... and the two add up to at least this many "before"s
MAX_PREMATURE_PCT: Final = 10.0
MIN_PATTERN_CYCLES: Final = 4  # a run of this many bigeminy or trigeminy cycles fails the gate
MAX_CORRECTED_PCT: Final = 15.0
MAX_IMPOSSIBLE_PCT: Final = 10.0  # values outside MIN_RR_MS..MAX_RR_MS
MIN_VALUES_FOR_INPUT_CHECKS: Final = 8
INCREASING_SHARE: Final = 0.95  # of successive steps up, over values growing ...
INCREASING_GROWTH: Final = 3.0  # ... to at least this multiple of the first
HEART_RATE_BPM_RANGE: Final = (25.0, 250.0)  # values there, read as ms, look like heart rates

NOT_VALID: Final = "HRV not valid"


@dataclass(frozen=True, slots=True)
class Quality:
    """The gate's verdict on a recording or a window."""

    valid: bool
    corrected_pct: float  # beats moved, inserted, removed or merged, in % of the beats
    reasons: tuple[str, ...] = ()  # why not valid, as sentences (empty when valid)

    def as_json(self) -> dict[str, object]:
        return {"valid": self.valid,
                "corrected_pct": self.corrected_pct if math.isfinite(self.corrected_pct) else None,
                "reasons": list(self.reasons)}


NO_QUALITY: Final = Quality(True, math.nan)  # nothing judged yet


def implausible_input(values: FloatArray, *, unit: str = "ms") -> list[str]:
    """Why `values` (as read, converted to ms) are not RR intervals; empty when they may be."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < MIN_VALUES_FOR_INPUT_CHECKS:
        return []
    reasons = []
    steps = np.diff(x)
    if (np.count_nonzero(steps > 0) >= INCREASING_SHARE * steps.size and x[0] > 0
            and x[-1] >= INCREASING_GROWTH * x[0]):
        reasons.append("the values keep increasing, like R-peak sample positions or beat times, "
                       f"not RR intervals — {NOT_VALID}")
    impossible = (x < MIN_RR_MS) | (x > MAX_RR_MS)
    if not reasons and not impossible.any():
        return reasons  # the common case, without a median
    low, high = HEART_RATE_BPM_RANGE
    if float(np.median(x)) < MIN_RR_MS and low <= float(np.median(x)) <= high:
        reasons.append(f"the values look like heart rates in beats/min, not RR intervals "
                       f"— {NOT_VALID}")
    elif 100.0 * np.count_nonzero(impossible) / x.size > MAX_IMPOSSIBLE_PCT and not reasons:
        share = 100.0 * np.count_nonzero(impossible) / x.size
        reasons.append(f"{share:.0f} % of the values cannot be RR intervals in {unit} (outside "
                       f"{MIN_RR_MS:.0f}-{MAX_RR_MS:.0f} ms) — {NOT_VALID}")
    return reasons


def premature_beats(rr_ms: FloatArray) -> NDArray[np.intp]:
    """Positions of premature beats: a short interval after a normal one, made up for by a long
    one (module note). Extra detections (two short intervals adding up to one) do not count."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.size < 3:
        return np.zeros(0, dtype=np.intp)
    before, short, after = rr[:-2], rr[1:-1], rr[2:]
    hit = ((short <= PREMATURE_RATIO * before) & (after >= COMPENSATION_RATIO * short)
           & (short + after >= COMPENSATED_SUM_RATIO * before))
    return np.flatnonzero(hit) + 1


def _longest_run(positions: NDArray[np.intp], step: int) -> int:
    """The most premature beats in a row exactly `step` beats apart."""
    if positions.size == 0:
        return 0
    spaced = np.diff(positions) == step
    best = current = 0
    for linked in spaced.tolist():
        current = current + 1 if linked else 0
        best = max(best, current)
    return best + 1


def rhythm_quality(rr_ms: FloatArray, *, corrected_beats: int,
                   raw_values: FloatArray | None = None, unit: str = "ms") -> Quality:
    """The gate on beats as the detector sees them (`rr_ms`: in range, fragments merged), the
    number of beats the correction changed, and optionally the raw values (for the input
    checks; default: rr_ms)."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    reasons = implausible_input(rr if raw_values is None else raw_values, unit=unit)
    corrected_pct = 100.0 * corrected_beats / rr.size if rr.size else math.nan
    premature = premature_beats(rr)
    share = 100.0 * premature.size / rr.size if rr.size else 0.0
    if share > MAX_PREMATURE_PCT:
        reasons.append(f"irregular rhythm: frequent premature beats ({share:.0f} % of beats) "
                       f"— {NOT_VALID}")
    for step, name, shape in ((2, "bigeminy", "short and long beats alternate"),
                              (3, "trigeminy", "every third beat is premature")):
        if _longest_run(premature, step) >= MIN_PATTERN_CYCLES:
            reasons.append(f"irregular rhythm: {name} ({shape}) — {NOT_VALID}")
    if corrected_pct > MAX_CORRECTED_PCT:
        reasons.append(f"too many corrected beats: {corrected_pct:.0f} % (more than "
                       f"{MAX_CORRECTED_PCT:.0f} %) — {NOT_VALID}")
    return Quality(not reasons, corrected_pct, tuple(reasons))
