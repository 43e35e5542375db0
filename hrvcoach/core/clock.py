"""Session clocks: seconds since the session began, real time scaled by a speed factor, or instant.

Sources wait on the clock before they deliver a beat, and views read it to animate the pacer,
so one object decides how fast a simulated or replayed session runs. Both clocks here can be
paused: session time stands still (the pacer stops, `sleep_until` waits) until `resume`.
A ScaledClock can also restart at 0: the coach window does so once it is on screen.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable


class Clock(Protocol):
    """Session time in seconds, and a way to wait for a session time."""

    def now(self) -> float: ...

    async def sleep_until(self, t_s: float) -> None: ...


@runtime_checkable
class PausableClock(Protocol):
    """A clock whose time can stand still (the coach window's pause)."""

    @property
    def paused(self) -> bool: ...

    def now(self) -> float: ...

    async def sleep_until(self, t_s: float) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


@runtime_checkable
class RestartableClock(Protocol):
    """A clock whose session time 0 can be moved to the present (before a session runs on it)."""

    def now(self) -> float: ...

    async def sleep_until(self, t_s: float) -> None: ...

    def restart(self) -> None: ...


class _Pause:
    """Pause bookkeeping shared by the clocks: who waits for `resume` and how."""

    def __init__(self) -> None:
        self._resumed: asyncio.Event | None = None  # made in the loop of the first waiter

    @property
    def paused(self) -> bool:
        raise NotImplementedError

    async def _wait_while_paused(self) -> None:
        while self.paused:
            if self._resumed is None:
                self._resumed = asyncio.Event()
            await self._resumed.wait()

    def _wake_waiters(self) -> None:
        if self._resumed is not None:
            self._resumed.set()
            self._resumed = None


class ScaledClock(_Pause):
    """Real (monotonic) time since start, multiplied by `speed` (1 = real time), minus pauses.
    `real_s` reads real time (tests give a fake one)."""

    def __init__(self, speed: float = 1.0, *, real_s: Callable[[], float] = time.monotonic) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive finite number, got {speed!r}")
        super().__init__()
        self.speed = speed
        self._real_s = real_s
        self._start = real_s()
        self._paused_at: float | None = None  # monotonic time of the pause

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def now(self) -> float:
        real = self._paused_at if self._paused_at is not None else self._real_s()
        return (real - self._start) * self.speed

    def restart(self) -> None:
        """Make this moment session time 0 (a paused clock stays paused, at 0)."""
        self._start = self._real_s()
        if self._paused_at is not None:
            self._paused_at = self._start

    def pause(self) -> None:
        """Stop session time (no-op when already paused)."""
        if self._paused_at is None:
            self._paused_at = self._real_s()

    def resume(self) -> None:
        """Let session time run on from where it stopped."""
        if self._paused_at is not None:
            self._start += self._real_s() - self._paused_at
            self._paused_at = None
            self._wake_waiters()

    async def sleep_until(self, t_s: float) -> None:
        while True:
            await self._wait_while_paused()
            wait_s = (t_s - self.now()) / self.speed
            if wait_s <= 0:
                return
            await asyncio.sleep(wait_s)  # a pause meanwhile: the loop waits out the rest


class InstantClock(_Pause):
    """A fake clock that jumps to whatever time is awaited: runs sessions as fast as possible.

    While paused it stands still: `advance_to` does nothing and `sleep_until` waits for `resume`.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        super().__init__()
        self._now = start_s
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def now(self) -> float:
        return self._now

    def advance_to(self, t_s: float) -> None:
        if not self._paused:
            self._now = max(self._now, t_s)

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._wake_waiters()

    async def sleep_until(self, t_s: float) -> None:
        await asyncio.sleep(0)  # let others run first: a pause then holds this sleeper too
        await self._wait_while_paused()
        self.advance_to(t_s)
