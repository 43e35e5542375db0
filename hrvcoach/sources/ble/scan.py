"""Finding heart-rate straps: scan for them (Heart Rate Service or a known strap's name) and
pick the one the user named. Every BleakError leaves as a DeviceError."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from hrvcoach.core.errors import DeviceError
from hrvcoach.sources.ble.devices import (
    HEART_RATE_SERVICE_UUID,
    DeviceProfile,
    list_device_profiles,
    match_profile,
)

__all__ = ["LINK_ERRORS", "FoundStrap", "Rank", "advertised_name", "bluetooth_errors", "find_strap",
           "match_rank", "scan", "short_error"]

log = logging.getLogger(__name__)

NAME_SETTLE_S: Final = 1.0  # after a partial name match, listen this long for better matches
# What bleak and dbus-fast raise when a link or the Bluetooth service fails: a BleakError, a
# timeout, or the D-Bus socket going away (EOFError, BrokenPipeError and other OSErrors).
LINK_ERRORS: Final = (BleakError, asyncio.TimeoutError, EOFError, OSError)


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


_SCAN_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = \
    weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def one_scan_at_a_time() -> AsyncIterator[None]:
    """Scans of one event loop take turns: BlueZ refuses a second discovery from the same D-Bus
    client (org.bluez.Error.InProgress), and bleak talks to BlueZ over one connection per loop,
    so straps that scan for themselves at once (a class) would fail all but the first."""
    lock = _SCAN_LOCKS.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        yield


@contextlib.asynccontextmanager
async def bluetooth_errors(doing: str) -> AsyncIterator[None]:
    """Translate bleak's and D-Bus's failures into DeviceError at this boundary."""
    try:
        yield
    except BleakError as exc:
        hint = "; is bluetoothd running?" if "ServiceUnknown" in str(exc) else ""
        raise DeviceError(f"Bluetooth failed while {doing}: {exc}{hint}") from exc
    except (OSError, EOFError) as exc:
        raise DeviceError(f"cannot reach the Bluetooth service while {doing} ({exc}); "
                          "is bluetoothd running?") from exc


def advertised_name(device: BLEDevice, adv: AdvertisementData) -> str | None:
    return adv.local_name or device.name or None


async def scan(timeout_s: float = 5.0, *,
               profiles: list[DeviceProfile] | None = None) -> list[FoundStrap]:
    """Straps in range: advertising 0x180D, or named like a known profile. Strongest first."""
    seen: dict[str, tuple[BLEDevice, AdvertisementData]] = {}

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        seen[device.address] = (device, adv)

    known = list_device_profiles() if profiles is None else profiles  # read the files once
    async with one_scan_at_a_time(), bluetooth_errors("scanning"), BleakScanner(on_advertisement):
        await asyncio.sleep(timeout_s)
    straps = []
    for device, adv in seen.values():
        name = advertised_name(device, adv)
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
        rank = rank_of(advertised_name(device, adv), device.address)
        if rank is None:
            return
        matches[device.address] = (rank, device, adv)
        (exact if rank <= 1 else partial_seen).set()

    async with one_scan_at_a_time(), bluetooth_errors("scanning"), BleakScanner(on_advertisement):
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
        listed = "; ".join(f"{advertised_name(d, a)} ({d.address})" for d, a in best)
        raise DeviceError(f"{len(best)} straps match {wanted!r}: {listed}. "
                          "Give the full name or the address")
    return best[0]


def short_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
