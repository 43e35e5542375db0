"""The real breath from a chest strap's accelerometer: streaming, causal, chunk by chunk.

Breathing tilts the chest: on each in-breath the strap turns a couple of degrees (the front of the
chest rises), so the direction of gravity seen by the accelerometer swings by tens of mG at the
breathing rate. `BreathTracker` follows that swing:

1. each axis is low-passed (4th-order Butterworth at LOWPASS_HZ, stateful `sosfilt`: chunk
   boundaries leave no jumps) and decimated to about DECIMATED_HZ;
2. a very slow high-pass (HIGHPASS_HZ) removes the posture's gravity and drift, but keeps slow
   breathing whole (its phase lead at 4.5 breaths/min is 4°, 0.15 s);
3. the three axes become one breath signal: their principal direction over the last minutes
   (an exponentially weighted covariance), signed so that the signal rises when the chest
   tilts back, i.e. turns gravity towards the strap's outward axis (Polar documents that leaning
   back raises the H10's z); before the covariance has settled, that tilt direction itself;
4. the breath's turning points are found with hysteresis (a swing must exceed a share of the
   recent breaths' depth): a trough is the onset of an in-breath, a peak its end. Each time is
   the extremum's (refined by a parabola between samples) minus the filters' group delay.

A breath runs from one onset to the next: rate, in-breath length (inhale:exhale), depth. A breath
during which the body moved (`moving`, from analysis.movement) is kept but flagged: its rate
is not trusted. The RSA estimate from the RR spectrum (analysis.breathing) remains for straps
without an accelerometer.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.raw import BreathRecord

__all__ = [
    "BreathTracker",
    "breath_rate_per_min",
    "inhale_exhale_ratio",
    "pacer_adherence",
    "pacer_lag_s",
]

FloatArray = NDArray[np.float64]

LOWPASS_HZ: Final = 0.7  # breathing lives below 0.5 Hz (30/min); steps and the heart above
LOWPASS_ORDER: Final = 2  # a Bessel filter: the same short delay for every breathing rate
DECIMATED_HZ: Final = 10.0
HIGHPASS_HZ: Final = 0.002
COVARIANCE_TAU_S: Final = 60.0
SETTLE_S: Final = 20.0  # the principal direction is trusted after this long
HYSTERESIS_OF_DEPTH: Final = 0.3  # a turning point needs a swing of this share of the depth
MIN_HYSTERESIS_MG: Final = 2.0  # ... and at least this (the noise after filtering is ~0.5 mG)
MIN_BREATH_S: Final = 1.5  # faster than 40/min is not a breath
MAX_BREATH_S: Final = 30.0  # a pause longer than this starts afresh
DEPTHS_KEPT: Final = 5
FIT_OF_PERIOD: Final = 0.03  # a turning point's parabola spans ±3 % of a breath
TYPICAL_BREATH_HZ: Final = 0.2  # before the first breaths: the filters' delay at 12/min
PACED_WITHIN: Final = 0.10  # a breath follows the pacer when its rate is within ±10 %


@dataclass(frozen=True, slots=True)
class _Turn:
    time_s: float
    value_mg: float
    trough: bool


@dataclass(slots=True)
class _Candidate:
    """The extremum so far since the last turning point, with its neighbours (for a parabola)."""

    time_s: float
    value_mg: float
    before_mg: float
    after_mg: float | None = None


class BreathTracker:
    """Breaths from accelerometer chunks (x, y, z in mG), fed in order (see the module note).

    `feed` returns the breaths completed by the chunk; `signal_since` gives the breath signal of
    the recent past (for plots and the heart-breath phase).
    """

    def __init__(self, rate_hz: float) -> None:
        from scipy import signal  # imported when first used: ~0.5 s

        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz!r}")
        self.rate_hz = float(rate_hz)
        self.step = max(1, round(self.rate_hz / DECIMATED_HZ))
        self.out_hz = self.rate_hz / self.step
        self._lowpass = signal.bessel(LOWPASS_ORDER, LOWPASS_HZ, fs=self.rate_hz, output="sos",
                                      norm="delay")
        self._highpass = signal.butter(1, HIGHPASS_HZ, btype="highpass", fs=self.out_hz,
                                       output="sos")
        self._delay_grid_hz = np.linspace(1.0 / MAX_BREATH_S, 1.0 / MIN_BREATH_S, 200)
        self._delay_grid_s = _phase_delay_s(self._lowpass, self.rate_hz, self._delay_grid_hz) + \
            _phase_delay_s(self._highpass, self.out_hz, self._delay_grid_hz)
        self.delay_s = self._delay_at(TYPICAL_BREATH_HZ)
        self._reset()
        self.signal_times: deque[float] = deque(maxlen=int(self.out_hz * 600))
        self.signal_mg: deque[float] = deque(maxlen=int(self.out_hz * 600))

    def _reset(self) -> None:
        self._zi_low: FloatArray | None = None
        self._zi_high: FloatArray | None = None
        self._phase = 0  # samples to skip before the next decimated one
        self._cov = np.zeros((3, 3))
        self._weight = 0.0
        self._direction: FloatArray | None = None
        self._gravity: FloatArray | None = None
        self._started_s: float | None = None
        self._candidate: _Candidate | None = None
        self._last_sample: tuple[float, float] | None = None
        self._rising: bool | None = None
        self._turns: list[_Turn] = []
        self._depths: deque[float] = deque(maxlen=DEPTHS_KEPT)
        self._periods: deque[float] = deque(maxlen=DEPTHS_KEPT)

    # ---- feeding -----------------------------------------------------------------------------
    def feed(self, start_s: float, xyz_mg: FloatArray, *, after_gap: bool = False,
             moving: Sequence[tuple[float, float]] = ()) -> list[BreathRecord]:
        """Take n x 3 samples (mG), the first at session time start_s; `moving` lists the
        (start, end) session times in which the body moved (breaths touching them are flagged).
        Returns the breaths that ended in this chunk (their next onset was found)."""
        from scipy import signal  # imported when first used: ~0.5 s

        if after_gap:
            self._reset()
        data = np.asarray(xyz_mg, dtype=np.float64).reshape(-1, 3)
        if data.shape[0] == 0:
            return []
        if self._zi_low is None:
            self._zi_low = signal.sosfilt_zi(self._lowpass)[:, :, None] * data[0][None, None, :]
        low, self._zi_low = signal.sosfilt(self._lowpass, data, axis=0, zi=self._zi_low)
        picked = np.arange(self._phase, data.shape[0], self.step)
        self._phase = int(picked[-1] + self.step - data.shape[0]) if picked.size else \
            self._phase - data.shape[0]
        if picked.size == 0:
            return []
        samples = low[picked]
        times = start_s + picked / self.rate_hz
        if self._zi_high is None:
            self._zi_high = signal.sosfilt_zi(self._highpass)[:, :, None] * samples[0][None, None, :]
            self._gravity = samples[0].copy()
            self._started_s = float(times[0])
        high, self._zi_high = signal.sosfilt(self._highpass, samples, axis=0, zi=self._zi_high)
        found: list[BreathRecord] = []
        alpha = 1.0 / (COVARIANCE_TAU_S * self.out_hz)
        for t, g, v in zip(times.tolist(), samples, high, strict=True):
            assert self._gravity is not None
            self._gravity += (g - self._gravity) * alpha
            self._cov += (np.outer(v, v) - self._cov) * alpha
            self._weight += (1.0 - self._weight) * alpha
            value = float(v @ self._axis())
            self.signal_times.append(t)  # as filtered: `delay_s` later than the breath
            self.signal_mg.append(value)
            found += self._step(t, value, moving)
        return found

    def _axis(self) -> FloatArray:
        """The breath direction: the covariance's principal axis once settled, else the tilt
        direction; signed like the tilt (chest back: gravity towards the strap's outward axis)."""
        assert self._gravity is not None
        g = self._gravity / (np.linalg.norm(self._gravity) or 1.0)
        tilt = np.array([0.0, -g[2], g[1]])  # gravity turned by +90° about the strap's axis
        tilt /= np.linalg.norm(tilt) or 1.0
        settled = self._started_s is not None and self.signal_times and \
            self.signal_times[-1] - self._started_s >= SETTLE_S
        if not settled:
            return tilt
        _, vectors = np.linalg.eigh(self._cov)
        axis = vectors[:, -1]
        if self._direction is not None and axis @ self._direction < 0:
            axis = -axis  # the eigenvector's sign is arbitrary: keep it continuous ...
        if self._direction is None and axis @ tilt < 0:
            axis = -axis  # ... and start it like the tilt
        self._direction = axis
        return np.asarray(axis, dtype=np.float64)

    def _vertex_s(self, candidate: _Candidate) -> float:
        """The turning point's time: the vertex of a parabola fitted to the breath signal within
        FIT_OF_PERIOD of a breath around the extremum (less noisy than the extremum itself)."""
        period = float(np.median(self._periods)) if self._periods else 1.0 / TYPICAL_BREATH_HZ
        half = max(1, round(FIT_OF_PERIOD * period * self.out_hz))
        back = int((self.signal_times[-1] - candidate.time_s) * self.out_hz)
        times = np.asarray(self.signal_times)[-back - 2 * half - 2:]
        values = np.asarray(self.signal_mg)[-back - 2 * half - 2:]
        near = np.abs(times - candidate.time_s) <= half / self.out_hz + 1e-9
        if np.count_nonzero(near) < 3:
            return candidate.time_s
        x = times[near] - candidate.time_s
        a, b, _ = np.polyfit(x, values[near], 2)
        if a == 0:
            return candidate.time_s
        vertex = -b / (2 * a)
        return candidate.time_s + float(np.clip(vertex, x[0], x[-1]))

    def _delay_at(self, hz: float) -> float:
        """The filters' delay for a rhythm at `hz` (a breath's turning points come this late)."""
        return float(np.interp(hz, self._delay_grid_hz, self._delay_grid_s))

    def _hysteresis(self) -> float:
        if not self._depths:
            return MIN_HYSTERESIS_MG
        return max(MIN_HYSTERESIS_MG, HYSTERESIS_OF_DEPTH * float(np.median(self._depths)))

    def _step(self, t: float, value: float, moving: Sequence[tuple[float, float]]
              ) -> list[BreathRecord]:
        """One sample of the breath signal: a turning point once the swing since the last
        extremum exceeds the hysteresis."""
        previous, self._last_sample = self._last_sample, (t, value)
        if previous is None:
            return []
        candidate = self._candidate
        if candidate is not None and candidate.after_mg is None:
            candidate.after_mg = value  # the sample right after the extremum
        if self._rising is None or candidate is None:
            self._rising = value > previous[1]
            self._candidate = _Candidate(t, value, previous[1])
            return []
        v0 = candidate.value_mg
        if (value > v0) if self._rising else (value < v0):
            self._candidate = _Candidate(t, value, previous[1])
            return []
        if abs(value - v0) < self._hysteresis():
            return []
        turn = _Turn(self._vertex_s(candidate) - self.delay_s, v0, trough=not self._rising)
        self._rising = not self._rising
        self._candidate = _Candidate(t, value, previous[1])
        return self._turned(turn, moving)

    def _turned(self, turn: _Turn, moving: Sequence[tuple[float, float]]) -> list[BreathRecord]:
        """A turning point: a trough closes the breath that began at the previous trough."""
        turns = self._turns
        if turns and turns[-1].trough != turn.trough:
            self._depths.append(abs(turn.value_mg - turns[-1].value_mg))
        if turn.trough and self._periods:
            self.delay_s = self._delay_at(1.0 / float(np.median(self._periods)))
        turns.append(turn)
        if not turn.trough:
            return []
        earlier = [k for k, tr in enumerate(turns[:-1]) if tr.trough]
        onset = turns[earlier[-1]] if earlier else None
        peaks = [tr for tr in turns[earlier[-1] + 1:-1] if not tr.trough] if earlier else []
        del turns[:-1]
        if onset is None or not peaks:
            return []
        duration = turn.time_s - onset.time_s
        if not MIN_BREATH_S <= duration <= MAX_BREATH_S:
            return []
        self._periods.append(duration)
        peak = max(peaks, key=lambda tr: tr.value_mg)
        moved = any(start < turn.time_s + 1.0 and stop > onset.time_s - 1.0
                    for start, stop in moving)
        return [BreathRecord(onset.time_s, duration, peak.time_s - onset.time_s,
                             peak.value_mg - onset.value_mg, moved)]


def _parabola_shift(before: float, at: float, after: float) -> float:
    """Offset (in samples, -0.5..0.5) of a parabola's vertex through three equally spaced points."""
    curvature = before - 2.0 * at + after
    if curvature == 0:
        return 0.0
    return float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))


def _phase_delay_s(sos: FloatArray, rate_hz: float, at_hz: FloatArray) -> FloatArray:
    """A filter's phase delay (s) at each frequency: how late it shows the peak of a rhythm."""
    from scipy import signal  # imported when first used: ~0.5 s

    _, response = signal.sosfreqz(sos, worN=at_hz, fs=rate_hz)
    return np.asarray(-np.unwrap(np.angle(response)) / (2 * np.pi * at_hz), dtype=np.float64)


# ---- summaries of recorded breaths -------------------------------------------------------------
def _still(breaths: Sequence[BreathRecord]) -> list[BreathRecord]:
    return [b for b in breaths if not b.moving and b.duration_s > 0]


def breath_rate_per_min(breaths: Sequence[BreathRecord]) -> float:
    """Breaths per minute of the still breaths: their count over their total length (NaN: none)."""
    still = _still(breaths)
    total = sum(b.duration_s for b in still)
    return 60.0 * len(still) / total if total > 0 else math.nan


def inhale_exhale_ratio(breaths: Sequence[BreathRecord]) -> float:
    """In-breath over out-breath time of the still breaths (NaN: none)."""
    still = _still(breaths)
    inhale = sum(b.inhale_s for b in still)
    exhale = sum(b.duration_s - b.inhale_s for b in still)
    return inhale / exhale if exhale > 0 else math.nan


def pacer_adherence(breaths: Sequence[BreathRecord]) -> float:
    """Share of the still paced breaths whose rate is within ±10 % of the pacer's (NaN: none)."""
    paced = [b for b in _still(breaths) if b.paced_per_min]
    if not paced:
        return math.nan
    followed = sum(abs(b.rate_per_min - (b.paced_per_min or 0.0)) <= PACED_WITHIN *
                   (b.paced_per_min or 0.0) for b in paced)
    return followed / len(paced)


def pacer_lag_s(breaths: Sequence[BreathRecord]) -> float:
    """How long after the pacer's in-breath the person's starts, averaged as a circular mean
    over the still paced breaths (negative: ahead of the pacer); NaN without paced breaths."""
    paced = [b for b in _still(breaths) if b.paced_per_min and b.pacer_phase is not None]
    if not paced:
        return math.nan
    angles = np.array([2 * math.pi * (b.pacer_phase or 0.0) for b in paced])
    mean = math.atan2(float(np.sin(angles).mean()), float(np.cos(angles).mean()))
    period_s = 60.0 / float(np.mean([b.paced_per_min for b in paced]))
    return mean / (2 * math.pi) * period_s
