"""Helpers for the store tests: simulated sessions recorded through the real Session path."""

from __future__ import annotations

import asyncio

from hrvcoach.core.beats import Beat
from hrvcoach.core.clock import InstantClock
from hrvcoach.history.phases import compute_markers
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import Session
from hrvcoach.sources.simulator import DEFAULT_PERSON, SimulatedStrap
from hrvcoach.store import Store, StoreRecorder


def record_simulated_session(store: Store, protocol_name: str = "qigong", *, seed: int = 1,
                             artifacts_per_min: float = 0.0,
                             duration_s: float | None = None) -> int:
    """Run a simulated session (instant clock) into the store, as `hrvcoach demo` records it;
    returns its id, with markers computed."""
    protocol = load_protocol(protocol_name)
    recorder = StoreRecorder(store, protocol=protocol.name, source="simulator",
                             commit_every_s=0.0)

    async def run() -> object:
        clock = InstantClock()
        source = SimulatedStrap(Pacer.for_protocol(protocol), clock, DEFAULT_PERSON, seed=seed,
                                artifacts_per_min=artifacts_per_min)
        return await Session(protocol, source, lambda event: None, recorder, duration_s).run()

    ended = asyncio.run(run())
    recorder.close("completed", ended.reason)  # type: ignore[attr-defined]
    compute_markers(store, recorder.session_id)
    return recorder.session_id


def beats_of(store: Store, session_id: int) -> list[Beat]:
    stored = store.beats(session_id)
    return [Beat(rr, t, contact, gap) for t, rr, contact, gap in
            zip(stored.time_s, stored.rr_ms, stored.contact, stored.after_gap, strict=True)]
