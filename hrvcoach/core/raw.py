"""Raw sensor data beside the beats: the Polar H10's ECG and accelerometer, as a source hands them
on and the store keeps them, and what the body analysis finds in them (breaths, movement).

A chunk is one stretch of regularly sampled values on the session clock: its first sample at
`start_s`, the next ones 1/rate_hz apart. ECG values are µV (one channel); accelerometer values
are mG, x, y, z interleaved (three channels). `sensor_ns` is the strap's own timestamp of the
chunk's last sample (ns since 2000-01-01 on the strap's clock): with it a chunk can be put on the
strap's timeline again (the PMD frames carry it; tests compare with the strap's truth through it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["MOVEMENT_KINDS", "RAW_CHANNELS", "RAW_UNITS", "BreathRecord", "MovementKind",
           "MovementSegment", "RawChunk", "RawStream"]

RawStream = Literal["ecg", "acc"]
RAW_CHANNELS: Final[dict[RawStream, int]] = {"ecg": 1, "acc": 3}
RAW_UNITS: Final[dict[RawStream, str]] = {"ecg": "uV", "acc": "mG"}

MovementKind = Literal["gentle", "walking", "fidget"]
# gentle: slow whole-body movement (a Qigong form, stretching); walking: steps; fidget: short
# shakes and shifts while otherwise still
MOVEMENT_KINDS: Final[tuple[MovementKind, ...]] = ("gentle", "walking", "fidget")


@dataclass(frozen=True, slots=True)
class RawChunk:
    """Regularly sampled raw values of one stream (see the module note)."""

    stream: RawStream
    start_s: float  # session time of the first sample
    rate_hz: float
    values: tuple[int, ...]  # ECG: µV; ACC: x, y, z in mG, interleaved
    sensor_ns: int = 0  # the strap's timestamp of the last sample (0: unknown)
    after_gap: bool = False  # samples before this chunk are missing (a (re)start, a lost frame)

    @property
    def channels(self) -> int:
        return RAW_CHANNELS[self.stream]

    @property
    def n_samples(self) -> int:
        return len(self.values) // self.channels

    @property
    def end_s(self) -> float:
        """Session time just after the last sample (start of the next chunk if contiguous)."""
        return self.start_s + self.n_samples / self.rate_hz


@dataclass(frozen=True, slots=True)
class BreathRecord:
    """One breath found in the chest's movement: from its onset (start of the in-breath) to the
    next onset."""

    onset_s: float  # session time
    duration_s: float
    inhale_s: float  # onset to the end of the in-breath
    depth_mg: float  # peak-to-trough of the breath signal
    moving: bool = False  # the body moved during it: not trusted for rate or adherence
    paced_per_min: float | None = None  # the pacer's rate at its onset (None: unpaced)
    pacer_phase: float | None = None  # the pacer's breath cycle at its onset, 0..1 (0: in-breath)

    @property
    def rate_per_min(self) -> float:
        return 60.0 / self.duration_s if self.duration_s > 0 else float("nan")


@dataclass(frozen=True, slots=True)
class MovementSegment:
    """A stretch of session time in which the body moved."""

    start_s: float
    end_s: float
    kind: MovementKind
