"""The ECG itself: R-peaks, and the strap's RR checked against them beat by beat.

`r_peaks` finds the R-peaks of one stretch of ECG (a Pan-Tompkins-style detector, checked against
neurokit2's `ecg_peaks` in the tests):

1. band-pass 5-20 Hz (Butterworth, forwards and backwards: no delay), the QRS band;
2. squared slope, integrated over QRS_WINDOW_S: one hump per QRS;
3. humps above a share of the recent tallest (THRESHOLD_OF_TALL, over TALL_WINDOW_S) and at
   least MIN_RR_MS apart are beats;
4. each beat's R-peak is the extremum of the ECG (high-passed at 0.5 Hz: baseline wander and
   electrode jumps out) within ±REFINE_S of the hump, on the ECG's main polarity, placed
   between samples by a parabola: within about a millisecond at 130 Hz.

`compare_rr` walks the strap's RR intervals beside the ECG's, beat by beat: an RR that equals
the sum of two ECG intervals is a beat the strap missed; two strap RRs that add up to one ECG
interval hold a beat the ECG does not have (extra); an RR far from the ECG's differs. Each
stretch of the strap's beats is anchored to the ECG by its first intervals (a strap's beats
are timed when their packet arrives, up to a second late).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.constants import MIN_RR_MS
from hrvcoach.core.raw import RawChunk

__all__ = ["BeatCheck", "EcgStretch", "RRComparison", "compare_rr", "ecg_stretches", "r_peaks",
           "stretch_start_s"]

FloatArray = NDArray[np.float64]
QRS_BAND_HZ: Final = (5.0, 20.0)
QRS_WINDOW_S: Final = 0.15
TALL_WINDOW_S: Final = 8.0
THRESHOLD_OF_TALL: Final = 0.3
REFINE_S: Final = 0.08
TOLERANCE_MS: Final = 15.0  # two ECG samples at 130 Hz (plus the strap's 1/1024 s)
ANCHOR_BEATS: Final = 4
ANCHOR_WINDOW_S: Final = (-2.5, 1.0)  # where a strap beat's R-peak may lie, from its time

BeatCheck = Literal["agrees", "missed", "extra", "differs", "no ecg"]


@dataclass(frozen=True, slots=True)
class EcgStretch:
    """Contiguous ECG samples: values in µV, the first at start_s, 1/rate_hz apart."""

    start_s: float
    rate_hz: float
    values_uv: FloatArray
    sensor_ns: int = 0  # the strap's time of the first sample (0: unknown)

    @property
    def end_s(self) -> float:
        return self.start_s + self.values_uv.size / self.rate_hz


def ecg_stretches(chunks: Sequence[RawChunk]) -> list[EcgStretch]:
    """Stored or streamed ECG chunks joined into contiguous stretches (a new one after a gap).
    Samples within a stretch follow each other 1/rate apart, from the stretch's least delayed
    chunk (stretch_start_s): one clock mapping per stretch."""
    out: list[EcgStretch] = []
    parts: list[RawChunk] = []
    for chunk in chunks:
        if chunk.stream != "ecg":
            continue
        if parts and (chunk.after_gap or chunk.rate_hz != parts[0].rate_hz):
            out.append(_stretch(parts))
            parts = []
        parts.append(chunk)
    if parts:
        out.append(_stretch(parts))
    return out


def stretch_start_s(chunks: Sequence[RawChunk]) -> float:
    """Session time of the first sample of contiguous chunks, from the least delayed of them:
    each chunk says where the stretch began (its start less the samples before it); a chunk
    that came late (a backlog at a stream's start) says too late a time, so the earliest wins."""
    before = 0
    earliest = math.inf
    for chunk in chunks:
        earliest = min(earliest, chunk.start_s - before / chunk.rate_hz)
        before += chunk.n_samples
    return earliest


def _stretch(chunks: list[RawChunk]) -> EcgStretch:
    first = chunks[0]
    values = np.concatenate([np.asarray(c.values, dtype=np.float64) for c in chunks])
    first_ns = first.sensor_ns - round((first.n_samples - 1) * 1e9 / first.rate_hz) \
        if first.sensor_ns else 0
    return EcgStretch(stretch_start_s(chunks), first.rate_hz, values, first_ns)


def r_peaks(ecg_uv: FloatArray, rate_hz: float) -> FloatArray:
    """R-peak positions in samples (fractional) of one stretch of ECG (module note)."""
    from scipy import signal  # imported when first used

    ecg = np.asarray(ecg_uv, dtype=np.float64)
    if ecg.size < rate_hz * 2:
        return np.zeros(0)
    band = signal.butter(2, QRS_BAND_HZ, btype="bandpass", fs=rate_hz, output="sos")
    qrs = signal.sosfiltfilt(band, ecg)
    slope = np.gradient(qrs) ** 2
    width = max(1, round(QRS_WINDOW_S * rate_hz))
    hump = np.convolve(slope, np.ones(width) / width, mode="same")
    tall_width = max(3, round(TALL_WINDOW_S * rate_hz))
    tall = _running_max(hump, tall_width)
    distance = max(1, int(MIN_RR_MS / 1000.0 * rate_hz))
    found, _ = signal.find_peaks(hump, distance=distance)
    found = found[hump[found] >= THRESHOLD_OF_TALL * tall[found]]
    if found.size == 0:
        return np.zeros(0)
    highpass = signal.butter(2, 0.5, btype="highpass", fs=rate_hz, output="sos")
    flat = signal.sosfiltfilt(highpass, ecg)
    reach = max(1, round(REFINE_S * rate_hz))
    polarity = 1.0 if np.median([flat[max(0, i - reach):i + reach + 1].max() for i in found]) >= \
        np.median([-flat[max(0, i - reach):i + reach + 1].min() for i in found]) else -1.0
    oriented = polarity * flat
    peaks: list[float] = []
    for i in found:
        low, high = max(1, i - reach), min(ecg.size - 1, i + reach + 1)
        if high <= low:
            continue
        k = low + int(np.argmax(oriented[low:high]))
        k = min(max(k, 1), ecg.size - 2)
        before, at, after = oriented[k - 1], oriented[k], oriented[k + 1]
        curvature = before - 2 * at + after
        shift = 0.5 * (before - after) / curvature if curvature < 0 else 0.0
        position = k + float(np.clip(shift, -0.5, 0.5))
        if peaks and (position - peaks[-1]) < distance:
            if oriented[k] > oriented[round(peaks[-1])]:
                peaks[-1] = position
            continue
        peaks.append(position)
    return np.asarray(peaks, dtype=np.float64)


def _running_max(values: FloatArray, width: int) -> FloatArray:
    """The maximum over a centred window (a fast approximation: max of block maxima)."""
    from scipy.ndimage import maximum_filter1d

    return np.asarray(maximum_filter1d(values, size=width, mode="nearest"), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class RRComparison:
    """The strap's beats checked against the ECG's: one status per strap beat, and for the
    agreeing ones the ECG time of their R-peak (NaN otherwise)."""

    checks: tuple[BeatCheck, ...]
    ecg_time_s: FloatArray

    def count(self, check: BeatCheck) -> int:
        return sum(1 for c in self.checks if c == check)


def compare_rr(peak_s: FloatArray, beat_time_s: FloatArray, rr_ms: FloatArray,
               after_gap: Sequence[bool] | None = None, *,
               tolerance_ms: float = TOLERANCE_MS) -> RRComparison:
    """Walk the strap's beats beside the ECG's R-peaks (module note)."""
    peaks = np.asarray(peak_s, dtype=np.float64)
    times = np.asarray(beat_time_s, dtype=np.float64)
    rr = np.asarray(rr_ms, dtype=np.float64)
    gaps = list(after_gap) if after_gap is not None else [False] * rr.size
    ecg_rr = np.diff(peaks) * 1000.0
    checks: list[BeatCheck] = ["no ecg"] * rr.size
    matched = np.full(rr.size, np.nan)
    j: int | None = None  # the ECG peak of the previous strap beat
    k = 0
    while k < rr.size:
        if j is None or gaps[k]:
            j = _anchor(peaks, ecg_rr, times, rr, k, tolerance_ms)
            if j is not None:
                checks[k], matched[k] = "agrees", peaks[j]
            k += 1
            continue
        if j + 1 >= peaks.size:
            break
        step = ecg_rr[j]  # the interval ending at peak j + 1
        if abs(rr[k] - step) <= tolerance_ms:
            j += 1
            checks[k], matched[k] = "agrees", peaks[j]
        elif j + 2 < peaks.size and abs(rr[k] - step - ecg_rr[j + 1]) <= tolerance_ms:
            j += 2  # the strap's interval spans two of the ECG's: it missed a beat
            checks[k], matched[k] = "missed", peaks[j]
        elif k + 1 < rr.size and not gaps[k + 1] and abs(rr[k] + rr[k + 1] - step) <= tolerance_ms:
            checks[k], checks[k + 1] = "extra", "agrees"  # a beat the ECG does not have
            j += 1
            matched[k + 1] = peaks[j]
            k += 1
        else:
            j += 1
            checks[k] = "differs"
        k += 1
    return RRComparison(tuple(checks), matched)


def _anchor(peaks: FloatArray, ecg_rr: FloatArray, times: FloatArray, rr: FloatArray, k: int,
            tolerance_ms: float) -> int | None:
    """The ECG peak of strap beat k: near its time, where the following intervals agree best."""
    lo, hi = np.searchsorted(peaks, (times[k] + ANCHOR_WINDOW_S[0], times[k] + ANCHOR_WINDOW_S[1]))
    best, best_error = None, math.inf
    following = rr[k + 1:k + 1 + ANCHOR_BEATS]
    for j in range(int(lo), int(hi)):
        ecg = ecg_rr[j:j + following.size]
        if ecg.size < following.size or following.size == 0:
            continue
        error = float(np.abs(ecg - following).max())
        if error < best_error:
            best, best_error = j, error
    return best if best_error <= tolerance_ms else None
