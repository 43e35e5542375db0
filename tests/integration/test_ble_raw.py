"""The strap's raw data (Polar PMD: ECG and accelerometer) through unmodified bleak, against
fakebluez's simulated Polar H10 worn by its simulated person: started with the heart rate,
timed on the session clock, started again after every reconnect, late starts said, a strap that
goes silent without a disconnect reconnected, and a strap without PMD exactly as before."""

from __future__ import annotations

import asyncio
import difflib
from typing import Any

import pytest

import hrvcoach.sources.ble.source as ble_source
from hrvcoach.core.beats import StatusKind
from hrvcoach.core.clock import ScaledClock
from hrvcoach.core.raw import RawChunk
from hrvcoach.sources.ble.source import BleSource
from tests.integration.test_ble import STRAP, Consumer, received_equals_sent

SPEED = 20.0


def chunks(run: Consumer, stream: str) -> list[RawChunk]:
    return [item for item in run.items if isinstance(item, RawChunk) and item.stream == stream]


def raw_lines(run: Consumer) -> list[str]:
    return [status.message for status in run.statuses(StatusKind.RAW_DATA)]


def strap_offsets_s(run: Consumer, stream: str, base_ns: int) -> list[float]:
    """Session time minus strap time of each chunk's first sample."""
    return [chunk.start_s - ((chunk.sensor_ns - base_ns) / 1e9 - (chunk.n_samples - 1) / chunk.rate_hz)
            for chunk in chunks(run, stream)]


async def test_ecg_and_accelerometer_stream_beside_the_heart_rate_on_the_session_clock(ble_world):
    from fakebluez import Person

    strap = ble_world.strap
    source = BleSource(STRAP, ScaledClock(SPEED))
    async with Consumer(source) as run:
        await strap.wait_subscribed(timeout=15)
        strap.start_person(Person(seed=3), speed=SPEED)
        await run.wait_until(lambda: bool(raw_lines(run)))
        await strap.clock.sleep_until(strap.clock.now() + 60)
        strap.stop_stream()
        await run.wait_until(lambda: len(run.beats) == len(ble_world.sent_rr_1024()))
    received_equals_sent(run, ble_world)
    assert raw_lines(run) == ["raw data: ECG 130 Hz, ACC 50 Hz"]
    ecg, acc = chunks(run, "ecg"), chunks(run, "acc")
    assert {c.rate_hz for c in ecg} == {130.0} and {c.rate_hz for c in acc} == {50.0}
    assert {c.n_samples for c in ecg[:-1]} == {73} and {c.n_samples for c in acc[:-1]} == {36}
    assert sum(c.n_samples for c in ecg) / 130 > 55 and sum(c.n_samples for c in acc) / 50 > 55
    assert [c.after_gap for c in ecg] == [True] + [False] * (len(ecg) - 1)
    # each chunk follows the previous one on the session clock, within the frames' delays
    for stream in ("ecg", "acc"):
        offsets = strap_offsets_s(run, stream, strap.sensor_time_base_ns)[5:]
        assert max(offsets) - min(offsets) < 0.2 * SPEED / 20
    (stream_truth,) = [s for s in strap.truth()["pmd_streams"] if s["type"] == "ECG"]
    assert stream_truth["rate_hz"] == 130 and stream_truth["frames_lost"] == 0


async def test_raw_streams_survive_three_link_drops_and_a_40_s_late_start_without_losing_beats(
        ble_world):
    from fakebluez import Person

    strap = ble_world.strap
    strap.pmd_start_delay_s = 40.0  # every START: the first frame 40 simulated seconds later
    source = BleSource(STRAP, ScaledClock(SPEED))
    async with Consumer(source) as run:
        await strap.wait_subscribed(timeout=15)
        strap.start_person(Person(seed=4), speed=SPEED)
        for drop in range(4):
            await run.wait_until(lambda drop=drop: raw_lines(run).count(
                "raw data: ECG 130 Hz, ACC 50 Hz") == drop + 1, timeout_s=30)
            await strap.clock.sleep_until(strap.clock.now() + 10)
            if drop < 3:
                await strap.drop_link(0x08)
                await run.wait_until(lambda drop=drop: source.connections == drop + 2)
        strap.stop_stream()
        await asyncio.sleep(1.0)
    # the RR path never waited for raw data: every beat sent arrived, in order, but those of a
    # packet sent into a link as it dropped (counted as sent by the fake)
    got = [beat.rr_ms for beat in run.beats]
    sent = [raw * 1000 / 1024 for raw in ble_world.sent_rr_1024()]
    missing = [op for op in difflib.SequenceMatcher(a=got, b=sent, autojunk=False).get_opcodes()
               if op[0] != "equal"]
    assert all(op[0] == "insert" and op[4] - op[3] <= 3 for op in missing) and len(missing) <= 3
    assert len(got) > 200
    lines = raw_lines(run)
    assert lines.count("raw data late: waiting…") == 4
    assert lines.count("raw data: ECG 130 Hz, ACC 50 Hz") == 4
    started = [s for s in strap.truth()["pmd_streams"]]
    assert [s["type"] for s in started].count("ECG") == 4 and len(started) == 8
    assert [s["stop_reason"] for s in started][:6] == ["link lost"] * 6
    ecg = chunks(run, "ecg")
    assert sum(c.after_gap for c in ecg) == 4  # one hole per (re)start, marked
    beats_connected = [b for b in run.beats if b.after_gap]
    assert len(beats_connected) == 3


async def test_a_link_that_goes_silent_without_a_disconnect_is_reconnected(ble_world, monkeypatch):
    from fakebluez import Person

    real = ble_source.establish_connection

    async def no_disconnect_callback(*args: Any, **kwargs: Any) -> Any:
        kwargs["disconnected_callback"] = None  # BlueZ says nothing while the ECG streams
        return await real(*args, **kwargs)

    monkeypatch.setattr(ble_source, "establish_connection", no_disconnect_callback)
    strap = ble_world.strap
    source = BleSource(STRAP, ScaledClock(SPEED))
    async with Consumer(source) as run:
        await strap.wait_subscribed(timeout=15)
        strap.start_person(Person(seed=5), speed=SPEED)
        await run.wait_until(lambda: bool(raw_lines(run)))
        await strap.drop_link(0x08)
        await run.wait_until(lambda: source.connections == 2, timeout_s=20)
        await run.wait_until(lambda: len(raw_lines(run)) == 2, timeout_s=20)
    assert source.silent_links == 1
    assert len(run.statuses(StatusKind.RECONNECTING)) == 1


@pytest.fixture
async def strap_without_pmd(ble_bus: Any) -> Any:
    from bumble.link import LocalLink
    from fakebluez import FakeBlueZ, HeartRateStrap

    link = LocalLink()
    bluez = FakeBlueZ(link)
    strap = HeartRateStrap(link, pmd=False)
    await bluez.start()
    await strap.power_on()
    try:
        yield strap
    finally:
        strap.stop_stream()
        await bluez.stop()


async def test_a_strap_without_raw_data_streams_exactly_as_before(strap_without_pmd):
    from fakebluez import Person

    source = BleSource(STRAP, ScaledClock(SPEED))
    async with Consumer(source) as run:
        await strap_without_pmd.wait_subscribed(timeout=15)
        strap_without_pmd.start_person(Person(seed=3), speed=SPEED)
        await run.wait_until(lambda: len(run.beats) >= 40)
    kinds = [item.kind for item in run.items if not isinstance(item, (RawChunk,))
             and hasattr(item, "kind")]
    assert kinds[:3] == [StatusKind.SCANNING, StatusKind.CONNECTING, StatusKind.CONNECTED]
    assert StatusKind.RAW_DATA not in kinds and not chunks(run, "ecg") and not chunks(run, "acc")
    assert source.raw_state.starts == 0


async def test_raw_off_starts_no_stream_on_a_strap_that_offers_them(ble_world):
    from fakebluez import Person

    source = BleSource(STRAP, ScaledClock(SPEED), raw=False)
    async with Consumer(source) as run:
        await ble_world.strap.wait_subscribed(timeout=15)
        ble_world.strap.start_person(Person(seed=3), speed=SPEED)
        await run.wait_until(lambda: len(run.beats) >= 30)
    assert not raw_lines(run) and not chunks(run, "ecg")
    assert ble_world.strap.truth()["pmd_streams"] == []
    await asyncio.sleep(0)
