"""Breathing-aware markers: the breathing rate from the RSA peak, the power at it, the per-breath
peak-to-trough swing, and whether HF can be trusted.

Why: respiratory sinus arrhythmia (RSA) follows the breath. At 9 breaths/min and slower
(<= 0.15 Hz) it moves out of the HF band into LF: HF power falls and LF/HF rises although vagal
activity is high, and RMSSD under-reads the slow swing. So the output says "HF not valid" there
instead of suggesting a shift towards "stress"; the power at the breathing frequency and the
peak-to-trough swing carry the vagal information instead.

Near the band edge the window length matters: the Hann taper spreads the breathing peak over a
main lobe of +-2/segment (Welch segments of 60 s in a 2-min window: +-0.033 Hz; 150 s in 5 min:
+-0.013 Hz). HF is valid only when that lobe lies wholly inside 0.15-0.4 Hz: breathing of
11-22/min in 2-min windows, 9.8-23.2/min in 5-min ones. (At 9.5/min a 2-min window put 23 % of a
pure breathing rhythm into LF; at 9.0/min 62 %.) For the same reason the power at the breathing
frequency integrates +-0.015 Hz or the main lobe, whichever is wider: a pure rhythm reads within
1 % of its power (with the sinc² gain of beat sampling, 3 % at 4 beats per breath) in 2-min and
5-min windows alike (+-0.015 Hz alone read 14-17 % low in 2-min windows).

The breathing rate without a respiration signal (from the RR spectrum alone):

1. the largest peak in 0.05-0.4 Hz (3-24 breaths/min), placed between bins by a parabola;
2. if it lies at 0.15 Hz or above, that is the breathing rate;
3. below 0.15 Hz it may be slow breathing or a Mayer wave (~0.1 Hz, blood-pressure rhythm),
   which dominates many resting recordings. Slow breathing makes a narrow, dominant peak: it is
   taken as the breathing rate only if +-0.015 Hz around it holds at least
   SLOW_BREATHING_MIN_PEAK_SHARE of the 0.04-0.4 Hz power; otherwise the largest HF-band peak is.
   Measured shares: simulated paced breathing at 4.5-9/min 0.85-0.94, a real Polar H10 slow-
   breathing recording 0.69-0.73; resting recordings with spontaneous breathing 0.16-0.45.

When a pacer sets the rate, its rate is used instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hrvcoach.analysis.spectral import (
    FloatArray,
    Resampled,
    Spectrum,
    peak_frequency_hz,
    power_between_ms2,
)
from hrvcoach.core.constants import (
    BREATHING_BAND_HZ,
    BREATHING_POWER_HALF_WIDTH_HZ,
    HF_BAND_HZ,
    HF_MIN_WINDOW_S,
    LF_BAND_HZ,
    SLOW_BREATHING_MIN_PEAK_SHARE,
    TAPER_MAIN_LOBE_HALF_WIDTH_PER_S,
)

__all__ = [
    "Breathing",
    "breathing_markers",
    "breathing_rate_per_min",
    "hf_is_valid",
    "main_lobe_hz",
    "peak_to_trough",
    "power_at_breathing_ms2",
]


@dataclass(frozen=True, slots=True)
class Breathing:
    """Breathing-aware markers of one window. NaN where unknown."""

    breaths_per_min: float
    paced: bool  # True: the rate is the pacer's, not estimated
    breathing_power_ms2: float  # RR power within +-0.015 Hz of the breathing frequency
    p2t_ms: float  # mean per-breath peak-to-trough swing of RR
    p2t_bpm: float  # the same swing in heart rate
    hf_valid: bool  # False unless the breathing peak's main lobe lies wholly inside HF


NO_BREATHING = Breathing(math.nan, False, math.nan, math.nan, math.nan, True)


def main_lobe_hz(segment_s: float) -> float:
    """Half width of the taper's main lobe for Welch segments of segment_s (NaN if unknown)."""
    return TAPER_MAIN_LOBE_HALF_WIDTH_PER_S / segment_s if segment_s > 0 else math.nan


def hf_is_valid(breaths_per_min: float, segment_s: float) -> bool:
    """HF holds the breathing rhythm only when the peak's main lobe lies wholly inside the HF
    band (module note); an unknown rate or window counts as valid."""
    lobe = main_lobe_hz(segment_s)
    if not (math.isfinite(breaths_per_min) and math.isfinite(lobe)):
        return True
    hz = breaths_per_min / 60.0
    return HF_BAND_HZ[0] <= hz - lobe and hz + lobe <= HF_BAND_HZ[1]


def breathing_rate_per_min(spectrum: Spectrum) -> float:
    """Breathing rate from the RSA peak of the RR spectrum (see the module note); NaN when the
    window is shorter than HF_MIN_WINDOW_S or holds no power."""
    if spectrum.duration_s < HF_MIN_WINDOW_S or spectrum.frequency_hz.size < 3:
        return math.nan
    peak_hz = peak_frequency_hz(spectrum, *BREATHING_BAND_HZ, refine=True)
    if not math.isfinite(peak_hz):
        return math.nan
    if peak_hz < HF_BAND_HZ[0]:
        total = power_between_ms2(spectrum, LF_BAND_HZ[0], HF_BAND_HZ[1])
        share = power_at_breathing_ms2(spectrum, peak_hz) / total if total > 0 else 0.0
        if share < SLOW_BREATHING_MIN_PEAK_SHARE:
            peak_hz = peak_frequency_hz(spectrum, *HF_BAND_HZ, refine=True)
    return 60.0 * peak_hz


def power_at_breathing_ms2(spectrum: Spectrum, breathing_hz: float) -> float:
    """RR power within +-BREATHING_POWER_HALF_WIDTH_HZ of the breathing frequency, or within
    the taper's main lobe where that is wider (module note)."""
    if not math.isfinite(breathing_hz):
        return math.nan
    lobe = main_lobe_hz(spectrum.segment_s)
    half = max(BREATHING_POWER_HALF_WIDTH_HZ, lobe if math.isfinite(lobe) else 0.0)
    return power_between_ms2(spectrum, breathing_hz - half, breathing_hz + half)


def _swings(series: FloatArray, period: int) -> FloatArray:
    """Per row of `series`: mean max - min over consecutive one-period chunks (end-aligned) of the
    row minus its one-period moving average (which removes drift but keeps the breath whole)."""
    n = series.shape[-1]
    if n < 2 * period or period < 2:
        return np.full(series.shape[0], np.nan)
    cumulative = np.zeros((series.shape[0], n + 1))
    series.cumsum(axis=1, out=cumulative[:, 1:])
    trend = cumulative[:, period:] - cumulative[:, :-period]
    trend *= 1.0 / period
    offset = period // 2
    chunks = trend.shape[1] // period
    start = trend.shape[1] - chunks * period
    centred = series[:, offset + start: offset + trend.shape[1]] - trend[:, start:]
    blocks = centred.reshape(series.shape[0], chunks, period)
    return (blocks.max(axis=2) - blocks.min(axis=2)).sum(axis=1) / chunks


def peak_to_trough(resampled: Resampled, breathing_hz: float) -> tuple[float, float]:
    """(RR swing in ms, heart-rate swing in bpm) per breath, averaged over the window's breaths.

    Breaths are consecutive stretches of one breathing period, laid back from the newest sample.
    """
    if not (math.isfinite(breathing_hz) and breathing_hz > 0) or resampled.rr_ms.size == 0:
        return math.nan, math.nan
    period = round(resampled.sample_hz / breathing_hz)
    rr = resampled.rr_ms
    both = np.empty((2, rr.size))
    both[0] = rr
    np.divide(60_000.0, rr, out=both[1])
    swing_ms, swing_bpm = _swings(both, period).tolist()
    return swing_ms, swing_bpm


def breathing_markers(spectrum: Spectrum, resampled: Resampled, *,
                      paced_breaths_per_min: float | None = None) -> Breathing:
    """Every breathing-aware marker of one window (spectrum and resampled series of its beats)."""
    paced = paced_breaths_per_min is not None and paced_breaths_per_min > 0
    if paced_breaths_per_min is not None and paced:
        rate = float(paced_breaths_per_min)
    else:
        rate = breathing_rate_per_min(spectrum)
    if not math.isfinite(rate) or spectrum.duration_s < HF_MIN_WINDOW_S:
        return Breathing(rate if paced else math.nan, paced, math.nan, math.nan, math.nan,
                         hf_is_valid(rate, spectrum.segment_s))
    hz = rate / 60.0
    p2t_ms, p2t_bpm = peak_to_trough(resampled, hz)
    return Breathing(rate, paced, power_at_breathing_ms2(spectrum, hz), p2t_ms, p2t_bpm,
                     hf_is_valid(rate, spectrum.segment_s))
