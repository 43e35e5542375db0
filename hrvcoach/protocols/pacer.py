"""The breathing pacer: where in the breath the user should be at session time t.

The pacer integrates the breathing rate over time, so its phase is continuous when the rate
changes between phases or ramps within one. After an unpaced phase it starts on a fresh in-breath.

`retune` changes the pacing of the phase under way from a given time (the window's pacing
controls): the rate at once, phase-continuously (the breath goes on from where it is, only faster
or slower), the shape of the breath (inhale:exhale, holds) from the next in-breath, so the lung
never jumps. `changes_between` gives the exact times at which breath parts begin (the sound's
cues), solved from the integrated rate rather than sampled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final, Literal

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
_PARTS: Final[tuple[BreathPart, ...]] = ("in", "hold in", "out", "hold out")
_EDGE_EPS: Final = 1e-9  # in cycles: how close to a part's edge counts as on it


@dataclass(frozen=True, slots=True)
class PartChange:
    """A breath part begins at session time `time_s` (`part` None: the pacer stops)."""

    time_s: float
    part: BreathPart | None


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

    def time_at_cycles(self, cycles: float) -> float:
        """When the integrated rate reaches `cycles` (a paced segment; solves the quadratic)."""
        if self.start_per_min is None or self.end_per_min is None:
            raise ValueError("an unpaced segment has no breaths")
        slope = (self.end_per_min - self.start_per_min) / (self.end_s - self.start_s)
        need = 60.0 * (cycles - self.start_cycles)  # breaths x 60 = rate-seconds to go
        # 0.5 slope dt² + rate dt - need = 0, in the form that is stable when slope is ~0
        root = math.sqrt(max(self.start_per_min ** 2 + 2.0 * slope * need, 0.0))
        return self.start_s + 2.0 * need / (self.start_per_min + root)

    def cut(self, start_s: float, end_s: float) -> _Segment:
        """The part of this segment between two times (the ramp keeps its slope)."""
        return replace(self, start_s=start_s, end_s=end_s, start_per_min=self.rate_at(start_s),
                       end_per_min=self.rate_at(end_s))


def _chained(segments: list[_Segment]) -> list[_Segment]:
    """The segments with their breath counts made continuous: a paced segment goes on from the
    one before; a paced stretch after an unpaced one starts at 0 (a fresh in-breath)."""
    chained: list[_Segment] = []
    for segment in segments:
        previous = chained[-1] if chained else None
        if previous is None or previous.start_per_min is None:
            start_cycles = 0.0
        else:
            start_cycles = previous.cycles_at(previous.end_s)
        chained.append(replace(segment, start_cycles=start_cycles))
    return chained


def _part_from(fraction: float, breath: Breath) -> BreathPart:
    """The part that is under way just after `fraction` of a breath (a part beginning exactly
    there counts, whatever rounding did to the fraction)."""
    return breath_part((fraction + _EDGE_EPS) % 1.0, breath)[0]


def _part_before(fraction: float, breath: Breath) -> BreathPart:
    return breath_part((fraction - _EDGE_EPS) % 1.0, breath)[0]


class Pacer:
    """Breath state as a function of session time, for a protocol's phases.

    Safe to read from another thread (the sound's) while `retune` runs: a change swaps the
    segment list in one assignment.
    """

    def __init__(self, segments: list[_Segment]) -> None:
        self._segments = _chained(segments)
        self.revision = 0  # counts retunes, so that views can drop what they cached

    @classmethod
    def for_protocol(cls, protocol: Protocol) -> Pacer:
        segments: list[_Segment] = []
        t_s = 0.0
        for phase in protocol.phases:
            segments.append(_Segment(t_s, t_s + phase.duration_s, phase.breaths_per_min,
                                     phase.end_per_min, phase.breath, 0.0))
            t_s += phase.duration_s
        return cls(segments)

    @classmethod
    def constant(cls, breaths_per_min: float, breath: Breath | None = None,
                 duration_s: float = math.inf) -> Pacer:
        """A pacer at one rate, from time 0 (for tests and tools)."""
        end_s = duration_s if math.isfinite(duration_s) else 1e12
        shape = breath if breath is not None else Breath()
        return cls([_Segment(0.0, end_s, breaths_per_min, breaths_per_min, shape, 0.0)])

    def _segment_at(self, t_s: float) -> _Segment:
        segments = self._segments
        for segment in segments:
            if t_s < segment.end_s:
                return segment
        return segments[-1]

    def breath_at(self, t_s: float) -> Breath | None:
        """The shape of the breath at session time t (None while unpaced)."""
        segment = self._segment_at(t_s)
        return None if segment.start_per_min is None else segment.breath

    def retune(self, at_s: float, breaths_per_min: float, breath: Breath) -> None:
        """Pace the rest of the paced stretch under way at `at_s` (up to its protocol phase's
        end) at a constant `breaths_per_min` (a ramp ends) with the breath `breath`.

        Phase-continuous: the breath count goes on from its value at `at_s`, so the rate changes
        without a jump; a new shape starts with the next in-breath. ValueError while unpaced.
        """
        if not breaths_per_min > 0:
            raise ValueError(f"breaths_per_min must be positive, got {breaths_per_min}")
        segments = list(self._segments)
        index = next((i for i, s in enumerate(segments) if at_s < s.end_s), len(segments) - 1)
        old = segments[index]
        if old.start_per_min is None or at_s >= old.end_s:
            raise ValueError(f"the pacer does not pace at {at_s:g} s")
        at_s = max(at_s, old.start_s)
        cycles = old.cycles_at(at_s)
        new: list[_Segment] = []
        if at_s > old.start_s:
            new.append(old.cut(old.start_s, at_s))
        whole = math.ceil(cycles - _EDGE_EPS)  # the next in-breath
        shape_from_s = at_s if breath == old.breath else min(
            at_s + (whole - cycles) * 60.0 / breaths_per_min, old.end_s)
        if shape_from_s > at_s:
            new.append(_Segment(at_s, shape_from_s, breaths_per_min, breaths_per_min, old.breath,
                                0.0))
        if shape_from_s < old.end_s:
            new.append(_Segment(shape_from_s, old.end_s, breaths_per_min, breaths_per_min, breath,
                                0.0))
        self._segments = _chained([*segments[:index], *new, *segments[index + 1:]])
        self.revision += 1

    def changes_between(self, start_s: float, end_s: float) -> list[PartChange]:
        """Every time in [start_s, end_s) at which a breath part begins or the pacer stops,
        oldest first (exact: solved from the integrated rate, ramps included)."""
        segments = self._segments  # one consistent list, whatever retune does meanwhile
        changes: list[PartChange] = []
        previous: _Segment | None = None
        for segment in segments:
            if segment.end_s <= start_s or segment.start_s >= end_s:
                previous = segment
                continue
            if segment.start_s >= start_s:
                now = None if segment.start_per_min is None else _part_from(
                    segment.start_cycles % 1.0, segment.breath)
                before = None if previous is None or previous.start_per_min is None else \
                    _part_before(previous.cycles_at(previous.end_s) % 1.0, previous.breath)
                if now != before:
                    changes.append(PartChange(segment.start_s, now))
            if segment.start_per_min is not None:
                changes.extend(_edges(segment, max(start_s, segment.start_s),
                                      min(end_s, segment.end_s)))
            previous = segment
        changes.sort(key=lambda change: change.time_s)
        unique: list[PartChange] = []
        for change in changes:  # a segment may begin exactly on an edge: once
            if not unique or change.time_s - unique[-1].time_s > 1e-9:
                unique.append(change)
        return unique

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


def _edges(segment: _Segment, start_s: float, end_s: float) -> list[PartChange]:
    """The parts that begin strictly after start_s (or at the segment's start) and before end_s
    within one paced segment."""
    first, last = segment.cycles_at(start_s), segment.cycles_at(end_s)
    starts, edge = [], 0.0
    lengths = (segment.breath.inhale, segment.breath.hold_in, segment.breath.exhale,
               segment.breath.hold_out)
    for part, length in zip(_PARTS, lengths, strict=True):
        if length > 0:
            starts.append((edge, part))
        edge += length
    changes = []
    for whole in range(math.floor(first), math.ceil(last) + 1):
        for edge, part in starts:
            cycles = whole + edge
            if first - _EDGE_EPS <= cycles < last - _EDGE_EPS:
                at_s = segment.time_at_cycles(cycles)
                if start_s - 1e-9 <= at_s < end_s:
                    changes.append(PartChange(max(at_s, segment.start_s), part))
    return changes
