"""Session clocks: seconds since the session began, real time scaled by a speed factor, or instant.

Sources wait on the clock before they deliver a beat, and views read it to animate the pacer,
so one object decides how fast a simulated or replayed session runs.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Protocol


class Clock(Protocol):
    """Session time in seconds, and a way to wait for a session time."""

    def now(self) -> float: ...

    async def sleep_until(self, t_s: float) -> None: ...


class ScaledClock:
    """Real (monotonic) time since start, multiplied by `speed` (1 = real time)."""

    def __init__(self, speed: float = 1.0) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive finite number, got {speed!r}")
        self.speed = speed
        self._start = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._start) * self.speed

    async def sleep_until(self, t_s: float) -> None:
        wait_s = (t_s - self.now()) / self.speed
        if wait_s > 0:
            await asyncio.sleep(wait_s)


class InstantClock:
    """A fake clock that jumps to whatever time is awaited: runs sessions as fast as possible."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now = start_s

    def now(self) -> float:
        return self._now

    def advance_to(self, t_s: float) -> None:
        self._now = max(self._now, t_s)

    async def sleep_until(self, t_s: float) -> None:
        self.advance_to(t_s)
        await asyncio.sleep(0)
