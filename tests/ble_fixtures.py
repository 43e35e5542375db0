"""Fixtures for the Bluetooth tests: a fake BlueZ with a simulated strap, driven through bleak.

fakebluez (../shared/tools/fakebluez, installed by `make test`) runs a private dbus-daemon posing
as the system bus, a fake bluetoothd on it, and a strap on a virtual radio. bleak itself is
never faked: it talks D-Bus to the fake exactly as to BlueZ. Without fakebluez (or without
dbus-daemon) these fixtures skip the test and say why.
"""

from __future__ import annotations

import asyncio
import csv
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import cli_env, environment

FAKEBLUEZ_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "tools" / "fakebluez"


def _need_fakebluez() -> None:
    try:
        import fakebluez  # noqa: F401
    except ImportError:
        pytest.skip(f"fakebluez is not installed (pip install {FAKEBLUEZ_DIR}; needs ../shared "
                    "beside the checkout): the Bluetooth tests need its fake BlueZ")
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed (apt-get install dbus-daemon): the fake BlueZ "
                    "needs a private D-Bus")


@pytest.fixture(scope="session")
def ble_bus() -> Iterator[Any]:
    """A private dbus-daemon posing as the system bus, for the whole test session."""
    _need_fakebluez()
    from fakebluez import PrivateBus

    with PrivateBus() as bus, environment("DBUS_SYSTEM_BUS_ADDRESS", bus.address):
        yield bus  # the address is set before bleak opens its bus


@dataclass
class StrapWorld:
    """One virtual radio with a fake bluetoothd and one simulated Polar H10."""

    bluez: Any  # fakebluez.FakeBlueZ
    strap: Any  # fakebluez.HeartRateStrap
    sent: list[bytes] = field(default_factory=list)  # every 0x2A37 payload a subscriber got

    async def take_off(self) -> None:
        """The strap is taken off and vanishes: no link, no advertising (see take_strap_off)."""
        await take_strap_off(self.strap)

    def sent_rr_1024(self) -> list[int]:
        """The raw RR values of every payload sent to a subscriber (uint8 HR, no energy field)."""
        values = []
        for payload in self.sent:
            if payload and payload[0] & 0x10 and not payload[0] & 0x09:
                values += [int.from_bytes(payload[i:i + 2], "little")
                           for i in range(2, len(payload) - 1, 2)]
        return values


async def take_strap_off(strap: Any) -> None:
    """A fakebluez strap is taken off and vanishes: no link, no advertising.

    fakebluez's `take_off()` alone is not enough while a client is connected: bumble's
    advertising set (auto_restart) is re-enabled when that link drops, and as it is not
    `enabled` while connected, `take_off()` does not stop it, so the strap stays visible.
    Its restart is made a no-op first; `put_on()` starts a new advertising set.
    """
    advertising = strap.device.legacy_advertising_set
    if advertising is not None:
        async def stay_quiet() -> None:
            return None

        advertising.start = stay_quiet
    await strap.take_off()
    await strap.device.stop_advertising()  # drop the set, so put_on() makes a new one


@pytest.fixture
async def ble_world(request: pytest.FixtureRequest, ble_bus: Any) -> AsyncIterator[StrapWorld]:
    """Fake BlueZ plus strap, started in the test's own event loop (bleak: one manager per loop).

    Parametrize indirectly with a dict of FakeBlueZ options, e.g. {"battery_plugin": False}.
    """
    from bumble.link import LocalLink
    from fakebluez import FakeBlueZ, HeartRateStrap

    link = LocalLink()
    bluez = FakeBlueZ(link, **getattr(request, "param", {}))
    strap = HeartRateStrap(link)
    world = StrapWorld(bluez, strap)
    send_raw = strap.send_raw

    async def send_and_log(payload: bytes) -> None:
        subscribed = strap.hrm_subscribed()
        await send_raw(payload)
        if subscribed:
            world.sent.append(bytes(payload))

    strap.send_raw = send_and_log
    await bluez.start()
    await strap.power_on()
    try:
        yield world
    finally:
        strap.stop_stream()
        await bluez.stop()


def read_rr_ms(path: Path) -> list[float]:
    """The rr_ms column of a recording (tests/data/.../rr.csv, see real_recording)."""
    with path.open(encoding="utf-8") as file:
        return [float(row["rr_ms"]) for row in csv.DictReader(file) if row.get("rr_ms")]


# ---- hrvcoach as a process beside the fake BlueZ ------------------------------------------------
SPEED = 20.0  # simulated seconds per real second, for the strap and the session clock
RECORDING = "polar_h10_breathing_10min/rr.csv"


async def run_hrvcoach(*args: str, home: Path, timeout_s: float = 60.0) -> tuple[int, str, str]:
    """Run `python -m hrvcoach ARGS` without blocking the loop the fake BlueZ runs in."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hrvcoach", *args, env=cli_env(home),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def quantized(rr_ms: list[float]) -> list[float]:
    """What a strap sends for these intervals: whole 1/1024 s, back in ms."""
    return [round(x * 1024 / 1000) * 1000 / 1024 for x in rr_ms]
