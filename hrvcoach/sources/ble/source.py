"""Bluetooth LE heart-rate straps through bleak: scan, connect, stream RR, survive dropouts.

The only module that imports bleak (and, on Linux, dbus-fast for BlueZ's battery interface).
Every BleakError stops here and leaves as a DeviceError.

How a session with a strap goes (`BleSource`):

1. Scan until a strap matches the user's NAME_OR_ADDRESS (address, exact name, name prefix,
   name part: the best kind of match wins; two different straps matching equally well is an
   error that names both).
2. Connect with bleak-retry-connector's `establish_connection` (it retries BlueZ's transient
   connect errors), read Device Information, Body Sensor Location and the battery, then
   subscribe to Heart Rate Measurement (0x2A37).
3. Each notification is timed on the session clock when it arrives and handed to `HrmTimeline`
   (sources/hrm.py), which makes the beats.
4. When the link drops or the strap vanishes: report RECONNECTING, rescan (BlueZ forgets an
   unconnected device about 30 s after a scan stops, so an old BLEDevice cannot be trusted)
   with backoff, reconnect, resubscribe; the first beat afterwards is marked `after_gap`. Each
   connection has its own generation number: a callback of an old connection is ignored, so no
   beat is ever delivered twice.

The battery: BlueZ's battery plugin hides the Battery Service (0x180F) from GATT and shows the
level as `org.bluez.Battery1.Percentage` on the device object; bluetoothd without that plugin
(`-P battery`) and other platforms show GATT 0x2A19. Both are handled.

Everything runs on the caller's asyncio loop (plain asyncio headless, qasync in the window);
bleak keeps one BlueZ manager per loop, so a source is used in one loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Final, Self

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection

from hrvcoach.core.beats import SourceStatus, StatusKind
from hrvcoach.core.clock import Clock
from hrvcoach.core.errors import DeviceError
from hrvcoach.sources.base import SourceItem
from hrvcoach.sources.ble.bluez_battery import BatteryWatch
from hrvcoach.sources.ble.devices import (
    DeviceProfile,
    list_device_profiles,
    match_profile,
)
from hrvcoach.sources.ble.pmd_client import RawState, RawStreams, offers_raw_data
from hrvcoach.sources.ble.scan import (
    LINK_ERRORS,
    advertised_name,
    find_strap,
    short_error,
)
from hrvcoach.sources.hrm import HrmTimeline

if TYPE_CHECKING:
    pass

__all__ = [
    "BATTERY_LEVEL_UUID",
    "BODY_SENSOR_LOCATION_UUID",
    "HEART_RATE_MEASUREMENT_UUID",
    "BleSource",
    "StrapInfo",
]

log = logging.getLogger(__name__)

HEART_RATE_MEASUREMENT_UUID: Final = "00002a37-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_UUID: Final = "00002a38-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID: Final = "00002a19-0000-1000-8000-00805f9b34fb"
_DEVICE_INFORMATION: Final = {  # Device Information Service (0x180A) strings we show
    "manufacturer": "00002a29-0000-1000-8000-00805f9b34fb",
    "model": "00002a24-0000-1000-8000-00805f9b34fb",
    "hardware": "00002a27-0000-1000-8000-00805f9b34fb",
    "firmware": "00002a26-0000-1000-8000-00805f9b34fb",
}
_BODY_SENSOR_LOCATIONS: Final = ("other", "chest", "wrist", "finger", "hand", "ear lobe", "foot")

CONNECT_ATTEMPTS: Final = 3  # per establish_connection call (it retries transient errors)
FIRST_CONNECT_ROUNDS: Final = 3  # scan + connect rounds before the first connection fails
RESCAN_WINDOW_S: Final = 5.0  # one reconnection scan lasts at most this long (real seconds)
BACKOFF_S: Final = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)  # real seconds before rescan n (then the last)
DISCONNECT_TIMEOUT_S: Final = 10.0
# Nothing at all from a connected strap (no heart-rate packet, no raw frame) for this long in
# session seconds: the link is taken as lost. BlueZ may not report a disconnect while the strap
# streams ECG, and a strap sends a packet every second even without skin contact.
SILENT_LINK_S: Final = 8.0

# What bleak and dbus-fast raise when a link or the Bluetooth service fails: a BleakError, a
# timeout, or the D-Bus socket going away (EOFError, BrokenPipeError and other OSErrors).


@dataclass(frozen=True, slots=True)
class StrapInfo:
    """What a connected strap says about itself (None where it does not say)."""

    name: str | None
    address: str
    profile: DeviceProfile
    manufacturer: str | None = None
    model: str | None = None
    hardware: str | None = None
    firmware: str | None = None
    body_location: str | None = None  # from Body Sensor Location (0x2A38): chest, wrist, ...

    def describe(self) -> str:
        """One line: name (address), maker and model, firmware, sensor location, profile."""
        parts = [f"{self.name or 'unnamed strap'} ({self.address})"]
        made = " ".join(text for text in (self.manufacturer, self.model) if text)
        if made:
            parts.append(made)
        if self.firmware:
            parts.append(f"firmware {self.firmware}")
        if self.body_location:
            parts.append(f"sensor on the {self.body_location}")
        parts.append(f"profile {self.profile.name}")
        if self.profile.notes:
            parts.append(self.profile.notes)
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class _End:
    """The last item of a source's queue: the stream ended, or failed with `error`."""

    error: BaseException | None = None


class BleSource:
    """A Source that streams beats from a Bluetooth LE heart-rate strap and rides out dropouts.

    `device` is a NAME_OR_ADDRESS as for `find_strap`. Beat times are on `clock`. The strap
    must be found within `scan_timeout_s` and connected within a few rounds, else `beats()`
    raises DeviceError. Once it has streamed, a lost link is followed by rescans of at most
    `rescan_window_s`, the n-th after a pause of `backoff_s[n]` (then the last one), until the
    strap has been gone `give_up_after_s` (None: forever); then the stream ends with ENDED.
    All durations are real seconds (they are about the radio, not the session), except the
    raw data's and the silent link's (session seconds: they follow the strap's clock).

    With `raw` (the default), a strap that offers Polar's PMD service also streams its ECG and
    accelerometer (RawChunks, and RAW_DATA status lines), started again after every reconnect;
    a strap without it streams exactly as before.
    """

    def __init__(self, device: str, clock: Clock, *, profiles: list[DeviceProfile] | None = None,
                 scan_timeout_s: float = 20.0, give_up_after_s: float | None = 300.0,
                 rescan_window_s: float = RESCAN_WINDOW_S,
                 backoff_s: tuple[float, ...] = BACKOFF_S, raw: bool = True) -> None:
        if not device.strip():
            raise ValueError("device must name a strap (its name or address)")
        if not backoff_s or min(backoff_s) < 0 or rescan_window_s <= 0:
            raise ValueError("backoff_s needs pauses >= 0 and rescan_window_s must be positive")
        self.device = device
        self._clock = clock
        self._profiles = profiles
        self._scan_timeout_s = scan_timeout_s
        self._give_up_after_s = give_up_after_s
        self._rescan_window_s = rescan_window_s
        self._backoff_s = backoff_s
        self._items: asyncio.Queue[SourceItem | _End] | None = None
        self._task: asyncio.Task[None] | None = None
        self._timeline = HrmTimeline()
        self._generation = 0  # the connection whose callbacks count; bumped on connect and loss
        self._battery_pct: int | None = None
        self.info: StrapInfo | None = None  # the connected strap, once known
        self.connections = 0  # connections that reached streaming
        self.reconnect_s: list[float] = []  # real seconds from each link loss to resubscribed
        self.raw = raw  # start the strap's raw ECG/accelerometer streams when it offers them
        self.raw_state = RawState()
        self._heard_s = 0.0  # session time the strap was last heard from
        self.silent_links = 0  # links given up by the watchdog (no data, no disconnect)

    async def __aenter__(self) -> Self:
        self._items = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name=f"ble source {self.device}")
        self._task.add_done_callback(self._on_run_done)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})  # its clean-up disconnects the strap

    async def beats(self) -> AsyncIterator[SourceItem]:
        """Status events and beats until the strap is given up on; raises DeviceError on failure."""
        if self._items is None:
            raise RuntimeError("use 'async with source:' before iterating its beats")
        while True:
            item = await self._items.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item

    # ---- the connection loop --------------------------------------------------------------------
    def _on_run_done(self, task: asyncio.Task[None]) -> None:
        if self._items is None or task.cancelled():
            return
        self._items.put_nowait(_End(task.exception()))

    def _status(self, kind: StatusKind, message: str, value: float | None = None) -> None:
        assert self._items is not None
        self._items.put_nowait(SourceStatus(kind, self._clock.now(), message, value))

    async def _run(self) -> None:
        self._status(StatusKind.SCANNING, f"looking for {self.device!r}")
        device, adv = await self._find_first()
        first_seen_at = time.monotonic()
        name, address = advertised_name(device, adv), device.address
        profile = match_profile(name, list_device_profiles() if self._profiles is None
                                else self._profiles)
        self.info = StrapInfo(name, address, profile)
        self._timeline = HrmTimeline(
            drop_first_rr_after_connect=profile.quirks.drop_first_rr_after_connect)
        failures = 0
        lost_at: float | None = None  # time.monotonic() when streaming stopped
        while True:
            try:
                await self._connect_and_stream(device, lost_at)
            except LINK_ERRORS as exc:
                failures += 1
                log.info("%s: connection failed (%s: %s)", address, type(exc).__name__, exc)
                if self.connections == 0 and failures >= FIRST_CONNECT_ROUNDS:
                    raise DeviceError(f"{name or address} ({address}): cannot connect after "
                                      f"{failures} tries ({short_error(exc)}); is it connected to "
                                      "another app or device?") from exc
                if lost_at is not None:
                    self._status(StatusKind.RECONNECTING,
                                 f"still trying: {short_error(exc)} (link lost "
                                 f"{time.monotonic() - lost_at:.0f} s ago)")
            else:  # streamed until the link dropped
                failures = 0
                lost_at = time.monotonic()
                self._status(StatusKind.RECONNECTING, f"link to {name or address} lost; reconnecting")
            if lost_at is None:  # never streamed: the first scan's patience applies
                give_up_at: float | None = first_seen_at + self._scan_timeout_s
            elif self._give_up_after_s is None:
                give_up_at = None
            else:
                give_up_at = lost_at + self._give_up_after_s
            found = await self._find_again(name, address, failures, give_up_at)
            if found is not None:
                device = found
                continue
            if lost_at is None:
                raise DeviceError(f"{name or address} ({address}) was found but went away before "
                                  f"it could be connected (looked for {self._scan_timeout_s:g} s)")
            gone_s = time.monotonic() - lost_at
            self._status(StatusKind.ENDED, f"{name or address} gone for {gone_s:.0f} s; gave up")
            return

    async def _find_first(self) -> tuple[BLEDevice, AdvertisementData]:
        found = await find_strap(self.device, self._scan_timeout_s)
        if found is None:
            raise DeviceError(f"no strap matching {self.device!r} found in "
                              f"{self._scan_timeout_s:g} s. Is it worn (straps sleep off the "
                              "skin), in range, and not connected to another app? "
                              "'hrvcoach scan' lists the straps in range")
        return found

    async def _find_again(self, name: str | None, address: str, failures: int,
                          give_up_at: float | None) -> BLEDevice | None:
        """Rescan with backoff until the strap advertises again; None at `give_up_at`."""
        def same_strap(seen_name: str | None, seen_address: str) -> int | None:
            if seen_address.casefold() == address.casefold():
                return 0
            return 1 if name and seen_name == name else None  # a strap with a private address

        attempt = failures
        while True:
            await asyncio.sleep(self._backoff_s[min(attempt, len(self._backoff_s) - 1)])
            window_s = self._rescan_window_s
            if give_up_at is not None:
                left_s = give_up_at - time.monotonic()
                if left_s <= 0:
                    return None
                window_s = min(window_s, left_s)
            try:
                found = await find_strap(same_strap, window_s)
            except DeviceError as exc:  # the Bluetooth service itself hiccuped: try again later
                log.info("rescan failed: %s", exc)
                found = None
            if found is not None:
                return found[0]
            attempt += 1
            log.info("%s not seen in %.1f s of scanning", address, window_s)

    async def _connect_and_stream(self, device: BLEDevice, lost_at: float | None) -> None:
        """One connection: connect, read what the strap offers, subscribe, stream until lost."""
        assert self.info is not None
        label = self.info.name or device.address
        self._status(StatusKind.CONNECTING, f"connecting to {label} ({device.address})")
        disconnected = asyncio.Event()
        client = await establish_connection(
            BleakClientWithServiceCache, device, label,
            disconnected_callback=lambda _client: disconnected.set(),
            max_attempts=CONNECT_ATTEMPTS)
        self._generation += 1
        generation = self._generation
        battery: BatteryWatch | None = None
        raw_task: asyncio.Task[None] | None = None
        try:
            self.info = await self._read_info(client, self.info)
            self._timeline.link_up()
            message = self.info.describe()
            if lost_at is not None:
                message = f"reconnected after {time.monotonic() - lost_at:.1f} s: {message}"
            self._status(StatusKind.CONNECTED, message)
            await client.start_notify(HEART_RATE_MEASUREMENT_UUID, partial(self._on_hrm, generation))
            self.connections += 1
            if lost_at is not None:
                self.reconnect_s.append(time.monotonic() - lost_at)
            battery = await self._watch_battery(client, device, generation)
            if self.raw and offers_raw_data(client):
                streams = RawStreams(client, self._clock, self.raw_state, self._put,
                                     generation_ok=lambda: generation == self._generation,
                                     alive=self._heard)
                raw_task = asyncio.create_task(streams.run(), name=f"raw data {label}")
            await self._until_lost(disconnected, label)
        finally:
            self._generation += 1  # whatever this connection still delivers is ignored
            if raw_task is not None:
                raw_task.cancel()
                await asyncio.wait({raw_task})
            if battery is not None:
                battery.close()
            with contextlib.suppress(*LINK_ERRORS):
                await asyncio.wait_for(client.disconnect(), DISCONNECT_TIMEOUT_S)

    async def _until_lost(self, disconnected: asyncio.Event, label: str) -> None:
        """Until BlueZ reports the link lost, or the strap has been silent SILENT_LINK_S."""
        self._heard()
        lost = asyncio.create_task(disconnected.wait())
        try:
            while not lost.done():
                await asyncio.wait({lost}, timeout=0.25)
                if self._clock.now() - self._heard_s >= SILENT_LINK_S:
                    self.silent_links += 1
                    log.info("%s: nothing heard for %.0f s: taking the link as lost", label,
                             SILENT_LINK_S)
                    return
        finally:
            lost.cancel()

    # ---- what the strap tells -------------------------------------------------------------------
    def _heard(self) -> None:
        self._heard_s = self._clock.now()

    def _put(self, item: SourceItem) -> None:
        if self._items is not None:
            self._items.put_nowait(item)

    def _on_hrm(self, generation: int, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        if generation != self._generation or self._items is None:
            return
        self._heard()
        for item in self._timeline.feed(bytes(data), self._clock.now()):
            self._items.put_nowait(item)

    def _on_battery(self, generation: int, level: int) -> None:
        if generation != self._generation or level == self._battery_pct:
            return
        self._battery_pct = level
        self._status(StatusKind.BATTERY, f"{level} %", float(level))

    def _on_battery_gatt(self, generation: int, _char: BleakGATTCharacteristic,
                         data: bytearray) -> None:
        if data:
            self._on_battery(generation, data[0])

    async def _read_info(self, client: BleakClientWithServiceCache, info: StrapInfo) -> StrapInfo:
        texts = {key: await _read_text(client, uuid) for key, uuid in _DEVICE_INFORMATION.items()}
        location = None
        raw = await _read_bytes(client, BODY_SENSOR_LOCATION_UUID)
        if raw:
            location = (_BODY_SENSOR_LOCATIONS[raw[0]] if raw[0] < len(_BODY_SENSOR_LOCATIONS)
                        else f"location {raw[0]}")
        return StrapInfo(info.name, info.address, info.profile, texts["manufacturer"],
                         texts["model"], texts["hardware"], texts["firmware"], location)

    async def _watch_battery(self, client: BleakClientWithServiceCache, device: BLEDevice,
                             generation: int) -> BatteryWatch | None:
        """Battery from GATT 0x2A19 when exported, else from BlueZ's Battery1 (read, then followed)."""
        char = client.services.get_characteristic(BATTERY_LEVEL_UUID)
        if char is not None:
            # subscribe first, then read: a change between the two is not missed
            if "notify" in char.properties:
                await client.start_notify(char, partial(self._on_battery_gatt, generation))
            raw = await _read_bytes(client, BATTERY_LEVEL_UUID)
            if raw:
                self._on_battery(generation, raw[0])
            return None
        path = device.details.get("path") if isinstance(device.details, dict) else None
        if path is None or not sys.platform.startswith("linux"):
            return None
        try:
            return await BatteryWatch.start(path, partial(self._on_battery, generation))
        except LINK_ERRORS as exc:  # no battery level is no reason to drop the strap
            log.info("%s: no battery level from BlueZ (%s)", device.address, exc)
            return None


async def _read_bytes(client: BleakClientWithServiceCache, uuid: str) -> bytes | None:
    """A readable characteristic's value, or None when absent, unreadable or failing."""
    char = client.services.get_characteristic(uuid)
    if char is None or "read" not in char.properties:
        return None
    try:
        return bytes(await client.read_gatt_char(char))
    except BleakError as exc:
        log.info("cannot read %s: %s", uuid, exc)
        return None


async def _read_text(client: BleakClientWithServiceCache, uuid: str) -> str | None:
    raw = await _read_bytes(client, uuid)
    if not raw:
        return None
    text = raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    return text or None


