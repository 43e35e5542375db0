"""BleSource and scanning through unmodified bleak, against fakebluez's simulated Polar H10.

Each test gets a fresh fake BlueZ and strap in its own event loop (tests/ble_fixtures.py). The
strap runs `SPEED` simulated seconds per real second and the session clock runs as fast, so
beat times stay in the strap's (simulated) seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

import pytest

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.clock import ScaledClock
from hrvcoach.core.errors import DeviceError
from hrvcoach.sources.ble.scan import find_strap, scan
from hrvcoach.sources.ble.source import BleSource
from tests.ble_fixtures import StrapWorld, read_rr_ms
from tests.helpers import real_recording

SPEED = 50.0  # simulated seconds per real second, for the strap and the session clock
TICK_MS = 1000 / 1024  # one unit of the strap's RR resolution
STRAP = "Polar H10 2B3C4D5E"  # its full name: found without waiting for better matches


class Consumer:
    """Runs a source in a task and keeps everything it yields."""

    def __init__(self, source: BleSource) -> None:
        self.source = source
        self.items: list[Beat | SourceStatus] = []
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Consumer:
        self.task = asyncio.create_task(self._consume())
        return self

    async def _consume(self) -> None:
        async with self.source:
            async for item in self.source.beats():
                self.items.append(item)

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    @property
    def beats(self) -> list[Beat]:
        return [item for item in self.items if isinstance(item, Beat)]

    def statuses(self, kind: StatusKind) -> list[SourceStatus]:
        return [item for item in self.items if isinstance(item, SourceStatus) and item.kind is kind]

    async def wait_until(self, condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert self.task is not None
            if self.task.done():
                self.task.result()  # raises what the source raised
                raise AssertionError(f"the source ended early: {self.items[-3:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; last items: {self.items[-3:]}")
            await asyncio.sleep(0.01)


def polar_recording() -> list[float]:
    return read_rr_ms(real_recording("polar_h10_breathing_10min/rr.csv"))


def received_equals_sent(run: Consumer, world: StrapWorld) -> None:
    """Every RR the strap sent to us arrived exactly once, in order, at full precision."""
    assert [beat.rr_ms for beat in run.beats] == [raw * 1000 / 1024 for raw in world.sent_rr_1024()]


def strictly_increasing(values: list[float]) -> bool:
    return all(later > earlier for earlier, later in itertools.pairwise(values))


async def test_scan_lists_the_strap_with_its_profile_and_signal(ble_world):
    found = await scan(1.0)
    assert [(s.name, s.address, s.profile.name, s.advertises_heart_rate) for s in found] == [
        ("Polar H10 2B3C4D5E", ble_world.strap.address, "polar-h10", True)]
    assert found[0].rssi_dbm == -50
    assert found[0].as_dict()["profile"] == "polar-h10"


async def test_find_strap_by_address_name_or_part_of_it(ble_world):
    address = ble_world.strap.address
    for wanted in (address.lower(), "Polar H10 2B3C4D5E", "polar h10", "2B3C4D5E"):
        found = await find_strap(wanted, 3.0, settle_s=0.1)
        assert found is not None and found[0].address == address, wanted
    assert await find_strap("Garmin", 0.5) is None


async def test_a_replayed_polar_h10_recording_arrives_complete_in_order_exactly_once(ble_world):
    recording = polar_recording()
    speed = 150.0  # the 10-minute recording in 4 s
    # RR only: the H10's raw ECG and accelerometer at 150x (20,000 samples/s) kept a loaded
    # machine so busy that the beats took over 15 s (test_ble_raw covers the raw streams)
    source = BleSource("Polar H10", ScaledClock(speed), raw=False)
    async with Consumer(source) as run:
        await ble_world.strap.wait_subscribed(timeout=15)
        await asyncio.wait_for(ble_world.strap.start_replay(recording, speed=speed), 60)
        await run.wait_until(lambda: len(run.beats) >= len(recording))
        await asyncio.sleep(0.1)  # nothing more may come
    rr_ms = [beat.rr_ms for beat in run.beats]
    assert ble_world.sent_rr_1024() == [round(x * 1024 / 1000) for x in recording]  # all sent
    received_equals_sent(run, ble_world)  # all received, once, in order, unrounded
    assert len(rr_ms) == len(recording) == 620
    assert max(abs(got - want) for got, want in zip(rr_ms, recording, strict=True)) <= TICK_MS / 2
    times = [beat.time_s for beat in run.beats]
    assert strictly_increasing(times)
    assert not any(beat.after_gap for beat in run.beats)
    assert all(beat.contact is True for beat in run.beats)
    # the beats span the recording's duration on the session clock (notification timing aside)
    assert times[-1] - times[0] == pytest.approx(sum(recording[1:]) / 1000, abs=5.0)
    connected = run.statuses(StatusKind.CONNECTED)
    assert len(connected) == 1
    assert "Polar Electro Oy H10, firmware 3.0.35, sensor on the chest, profile polar-h10" in (
        connected[0].message)
    assert [s.value for s in run.statuses(StatusKind.BATTERY)] == [87.0]
    kinds = [item.kind for item in run.items if isinstance(item, SourceStatus)]
    assert kinds[:3] == [StatusKind.SCANNING, StatusKind.CONNECTING, StatusKind.CONNECTED]
    assert source.info is not None and source.info.model == "H10"


async def test_a_link_drop_mid_session_is_survived_without_loss_or_duplicate(ble_world):
    recording = polar_recording()[:150]
    source = BleSource(STRAP, ScaledClock(SPEED))
    async with Consumer(source) as run:
        await ble_world.strap.wait_subscribed(timeout=15)
        replay = ble_world.strap.start_replay(recording, speed=SPEED)
        await run.wait_until(lambda: len(run.beats) >= 40)
        before = len(run.beats)
        await ble_world.strap.drop_link(0x08)  # supervision timeout: the radio link is gone
        await run.wait_until(lambda: source.connections == 2)
        await asyncio.wait_for(replay, 30)
        await run.wait_until(lambda: len(run.beats) == len(ble_world.sent_rr_1024()))
        await asyncio.sleep(0.1)
    received_equals_sent(run, ble_world)
    gaps = [index for index, beat in enumerate(run.beats) if beat.after_gap]
    assert len(gaps) == 1 and gaps[0] >= before  # the first beat after the reconnect, only
    assert strictly_increasing([beat.time_s for beat in run.beats])
    assert len(run.statuses(StatusKind.RECONNECTING)) == 1
    assert len(run.statuses(StatusKind.CONNECTED)) == 2
    assert "reconnected after" in run.statuses(StatusKind.CONNECTED)[1].message
    assert len(source.reconnect_s) == 1 and source.reconnect_s[0] < 5.0


@pytest.mark.parametrize("forgotten", [False, True], ids=["known", "forgotten-by-bluez"])
async def test_strap_taken_off_and_put_back_on_is_survived(ble_world, forgotten):
    recording = polar_recording()[:120]
    strap = ble_world.strap
    pause = {}
    if forgotten:  # BlueZ drops an unconnected device 0.3 s after discovery stops (30 s in life)
        ble_world.bluez.temporary_timeout = 0.3
        pause = {"backoff_s": (0.6,), "rescan_window_s": 0.2}  # let discovery stop long enough
    source = BleSource(STRAP, ScaledClock(SPEED), **pause)
    async with Consumer(source) as run:
        await strap.wait_subscribed(timeout=15)
        strap.start_replay(recording, speed=SPEED)
        await run.wait_until(lambda: len(run.beats) >= 30)
        await ble_world.take_off()  # stops streaming and advertising, drops the link
        off_at = strap.replay_position
        await run.wait_until(lambda: bool(run.statuses(StatusKind.RECONNECTING)))
        await asyncio.sleep(1.0)
        if forgotten:
            device_path = "/org/bluez/hci0/dev_" + strap.address.replace(":", "_")
            assert not ble_world.bluez.tree.has(device_path, "org.bluez.Device1")
        await strap.put_on()
        await strap.wait_subscribed(timeout=15)
        await asyncio.wait_for(strap.start_replay(recording[off_at:], speed=SPEED), 30)
        await run.wait_until(lambda: len(run.beats) == len(ble_world.sent_rr_1024()))
        await asyncio.sleep(0.1)
    received_equals_sent(run, ble_world)
    assert len(run.beats) >= len(recording) - 3  # only beats of the strap's first seconds back
    assert [index for index, beat in enumerate(run.beats) if beat.after_gap] == [off_at]
    assert strictly_increasing([beat.time_s for beat in run.beats])
    assert source.connections == 2 and 0.9 < source.reconnect_s[0] < 6.0


async def test_contact_loss_is_reported_and_the_first_beat_back_is_marked(ble_world):
    recording = polar_recording()[:80]
    strap = ble_world.strap
    async with Consumer(BleSource(STRAP, ScaledClock(SPEED))) as run:
        await strap.wait_subscribed(timeout=15)
        replay = strap.start_replay(recording, speed=SPEED)
        await run.wait_until(lambda: len(run.beats) >= 20)
        strap.skin_contact = False  # electrodes off the skin: "04 00" packets, beats lost
        await run.wait_until(lambda: bool(run.statuses(StatusKind.CONTACT_LOST)))
        await asyncio.sleep(5 / SPEED)
        strap.skin_contact = True
        await asyncio.wait_for(replay, 30)
        await run.wait_until(lambda: len(run.beats) == len(ble_world.sent_rr_1024()))
    received_equals_sent(run, ble_world)
    assert len(run.statuses(StatusKind.CONTACT_LOST)) == len(run.statuses(StatusKind.CONTACT_BACK)) == 1
    back = run.items.index(run.statuses(StatusKind.CONTACT_BACK)[0])
    first_back = next(item for item in run.items[back:] if isinstance(item, Beat))
    assert [beat for beat in run.beats if beat.after_gap] == [first_back]
    assert len(run.beats) < len(recording)  # the strap lost the beats of those seconds


async def test_malformed_payloads_mid_stream_are_reported_and_skipped(ble_world):
    recording = polar_recording()[:60]
    strap = ble_world.strap
    bad = [bytes.fromhex(text) for text in ("16 48 00", "10", "36 48 00 04", "01 48", "09 48 00 10")]
    async with Consumer(BleSource(STRAP, ScaledClock(SPEED))) as run:
        await strap.wait_subscribed(timeout=15)
        replay = strap.start_replay(recording, speed=SPEED)
        for payload in bad:
            await asyncio.sleep(0.15)
            await strap.send_raw(payload)
        await asyncio.wait_for(replay, 30)
        await run.wait_until(lambda: len(run.beats) == len(recording))
    assert [beat.rr_ms for beat in run.beats] == [round(x * 1024 / 1000) * 1000 / 1024
                                                  for x in recording]
    reports = run.statuses(StatusKind.BAD_PACKET)
    assert len(reports) == len(bad)
    assert "byte 2 (flags bit4 set: RR intervals present)" in reports[0].message
    assert "byte 0 (flags bits 5-7, reserved)" in reports[2].message
    assert not any(beat.after_gap for beat in run.beats)


async def test_battery_comes_from_bluez_battery1_and_follows_it(ble_world):
    async with Consumer(BleSource(STRAP, ScaledClock(SPEED))) as run:
        await run.wait_until(lambda: bool(run.statuses(StatusKind.BATTERY)))
        await ble_world.strap.set_battery(42)
        await run.wait_until(lambda: len(run.statuses(StatusKind.BATTERY)) == 2)
    assert [(s.value, s.message) for s in run.statuses(StatusKind.BATTERY)] == [
        (87.0, "87 %"), (42.0, "42 %")]


@pytest.mark.parametrize("ble_world", [{"battery_plugin": False}], indirect=True,
                         ids=["bluetoothd -P battery"])
async def test_battery_comes_from_gatt_when_bluez_exports_the_battery_service(ble_world):
    async with Consumer(BleSource(STRAP, ScaledClock(SPEED))) as run:
        await run.wait_until(lambda: bool(run.statuses(StatusKind.BATTERY)))
        await ble_world.strap.set_battery(42)
        await run.wait_until(lambda: len(run.statuses(StatusKind.BATTERY)) == 2)
    assert [s.value for s in run.statuses(StatusKind.BATTERY)] == [87.0, 42.0]


async def test_transient_connect_errors_are_retried(ble_world):
    ble_world.bluez.fail_next_connects = [("org.bluez.Error.Failed", "Software caused connection abort")] * 2
    ble_world.bluez.abort_next_connects = 1  # the link comes up and drops: le-connection-abort
    source = BleSource(STRAP, ScaledClock(SPEED))
    async with Consumer(source) as run:
        await run.wait_until(lambda: source.connections >= 1 and ble_world.strap.hrm_subscribed())
        for _ in range(100):  # the aborted link may still be going down: send until one arrives
            await ble_world.strap.send_hr(61, [983.4])
            await asyncio.sleep(0.05)
            if run.beats:
                break
    assert run.beats and {beat.rr_ms for beat in run.beats} == {1007 * 1000 / 1024}


async def test_a_strap_that_is_not_there_fails_with_a_clear_device_error(ble_world):
    source = BleSource("Garmin HRM", ScaledClock(), scan_timeout_s=0.5)
    with pytest.raises(DeviceError, match=r"no strap matching 'Garmin HRM' found in 0\.5 s"):
        async with source:
            async for _item in source.beats():
                pass


async def test_a_strap_gone_for_good_ends_the_stream(ble_world):
    ble_world.bluez.connect_timeout = 0.5
    source = BleSource(STRAP, ScaledClock(SPEED), give_up_after_s=1.0)
    async with Consumer(source) as run:
        await ble_world.strap.wait_subscribed(timeout=15)
        await ble_world.take_off()
        await asyncio.wait_for(run.task, 40)  # the stream ends by itself (~1 s; slow machines)
    (ended,) = run.statuses(StatusKind.ENDED)
    assert "gave up" in ended.message and source.connections == 1


async def test_leaving_the_source_disconnects_the_strap(ble_world):
    async with Consumer(BleSource(STRAP, ScaledClock(SPEED))):
        await ble_world.strap.wait_subscribed(timeout=15)
        assert ble_world.strap.connected
    for _ in range(100):
        if not ble_world.strap.connected:
            break
        await asyncio.sleep(0.02)
    assert not ble_world.strap.connected


async def test_two_straps_matching_a_partial_name_is_an_error_naming_both(ble_world):
    from fakebluez import HeartRateStrap

    other = HeartRateStrap(ble_world.strap.link, address="E4:9E:1A:00:00:01",
                           name="Polar H10 AAAA0001")
    await other.power_on()
    try:
        with pytest.raises(DeviceError, match=r"2 straps match 'Polar H10'.*AAAA0001.*full name"):
            await find_strap("Polar H10", 3.0)
        found = await find_strap("Polar H10 AAAA0001", 3.0)
        assert found is not None and found[0].address == "E4:9E:1A:00:00:01"
        assert len(await scan(1.0)) == 2
    finally:
        await other.take_off()
