"""Coherence (McCraty/HeartMath): how much of the heart rhythm is one smooth oscillation.

From the RR spectrum of 64-s blocks (4 Hz, linearly detrended, Hann, zero-padded to 1024
points, of which only the bins up to 0.4 Hz are computed): the largest peak in 0.04-0.26 Hz,
the power in a 0.030 Hz window around it (peak), the power over 0.0033-0.4 Hz (total), and
the coherence ratio CR = (peak / (total - peak))². Live uses the last 64 s; a longer window
averages the spectra of its 64-s blocks (laid back from its end) before taking the ratio. Any
0-N display score is a view's business: the ratio here is the measure.

McCraty R, Atkinson M, Tomasino D, Bradley RT (2009). The coherent heart. Integral Review 5(2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hrvcoach.analysis.spectral import (
    FloatArray,
    Resampled,
    Spectrum,
    _power_of,
    make_spectrum,
    peak_frequency_hz,
    power_between_ms2,
    window_values,
)
from hrvcoach.core.constants import (
    COHERENCE_BLOCK_S,
    COHERENCE_FFT_POINTS,
    COHERENCE_PEAK_BAND_HZ,
    COHERENCE_PEAK_WIDTH_HZ,
    COHERENCE_TOTAL_BAND_HZ,
)

__all__ = ["Coherence", "coherence_markers", "coherence_ratio", "coherence_spectrum"]


@dataclass(frozen=True, slots=True)
class Coherence:
    """Coherence of one window; NaN when it is shorter than one block."""

    coherence_ratio: float  # (peak / (total - peak))²
    coherence_peak_hz: float  # the dominant 0.04-0.26 Hz frequency
    peak_power_ms2: float  # power within +-0.015 Hz of it
    block_power_ms2: float  # power over 0.0033-0.4 Hz
    blocks: int  # 64-s blocks averaged


NO_COHERENCE = Coherence(math.nan, math.nan, math.nan, math.nan, 0)


@lru_cache(maxsize=16)
def _dft_basis(length: int, points: int, bins: int) -> tuple[FloatArray, float]:
    """Rows of cos and sin for the first `bins` bins of a `points`-point DFT of a `length`-sample
    block, with the linear detrend and the Hann taper folded in; and the taper's power.

    Coherence needs only 0-0.4 Hz (about 100 of 513 bins), so one matrix product over these rows
    gives the same numbers as the zero-padded FFT at a fraction of its cost per beat.
    """
    taper = window_values("hann", length)
    ramp = np.arange(length, dtype=np.float64) - (length - 1) / 2.0
    angle = (2.0 * np.pi / points) * np.outer(np.arange(bins), np.arange(length))
    waves = np.concatenate((np.cos(angle), np.sin(angle))) * taper
    # x -> taper * (x - mean - slope * ramp) is linear and symmetric: fold it into each row
    waves -= waves.sum(axis=1, keepdims=True) / length
    waves -= np.outer(waves @ ramp, ramp) / float(ramp @ ramp)
    waves.setflags(write=False)
    return waves, _power_of("hann", length)


def coherence_spectrum(resampled: Resampled, *, block_s: float = COHERENCE_BLOCK_S,
                       max_blocks: int | None = None,
                       fft_points: int = COHERENCE_FFT_POINTS) -> Spectrum | None:
    """Mean spectrum (0 to just past 0.4 Hz) of the newest whole blocks of the series; None when
    shorter than a block."""
    fs = resampled.sample_hz
    length = round(block_s * fs)
    count = resampled.rr_ms.size // length
    if max_blocks is not None:
        count = min(count, max_blocks)
    if count < 1:
        return None
    newest = resampled.rr_ms[resampled.rr_ms.size - count * length:].reshape(count, length)
    points = max(fft_points, length)
    bin_hz = fs / points
    bins = min(math.floor(COHERENCE_TOTAL_BAND_HZ[1] / bin_hz) + 2, points // 2)
    waves, taper_power = _dft_basis(length, points, bins)
    parts = newest @ waves.T
    parts *= parts
    power = parts.sum(axis=0)
    power = power[:bins] + power[bins:]
    power *= 1.0 / (count * fs * taper_power)
    power[1:] *= 2.0  # one-sided; the Nyquist bin is never among them
    return make_spectrum(power, bin_hz, segments=count, segment_s=block_s,
                         duration_s=count * block_s)


def coherence_ratio(spectrum: Spectrum) -> Coherence:
    """The coherence ratio of a spectrum (see the module note)."""
    peak_hz = peak_frequency_hz(spectrum, *COHERENCE_PEAK_BAND_HZ)
    if not math.isfinite(peak_hz):
        return NO_COHERENCE
    half = COHERENCE_PEAK_WIDTH_HZ / 2.0
    peak = power_between_ms2(spectrum, peak_hz - half, peak_hz + half)
    total = power_between_ms2(spectrum, *COHERENCE_TOTAL_BAND_HZ)
    rest = total - peak
    ratio = (peak / rest) ** 2 if rest > 0 else math.inf if peak > 0 else math.nan
    return Coherence(ratio, peak_hz, peak, total, spectrum.segments)


def coherence_markers(resampled: Resampled, *, block_s: float = COHERENCE_BLOCK_S,
                      max_blocks: int | None = None) -> Coherence:
    """Coherence of the newest blocks of a resampled RR series (all whole blocks by default)."""
    spectrum = coherence_spectrum(resampled, block_s=block_s, max_blocks=max_blocks)
    return NO_COHERENCE if spectrum is None else coherence_ratio(spectrum)
