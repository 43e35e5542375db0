"""The body beside the heart, live: breaths and movement from a strap's accelerometer chunks.

`LiveBody` feeds each accelerometer chunk to a MovementTracker and a BreathTracker (the breaths
that touch a movement are flagged as moving), stamps each breath with the pacer's rate and
phase at its onset (given by the session), and keeps the recent breaths for the live numbers:
the measured breathing rate over the last RATE_WINDOW_S (still breaths only; it stands for the
breathing rate in the markers once MIN_BREATHS are in) and the pacer adherence.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from hrvcoach.analysis.accel_breathing import BreathTracker, breath_rate_per_min, pacer_adherence
from hrvcoach.analysis.movement import MovementState, MovementTracker
from hrvcoach.core.raw import BreathRecord, MovementSegment, RawChunk

__all__ = ["MIN_BREATHS", "RATE_WINDOW_S", "BodyState", "LiveBody", "PacerAt",
           "prepare_in_background"]

RATE_WINDOW_S: Final = 60.0
ADHERENCE_BREATHS: Final = 10
MIN_BREATHS: Final = 3  # fewer still breaths in the window: no measured rate
STEP_BACK_S: Final = 0.25


def prepare_in_background() -> threading.Thread:
    """Import what the body's filters need (scipy.signal, ~0.5-1 s) on a thread, before the
    first accelerometer chunk: imported on the event loop it would stall the strap's
    notifications and the window for that long. (Its start-up stays off the window's path.)"""

    def load() -> None:
        import scipy.signal  # noqa: F401

    thread = threading.Thread(target=load, name="hrvcoach-body-imports", daemon=True)
    thread.start()
    return thread


PacerAt = Callable[[float], tuple[float | None, float | None]]  # t -> (rate, cycle phase 0..1)


@dataclass(frozen=True, slots=True)
class BodyState:
    """What the accelerometer says now."""

    breaths_per_min: float  # measured, still breaths of the last RATE_WINDOW_S (NaN: too few)
    pacer_adherence: float  # of the last ADHERENCE_BREATHS paced still breaths (NaN: none)
    movement: MovementState
    last_breath: BreathRecord | None


class LiveBody:
    """Breaths and movement from accelerometer chunks, in order (see the module note)."""

    def __init__(self) -> None:
        self._breath: BreathTracker | None = None
        self._movement: MovementTracker | None = None
        self._segments: list[MovementSegment] = []
        self._end_s = -math.inf  # where the last chunk ended
        self.breaths: deque[BreathRecord] = deque(maxlen=256)

    def feed(self, chunk: RawChunk, pacer_at: PacerAt | None = None
             ) -> list[BreathRecord | MovementSegment]:
        """One accelerometer chunk -> the breaths and movements it completed (ECG: nothing)."""
        if chunk.stream != "acc" or chunk.n_samples == 0:
            return []
        if self._breath is None or self._breath.rate_hz != chunk.rate_hz:
            self._breath = BreathTracker(chunk.rate_hz)
            self._movement = MovementTracker(chunk.rate_hz)
        assert self._movement is not None
        xyz = np.asarray(chunk.values, dtype=np.float64).reshape(-1, 3)
        # a chunk that starts well before the last one ended: the strap's clock mapping became
        # better (a late backlog drained) and the times stepped back: the breath starts afresh
        stepped_back = chunk.start_s < self._end_s - STEP_BACK_S
        self._end_s = chunk.end_s
        ended = self._movement.feed(chunk.start_s, xyz)
        self._segments += ended
        if ended:  # still again: the breath is followed afresh (the movement's big swings
            self._breath = BreathTracker(chunk.rate_hz)  # would set its depth and direction)
        state = self._movement.state
        moving = [(m.start_s, m.end_s) for m in self._segments[-4:]]
        if state.moving:
            moving.append((state.since_s, math.inf))
        found: list[BreathRecord | MovementSegment] = list(ended)
        for breath in self._breath.feed(chunk.start_s, xyz,
                                        after_gap=chunk.after_gap or stepped_back, moving=moving):
            if pacer_at is not None:
                rate, phase = pacer_at(breath.onset_s)
                breath = dataclasses.replace(breath, paced_per_min=rate, pacer_phase=phase)
            self.breaths.append(breath)
            found.append(breath)
        return found

    def close(self) -> list[MovementSegment]:
        """At the session's end: the movement still under way."""
        ended = self._movement.close() if self._movement is not None else []
        self._segments += ended
        return ended

    def state(self, now_s: float) -> BodyState | None:
        """The live numbers at session time now_s (None before the first accelerometer chunk)."""
        if self._movement is None:
            return None
        recent = [b for b in self.breaths if b.onset_s + b.duration_s > now_s - RATE_WINDOW_S]
        still = [b for b in recent if not b.moving]
        rate = breath_rate_per_min(still) if len(still) >= MIN_BREATHS else math.nan
        paced = [b for b in self.breaths if b.paced_per_min and not b.moving][-ADHERENCE_BREATHS:]
        return BodyState(rate, pacer_adherence(paced), self._movement.state,
                         self.breaths[-1] if self.breaths else None)
