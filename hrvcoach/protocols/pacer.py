"""The breathing pacer: where in the breath the user should be at session time t.

The pacer integrates the breathing rate over time, so its phase is continuous when the rate
changes between phases or ramps within one. After an unpaced phase it starts on a fresh in-breath.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from hrvcoach.protocols.protocol import Breath, Protocol

BreathPart = Literal["in", "hold in", "out", "hold out"]


@dataclass(frozen=True, slots=True)
class PacerState:
    """The pacer at one instant. `paced` False means: breathe freely, hide the pacer."""

    paced: bool
    breaths_per_min: float | None
    cycles: float  # breaths completed since the paced stretch began (fractional)
    part: BreathPart | None
    seconds_left: float  # until the end of the current part (0 when unpaced)
    lung: float  # 0 = fully out, 1 = fully in: the shape to draw and to breathe along


UNPACED = PacerState(False, None, 0.0, None, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class _Segment:
    start_s: float
    end_s: float
    start_per_min: float | None  # None: unpaced
    end_per_min: float | None
    breath: Breath
    start_cycles: float

    def cycles_at(self, t_s: float) -> float:
        """Breaths since the paced stretch began, integrating a linearly ramped rate."""
        if self.start_per_min is None or self.end_per_min is None:
            return self.start_cycles
        dt = min(max(t_s - self.start_s, 0.0), self.end_s - self.start_s)
        slope = (self.end_per_min - self.start_per_min) / (self.end_s - self.start_s)
        return self.start_cycles + (self.start_per_min * dt + 0.5 * slope * dt * dt) / 60.0

    def rate_at(self, t_s: float) -> float | None:
        if self.start_per_min is None or self.end_per_min is None:
            return None
        fraction = min(max((t_s - self.start_s) / (self.end_s - self.start_s), 0.0), 1.0)
        return self.start_per_min + (self.end_per_min - self.start_per_min) * fraction


class Pacer:
    """Breath state as a pure function of session time, for a protocol's phases."""

    def __init__(self, segments: list[_Segment]) -> None:
        self._segments = segments

    @classmethod
    def for_protocol(cls, protocol: Protocol) -> Pacer:
        segments: list[_Segment] = []
        t_s, cycles, was_paced = 0.0, 0.0, False
        for phase in protocol.phases:
            rate = phase.breaths_per_min
            if rate is not None and not was_paced:
                cycles = 0.0  # a paced stretch begins with an in-breath
            segment = _Segment(t_s, t_s + phase.duration_s, rate, phase.end_per_min, phase.breath,
                               cycles)
            segments.append(segment)
            cycles = segment.cycles_at(segment.end_s)
            t_s, was_paced = segment.end_s, rate is not None
        return cls(segments)

    @classmethod
    def constant(cls, breaths_per_min: float, breath: Breath | None = None,
                 duration_s: float = math.inf) -> Pacer:
        """A pacer at one rate, from time 0 (for tests and tools)."""
        end_s = duration_s if math.isfinite(duration_s) else 1e12
        shape = breath if breath is not None else Breath()
        return cls([_Segment(0.0, end_s, breaths_per_min, breaths_per_min, shape, 0.0)])

    def _segment_at(self, t_s: float) -> _Segment:
        for segment in self._segments:
            if t_s < segment.end_s:
                return segment
        return self._segments[-1]

    def state_at(self, t_s: float) -> PacerState:
        segment = self._segment_at(t_s)
        rate = segment.rate_at(t_s)
        if rate is None:
            return UNPACED
        cycles = segment.cycles_at(t_s)
        period_s = 60.0 / rate
        part, lung, left_fraction = breath_part(cycles % 1.0, segment.breath)
        return PacerState(True, rate, cycles, part, left_fraction * period_s, lung)


def breath_part(fraction: float, breath: Breath) -> tuple[BreathPart, float, float]:
    """Part of the breath, lung volume (0..1) and fraction of the breath left in that part."""
    edges: tuple[tuple[BreathPart, float], ...] = (
        ("in", breath.inhale),
        ("hold in", breath.hold_in),
        ("out", breath.exhale),
        ("hold out", breath.hold_out),
    )
    start = 0.0
    for part, length in edges:
        if length > 0 and fraction < start + length:
            x = (fraction - start) / length
            if part == "in":
                lung = 0.5 - 0.5 * math.cos(math.pi * x)
            elif part == "out":
                lung = 0.5 + 0.5 * math.cos(math.pi * x)
            else:
                lung = 1.0 if part == "hold in" else 0.0
            return part, lung, start + length - fraction
        start += length
    return "hold out" if breath.hold_out > 0 else "out", 0.0, 0.0
