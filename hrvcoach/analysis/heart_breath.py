"""Heart and breath together: the phase and coherence of heart rate against the measured breath
at the breathing frequency (resonance breathing brings them into step: Vaschillo et al. 2002).

The heart rate is taken at the middle of each interval (60000 / RR: the rate over that interval),
the breath as a wave rebuilt from the measured breaths (-1 at each onset, +1 at the end of the
in-breath, half cosines between), both on a 4 Hz grid. Their cross-spectrum (Welch, segments of
SEGMENT_BREATHS breaths) at the breathing frequency gives the phase (positive: heart rate peaks
before full inhalation) and the magnitude-squared coherence (1: every breath moves the heart
alike). Beats from the ECG's R-peaks time the heart best (a strap's RR arrives up to a second
after the beat).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from hrvcoach.analysis.accel_breathing import breath_rate_per_min
from hrvcoach.core.raw import BreathRecord

__all__ = ["HeartBreath", "breath_wave", "heart_breath"]

FloatArray = NDArray[np.float64]
GRID_HZ: Final = 4.0
SEGMENT_BREATHS: Final = 4
MIN_SEGMENTS: Final = 2


@dataclass(frozen=True, slots=True)
class HeartBreath:
    phase_deg: float  # NaN when it cannot be computed
    coherence: float


NO_HEART_BREATH: Final = HeartBreath(math.nan, math.nan)


def breath_wave(breaths: Sequence[BreathRecord], times_s: FloatArray) -> FloatArray:
    """The breath rebuilt from its onsets and in-breaths at `times_s` (NaN outside breaths)."""
    wave = np.full(times_s.shape, np.nan)
    for breath in breaths:
        inside = (times_s >= breath.onset_s) & (times_s < breath.onset_s + breath.duration_s)
        t = times_s[inside] - breath.onset_s
        inhale = min(max(breath.inhale_s, 0.05), breath.duration_s - 0.05)
        rising = t < inhale
        part = np.where(rising, t / inhale, (t - inhale) / (breath.duration_s - inhale))
        wave[inside] = np.where(rising, -np.cos(np.pi * part), np.cos(np.pi * part))
    return wave


def heart_breath(beat_time_s: FloatArray, rr_ms: FloatArray, breaths: Sequence[BreathRecord],
                 start_s: float, end_s: float) -> HeartBreath:
    """Phase (°) and coherence of heart rate against the breath in [start_s, end_s]; NaN when
    there are too few still breaths or beats."""
    from scipy import interpolate, signal  # imported when first used (not on the coach's start)

    still = [b for b in breaths if not b.moving and start_s <= b.onset_s
             and b.onset_s + b.duration_s <= end_s]
    rate = breath_rate_per_min(still)
    times, rr = np.asarray(beat_time_s, dtype=np.float64), np.asarray(rr_ms, dtype=np.float64)
    if not math.isfinite(rate) or len(still) < SEGMENT_BREATHS * MIN_SEGMENTS or rr.size < 8:
        return NO_HEART_BREATH
    first, last = still[0].onset_s, still[-1].onset_s + still[-1].duration_s
    grid = np.arange(first, last, 1.0 / GRID_HZ)
    middle = times - rr / 2000.0
    order = np.argsort(middle)
    middle, hr = middle[order], 60_000.0 / rr[order]
    if middle[0] > first or middle[-1] < last - 1.0:
        keep = (grid >= middle[0]) & (grid <= middle[-1])
        grid = grid[keep]
    if grid.size < 16:
        return NO_HEART_BREATH
    heart = interpolate.CubicSpline(middle, hr)(grid)
    breath = breath_wave(still, grid)
    ok = np.isfinite(breath)
    heart, breath = heart[ok] - heart[ok].mean(), breath[ok]
    hz = rate / 60.0
    nperseg = min(heart.size, round(SEGMENT_BREATHS / hz * GRID_HZ))
    frequencies, cross = signal.csd(breath, heart, fs=GRID_HZ, nperseg=nperseg, detrend="linear")
    _, magnitude = signal.coherence(heart, breath, fs=GRID_HZ, nperseg=nperseg, detrend="linear")
    k = int(np.argmin(np.abs(frequencies - hz)))
    return HeartBreath(math.degrees(float(np.angle(cross[k]))), float(magnitude[k]))
