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
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Self

from bleak import BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection

from hrvcoach.core.beats import SourceStatus, StatusKind
from hrvcoach.core.clock import Clock
from hrvcoach.core.errors import DeviceError
from hrvcoach.sources.base import SourceItem
from hrvcoach.sources.ble.devices import (
    HEART_RATE_SERVICE_UUID,
    DeviceProfile,
    list_device_profiles,
    match_profile,
)
from hrvcoach.sources.hrm import HrmTimeline

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

__all__ = [
    "BATTERY_LEVEL_UUID",
    "BODY_SENSOR_LOCATION_UUID",
    "HEART_RATE_MEASUREMENT_UUID",
    "BleSource",
    "FoundStrap",
    "StrapInfo",
    "find_strap",
    "scan",
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
BLUEZ_BATTERY_INTERFACE: Final = "org.bluez.Battery1"

CONNECT_ATTEMPTS: Final = 3  # per establish_connection call (it retries transient errors)
FIRST_CONNECT_ROUNDS: Final = 3  # scan + connect rounds before the first connection fails
RESCAN_WINDOW_S: Final = 5.0  # one reconnection scan lasts at most this long (real seconds)
BACKOFF_S: Final = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)  # real seconds before rescan n (then the last)
NAME_SETTLE_S: Final = 1.0  # after a partial name match, listen this long for better matches
DISCONNECT_TIMEOUT_S: Final = 10.0

# What bleak and dbus-fast raise when a link or the Bluetooth service fails: a BleakError, a
# timeout, or the D-Bus socket going away (EOFError, BrokenPipeError and other OSErrors).
_LINK_ERRORS: Final = (BleakError, asyncio.TimeoutError, EOFError, OSError)


@dataclass(frozen=True, slots=True)
class FoundStrap:
    """A heart-rate strap seen while scanning."""

    name: str | None
    address: str
    rssi_dbm: int | None  # signal strength of its latest advertisement
    profile: DeviceProfile
    advertises_heart_rate: bool  # 0x180D in its advertisement (else matched by name only)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "rssi_dbm": self.rssi_dbm,
                "profile": self.profile.name, "advertises_heart_rate": self.advertises_heart_rate}


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


@contextlib.asynccontextmanager
async def _bluetooth_errors(doing: str) -> AsyncIterator[None]:
    """Translate bleak's and D-Bus's failures into DeviceError at this boundary."""
    try:
        yield
    except BleakError as exc:
        hint = "; is bluetoothd running?" if "ServiceUnknown" in str(exc) else ""
        raise DeviceError(f"Bluetooth failed while {doing}: {exc}{hint}") from exc
    except (OSError, EOFError) as exc:
        raise DeviceError(f"cannot reach the Bluetooth service while {doing} ({exc}); "
                          "is bluetoothd running?") from exc


def _advertised_name(device: BLEDevice, adv: AdvertisementData) -> str | None:
    return adv.local_name or device.name or None


async def scan(timeout_s: float = 5.0, *,
               profiles: list[DeviceProfile] | None = None) -> list[FoundStrap]:
    """Straps in range: advertising 0x180D, or named like a known profile. Strongest first."""
    seen: dict[str, tuple[BLEDevice, AdvertisementData]] = {}

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        seen[device.address] = (device, adv)

    known = list_device_profiles() if profiles is None else profiles  # read the files once
    async with _bluetooth_errors("scanning"), BleakScanner(on_advertisement):
        await asyncio.sleep(timeout_s)
    straps = []
    for device, adv in seen.values():
        name = _advertised_name(device, adv)
        heart_rate = HEART_RATE_SERVICE_UUID in {uuid.lower() for uuid in adv.service_uuids}
        profile = match_profile(name, known)
        if heart_rate or not profile.is_generic:
            straps.append(FoundStrap(name, device.address, adv.rssi, profile, heart_rate))
    return sorted(straps, key=lambda strap: -(strap.rssi_dbm if strap.rssi_dbm is not None else -999))


def match_rank(wanted: str, name: str | None, address: str) -> int | None:
    """How well a strap matches NAME_OR_ADDRESS: 0 address, 1 name, 2 name prefix, 3 name part."""
    key = wanted.strip().casefold()
    if not key:
        return None
    if address.casefold() == key:
        return 0
    if not name:
        return None
    folded = name.casefold()
    if folded == key:
        return 1
    if folded.startswith(key):
        return 2
    if key in folded:
        return 3
    return None


Rank = Callable[[str | None, str], int | None]


async def find_strap(wanted: str | Rank, timeout_s: float, *,
                     settle_s: float = NAME_SETTLE_S) -> tuple[BLEDevice, AdvertisementData] | None:
    """Scan for the strap `wanted` (NAME_OR_ADDRESS, or a rank function); None if not seen.

    Stops at once on an address or full-name match; after a partial match it listens
    `settle_s` longer for a better one. Two straps matching equally (partially) raise DeviceError.
    """
    rank_of: Rank = partial(match_rank, wanted) if isinstance(wanted, str) else wanted
    matches: dict[str, tuple[int, BLEDevice, AdvertisementData]] = {}
    exact = asyncio.Event()
    partial_seen = asyncio.Event()

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        rank = rank_of(_advertised_name(device, adv), device.address)
        if rank is None:
            return
        matches[device.address] = (rank, device, adv)
        (exact if rank <= 1 else partial_seen).set()

    async with _bluetooth_errors("scanning"), BleakScanner(on_advertisement):
        deadline = asyncio.get_running_loop().time() + timeout_s
        waiters = {asyncio.ensure_future(exact.wait()), asyncio.ensure_future(partial_seen.wait())}
        try:
            await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            if partial_seen.is_set() and not exact.is_set():
                left_s = deadline - asyncio.get_running_loop().time()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(exact.wait(), max(min(settle_s, left_s), 0.0))
        finally:
            for waiter in waiters:
                waiter.cancel()
    if not matches:
        return None
    best_rank = min(rank for rank, _device, _adv in matches.values())
    best = [(device, adv) for rank, device, adv in matches.values() if rank == best_rank]
    if len(best) > 1 and best_rank > 1:
        listed = "; ".join(f"{_advertised_name(d, a)} ({d.address})" for d, a in best)
        raise DeviceError(f"{len(best)} straps match {wanted!r}: {listed}. "
                          "Give the full name or the address")
    return best[0]


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
    All durations are real seconds (they are about the radio, not the session).
    """

    def __init__(self, device: str, clock: Clock, *, profiles: list[DeviceProfile] | None = None,
                 scan_timeout_s: float = 20.0, give_up_after_s: float | None = 300.0,
                 rescan_window_s: float = RESCAN_WINDOW_S,
                 backoff_s: tuple[float, ...] = BACKOFF_S) -> None:
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
        name, address = _advertised_name(device, adv), device.address
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
            except _LINK_ERRORS as exc:
                failures += 1
                log.info("%s: connection failed (%s: %s)", address, type(exc).__name__, exc)
                if self.connections == 0 and failures >= FIRST_CONNECT_ROUNDS:
                    raise DeviceError(f"{name or address} ({address}): cannot connect after "
                                      f"{failures} tries ({_short(exc)}); is it connected to "
                                      "another app or device?") from exc
                if lost_at is not None:
                    self._status(StatusKind.RECONNECTING,
                                 f"still trying: {_short(exc)} (link lost "
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
        battery: _Battery1Watch | None = None
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
            await disconnected.wait()
        finally:
            self._generation += 1  # whatever this connection still delivers is ignored
            if battery is not None:
                battery.close()
            with contextlib.suppress(*_LINK_ERRORS):
                await asyncio.wait_for(client.disconnect(), DISCONNECT_TIMEOUT_S)

    # ---- what the strap tells -------------------------------------------------------------------
    def _on_hrm(self, generation: int, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        if generation != self._generation or self._items is None:
            return
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
                             generation: int) -> _Battery1Watch | None:
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
            return await _Battery1Watch.start(path, partial(self._on_battery, generation))
        except _LINK_ERRORS as exc:  # no battery level is no reason to drop the strap
            log.info("%s: no battery level from BlueZ (%s)", device.address, exc)
            return None


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


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


class _Battery1Watch:
    """BlueZ's org.bluez.Battery1.Percentage of one device: read now, then followed by signal."""

    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus

    @classmethod
    async def start(cls, device_path: str, on_level: Callable[[int], None]) -> _Battery1Watch:
        from dbus_fast import BusType, Message, MessageType
        from dbus_fast.aio import MessageBus

        bus = await MessageBus(bus_type=BusType.SYSTEM).connect()

        def on_message(message: Message) -> None:
            if message.message_type is not MessageType.SIGNAL:
                return
            if message.member == "PropertiesChanged" and message.path == device_path:
                interface, changed = message.body[0], message.body[1]
                if interface == BLUEZ_BATTERY_INTERFACE and "Percentage" in changed:
                    on_level(int(changed["Percentage"].value))
            elif message.member == "InterfacesAdded" and message.body[0] == device_path:
                props = message.body[1].get(BLUEZ_BATTERY_INTERFACE, {})
                if "Percentage" in props:
                    on_level(int(props["Percentage"].value))

        try:
            bus.add_message_handler(on_message)
            rules = (
                "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
                f"member='PropertiesChanged',path='{device_path}',arg0='{BLUEZ_BATTERY_INTERFACE}'",
                "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.ObjectManager',"
                f"member='InterfacesAdded',arg0='{device_path}'",
            )
            for rule in rules:
                await bus.call(Message(destination="org.freedesktop.DBus",
                                       path="/org/freedesktop/DBus",
                                       interface="org.freedesktop.DBus", member="AddMatch",
                                       signature="s", body=[rule]))
            reply = await bus.call(Message(destination="org.bluez", path=device_path,
                                           interface="org.freedesktop.DBus.Properties",
                                           member="Get", signature="ss",
                                           body=[BLUEZ_BATTERY_INTERFACE, "Percentage"]))
            if reply is not None and reply.message_type is MessageType.METHOD_RETURN:
                on_level(int(reply.body[0].value))
        except BaseException:
            bus.disconnect()
            raise
        return cls(bus)

    def close(self) -> None:
        self._bus.disconnect()

