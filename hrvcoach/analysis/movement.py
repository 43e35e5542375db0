"""Still or moving, from a chest strap's accelerometer: streaming, causal, chunk by chunk.

Two signs of movement, each against a threshold far above what sitting and breathing make:

- shaking: the RMS over SHAKE_WINDOW_S of the acceleration above SHAKE_HIGHPASS_HZ (steps,
  fidgets; sitting still, the sensor noise and the heartbeat's jolt make ~6 mG, a step ~150 mG);
- tilting: the angle between gravity now (low-passed at TILT_LOWPASS_HZ) and the still posture
  (its slow average while still); breathing tilts the chest by 2-3°, a Qigong form by 15-30°.

The body moves from the first sample either sign crosses its threshold until neither has for
HOLD_S (a fidget's bursts, a form's turning points stay one movement); then a MovementSegment
covers the first to the last moving sample, and the still posture is taken afresh. Its kind:
`walking` when the shaking is strong most of the time (steps), `gentle` when the chest is
tilted away from the still posture most of the time (a Qigong form, stretching), else `fidget`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.raw import MovementKind, MovementSegment

__all__ = ["MovementState", "MovementTracker", "still_fraction", "still_mask"]

FloatArray = NDArray[np.float64]

SHAKE_HIGHPASS_HZ: Final = 0.8
SHAKE_WINDOW_S: Final = 1.0
SHAKE_MG: Final = 25.0
WALK_SHAKE_MG: Final = 80.0  # most of a walk shakes more than this
TILT_LOWPASS_HZ: Final = 0.5
TILT_DEG: Final = 6.0
POSTURE_TAU_S: Final = 30.0
HOLD_S: Final = 4.0
MIN_SEGMENT_S: Final = 1.0


@dataclass(frozen=True, slots=True)
class MovementState:
    """The body now: moving or not, since when, and the kind it looks like so far."""

    moving: bool
    since_s: float
    kind: MovementKind | None = None


class MovementTracker:
    """Movement segments from accelerometer chunks (x, y, z in mG), fed in order."""

    def __init__(self, rate_hz: float) -> None:
        from scipy import signal  # imported when first used: ~0.5 s

        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz!r}")
        self.rate_hz = float(rate_hz)
        self._highpass = signal.butter(2, min(SHAKE_HIGHPASS_HZ, 0.4 * rate_hz), btype="highpass",
                                       fs=self.rate_hz, output="sos")
        self._lowpass = signal.butter(2, TILT_LOWPASS_HZ, fs=self.rate_hz, output="sos")
        self._zi_high: FloatArray | None = None
        self._zi_low: FloatArray | None = None
        self._power = 0.0  # exponentially averaged squared shaking (mG²)
        self._posture: FloatArray | None = None
        self._first_s: float | None = None  # first moving sample of the current movement
        self._last_s: float | None = None  # latest moving sample
        self._samples = 0  # of the current movement ...
        self._walking = 0  # ... shaking like steps
        self._tilting = 0  # ... tilted away from the still posture
        self.state = MovementState(False, 0.0)

    def feed(self, start_s: float, xyz_mg: FloatArray) -> list[MovementSegment]:
        """Take n x 3 samples (mG), the first at session time start_s; returns the movements
        that ended (were still for HOLD_S) in this chunk."""
        from scipy import signal  # imported when first used: ~0.5 s

        data = np.asarray(xyz_mg, dtype=np.float64).reshape(-1, 3)
        if data.shape[0] == 0:
            return []
        if self._zi_high is None or self._zi_low is None:
            self._zi_high = signal.sosfilt_zi(self._highpass)[:, :, None] * data[0][None, None, :]
            self._zi_low = signal.sosfilt_zi(self._lowpass)[:, :, None] * data[0][None, None, :]
            self._posture = data[0].copy()
        high, self._zi_high = signal.sosfilt(self._highpass, data, axis=0, zi=self._zi_high)
        low, self._zi_low = signal.sosfilt(self._lowpass, data, axis=0, zi=self._zi_low)
        shake2 = np.einsum("ij,ij->i", high, high)
        alpha = 1.0 / (SHAKE_WINDOW_S * self.rate_hz)
        posture_alpha = 1.0 / (POSTURE_TAU_S * self.rate_hz)
        ended: list[MovementSegment] = []
        times = start_s + np.arange(data.shape[0]) / self.rate_hz
        for t, s2, g in zip(times.tolist(), shake2.tolist(), low, strict=True):
            assert self._posture is not None
            self._power += (s2 - self._power) * alpha
            shake = math.sqrt(max(self._power, 0.0))
            tilt = _angle_deg(g, self._posture)
            shaking = shake > SHAKE_MG
            moving = shaking or tilt > TILT_DEG
            if moving:
                if self._first_s is None:
                    self._first_s = t
                    self._samples = self._walking = self._tilting = 0
                self._last_s = t
            if self._first_s is not None:
                self._samples += 1
                self._tilting += tilt > TILT_DEG
                self._walking += shake > WALK_SHAKE_MG
                assert self._last_s is not None
                if t - self._last_s >= HOLD_S:  # still again: the movement is over
                    if self._last_s - self._first_s >= MIN_SEGMENT_S:
                        ended.append(MovementSegment(self._first_s, self._last_s, self._kind()))
                    self._first_s = self._last_s = None
                    self._posture = g.copy()  # the posture it ended in is the still one now
            else:
                self._posture += (g - self._posture) * posture_alpha
            self.state = self._state(t)
        return ended

    def _kind(self) -> MovementKind:
        share_walking = self._walking / max(self._samples, 1)
        share_tilting = self._tilting / max(self._samples, 1)
        if share_walking >= 0.5:
            return "walking"
        return "gentle" if share_tilting >= 0.5 else "fidget"

    def _state(self, t: float) -> MovementState:
        if self._first_s is None:
            since = self.state.since_s if not self.state.moving else t
            return MovementState(False, since)
        return MovementState(True, self._first_s, self._kind())

    def close(self) -> list[MovementSegment]:
        """At the end of the data: the movement under way, if any, up to its last moving sample."""
        if self._first_s is None or self._last_s is None:
            return []
        segment = MovementSegment(self._first_s, self._last_s, self._kind())
        self._first_s = self._last_s = None
        return [segment] if segment.end_s - segment.start_s >= MIN_SEGMENT_S else []


def _angle_deg(a: FloatArray, b: FloatArray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0:
        return 0.0
    return math.degrees(math.acos(max(-1.0, min(1.0, float(a @ b) / norm))))


def still_mask(time_s: FloatArray, movement: list[MovementSegment], *,
               margin_s: float = 0.0) -> NDArray[np.bool_]:
    """True where a time lies outside every movement (widened by margin_s on both sides)."""
    times = np.asarray(time_s, dtype=np.float64)
    still = np.ones(times.shape, dtype=bool)
    for segment in movement:
        still &= ~((times >= segment.start_s - margin_s) & (times <= segment.end_s + margin_s))
    return still


def still_fraction(start_s: float, end_s: float, movement: list[MovementSegment]) -> float:
    """Share of [start_s, end_s] outside every movement (NaN for an empty span)."""
    span = end_s - start_s
    if not span > 0:
        return math.nan
    moving = sum(max(0.0, min(end_s, m.end_s) - max(start_s, m.start_s)) for m in movement)
    return max(0.0, 1.0 - moving / span)
