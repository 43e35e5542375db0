"""The coach window's controls: pause stops session time, marks reach the store, keys, stop,
the end-of-session summary with its report, and the setup page for each kind of source.

Sessions run on an InstantClock (as fast as the event loop turns) or a fast ScaledClock; Qt runs
offscreen. `qtbot.keyClick` sends keys straight to the window, as a focused window gets them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Self

import pytest
from PySide6 import QtCore

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.clock import InstantClock, ScaledClock
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import Marked, Paused, Resumed, Session, SessionEnded, SessionEvent, Snapshot
from hrvcoach.sources.replay import ReplaySource
from hrvcoach.sources.simulator import SimulatedStrap
from hrvcoach.views.qt.loop import StartedSession, run_window
from hrvcoach.views.qt.window import CoachWindow, EndOfSession

DEMO = load_protocol("demo")  # settle 0-60 s, slow breathing 6/min 60-240 s, rest 240-300 s
Key = QtCore.Qt.Key


def coach(qtbot, clock) -> CoachWindow:
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), clock)
    qtbot.addWidget(window)
    return window


class PushedStrap:
    """A source whose beats arrive whether or not the session waits for them, like a strap's
    notifications: the test pushes them (None ends the stream)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Beat | SourceStatus | None] = asyncio.Queue()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def beats(self) -> AsyncIterator[Beat | SourceStatus]:
        while (item := await self.queue.get()) is not None:
            yield item


async def settle(turns: int = 20) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


# ---- the clocks --------------------------------------------------------------------------------
async def test_a_paused_scaled_clock_stands_still_and_resumes_where_it_stopped():
    clock = ScaledClock(speed=10.0)
    await asyncio.sleep(0.05)
    clock.pause()
    stopped_at = clock.now()
    await asyncio.sleep(0.1)
    assert clock.now() == stopped_at and clock.paused
    waiter = asyncio.ensure_future(clock.sleep_until(stopped_at + 0.2))
    await asyncio.sleep(0.1)
    assert not waiter.done()  # session time does not pass while paused
    clock.resume()
    assert clock.now() == pytest.approx(stopped_at, abs=0.02)  # no jump over the pause
    started = time.monotonic()
    await waiter
    assert 0.01 < time.monotonic() - started < 0.2  # 0.2 session s at 10x


async def test_an_instant_clock_waits_for_resume_while_paused():
    clock = InstantClock(5.0)
    clock.pause()
    clock.advance_to(10.0)
    assert clock.now() == 5.0
    waiter = asyncio.ensure_future(clock.sleep_until(7.0))
    await settle()
    assert not waiter.done()
    clock.resume()
    await waiter
    assert clock.now() == 7.0


# ---- pause, mark, keys ---------------------------------------------------------------------------
async def test_space_pauses_the_session_its_clock_and_the_pacer_and_space_resumes(qtbot):
    clock = InstantClock()
    window = coach(qtbot, clock)
    beats: list[Beat] = []
    events: list[SessionEvent] = []

    def on_event(event: SessionEvent) -> None:
        window.handle(event)
        events.append(event)
        if isinstance(event, Snapshot):
            beats.append(event.beat)

    strap = SimulatedStrap(Pacer.for_protocol(DEMO), clock, seed=2)
    session = Session(DEMO, strap, on_event, duration_s=90.0, clock=clock)
    window.attach(session)
    run = asyncio.ensure_future(session.run())
    while clock.now() < 65.0:  # in the first paced breath: breathing in
        await asyncio.sleep(0)
    qtbot.keyClick(window, Key.Key_Space)
    stopped_at, count = clock.now(), len(beats)
    await settle(200)
    assert clock.now() == stopped_at and len(beats) == count and not run.done()
    assert session.paused and isinstance(events[-1], Paused)
    window.render_frame()
    elapsed, lung = window.elapsed_label.text(), window.pacer_item.lung
    await settle(50)
    window.render_frame()
    assert window.pacer_label.text() == "paused"
    assert window.elapsed_label.text() == elapsed and window.pacer_item.lung == lung
    assert window.pacer_item.dimmed and window.pause_button.text() == "Resume"
    assert "paused" in window.remaining_label.text()

    qtbot.keyClick(window, Key.Key_Space)
    ended = await run
    assert ended.reason == "duration reached"
    assert any(isinstance(e, Resumed) for e in events) and len(beats) > count + 20
    assert not any(b.after_gap for b in beats)  # the simulator waited: no beat was lost
    assert session.dropped_while_paused == 0


async def test_beats_a_strap_sends_while_paused_are_left_out_and_the_next_follows_a_gap():
    clock = InstantClock()
    strap = PushedStrap()
    recorded: list[Beat] = []

    class Recorder:
        def record_beat(self, beat: Beat) -> None:
            recorded.append(beat)

        def record_phase(self, phase: object) -> None: ...

        def record_status(self, status: object) -> None: ...

        def record_annotation(self, annotation: object) -> None: ...

    session = Session(DEMO, strap, lambda event: None, Recorder(), clock=clock)
    run = asyncio.ensure_future(session.run())
    for t_s in (1.0, 2.0, 3.0):
        await strap.queue.put(Beat(1000.0, t_s))
    await settle()
    session.pause()
    for t_s in (3.001, 3.002):  # a paused clock: the strap's beats pile up at the same time
        await strap.queue.put(Beat(1000.0, t_s))
    await settle()
    session.resume()
    await strap.queue.put(Beat(1000.0, 4.0))
    await strap.queue.put(None)
    await run
    assert [b.time_s for b in recorded] == [1.0, 2.0, 3.0, 4.0]
    assert [b.after_gap for b in recorded] == [False, False, False, True]
    assert session.dropped_while_paused == 2


async def test_m_marks_the_moment_on_the_plot_and_as_a_note_in_the_store(qtbot, tmp_path):
    from hrvcoach.store import Store, StoreRecorder

    clock = InstantClock()
    window = coach(qtbot, clock)
    with Store.open(tmp_path) as store:
        recorder = StoreRecorder(store, protocol=DEMO.name, source="simulator")
        strap = SimulatedStrap(Pacer.for_protocol(DEMO), clock, seed=2)
        session = Session(DEMO, strap, window.handle, recorder, duration_s=40.0, clock=clock)
        window.attach(session)
        run = asyncio.ensure_future(session.run())
        while clock.now() < 20.0:
            await asyncio.sleep(0)
        qtbot.keyClick(window, Key.Key_M)
        marked_at = clock.now()
        qtbot.keyClick(window, Key.Key_Space)  # a pause and a resume are annotated too
        qtbot.keyClick(window, Key.Key_Space)
        await run
        window.render_frame(30.0)
        recorder.close("completed", run.result().reason)
        annotations = store.annotations(recorder.session_id)
    notes = [a for a in annotations if a.kind == "note"]
    assert [(a.time_s, a.text) for a in notes] == [(pytest.approx(marked_at), "mark")]
    assert {"paused", "resumed"} <= {a.kind for a in annotations}
    assert window.mark_lines.xData.tolist() == [pytest.approx(marked_at)] * 2  # one vertical line
    assert window.status_label.text().startswith("marked at 00:2")


def test_mark_button_and_session_mark_emit_a_marked_event(qtbot):
    clock = InstantClock(12.5)
    window = coach(qtbot, clock)
    events: list[SessionEvent] = []
    session = Session(DEMO, PushedStrap(), events.append, clock=clock)
    window.attach(session)
    window.mark_button.click()
    assert events == [Marked(12.5, "")]


def test_f_toggles_full_screen_escape_leaves_it_and_t_switches_the_theme(qtbot):
    window = coach(qtbot, InstantClock())
    window.show()
    qtbot.keyClick(window, Key.Key_F)
    assert window.isFullScreen() and window.fullscreen_button.text() == "Leave full screen"
    qtbot.keyClick(window, Key.Key_Escape)
    assert not window.isFullScreen()
    qtbot.keyClick(window, Key.Key_F)
    qtbot.keyClick(window, Key.Key_F)
    assert not window.isFullScreen()
    assert window.theme.name == "dark"
    qtbot.keyClick(window, Key.Key_T)
    assert window.theme.name == "light"


def test_a_minimized_window_draws_nothing_and_ticks_rarely(qtbot):
    window = coach(qtbot, InstantClock(30.0))
    window.show()
    qtbot.waitUntil(lambda: window.frames_rendered > 0, timeout=2000)
    window.showMinimized()
    assert window.frame_interval_ms == 1000
    frames = window.frames_rendered
    window.on_frame_timer()
    assert window.frames_rendered == frames
    window.showNormal()
    assert window.frame_interval_ms == round(1000 / window.fps)


# ---- stop, the end, the report -------------------------------------------------------------------
def find_window(qapp) -> CoachWindow | None:
    return next((w for w in qapp.topLevelWidgets() if isinstance(w, CoachWindow) and w.isVisible()),
                None)

def main_driven(drive: Callable[[], None], *argv: str, monkeypatch: pytest.MonkeyPatch,
                every_ms: int = 30) -> int:
    """`hrvcoach ARGV` with its window, `drive` called on a timer meanwhile (a display is
    pretended: Qt runs offscreen)."""
    from hrvcoach.views.cli import main as cli

    monkeypatch.setattr("hrvcoach.app.paths.has_display", lambda: True)
    poll = QtCore.QTimer()
    poll.timeout.connect(drive)
    poll.start(every_ms)
    try:
        return cli.main(list(argv))
    finally:
        poll.stop()



@pytest.fixture(autouse=True)
def close_windows_after(qapp):
    """A test whose window would never close fails after 30 s instead of hanging the suite."""
    def close_all() -> None:
        while (window := find_window(qapp)) is not None:
            window.close()

    guard = QtCore.QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(close_all)
    guard.start(30_000)
    yield
    guard.stop()


def test_stop_ends_the_session_and_the_window_stays_on_the_summary(qapp):
    clock = ScaledClock(speed=30.0)
    seen: dict[str, object] = {}

    def press_stop() -> None:
        window = find_window(qapp)
        if window is not None:
            seen["beats"] = len(window.state.beats)
            window.stop_button.click()

    def close_when_summarised() -> None:
        window = find_window(qapp)
        if window is not None and window.ended is not None and \
                window.body_stack.currentWidget() is window.summary_page:
            seen["summary"] = window.summary_label.text()
            seen["rows"] = window.summary_table.rowCount()
            seen["report"] = window.report_button.isEnabled()
            seen["stop"] = window.stop_button.isEnabled()
            window.close()

    QtCore.QTimer.singleShot(700, press_stop)
    poll = QtCore.QTimer()
    poll.timeout.connect(close_when_summarised)
    poll.start(50)
    try:
        ended = run_window(lambda on_event: Session(
            DEMO, SimulatedStrap(Pacer.for_protocol(DEMO), clock), on_event, clock=clock),
            DEMO, clock)
    finally:
        poll.stop()
    assert isinstance(ended, SessionEnded) and ended.reason == "stopped"
    assert ended.beats >= 10 and seen["beats"]
    assert str(seen["summary"]).startswith("Session stopped after 00:")
    assert seen["rows"] >= 6 and seen["report"] is False and seen["stop"] is False


def test_the_end_shows_the_stored_before_after_comparison_and_opens_the_report(
        qapp, tmp_path, monkeypatch):
    seen: dict[str, object] = {}

    def at_the_end() -> None:
        window = find_window(qapp)
        if window is None or window.end_info is None or "verdict" in seen:
            return
        seen["verdict"] = window.verdict_label.text()
        seen["cells"] = [window.summary_table.itemAtPosition(1, c).widget().text() for c in range(4)]
        seen["rmssd_row"] = [window.summary_table.itemAtPosition(2, c).widget().text()
                             for c in range(3)]
        seen["headline"] = window.summary_label.text()
        opened: list[Path] = []
        window.open_file = opened.append
        window.report_button.click()
        seen["opened"] = opened
        seen["note"] = window.summary_note_label.text()
        window.close()

    # the whole demo (baseline, paced, recovery) in about a second
    code = main_driven(at_the_end, "--data-dir", str(tmp_path), "demo", "--speed", "300",
                       monkeypatch=monkeypatch, every_ms=50)
    assert code == 0
    assert "RMSSD +" in str(seen["verdict"]) or "RMSSD −" in str(seen["verdict"])
    assert "unreliable" in str(seen["verdict"])  # the demo's phases are 1 min: < 2 min
    assert seen["cells"][0] == "ln RMSSD"  # the comparison's first marker, before and after
    label, before, after = seen["rmssd_row"]  # type: ignore[misc]
    assert label == "RMSSD"  # the headline says the table's numbers, not other ones
    assert f"RMSSD {before.removesuffix(' ms')} → {after}" in str(seen["headline"])
    (report,) = seen["opened"]
    assert report == tmp_path / "reports" / "session-1.pdf" and report.stat().st_size > 10_000
    assert f"report saved: {report}" == seen["note"]


# ---- every kind of source ------------------------------------------------------------------------
def test_the_window_builds_with_a_bluetooth_source_and_shows_its_status(qtbot):
    from hrvcoach.sources.ble.source import BleSource

    clock = ScaledClock()
    window = coach(qtbot, clock)
    source = BleSource("Polar H10 2B3C4D5E", clock)  # never connected here (see test_cli_ble)
    session = Session(DEMO, source, window.handle, clock=clock)
    window.attach(session)
    window.handle(SourceStatus(StatusKind.CONNECTING, 0.5, "Polar H10 2B3C4D5E"))
    window.render_frame(0.5)
    assert window.connection_label.text().startswith("● connecting")
    window.handle(SourceStatus(StatusKind.CONNECTED, 1.0, "Polar H10 2B3C4D5E"))
    window.handle(SourceStatus(StatusKind.BATTERY, 1.2, value=80.0))
    window.handle(SourceStatus(StatusKind.CONTACT_LOST, 9.0, "no skin contact"))
    window.render_frame(9.5)
    assert window.connection_label.text() == "● no skin contact · Polar H10 2B3C4D5E"
    assert window.battery_label.text() == "battery 80 %"
    assert window.pause_button.isEnabled() and window.mark_button.isEnabled()


@pytest.mark.parametrize("kind", ["ble", "sim", "replay"])
def test_the_setup_page_starts_the_chosen_source_and_protocol(qapp, tmp_path, kind):
    from hrvcoach.protocols.protocol import list_protocols
    from hrvcoach.sources.ble.devices import match_profile
    from hrvcoach.sources.ble.scan import FoundStrap
    from hrvcoach.sources.ble.source import BleSource
    from hrvcoach.views.qt.loop import run_setup_window
    from hrvcoach.views.qt.setup import SetupChoice

    rr_file = tmp_path / "rr.txt"
    rr_file.write_text("\n".join(["900", "950", "1000", "950"] * 30))
    strap = FoundStrap("Polar H10 2B3C4D5E", "E4:9E:1A:2B:3C:4D", -50,
                       match_profile("Polar H10 2B3C4D5E"), True)

    async def fake_scan(timeout_s: float) -> list[FoundStrap]:  # no radio here
        await asyncio.sleep(0.02)
        return [strap]

    chosen: list[SetupChoice] = []
    built: list[object] = []

    def start(choice: SetupChoice, on_event) -> StartedSession:
        chosen.append(choice)
        clock = ScaledClock(speed=60.0)
        if choice.source == "ble":
            built.append(BleSource(choice.device or "", clock))
            source = ReplaySource([950.0] * 60, clock, name="a strap stand-in")  # no radio here
        elif choice.source == "replay":
            from hrvcoach.files.rr_files import read_rr_file

            source = ReplaySource(read_rr_file(choice.replay_file).rr_ms, clock, name="rr.txt")
        else:
            source = SimulatedStrap(Pacer.for_protocol(choice.protocol), clock)
        built.append(source)
        session = Session(choice.protocol, source, on_event, duration_s=15.0, clock=clock)
        return StartedSession(session, choice.protocol, clock, lambda ended: EndOfSession(
            note="nothing stored in this test"), f"{kind} source")

    seen: dict[str, object] = {}

    def choose() -> None:
        window = find_window(qapp)
        setup = window.setup if window is not None else None
        if setup is None or "chose" in seen:
            return
        if kind == "ble" and setup.strap_list.count() == 0:
            return  # still scanning
        seen["chose"] = True
        setup.protocol_combo.setCurrentIndex([p.name for p in setup.protocols].index("qigong"))
        {"ble": setup.ble_radio, "sim": setup.sim_radio, "replay": setup.replay_radio}[kind].click()
        if kind == "replay":
            setup.set_replay_file(rr_file)
        setup.start_button.click()

    def close_at_the_end() -> None:
        window = find_window(qapp)
        if window is not None and window.ended is None and window.state.phase is not None:
            seen["phase"] = window.phase_step_label.text()
        if window is not None and window.end_info is not None:
            seen["page"] = window.pages.currentWidget() is window.coach_page
            seen["connection"] = window.connection_label.text()
            seen["note"] = window.summary_note_label.text()
            window.close()

    poll = QtCore.QTimer()
    poll.timeout.connect(choose)
    poll.timeout.connect(close_at_the_end)
    poll.start(40)
    try:
        ended = run_setup_window(list_protocols(), start, scan=fake_scan)
    finally:
        poll.stop()
    (choice,) = chosen
    assert choice.source == kind and choice.protocol.name == "qigong"
    assert choice.device == ("E4:9E:1A:2B:3C:4D" if kind == "ble" else None)
    assert choice.replay_file == (rr_file if kind == "replay" else None)
    if kind == "ble":
        assert isinstance(built[0], BleSource) and built[0].device == "E4:9E:1A:2B:3C:4D"
    assert isinstance(ended, SessionEnded) and ended.reason == "duration reached"
    assert seen["page"] and str(seen["phase"]).startswith("qigong · phase 1")
    assert str(seen["note"]).startswith("nothing stored in this test")


def test_a_bad_choice_is_shown_on_the_setup_page_which_waits_for_another(qapp):
    from hrvcoach.core.errors import InputError
    from hrvcoach.protocols.protocol import list_protocols
    from hrvcoach.views.qt.loop import run_setup_window

    def start(choice, on_event) -> StartedSession:
        raise InputError("rr.txt:3", "RR is not a number: '8x0'")

    seen: list[str] = []

    def press_start_then_close() -> None:
        window = find_window(qapp)
        if window is None or window.setup is None:
            return
        if not seen:
            window.setup.start_button.click()  # the simulator is preselected without a scanner
            seen.append("")
        elif window.setup.error_label.text():
            seen.append(window.setup.error_label.text())
            window.close()

    poll = QtCore.QTimer()
    poll.timeout.connect(press_start_then_close)
    poll.start(40)
    try:
        assert run_setup_window(list_protocols(), start) is None
    finally:
        poll.stop()
    assert seen[-1] == "rr.txt:3: RR is not a number: '8x0'"


def test_hrvcoach_window_runs_the_chosen_simulator_session_and_stores_marks(qapp, tmp_path,
                                                                            monkeypatch):
    from hrvcoach.store import Store
    seen: dict[str, object] = {}

    def drive() -> None:
        window = find_window(qapp)
        if window is None:
            return
        if window.setup is not None and window.pages.currentWidget() is window.setup:
            window.setup.sim_radio.click()
            window.setup.start_button.click()
        elif window.ended is None and len(window.state.beats) > 5 and "marked" not in seen:
            seen["marked"] = True
            window.mark_button.click()
        elif window.end_info is not None:
            seen["note"] = window.summary_note_label.text()
            window.close()

    code = main_driven(drive, "--data-dir", str(tmp_path), "window", "--speed", "40",
                       "--duration", "30", monkeypatch=monkeypatch)
    assert code == 0
    with Store.open(tmp_path) as store:
        (info,) = store.sessions()
        assert info.status == "completed" and info.source == "simulator" and info.n_beats > 20
        assert [a.kind for a in store.annotations(info.id) if a.kind == "note"] == ["note"]
    assert "The session ended before its recovery phase" in str(seen["note"])  # 30 s of demo


def test_a_resonance_assessment_of_the_simulated_strap_is_shown_as_a_demo_and_not_stored(
        qapp, tmp_path, monkeypatch):
    from hrvcoach.history.profile import load_profile
    seen: dict[str, object] = {}

    def drive() -> None:
        window = find_window(qapp)
        if window is None:
            return
        setup = window.setup
        if setup is not None and window.pages.currentWidget() is setup:
            names = [protocol.name for protocol in setup.protocols]
            setup.protocol_combo.setCurrentIndex(names.index("resonance-assessment"))
            setup.sim_radio.click()
            setup.start_button.click()
        elif window.end_info is not None:
            seen["note"] = window.summary_note_label.text()
            window.close()

    # the whole assessment (five rate blocks) at 400x
    code = main_driven(drive, "--data-dir", str(tmp_path), "window", "--speed", "400",
                       monkeypatch=monkeypatch)
    assert code == 0
    assert load_profile(tmp_path).resonance_breaths_per_min is None  # the user's profile is theirs
    note = str(seen["note"])
    assert note.startswith("Assessed rate: 5.5 breaths/min — a demo")  # the simulator's own rate
    assert "your profile is unchanged" in note
