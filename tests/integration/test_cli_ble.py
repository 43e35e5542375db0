"""`hrvcoach scan` and `hrvcoach coach` as real processes, against the fake BlueZ.

Two set-ups: the fake BlueZ of the `ble_world` fixture running in the test's event loop (the
hrvcoach process talks to it over the private bus), and the standalone two-process run the
README documents: `python -m fakebluez --rr-file ...` and `hrvcoach coach --headless ...`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hrvcoach.views.cli.main import main
from tests.ble_fixtures import RECORDING, SPEED, StrapWorld, quantized, read_rr_ms, run_hrvcoach
from tests.helpers import cli_env, real_recording, recorded


# ---- arguments ----------------------------------------------------------------------------------
def test_help_lists_the_bluetooth_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "scan" in out and "coach" in out
    with pytest.raises(SystemExit):
        main(["coach", "--help"])
    out = capsys.readouterr().out
    for option in ("--device NAME_OR_ADDRESS", "--headless", "--duration", "--protocol",
                   "--scan-timeout", "--give-up-after"):
        assert option in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "--timeout", "0"], "argument --timeout: must be a positive number of seconds"),
        (["scan", "--timeout", "soon"], "argument --timeout: not a number: 'soon'"),
        (["coach", "--device", "x", "--scan-timeout", "-1"], "argument --scan-timeout: must be"),
        (["coach", "--device", "x", "--give-up-after", "inf"], "argument --give-up-after: must be"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(capsys, args, message):
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


# ---- against the fixture's fake BlueZ -----------------------------------------------------------
async def test_scan_prints_the_strap_as_json_and_as_a_table(ble_world: StrapWorld, tmp_path):
    code, out, err = await run_hrvcoach("scan", "--timeout", "1", "--json", home=tmp_path)
    assert code == 0, err
    assert json.loads(out) == [{"name": "Polar H10 2B3C4D5E", "address": ble_world.strap.address,
                                "rssi_dbm": -50, "profile": "polar-h10",
                                "advertises_heart_rate": True}]
    code, out, err = await run_hrvcoach("scan", "--timeout", "1", home=tmp_path)
    assert code == 0, err
    assert out.splitlines()[1].split() == ["Polar", "H10", "2B3C4D5E", ble_world.strap.address,
                                           "-50", "dBm", "polar-h10"]
    assert 'hrvcoach coach --device "Polar H10 2B3C4D5E"' in out


async def test_coach_headless_streams_the_strap_and_records_every_beat(ble_world, tmp_path):
    recording = read_rr_ms(real_recording(RECORDING))
    process = asyncio.create_task(run_hrvcoach(
        "coach", "--headless", "--device", "Polar H10 2B3C4D5E", "--duration", "60",
        "--speed", str(SPEED), home=tmp_path))
    await ble_world.strap.wait_subscribed(timeout=30)
    replay = ble_world.strap.start_replay(recording, speed=SPEED)
    code, out, err = await process
    replay.cancel()
    assert code == 0, err
    assert "[connected] Polar H10 2B3C4D5E (E4:9E:1A:2B:3C:4D), Polar Electro Oy H10" in out
    assert "[battery] 87 %" in out and "session ended (duration reached)" in out
    rows = recorded(tmp_path)
    assert len(rows) >= 40
    assert [float(row["rr_ms"]) for row in rows] == quantized(recording[:len(rows)])
    assert {row["after_gap"] for row in rows} == {"0"} and {row["contact"] for row in rows} == {"1"}


async def test_coach_headless_without_device_takes_the_only_strap_in_range(ble_world, tmp_path):
    process = asyncio.create_task(run_hrvcoach(
        "coach", "--headless", "--duration", "20", "--speed", str(SPEED), "--scan-timeout", "1.5",
        home=tmp_path))
    await ble_world.strap.wait_subscribed(timeout=30)
    ble_world.strap.start_stream(mean_bpm=70, period_s=1 / SPEED)
    code, _out, err = await process
    assert code == 0, err
    assert f"using the only strap in range: Polar H10 2B3C4D5E ({ble_world.strap.address})" in err
    assert len(recorded(tmp_path)) > 5


async def test_coach_for_an_absent_strap_exits_1_with_one_line(ble_world, tmp_path):
    code, _out, err = await run_hrvcoach("coach", "--headless", "--device", "Garmin",
                                         "--scan-timeout", "0.5", home=tmp_path)
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("hrvcoach: error: no strap matching 'Garmin' found in 0.5 s.")


# ---- the standalone two-process run (as in the README) -----------------------------------------
class FakeStrapProcess:
    """`python -m fakebluez ...` on its own private bus, as a user would start it."""

    def __init__(self, *args: str) -> None:
        _need_fakebluez_cli()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fakebluez", *args], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        first = self.wait_for("DBUS_SYSTEM_BUS_ADDRESS=")
        self.bus_address = first.split("=", 1)[1]
        self.wait_for("READY")

    def wait_for(self, text: str, timeout_s: float = 20.0) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"fakebluez exited: {self.lines}")
            self.lines.append(line.strip())
            if text in line:
                return line.strip()
        raise AssertionError(f"no {text!r} from fakebluez: {self.lines}")

    def stop(self) -> None:
        """SIGTERM, then keep the rest of its status lines."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            rest, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rest, _ = self.process.communicate()
        self.lines += [line.strip() for line in (rest or "").splitlines()]


def _need_fakebluez_cli() -> None:
    from tests.ble_fixtures import _need_fakebluez

    _need_fakebluez()


def hrvcoach_process(home: Path, bus_address: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hrvcoach", "coach", "--headless", "--device", "Polar H10", *args],
        env=cli_env(home, DBUS_SYSTEM_BUS_ADDRESS=bus_address),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_standalone_fakebluez_and_coach_record_the_replayed_recording(tmp_path):
    source = real_recording(RECORDING)
    strap = FakeStrapProcess("--rr-file", str(source), "--speed", str(SPEED))
    try:
        coach = hrvcoach_process(tmp_path, strap.bus_address, "--duration", "60",
                                 "--speed", str(SPEED))
        out, err = coach.communicate(timeout=90)
    finally:
        strap.stop()
    assert coach.returncode == 0, err
    assert "REPLAY FROM 0" in strap.lines
    assert "[connected] Polar H10 2B3C4D5E" in out and "session ended (duration reached)" in out
    rows = recorded(tmp_path)
    assert f"recording saved: {next((tmp_path / 'recordings').glob('*.csv'))}" in out
    assert len(rows) >= 30  # 60 session seconds minus scanning and connecting
    assert [float(row["rr_ms"]) for row in rows] == quantized(read_rr_ms(source)[:len(rows)])
    assert all(float(row["time_s"]) <= 60.0 for row in rows)
    times = [float(row["time_s"]) for row in rows]
    assert times == sorted(times) and len(set(times)) == len(times)


def test_standalone_take_off_and_put_on_mid_session_is_survived_with_the_gap_marked(tmp_path):
    """SIGUSR1 takes the strap off (the replay pauses), SIGUSR2 puts it back on (it resumes)."""
    source = real_recording(RECORDING)
    strap = FakeStrapProcess("--rr-file", str(source), "--speed", str(SPEED))
    try:
        coach = hrvcoach_process(tmp_path, strap.bus_address, "--duration", "90",
                                 "--speed", str(SPEED))
        strap.wait_for("REPLAY FROM 0")
        time.sleep(15 / SPEED)
        strap.process.send_signal(signal.SIGUSR1)
        strap.wait_for("TAKEN OFF")
        time.sleep(0.5)
        strap.process.send_signal(signal.SIGUSR2)
        strap.wait_for("PUT ON")
        resumed = strap.wait_for("REPLAY FROM")
        out, err = coach.communicate(timeout=90)
    finally:
        strap.stop()
    assert coach.returncode == 0, err
    assert "[reconnecting]" in out and out.count("[connected]") == 2
    rows = recorded(tmp_path)
    rr_ms = [float(row["rr_ms"]) for row in rows]
    expected = quantized(read_rr_ms(source))
    (gap,) = [index for index, row in enumerate(rows) if row["after_gap"] == "1"]
    resume = int(resumed.split()[-1])  # fakebluez resumes the replay where it stopped
    # Before the gap: the recording from its start; after it: the recording from where the
    # strap resumed. A beat the strap had counted as played while being taken off may be lost
    # (a strap does not buffer), never repeated.
    assert rr_ms[:gap] == expected[:gap]
    assert rr_ms[gap:] == expected[resume:resume + len(rows) - gap]
    assert 0 <= resume - gap <= 3


# ---- the window's strap picker (Qt, offscreen) --------------------------------------------------
def found(name: str, address: str, rssi_dbm: int):
    from hrvcoach.sources.ble.devices import match_profile
    from hrvcoach.sources.ble.scan import FoundStrap

    return FoundStrap(name, address, rssi_dbm, match_profile(name), True)


@pytest.mark.parametrize("accept", [True, False], ids=["connect", "cancel"])
def test_the_picker_lists_scanned_straps_and_returns_the_chosen_one(qapp, accept):
    from PySide6 import QtCore

    from hrvcoach.views.qt.device_picker import DevicePicker, pick_device

    straps = [found("Polar H10 2B3C4D5E", "E4:9E:1A:2B:3C:4D", -50),
              found("HRM-Dual:068786", "C1:02:03:04:05:06", -70)]
    scans = []

    async def fake_scan(timeout_s: float):  # stands in for sources.ble.scan: no radio here
        scans.append(timeout_s)
        await asyncio.sleep(0.02)
        return straps

    def choose() -> None:
        picker = next(w for w in qapp.topLevelWidgets() if isinstance(w, DevicePicker) and w.isVisible())
        assert picker.strap_list.count() == 2 and "polar-h10" in picker.strap_list.item(0).text()
        picker.strap_list.setCurrentRow(1)
        (picker.accept if accept else picker.reject)()

    QtCore.QTimer.singleShot(400, choose)
    assert pick_device(fake_scan) == ("C1:02:03:04:05:06" if accept else None)
    assert len(scans) >= 2  # it kept scanning while the dialog was open


def test_the_window_runs_after_the_picker_on_a_fresh_qasync_loop(qapp, tmp_path):
    from PySide6 import QtCore

    from hrvcoach.core.clock import ScaledClock
    from hrvcoach.protocols.protocol import load_protocol
    from hrvcoach.session import Session
    from hrvcoach.sources.replay import ReplaySource
    from hrvcoach.views.qt.device_picker import DevicePicker, pick_device
    from hrvcoach.views.qt.loop import run_window

    async def fake_scan(timeout_s: float):
        await asyncio.sleep(0.02)
        return [found("Polar H10 2B3C4D5E", "E4:9E:1A:2B:3C:4D", -50)]

    def connect() -> None:
        for widget in qapp.topLevelWidgets():
            if isinstance(widget, DevicePicker) and widget.isVisible():
                widget.accept()  # the only strap is preselected

    QtCore.QTimer.singleShot(300, connect)
    assert pick_device(fake_scan) == "E4:9E:1A:2B:3C:4D"
    protocol, clock = load_protocol("demo"), ScaledClock(60.0)
    ended = run_window(lambda on_event: Session(protocol, ReplaySource(
        [900.0] * 40, clock), on_event, duration_s=20.0), protocol, clock,
        screenshot=tmp_path / "after-picker.png")
    assert ended is not None and ended.beats > 15


async def test_coach_in_the_window_streams_on_the_qasync_loop(ble_world, tmp_path):
    """--screenshot runs the real window offscreen: bleak runs on qasync, with Qt."""
    png = tmp_path / "coach-ble.png"
    process = asyncio.create_task(run_hrvcoach(
        "coach", "--device", "Polar H10 2B3C4D5E", "--screenshot", str(png), "--duration", "30",
        "--speed", str(SPEED), home=tmp_path))
    await ble_world.strap.wait_subscribed(timeout=30)
    ble_world.strap.start_stream(mean_bpm=66, period_s=1 / SPEED)
    code, out, err = await process
    assert code == 0, err
    assert f"screenshot saved: {png}" in out and png.stat().st_size > 10_000
    assert len(recorded(tmp_path)) > 5
