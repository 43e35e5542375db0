"""The LSL outlets of a session, received in this process by a pylsl inlet (on loopback)."""

from __future__ import annotations

import asyncio
import math

import pytest

from hrvcoach.app.lsl_outlets import (
    LIVE_MARKER_NAMES,
    RR_AFTER_GAP,
    RR_LEFT_OUT,
    RR_NO_CONTACT,
    LslOutlets,
    StreamIdentity,
    stream_identity,
)
from hrvcoach.core.beats import Beat
from hrvcoach.core.clock import InstantClock
from hrvcoach.core.markers import marker
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import Session, SessionEvent, Snapshot
from hrvcoach.sources.factory import BleSpec, SimulatorSpec
from hrvcoach.sources.replay import ReplaySource
from hrvcoach.sources.simulator import SimulatedBeat, SimulatedPerson, SimulatedStrap
from tests.lsl_fixtures import LslReceiver

LSL_EPOCH_S = 5000.0  # the fake LSL clock reads this at session time 0


def run_session(outlets: LslOutlets, clock: InstantClock, source, duration_s: float) -> list[SessionEvent]:
    events: list[SessionEvent] = []

    def on_event(event: SessionEvent) -> None:
        outlets.handle(event)
        events.append(event)

    asyncio.run(Session(load_protocol("demo"), source, on_event, duration_s=duration_s,
                        clock=clock).run())
    return events


def outlets_for(identity: StreamIdentity, clock: InstantClock) -> LslOutlets:
    return LslOutlets(identity, clock, speed=1.0, about={"session": "7", "protocol": "demo"},
                      local_clock=lambda: LSL_EPOCH_S + clock.now())


def streaming(identity: StreamIdentity) -> tuple[InstantClock, LslOutlets, LslReceiver]:
    """Open outlets on a fresh instant clock, and a receiver connected to all their streams."""
    clock = InstantClock()
    outlets = outlets_for(identity, clock)
    outlets.open()
    return clock, outlets, LslReceiver(identity.source_id, outlets.stream_names)


def test_every_beat_goes_out_once_stamped_with_its_own_time_and_its_markers_beside_it():
    clock, outlets, receiver = streaming(StreamIdentity("test-every-beat", "hrvcoach", "sim"))
    truth: list[SimulatedBeat] = []
    strap = SimulatedStrap(Pacer.for_protocol(load_protocol("demo")), clock, SimulatedPerson(),
                           seed=4, artifacts_per_min=3.0, on_truth=truth.append)
    events = run_session(outlets, clock, strap, duration_s=240.0)
    streams = receiver.stop(linger_s=0.5)
    outlets.close()

    snapshots = [e for e in events if isinstance(e, Snapshot)]
    rr, hr = streams["hrvcoach RR"], streams["hrvcoach HR"]
    assert rr.column(0) == [s.beat.rr_ms for s in snapshots] and len(snapshots) > 200
    assert rr.stamps == [LSL_EPOCH_S + s.beat.time_s for s in snapshots]
    assert hr.stamps == rr.stamps
    assert hr.column(0) == pytest.approx([60_000 / s.beat.rr_ms for s in snapshots])
    rmssd = LIVE_MARKER_NAMES.index("rmssd_ms") + 1
    last = snapshots[-1].markers
    assert hr.samples[-1][1][rmssd] == pytest.approx(last.rmssd_ms) and math.isfinite(last.rmssd_ms)

    # The artifact detector's final decisions, stamped with the flagged beat's own timestamp:
    # every injected artifact is among them (an ectopic beat may take its pause along).
    flagged = streams["hrvcoach RR artifacts"]
    injected = [t.beat.time_s for t in truth if t.artifact is not None]
    assert len(injected) >= 6
    flagged_times = {stamp - LSL_EPOCH_S for stamp in flagged.stamps}
    assert all(any(abs(t - f) < 1e-6 for f in flagged_times) for t in injected)
    assert len(flagged_times) <= 2 * len(injected)
    assert set(flagged.stamps) <= set(rr.stamps)


def test_the_markers_stream_has_session_start_each_phase_and_the_end_in_order():
    clock, outlets, receiver = streaming(StreamIdentity("test-phases", "hrvcoach", "replay"))
    run_session(outlets, clock, ReplaySource([1000.0] * 400, clock), duration_s=300.0)
    events = receiver.stop(linger_s=0.5)["hrvcoach Markers"].events()
    outlets.close()

    names = [event["event"] for _stamp, event in events]
    assert names == ["session_start", "status", "phase_start", "phase_start", "phase_start",
                     "session_end"]
    phases = [(stamp, event) for stamp, event in events if event["event"] == "phase_start"]
    protocol = load_protocol("demo")
    assert [event["name"] for _s, event in phases] == [phase.name for phase in protocol.phases]
    assert [event["breaths_per_min"] for _s, event in phases] == [
        phase.breaths_per_min for phase in protocol.phases]
    starts = [0.0, 60.0, 240.0]
    assert [stamp for stamp, _event in phases] == [LSL_EPOCH_S + s for s in starts]
    assert [event["session_time_s"] for _s, event in phases] == starts
    assert events[0][0] == LSL_EPOCH_S and events[-1][1]["reason"] == "duration reached"


def test_flags_say_after_gap_no_contact_and_left_out():
    clock, outlets, receiver = streaming(StreamIdentity("test-flags", "hrvcoach", "test"))

    class Beats:
        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc_info):
            return None

        async def beats(self):
            items = [Beat(900.0, 0.9, True), Beat(910.0, 1.81, True, after_gap=True),
                     Beat(900.0, 2.71, False), Beat(5000.0, 7.71, True), Beat(900.0, 8.61, True)]
            for beat in items:
                await clock.sleep_until(beat.time_s)
                yield beat

    run_session(outlets, clock, Beats(), duration_s=60.0)
    flags = receiver.stop(linger_s=0.5)["hrvcoach RR"].column(1)
    outlets.close()
    assert flags == [0.0, RR_AFTER_GAP, RR_NO_CONTACT | RR_LEFT_OUT, RR_LEFT_OUT, 0.0]


def test_stream_info_holds_units_labels_device_and_version():
    _clock, outlets, receiver = streaming(stream_identity(BleSpec("E4:9E:1A:2B:3C:4D"),
                                                          participant="P2"))
    assert outlets.stream_names == [f"hrvcoach P2 {key}" for key in
                                    ("RR", "RR artifacts", "HR", "Markers", "ECG", "ACC")]
    streams = receiver.stop(linger_s=0.0)
    outlets.close()
    rr = streams["hrvcoach P2 RR"]
    assert rr.info.type() == "RR" and rr.info.nominal_srate() == 0.0
    assert rr.channels() == [{"label": "rr_ms", "unit": "ms", "type": "RR"},
                             {"label": "flags", "unit": "", "type": "Flags"}]
    acquisition = rr.info.desc().child("acquisition")
    assert acquisition.child_value("serial_number") == "E4:9E:1A:2B:3C:4D"
    ours = rr.info.desc().child("hrvcoach")
    assert ours.child_value("version") and ours.child_value("participant") == "P2"
    assert ours.child_value("session") == "7" and ours.child_value("protocol") == "demo"
    hr = streams["hrvcoach P2 HR"].channels()
    assert hr[0] == {"label": "hr_bpm", "unit": "bpm", "type": "HR"}
    assert [c["label"] for c in hr[1:]] == list(LIVE_MARKER_NAMES)
    assert [c["unit"] for c in hr[1:]] == [marker(name).unit for name in LIVE_MARKER_NAMES]
    assert streams["hrvcoach P2 Markers"].info.type() == "Markers"


def test_closed_outlets_ignore_events_and_the_identity_names_no_person():
    clock = InstantClock()
    outlets = outlets_for(stream_identity(SimulatorSpec(seed=3)), clock)
    assert not outlets.enabled
    run_session(outlets, clock, ReplaySource([1000.0] * 30, clock), duration_s=20.0)
    assert outlets.identity.source_id == "hrvcoach-simulator-seed-3"
    assert outlets.stream_names == ["hrvcoach RR", "hrvcoach RR artifacts", "hrvcoach HR",
                                    "hrvcoach Markers"]


def test_a_straps_raw_data_goes_out_on_regular_rate_ecg_and_acc_streams_stamped_by_sample():
    from hrvcoach.core.raw import RawChunk

    clock, outlets, receiver = streaming(StreamIdentity("test-raw", "Polar", "H10", raw=True))
    ecg = [RawChunk("ecg", 10.0 + i * 73 / 130, 130.0, tuple(range(i * 73, (i + 1) * 73)))
           for i in range(3)]
    acc = RawChunk("acc", 10.0, 50.0, tuple(v for n in range(36) for v in (n, 1000 - n, 250)))
    clock.advance_to(12.0)
    for chunk in (*ecg, acc):
        outlets.handle(chunk)
    streams = receiver.stop(linger_s=0.5)
    outlets.close()
    got = streams["hrvcoach ECG"]
    assert got.info.nominal_srate() == 130.0 and got.channels()[0]["unit"] == "microvolts"
    assert got.column(0) == list(range(3 * 73))
    assert got.stamps[0] == pytest.approx(LSL_EPOCH_S + 10.0, abs=1e-3)  # its own time
    assert got.stamps[-1] == pytest.approx(LSL_EPOCH_S + 10.0 + (3 * 73 - 1) / 130, abs=1e-3)
    axes = streams["hrvcoach ACC"]
    assert [c["label"] for c in axes.channels()] == ["x", "y", "z"]
    assert axes.column(1)[:3] == [1000.0, 999.0, 998.0] and axes.info.nominal_srate() == 50.0
