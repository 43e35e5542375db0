"""Coherence (McCraty/HeartMath): how much of the heart rhythm is one smooth oscillation.

From the RR spectrum of 64-s blocks (4 Hz, linearly detrended, Hann, zero-padded to 1024
points, of which only the bins up to 0.4 Hz are computed): the largest peak in 0.04-0.26 Hz,
the power in a 0.030 Hz window around it (peak), the power over 0.0033-0.4 Hz (total), and
the coherence ratio CR = (peak / (total - peak))². Live uses the last 64 s; `coherence_markers`
over a longer window averages the spectra of its 64-s blocks (laid back from its end) before
taking the ratio.

The ratio cannot reach its top for a pure rhythm: the Hann taper spreads a sine over a main lobe
of +-2/64 s = +-0.031 Hz, so the +-0.015 Hz peak window holds ~89 % of it and a pure sine reads
~65. hrvcoach's own **coherence score** (0-100, beside the ratio, not HeartMath's) is the share
of the 0.0033-0.4 Hz power within that main lobe around the peak: 100 for one pure rhythm.

A session's or phase's coherence (`coherence_summary`) is one definition for every summary: the
median of the 64-s block ratios as live shows them (a block ending every second; in a window
longer than an hour, every duration/MAX_SUMMARY_BLOCKS seconds, which keeps a 24-h recording's
summary to 3600 blocks), and the share of that time in low, medium and high coherence
(COHERENCE_LEVELS_RATIO: < 1, 1-3, >= 3).
Averaging the spectra first, as before, gave 1.77 for a Polar slow-breathing recording whose live
ratios have a median of ~5.5 (its summary now: 5.98). The levels, measured on 64-s blocks every
second: simulated free breathing at 12/min reaches a ratio of 1 in 25-42 % of the time (so "high
from 1" would call it coherent) but never 3; at 15/min never 3; paced 6/min is at 3 or more all
the time, paced 9/min 97 %, a real slow-breathing recording 74 %; resting recordings (Bartels,
NSRDB, GUDB sitting) are at 3 or more 0-1.7 % of the time.

McCraty R, Atkinson M, Tomasino D, Bradley RT (2009). The coherent heart. Integral Review 5(2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

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
    COHERENCE_LEVELS_RATIO,
    COHERENCE_PEAK_BAND_HZ,
    COHERENCE_PEAK_WIDTH_HZ,
    COHERENCE_TOTAL_BAND_HZ,
)

__all__ = [
    "Coherence",
    "CoherenceSummary",
    "block_coherence",
    "coherence_level",
    "coherence_markers",
    "coherence_ratio",
    "coherence_spectrum",
    "coherence_summary",
    "summarised_coherence",
]


@dataclass(frozen=True, slots=True)
class Coherence:
    """Coherence of one window; NaN when it is shorter than one block."""

    coherence_ratio: float  # (peak / (total - peak))²
    coherence_peak_hz: float  # the dominant 0.04-0.26 Hz frequency
    peak_power_ms2: float  # power within +-0.015 Hz of it
    block_power_ms2: float  # power over 0.0033-0.4 Hz
    blocks: int  # 64-s blocks averaged
    coherence_score: float = math.nan  # hrvcoach's 0-100: % of the power in the peak's main lobe


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
    lobe = 2.0 / spectrum.segment_s  # the Hann main lobe's half width
    in_lobe = power_between_ms2(spectrum, peak_hz - lobe, peak_hz + lobe)
    score = 100.0 * min(in_lobe / total, 1.0) if total > 0 else math.nan
    return Coherence(ratio, peak_hz, peak, total, spectrum.segments, score)


def coherence_markers(resampled: Resampled, *, block_s: float = COHERENCE_BLOCK_S,
                      max_blocks: int | None = None) -> Coherence:
    """Coherence of the newest blocks of a resampled RR series (all whole blocks by default)."""
    spectrum = coherence_spectrum(resampled, block_s=block_s, max_blocks=max_blocks)
    return NO_COHERENCE if spectrum is None else coherence_ratio(spectrum)


def block_coherence(resampled: Resampled, *, step_s: float = 1.0,
                    block_s: float = COHERENCE_BLOCK_S) -> tuple[FloatArray, FloatArray]:
    """(ratios, scores) of the 64-s blocks ending every step_s seconds, laid back from the end of
    the series: what live shows through a session (one matrix product for all blocks)."""
    fs = resampled.sample_hz
    length = round(block_s * fs)
    series = resampled.rr_ms
    step = max(round(step_s * fs), 1)
    if series.size < length:
        return np.zeros(0), np.zeros(0)
    ends = np.arange(series.size, length - 1, -step)[::-1]
    blocks = np.lib.stride_tricks.sliding_window_view(series, length)[ends - length]
    points = max(COHERENCE_FFT_POINTS, length)
    bin_hz = fs / points
    bins = min(math.floor(COHERENCE_TOTAL_BAND_HZ[1] / bin_hz) + 2, points // 2)
    waves, taper_power = _dft_basis(length, points, bins)
    parts = blocks @ waves.T
    parts *= parts
    power = (parts[:, :bins] + parts[:, bins:]) * (1.0 / (fs * taper_power))
    power[:, 1:] *= 2.0
    return _block_ratios(power, bin_hz, block_s)


def _block_ratios(power: FloatArray, bin_hz: float,
                  block_s: float) -> tuple[FloatArray, FloatArray]:
    """coherence_ratio's ratio and score of every row of `power` (one block's PSD each), all
    rows at once: the same operations in the same order as make_spectrum, peak_frequency_hz
    and power_between_ms2, so each equals coherence_ratio of that row's spectrum (a 24-h
    recording holds ~86 000 blocks: a Python call per block took seconds)."""
    rows, size = power.shape
    nan = np.full(rows, np.nan)
    if size < 2:
        return nan, nan.copy()
    cumulative = np.empty_like(power)
    cumulative[:, 0] = 0.0
    ((power[:, 1:] + power[:, :-1]) * (0.5 * bin_hz)).cumsum(axis=1, out=cumulative[:, 1:])
    low_hz, high_hz = COHERENCE_PEAK_BAND_HZ
    first = max(math.ceil(low_hz / bin_hz - 1e-9), 0)
    last = min(math.floor(high_hz / bin_hz + 1e-9) + 1, size)
    if last <= first:
        return nan, nan.copy()
    peak_hz = (first + power[:, first:last].argmax(axis=1)) * bin_hz
    top_hz = (size - 1) * bin_hz
    every = np.arange(rows)

    def integral_to(frequency_hz: FloatArray) -> FloatArray:
        position = frequency_hz / bin_hz
        k = np.minimum(position.astype(np.int64), size - 2)
        u = position - k
        below, above = power[every, k], power[every, k + 1]
        return cumulative[every, k] + bin_hz * (below * u + (above - below) * 0.5 * u * u)

    def between(low: FloatArray | float, high: FloatArray | float) -> FloatArray:
        lo = np.maximum(np.broadcast_to(low, (rows,)), 0.0)
        hi = np.minimum(np.broadcast_to(high, (rows,)), top_hz)
        return np.where(hi > lo, integral_to(hi) - integral_to(np.minimum(lo, hi)), 0.0)

    half = COHERENCE_PEAK_WIDTH_HZ / 2.0
    peak = between(peak_hz - half, peak_hz + half)
    total = between(*COHERENCE_TOTAL_BAND_HZ)
    rest = total - peak
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(rest > 0, (peak / rest) ** 2,
                          np.where(peak > 0, np.inf, np.nan))
        lobe = 2.0 / block_s
        in_lobe = between(peak_hz - lobe, peak_hz + lobe)
        scores = np.where(total > 0, 100.0 * np.minimum(in_lobe / total, 1.0), np.nan)
    return ratios, scores


def coherence_level(ratio: float) -> str:
    """"low", "medium" or "high" (COHERENCE_LEVELS_RATIO); "" while unknown."""
    if not math.isfinite(ratio):
        return ""
    medium, high = COHERENCE_LEVELS_RATIO
    return "high" if ratio >= high else "medium" if ratio >= medium else "low"


@dataclass(frozen=True, slots=True)
class CoherenceSummary:
    """The coherence of a session or phase (module note); NaN when shorter than one block."""

    coherence_ratio: float  # median of the 64-s block ratios
    low_coherence_pct: float  # share of the time at each level, in %
    medium_coherence_pct: float
    high_coherence_pct: float
    coherence_score: float  # median of hrvcoach's 0-100 block scores
    blocks: int  # 64-s blocks (ending every step) summarised
    high_coherence_s: float  # time at high coherence: blocks at "high" x the step


def coherence_summary(rr_ms: FloatArray, *, step_s: float = 1.0) -> CoherenceSummary:
    """One definition for every coherence summary of a session or phase (module note): the
    median 64-s block ratio, the share of time at each level, the median score, over blocks
    ending every step_s seconds of the resampled beats."""
    from hrvcoach.analysis.spectral import resample_rr

    return summarised_coherence(resample_rr(np.asarray(rr_ms, dtype=np.float64)),
                                step_s=step_s)[1]


MAX_SUMMARY_BLOCKS: Final = 3600  # a summary's blocks, at most (a 1-s step up to an hour)
NO_SUMMARY: Final = CoherenceSummary(math.nan, math.nan, math.nan, math.nan, math.nan, 0, 0.0)


def summarised_coherence(resampled: Resampled, *,
                         step_s: float = 1.0) -> tuple[Coherence, CoherenceSummary]:
    """A window's coherence with one definition for every summary: the ratio and score are the
    medians of its 64-s blocks (coherence_summary); the peak frequency and powers come from
    the blocks' mean spectrum."""
    mean = coherence_markers(resampled)
    fs = resampled.sample_hz
    step_s = max(round(max(step_s, resampled.rr_ms.size / fs / MAX_SUMMARY_BLOCKS) * fs), 1) / fs
    ratios, scores = block_coherence(resampled, step_s=step_s)
    known = np.isfinite(ratios)
    if not known.any():
        return mean, NO_SUMMARY
    medium, high = COHERENCE_LEVELS_RATIO
    kept = ratios[known]
    summary = CoherenceSummary(
        float(np.median(kept)), 100.0 * float(np.mean(kept < medium)),
        100.0 * float(np.mean((kept >= medium) & (kept < high))),
        100.0 * float(np.mean(kept >= high)), float(np.median(scores[known])), int(kept.size),
        float(np.count_nonzero(kept >= high)) * step_s)
    coherence = Coherence(summary.coherence_ratio, mean.coherence_peak_hz, mean.peak_power_ms2,
                          mean.block_power_ms2, mean.blocks, summary.coherence_score)
    return coherence, summary
