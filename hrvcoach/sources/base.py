"""The Source protocol: an async context manager that yields beats and status events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, Self

from hrvcoach.core.beats import Beat, SourceStatus
from hrvcoach.core.raw import RawChunk

__all__ = ["Source", "SourceItem"]

SourceItem = Beat | SourceStatus | RawChunk  # raw chunks only from straps with raw data


class Source(Protocol):
    """Anything that produces heartbeats: a strap, the simulator, a replayed file.

    Use as `async with source: async for item in source.beats(): ...`. Beat times are on the
    session clock the source was given, and strictly increasing.
    """

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    def beats(self) -> AsyncIterator[SourceItem]: ...
