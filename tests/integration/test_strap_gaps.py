"""A strap that goes quiet, and one that comes back after 40 s, through the real Bluetooth path
(fake BlueZ, simulated Polar H10; tests/ble_fixtures.py):

- quiet: the headless coach and the window say "no beats for N s" within 6 s of the last beat,
  the window greys its numbers, and the status line shows one state;
- back after 40 s (taken off, put back on): the session exports to every format and each
  imports back to the same beats and phases, once (the second import is a duplicate).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from hrvcoach.core.clock import ScaledClock
from hrvcoach.files.journal import read_journal
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import Session, SourceSilent
from hrvcoach.sources.ble.source import BleSource
from hrvcoach.store import Store
from tests.ble_fixtures import RECORDING, SPEED, read_rr_ms, run_hrvcoach
from tests.helpers import real_recording, run_cli

STRAP = "Polar H10 2B3C4D5E"


def clock_s(text: str) -> int:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


async def test_headless_says_when_the_strap_goes_quiet_within_6_s(ble_world, tmp_path):
    recording = read_rr_ms(real_recording(RECORDING))[:30]  # ~25 s of beats, then silence
    process = asyncio.create_task(run_hrvcoach(
        "coach", "--headless", "--device", STRAP, "--duration", "75", "--speed", str(SPEED),
        home=tmp_path))
    await ble_world.strap.wait_subscribed(timeout=30)
    ble_world.strap.start_replay(recording, speed=SPEED)  # then connected, sending nothing
    code, out, err = await process
    assert code == 0, err
    silent = re.findall(r"^(\d\d:\d\d)  no beats for (\d+) s: is the strap on", out, re.MULTILINE)
    assert silent, out
    last_beat_s = read_journal(next((tmp_path / "recordings").glob("*.csv"))).beats[-1].time_s
    first_s, first_n = clock_s(silent[0][0]), int(silent[0][1])
    assert 5 <= first_n <= 6 and first_s - last_beat_s <= 6.0  # said within 6 s of the last beat
    later = [clock_s(t) for t, _ in silent[1:]]
    assert later and all(b - a >= 9 for a, b in zip([first_s, *later], later, strict=False))


async def test_the_window_greys_its_numbers_when_the_strap_goes_quiet(ble_world, qtbot):
    from hrvcoach.views.qt.window import CoachWindow

    protocol = load_protocol("demo")
    clock = ScaledClock(SPEED)
    window = CoachWindow(protocol, Pacer.for_protocol(protocol), clock)
    qtbot.addWidget(window)  # deleted afterwards: later tests look for their own CoachWindow
    told: list[tuple[float, SourceSilent]] = []

    def listen(event: object) -> None:
        window.handle(event)  # type: ignore[arg-type]
        if isinstance(event, SourceSilent):
            told.append((clock.now(), event))

    # heart rate only: the fake strap shares this loop, and the raw data's analysis (its
    # imports, its filters) would hold the loop, and so the strap, for simulated seconds
    session = Session(protocol, BleSource(STRAP, clock, raw=False), listen, duration_s=60.0,
                      clock=clock)
    running = asyncio.create_task(session.run())
    try:
        await ble_world.strap.wait_subscribed(timeout=30)
        ble_world.strap.start_replay(read_rr_ms(real_recording(RECORDING))[:40], speed=SPEED)
        deadline = asyncio.get_running_loop().time() + 30
        while not told and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        assert told, "no SourceSilent event"
        window.render_frame()
        first_s, event = told[0]
        last_beat_s = window.state.beats[-1].time_s
        assert event.silent_s >= 5.0 and first_s - last_beat_s <= 6.0
        assert window.connection_label.text().startswith("● no beats for ")
        assert window.connection_label.property("role") == "bad"
        # (the accelerometer goes on: its breath may still be shown beside it)
        assert window.signal_label.text().partition(" · ")[0] == "signal unknown"
        assert all(card.dimmed for card in window.cards.values())
        assert window.cards["rmssd_ms"].detail_label.text().startswith("no beats for ")
        assert "connecting" not in window.status_label.text()  # one state: connected, quiet
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


@pytest.fixture
async def gap_session(ble_world, tmp_path) -> Path:
    """A strap session with the strap taken off for 40 s (simulated) in the middle."""
    home = tmp_path / "strap"
    recording = read_rr_ms(real_recording(RECORDING))
    strap = ble_world.strap
    process = asyncio.create_task(run_hrvcoach(
        "coach", "--headless", "--device", STRAP, "--duration", "150", "--speed", str(SPEED),
        "--give-up-after", "120", home=home, timeout_s=180))
    await strap.wait_subscribed(timeout=30)
    await asyncio.wait_for(strap.start_replay(recording[:45], speed=SPEED), 30)
    await ble_world.take_off()
    await asyncio.sleep(40 / SPEED)
    await strap.put_on()
    await strap.wait_subscribed(timeout=30)
    strap.start_replay(recording[45:], speed=SPEED)
    code, out, err = await process
    assert code == 0, err
    assert "[reconnecting]" in out
    return home


def beats_and_phases(home: Path) -> tuple[list[tuple[float, float, bool | None, bool]], list[object]]:
    with Store.open(home) as store:
        info = store.resolve("last")
        stored = store.beats(info.id)
        return (list(zip(stored.time_s, stored.rr_ms, stored.contact, stored.after_gap, strict=True)),
                [(p.index, p.name, p.kind, p.start_s, p.end_s, p.breaths_per_min, p.compare)
                 for p in store.phases(info.id)])


async def test_a_session_with_a_40_s_gap_round_trips_through_every_format_once(gap_session, tmp_path):
    beats, phases = beats_and_phases(gap_session)
    gap = [i for i, beat in enumerate(beats) if beat[3]]
    assert gap and beats[gap[0]][0] - beats[gap[0] - 1][0] > 30.0  # the 40-s hole is kept
    exports = {}
    for fmt in ("csv", "json", "edf", "rr"):
        exports[fmt] = tmp_path / f"session.{fmt}"
        result = run_cli("export", "last", "--format", fmt, "-o", str(exports[fmt]), home=gap_session)
        assert result.returncode == 0, result.stderr
    for fmt in ("csv", "json", "edf"):
        home = tmp_path / f"import-{fmt}"
        result = run_cli("import", str(exports[fmt]), home=home)
        assert result.returncode == 0, result.stderr
        assert beats_and_phases(home) == (beats, phases), fmt
    home = tmp_path / "import-rr"
    assert run_cli("import", str(exports["rr"]), home=home).returncode == 0
    assert [b[1] for b in beats_and_phases(home)[0]] == [b[1] for b in beats]  # rr: the intervals
    journal = next((gap_session / "recordings").glob("*.csv"))
    together = tmp_path / "together"
    assert run_cli("import", str(exports["json"]), home=together).returncode == 0
    for path in (exports["csv"], exports["edf"], exports["rr"], journal):
        again = run_cli("import", str(path), home=together)
        assert again.returncode == 2 and "already imported as session 1 (the same beats)" in again.stderr
        again = run_cli("import", str(path), home=gap_session)
        assert again.returncode == 2 and "already in the store as session 1" in again.stderr
    assert len(json.loads(run_cli("sessions", "--json", home=together).stdout)) == 1
