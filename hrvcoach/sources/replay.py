"""Replays a recorded RR series as a live source, in real time or faster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Self

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.clock import Clock
from hrvcoach.sources.base import SourceItem


class ReplaySource:
    """Delivers every RR of a recording once, in order, each at its beat time on the clock.

    Beat i happens at sum(rr[0..i]) seconds: the recording starts at the beat before the first RR.
    """

    def __init__(self, rr_ms: NDArray[np.float64], clock: Clock, *, name: str = "recording") -> None:
        self._rr_ms = np.asarray(rr_ms, dtype=np.float64)
        self._clock = clock
        self._name = name

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def beats(self) -> AsyncIterator[SourceItem]:
        yield SourceStatus(StatusKind.CONNECTED, self._clock.now(), f"replaying {self._name}")
        times_s = np.cumsum(self._rr_ms) / 1000.0
        for rr_ms, time_s in zip(self._rr_ms.tolist(), times_s.tolist(), strict=True):
            await self._clock.sleep_until(time_s)
            yield Beat(rr_ms, time_s)
        yield SourceStatus(StatusKind.ENDED, self._clock.now(), f"end of {self._name}")
