"""Frequency-domain HRV: RR resampled at 4 Hz (cubic spline), detrended, Welch spectrum in ms²/Hz.

The Welch segments are aligned to the *end* of the window: when the segments do not tile the
window exactly, the samples left over are the oldest ones, so the newest beats always count.
(neurokit2 0.2.13 aligns them to the start: in some 5-min windows its newest ~75 s are unused.)

Band powers integrate the PSD (trapezoids) over the bins low <= f < high, as Kubios HRV 2.x and
neurokit2 do. Against neurokit2 (normalize=False, interpolation_rate=4) on 5-min windows where it
uses all the data: with its quadratic interpolation our LF and HF match within 0.2 %; with our
cubic spline (Kubios', pyhrv's) LF stays within 2.5 % and HF within ~5 % (the quadratic spline
damps HF most at slow heart rates). VLF is not comparable: neurokit2 drops every frequency below
4 x 4 Hz / N (0.013 Hz in a 5-min window), most of the VLF band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import lapack

from hrvcoach.core.constants import (
    HF_BAND_HZ,
    HF_MIN_WINDOW_S,
    LF_BAND_HZ,
    LF_MIN_WINDOW_S,
    RESAMPLE_HZ,
    VLF_BAND_HZ,
    VLF_MIN_WINDOW_S,
    WELCH_MIN_FFT_POINTS,
    WELCH_SEGMENT_MAX_S,
)

FloatArray = NDArray[np.float64]
Align = Literal["end", "start"]
Detrend = Literal["linear", "constant"]
Interpolation = Literal["cubic", "quadratic"]

__all__ = [
    "FrequencyDomain",
    "Resampled",
    "Spectrum",
    "band_power_ms2",
    "beat_times_s",
    "cubic_spline",
    "frequency_markers",
    "make_spectrum",
    "peak_frequency_hz",
    "power_between_ms2",
    "resample_rr",
    "rr_spectrum",
    "welch_psd",
]


@dataclass(frozen=True, slots=True)
class Resampled:
    """An RR series on an even time grid."""

    time_s: FloatArray  # grid times, oldest first
    rr_ms: FloatArray  # interpolated RR at those times (not detrended)
    sample_hz: float
    duration_s: float  # the window the beats cover: sum of their RR


@dataclass(frozen=True, slots=True)
class Spectrum:
    """A one-sided power spectral density of an RR series, on an even frequency grid."""

    frequency_hz: FloatArray
    psd_ms2_per_hz: FloatArray
    segments: int  # Welch segments averaged
    segment_s: float  # length of one segment
    duration_s: float  # the window the beats cover: sum of their RR
    cumulative_ms2: FloatArray  # integral of the PSD from 0 Hz up to each bin (trapezoids)
    bin_hz: float = math.nan  # the grid's step (NaN with fewer than 2 bins)


def make_spectrum(psd_ms2_per_hz: FloatArray, bin_hz: float, *, segments: int, segment_s: float,
                  duration_s: float) -> Spectrum:
    """A Spectrum from PSD values on the grid 0, bin_hz, 2 bin_hz, ..."""
    cumulative = np.empty_like(psd_ms2_per_hz)
    if cumulative.size:
        cumulative[0] = 0.0
        ((psd_ms2_per_hz[1:] + psd_ms2_per_hz[:-1]) * (0.5 * bin_hz)).cumsum(out=cumulative[1:])
    return Spectrum(frequency_grid(psd_ms2_per_hz.size, bin_hz), psd_ms2_per_hz, segments,
                    segment_s, duration_s, cumulative,
                    float(bin_hz) if psd_ms2_per_hz.size > 1 else math.nan)


EMPTY_SPECTRUM_ARRAY = np.empty(0)


def _empty_spectrum(duration_s: float) -> Spectrum:
    return Spectrum(EMPTY_SPECTRUM_ARRAY, EMPTY_SPECTRUM_ARRAY, 0, 0.0, duration_s,
                    EMPTY_SPECTRUM_ARRAY)


@dataclass(frozen=True, slots=True)
class FrequencyDomain:
    """Task Force frequency-domain markers. NaN where the window is too short for the band."""

    vlf_ms2: float
    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    total_ms2: float  # VLF + LF + HF, i.e. 0.0033-0.4 Hz
    lf_peak_hz: float
    hf_peak_hz: float


def beat_times_s(rr_ms: FloatArray) -> FloatArray:
    """Time of the beat that ends each interval, from the beat before the first (at 0 s)."""
    return np.asarray(rr_ms, dtype=np.float64).cumsum() / 1000.0


def cubic_spline(x: FloatArray, y: FloatArray, at: FloatArray) -> FloatArray:
    """Not-a-knot cubic spline through (x, y), evaluated at `at` (x strictly increasing).

    The same curve as scipy's CubicSpline / interp1d(kind="cubic") and MATLAB's spline; solved as
    one tridiagonal system (LAPACK gtsv), which is what makes a per-beat update cheap.
    """
    n = x.size
    if n < 2:
        raise ValueError(f"a spline needs at least 2 knots, got {n}")
    dx = x[1:] - x[:-1]
    slope = (y[1:] - y[:-1]) / dx
    if n == 2:
        s = np.array([slope[0], slope[0]])
    elif n == 3:  # not-a-knot on three points: the parabola through them
        a = np.array([[1.0, 1.0, 0.0], [dx[1], 2.0 * (dx[0] + dx[1]), dx[0]], [0.0, 1.0, 1.0]])
        b = np.array([2.0 * slope[0], 3.0 * (dx[0] * slope[1] + dx[1] * slope[0]), 2.0 * slope[1]])
        s = np.linalg.solve(a, b)
    else:
        lower = np.empty(n - 1)
        diag = np.empty(n)
        upper = np.empty(n - 1)
        rhs = np.empty(n)
        diag[1:-1] = 2.0 * (dx[:-1] + dx[1:])
        upper[1:] = dx[:-1]
        lower[:-1] = dx[1:]
        rhs[1:-1] = 3.0 * (dx[1:] * slope[:-1] + dx[:-1] * slope[1:])
        span = x[2] - x[0]
        diag[0], upper[0] = dx[1], span
        rhs[0] = ((dx[0] + 2.0 * span) * dx[1] * slope[0] + dx[0] ** 2 * slope[1]) / span
        span = x[-1] - x[-3]
        diag[-1], lower[-1] = dx[-2], span
        rhs[-1] = (dx[-1] ** 2 * slope[-2] + (2.0 * span + dx[-1]) * dx[-2] * slope[-1]) / span
        _, _, _, solution, info = lapack.dgtsv(lower, diag, upper, rhs[:, None], 1, 1, 1, 1)
        if info != 0:
            raise ValueError(f"spline system is singular (LAPACK info {info})")
        s = solution[:, 0]
    i = np.searchsorted(x, at, side="right")
    i -= 1
    np.minimum(i, n - 2, out=i)
    np.maximum(i, 0, out=i)
    h = at - x[i]
    cubic = (s[:-1] + s[1:] - 2.0 * slope) / dx
    c2 = (slope - s[:-1]) / dx - cubic
    cubic /= dx
    out = cubic[i] * h
    out += c2[i]
    out *= h
    out += s[:-1][i]
    out *= h
    out += y[i]
    return out


def resample_rr(rr_ms: FloatArray, beat_time_s: FloatArray | None = None, *,
                resample_hz: float = RESAMPLE_HZ, align: Align = "end",
                interpolation: Interpolation = "cubic") -> Resampled:
    """RR at `resample_hz` by a not-a-knot cubic spline through (beat time, RR).

    `beat_time_s` defaults to the cumulative sum of the RR. With align="end" the grid runs back
    from the last beat (so the newest beat is a sample); with "start" it runs on from the first.
    interpolation="quadratic" is neurokit2's choice (scipy interp1d), for comparisons: it damps
    HF a little (about 2 %, up to 5 % at slow heart rates) against the cubic spline of Kubios.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1:
        raise ValueError(f"rr_ms must be 1-D, got shape {rr.shape}")
    times = beat_times_s(rr) if beat_time_s is None else np.asarray(beat_time_s, dtype=np.float64)
    if times.shape != rr.shape:
        raise ValueError(f"beat_time_s shape {times.shape} differs from rr_ms shape {rr.shape}")
    duration_s = float(rr.sum()) / 1000.0
    if rr.size < 2:
        return Resampled(np.empty(0), np.empty(0), resample_hz, duration_s)
    count = math.floor((times[-1] - times[0]) * resample_hz + 1e-9) + 1
    if align == "end":
        grid = _steps_back(count, resample_hz) + times[-1]
    else:
        grid = np.arange(count, dtype=np.float64) / resample_hz + times[0]
    if interpolation == "quadratic" and rr.size >= 3:
        from scipy.interpolate import make_interp_spline

        return Resampled(grid, make_interp_spline(times, rr, k=2)(grid), resample_hz, duration_s)
    return Resampled(grid, cubic_spline(times, rr, grid), resample_hz, duration_s)


@lru_cache(maxsize=256)
def _steps_back(count: int, sample_hz: float) -> FloatArray:
    """-(count - 1) / sample_hz ... -1 / sample_hz, 0: an end-aligned grid before its end."""
    values = -(np.arange(count, dtype=np.float64)[::-1] / sample_hz)
    values.setflags(write=False)
    return values


@lru_cache(maxsize=64)
def window_values(name: str, length: int) -> FloatArray:
    """The taper `name` (scipy.signal.get_window's names, periodic as Welch uses it). The Hann
    taper is computed here: scipy.signal costs ~0.5-1 s to import, on every start."""
    if name == "hann" and length > 1:
        values = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)
    else:
        from scipy.signal import get_window

        values = np.asarray(get_window(name, length, fftbins=True), dtype=np.float64)
    values.setflags(write=False)
    return values


@lru_cache(maxsize=64)
def frequency_grid(bins: int, bin_hz: float) -> FloatArray:
    values = np.arange(bins, dtype=np.float64) * bin_hz
    values.setflags(write=False)
    return values


@lru_cache(maxsize=64)
def _centred_ramp(n: int) -> tuple[FloatArray, float]:
    x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    x.setflags(write=False)
    return x, float(np.dot(x, x))


def welch_psd(samples: FloatArray, *, sample_hz: float, segment_samples: int,
              overlap: float = 0.5, window: str = "hann", nfft: int | None = None,
              align: Align = "end", duration_s: float | None = None,
              slope: float = 0.0) -> Spectrum:
    """Welch's averaged periodogram, one-sided density (as scipy.signal.welch, detrend="constant").

    Each segment has its mean removed and is tapered by `window`; segments overlap by `overlap`
    (a fraction of the segment, scipy's nperseg // 2 at 0.5). With align="end" the segments are
    laid back from the last sample, so any samples left over are the oldest. `slope` (per
    sample) removes a line from the whole series too: the same as a linear detrend beforehand.
    """
    n = samples.size
    length = min(segment_samples, n)
    if length < 2:
        return _empty_spectrum(duration_s or 0.0)
    step = length - int(length * overlap)
    count = (n - length) // step + 1
    first = n - length - (count - 1) * step if align == "end" else 0
    segments = samples[_segment_index(first, count, step, length)]
    taper = window_values(window, length)
    points = max(nfft or length, length)
    segments -= segments.sum(axis=1, keepdims=True) / length
    segments *= taper
    if slope:
        segments -= slope * _tapered_ramp(window, length)
    spectrum = np.fft.rfft(segments, n=points)
    power = np.einsum("ij,ij->j", spectrum.real, spectrum.real)
    power += np.einsum("ij,ij->j", spectrum.imag, spectrum.imag)
    scale = 1.0 / (count * sample_hz * _power_of(window, length))
    power *= scale
    last = -1 if points % 2 == 0 else None
    power[1:last] *= 2.0
    return make_spectrum(power, sample_hz / points, segments=count, segment_s=length / sample_hz,
                         duration_s=duration_s if duration_s is not None else n / sample_hz)


@lru_cache(maxsize=256)
def _segment_index(first: int, count: int, step: int, length: int) -> NDArray[np.intp]:
    index = first + step * np.arange(count)[:, None] + np.arange(length)[None, :]
    index.setflags(write=False)
    return index


@lru_cache(maxsize=64)
def _tapered_ramp(window: str, length: int) -> FloatArray:
    ramp, _ = _centred_ramp(length)
    values = ramp * window_values(window, length)
    values.setflags(write=False)
    return values


@lru_cache(maxsize=64)
def _power_of(window: str, length: int) -> float:
    taper = window_values(window, length)
    return float(np.dot(taper, taper))


def _tiling_length(n: int, longest: int) -> int:
    """The longest segment (<= longest samples) whose half-overlapping run of at least 3
    segments fits in n samples, leaving the fewest samples over."""
    halves = max(4, math.ceil(n / max(longest // 2, 1)))
    length = 2 * (n // halves)  # halves x (length / 2) samples: fits, < halves left over
    odd = length + 1  # an odd length steps by (length + 2) / 2: maybe one more sample used
    if odd <= longest and (halves - 2) * (odd - odd // 2) + odd <= n:
        return odd
    return length


def rr_spectrum(rr_ms: FloatArray, beat_time_s: FloatArray | None = None, *,
                resample_hz: float = RESAMPLE_HZ, segment_s: float | None = None,
                overlap: float = 0.5, window: str = "hann", nfft: int | None = None,
                detrend: Detrend = "linear", align: Align = "end") -> Spectrum:
    """The RR spectrum of a window of beats: resampled, detrended over the whole window, Welch.

    Defaults: 50 % overlapping segments that tile the window (three of half its length up to
    5 min, then more of at most WELCH_SEGMENT_MAX_S), Hann, zero-padded to twice the segment
    (at least WELCH_MIN_FFT_POINTS; a 5-min window gives bins of 1/300 Hz, Kubios' grid), laid
    back from the window's end.
    """
    resampled = resample_rr(rr_ms, beat_time_s, resample_hz=resample_hz, align=align)
    return spectrum_of(resampled, segment_s=segment_s, overlap=overlap, window=window, nfft=nfft,
                       detrend=detrend, align=align)


def spectrum_of(resampled: Resampled, *, segment_s: float | None = None, overlap: float = 0.5,
                window: str = "hann", nfft: int | None = None, detrend: Detrend = "linear",
                align: Align = "end") -> Spectrum:
    """rr_spectrum on an already resampled series."""
    samples = resampled.rr_ms
    if samples.size < 4:
        return _empty_spectrum(resampled.duration_s)
    slope = 0.0
    if detrend == "linear":  # each segment's mean goes in welch_psd: only the slope is left
        ramp, ramp_squares = _centred_ramp(samples.size)
        slope = float(samples @ ramp) / ramp_squares
    fs = resampled.sample_hz
    if segment_s is None and overlap == 0.5:
        # Half-overlapping segments that tile the window: 3 of half its length (as neurokit2)
        # or, past 5 min, more of at most WELCH_SEGMENT_MAX_S. Fewer than `halves` samples,
        # the oldest, are left over (neurokit2's int(N/2) rule drops the newest quarter when
        # it is odd).
        longest = max(round(WELCH_SEGMENT_MAX_S * fs), 2)
        length = _tiling_length(samples.size, longest)
        if nfft is None and 2 * length >= samples.size - 3:
            # three segments: pad to the window's length (even), which is neurokit2's grid too
            nfft = max(samples.size + samples.size % 2, WELCH_MIN_FFT_POINTS)
    elif segment_s is None:
        length = min(samples.size // 2, round(WELCH_SEGMENT_MAX_S * fs))
    else:
        length = round(segment_s * fs)
    length = max(length, 2)
    points = nfft if nfft is not None else max(2 * length, WELCH_MIN_FFT_POINTS)
    return welch_psd(samples, sample_hz=fs, segment_samples=length, overlap=overlap, window=window,
                     nfft=points, align=align, duration_s=resampled.duration_s, slope=slope)


def _integral_to(spectrum: Spectrum, frequency_hz: float) -> float:
    """Integral of the piecewise-linear PSD from 0 Hz to frequency_hz (inside the grid)."""
    p, cumulative = spectrum.psd_ms2_per_hz, spectrum.cumulative_ms2
    bin_hz = spectrum.bin_hz
    position = frequency_hz / bin_hz
    k = min(int(position), p.size - 2)
    u = position - k
    below, above = float(p[k]), float(p[k + 1])
    return float(cumulative[k]) + bin_hz * (below * u + (above - below) * 0.5 * u * u)


def power_between_ms2(spectrum: Spectrum, low_hz: float, high_hz: float) -> float:
    """The exact integral of the linearly interpolated PSD from low_hz to high_hz, in ms²: for
    narrow windows (+-0.015 Hz around a peak), where whole bins would be too coarse."""
    f = spectrum.frequency_hz
    if f.size < 2:
        return math.nan
    low, high = max(low_hz, 0.0), min(high_hz, float(f[-1]))
    if high <= low:
        return 0.0
    return _integral_to(spectrum, high) - _integral_to(spectrum, low)


def band_power_ms2(spectrum: Spectrum, low_hz: float, high_hz: float) -> float:
    """Power in [low_hz, high_hz) in ms²: the trapezoidal integral of the PSD over the frequency
    bins low_hz <= f < high_hz, as Kubios (HRV 2.x) and neurokit2 compute band powers."""
    p = spectrum.psd_ms2_per_hz
    if p.size < 2:
        return math.nan
    bin_hz = spectrum.bin_hz
    first = max(math.ceil(low_hz / bin_hz - 1e-9), 0)
    last = min(math.ceil(high_hz / bin_hz - 1e-9), p.size) - 1  # the last bin below high_hz
    if last <= first:
        return 0.0
    cumulative = spectrum.cumulative_ms2
    return float(cumulative[last] - cumulative[first])


def peak_frequency_hz(spectrum: Spectrum, low_hz: float, high_hz: float, *,
                      refine: bool = False) -> float:
    """Frequency of the largest PSD value within [low_hz, high_hz]; NaN if no bin lies there.

    With refine=True the peak is placed between bins by a parabola through the three bins
    around it (when the maximum is interior to the band).
    """
    p = spectrum.psd_ms2_per_hz
    if p.size < 2:
        return math.nan
    bin_hz = spectrum.bin_hz
    i = max(math.ceil(low_hz / bin_hz - 1e-9), 0)
    j = min(math.floor(high_hz / bin_hz + 1e-9) + 1, p.size)
    if j <= i:
        return math.nan
    k = i + int(p[i:j].argmax())
    if refine and i < k < j - 1:
        left, centre, right = float(p[k - 1]), float(p[k]), float(p[k + 1])
        curvature = left - 2.0 * centre + right
        if curvature < 0:
            return (k + 0.5 * (left - right) / curvature) * bin_hz
    return k * bin_hz


def frequency_markers(spectrum: Spectrum) -> FrequencyDomain:
    """VLF, LF, HF (ms²), LF/HF, total and peaks; a band is NaN when the window is shorter than
    it needs (HF 1 min, LF 2 min, VLF 4 min: HF_/LF_/VLF_MIN_WINDOW_S)."""
    duration = spectrum.duration_s

    def band(edges: tuple[float, float], min_s: float) -> tuple[float, float]:
        if duration < min_s or spectrum.frequency_hz.size < 2:
            return math.nan, math.nan
        return band_power_ms2(spectrum, *edges), peak_frequency_hz(spectrum, *edges)

    vlf, _ = band(VLF_BAND_HZ, VLF_MIN_WINDOW_S)
    lf, lf_peak = band(LF_BAND_HZ, LF_MIN_WINDOW_S)
    hf, hf_peak = band(HF_BAND_HZ, HF_MIN_WINDOW_S)
    lf_hf = lf / hf if hf > 0 else math.nan
    return FrequencyDomain(vlf, lf, hf, lf_hf, vlf + lf + hf, lf_peak, hf_peak)
