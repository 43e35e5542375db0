"""Beat sources: the simulated strap, replayed recordings and (later) Bluetooth LE straps."""

from hrvcoach.sources.base import Source, SourceItem

__all__ = ["Source", "SourceItem"]
