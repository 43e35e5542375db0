"""The coach window draws what the session sent it, on its own timer, and saves a screenshot.

Real widgets on Qt's offscreen platform (tests/conftest.py sets it). Curves are read through
`xData`/`yData`: `getData()` returns only the part pyqtgraph currently displays.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Self

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.clock import Clock, InstantClock, ScaledClock
from hrvcoach.core.errors import DeviceError
from hrvcoach.core.markers import EMPTY_MARKERS, Markers
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import Breath, Phase, Protocol, load_protocol
from hrvcoach.session import (
    PhaseStarted,
    Session,
    SessionEnded,
    SessionEvent,
    Snapshot,
)
from hrvcoach.sources.simulator import SimulatedStrap
from hrvcoach.views.qt.loop import StartedSession, run_window
from hrvcoach.views.qt.window import WINDOW_SIZE, CoachWindow

# protocols/demo.toml: settle (baseline) 0-60 s, slow breathing 6/min 60-240 s (4 s in, 6 s out),
# rest 240-300 s. The first paced breath: in 60-64 s, out 64-70 s.
DEMO = load_protocol("demo")


def snapshot(pacer: Pacer, t_s: float, rr_ms: float, *, markers: Markers = EMPTY_MARKERS,
             contact: bool | None = True, after_gap: bool = False) -> Snapshot:
    """A Snapshot as the session would send it for one beat of the demo protocol."""
    index, phase, _ = DEMO.phase_at(t_s)
    beat = Beat(rr_ms, t_s, contact=contact, after_gap=after_gap)
    return Snapshot(t_s, beat, 60_000.0 / rr_ms, index, phase, pacer.state_at(t_s), markers)


@pytest.fixture
def pacer() -> Pacer:
    return Pacer.for_protocol(DEMO)


@pytest.fixture
def window(qtbot, pacer: Pacer) -> CoachWindow:
    coach = CoachWindow(DEMO, pacer, InstantClock())
    qtbot.addWidget(coach)
    return coach


def feed_beats(window: CoachWindow, pacer: Pacer, start_s: float, end_s: float,
               step_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """One beat every step_s with a slowly varying RR; returns beat times and instant HRs."""
    times = np.arange(start_s, end_s + 1e-9, step_s)
    rr_ms = 900.0 + 80.0 * np.sin(times / 3.0)
    for t_s, rr in zip(times, rr_ms, strict=True):
        window.handle(snapshot(pacer, float(t_s), float(rr)))
    return times, 60_000.0 / rr_ms


def test_render_frame_draws_exactly_the_fed_heart_rates_of_the_last_history_s(window, pacer):
    times, hrs = feed_beats(window, pacer, 0.0, 150.0)
    window.render_frame(150.0)
    keep = times >= 150.0 - window.history_s
    np.testing.assert_array_equal(window.hr_curve.xData, times[keep])
    np.testing.assert_allclose(window.hr_curve.yData, hrs[keep], rtol=1e-12)
    assert window.hr_curve.xData.min() >= 60.0  # the first 60 s scrolled out of the 90 s history


def test_beats_older_than_history_are_dropped_from_the_buffer_and_the_plot(qtbot, pacer):
    coach = CoachWindow(DEMO, pacer, InstantClock(), history_s=30.0)
    qtbot.addWidget(coach)
    times, _ = feed_beats(coach, pacer, 0.0, 100.0, step_s=0.5)
    coach.render_frame(100.0)
    np.testing.assert_array_equal(coach.hr_curve.xData, times[times >= 70.0])
    coach.render_frame(125.0)  # no beats for 25 s: the old ones scroll out anyway
    np.testing.assert_array_equal(coach.hr_curve.xData, times[times >= 95.0])


def test_number_labels_show_the_latest_markers_and_a_dash_while_nan(window, pacer):
    window.render_frame(1.0)
    assert window.hr_label.text() == "—"
    assert window.rmssd_label.text() == "—"
    window.handle(snapshot(pacer, 2.0, 900.0, markers=Markers(66.4, math.nan, 2)))
    window.render_frame(2.0)
    assert window.hr_label.text() == "66"
    assert window.rmssd_label.text() == "—"
    window.handle(snapshot(pacer, 3.0, 880.0, markers=Markers(67.2, 41.6, 3)))
    window.handle(snapshot(pacer, 4.0, 870.0, markers=Markers(68.9, 43.4, 4)))
    window.render_frame(4.0)
    assert window.hr_label.text() == "69"
    assert window.rmssd_label.text() == "43"


def test_phase_elapsed_and_status_labels(window, pacer):
    paced = DEMO.phases[1]
    window.handle(PhaseStarted(60.0, 1, paced))
    window.handle(SourceStatus(StatusKind.BATTERY, 61.0, value=80.0))
    window.render_frame(75.5)
    assert window.phase_label.text() == "slow breathing"
    assert "6 breaths/min" in window.phase_step_label.text()
    assert window.guidance_label.text() == paced.guidance
    assert window.elapsed_label.text() == "01:15 / 05:00"
    assert window.battery_label.text() == "battery 80 %"  # the footer's battery chip


def test_pacer_says_in_and_out_and_its_disc_is_larger_near_full_inhale(window):
    window.render_frame(62.0)
    assert window.pacer_label.text() == "breathe in"
    assert window.pacer_count_label.text() == "2 s"
    window.render_frame(67.0)
    assert window.pacer_label.text() == "breathe out"
    window.render_frame(63.9)  # almost fully in
    near_full_inhale = window.pacer_item.disc_radius_px()
    window.render_frame(69.9)  # almost fully out
    near_full_exhale = window.pacer_item.disc_radius_px()
    assert near_full_inhale > 1.5 * near_full_exhale > 0


def test_pacer_is_hidden_and_says_breathe_freely_in_the_baseline(window):
    window.render_frame(30.0)
    assert window.pacer_label.text() == "breathe freely"
    assert window.pacer_item.paced is False
    assert window.pacer_item.disc_radius_px() == 0.0


def test_breath_wave_covers_the_visible_range_beneath_the_heart_rate(window, pacer):
    feed_beats(window, pacer, 30.0, 150.0)
    window.render_frame(150.0)
    (x0, x1), _ = window.plot.getPlotItem().getViewBox().viewRange()
    wave_t, wave_y = window.breath_curve.xData, window.breath_curve.yData
    assert wave_t[0] <= x0 and wave_t[-1] >= x1
    assert np.all(np.diff(wave_t) > 0)
    lung = np.array([pacer.state_at(t).lung for t in wave_t])
    slope, offset = np.polyfit(lung, wave_y, 1)
    assert slope > 0
    np.testing.assert_allclose(wave_y, offset + slope * lung, atol=1e-9)
    assert wave_y.max() < window.hr_curve.yData.min()  # the wave sits beneath the trace


def test_gap_and_no_contact_beats_are_marked(window, pacer):
    window.handle(snapshot(pacer, 10.0, 900.0))
    window.handle(snapshot(pacer, 11.0, 910.0))
    window.handle(snapshot(pacer, 15.0, 920.0, after_gap=True))
    window.handle(snapshot(pacer, 16.0, 930.0))
    window.handle(snapshot(pacer, 17.0, 400.0, contact=False))
    window.handle(snapshot(pacer, 18.0, 940.0))
    window.render_frame(20.0)
    x, y = window.gap_points.getData()
    np.testing.assert_array_equal(x, [15.0, 17.0])
    np.testing.assert_allclose(y, [60_000 / 920, 60_000 / 400])
    assert len(window.hr_curve.xData) == 6


def test_handle_stores_events_but_only_render_frame_draws(window, pacer):
    feed_beats(window, pacer, 0.0, 20.0)
    window.render_frame(20.0)
    frames = window.frames_rendered
    drawn_x = window.hr_curve.xData.copy()
    window.handle(snapshot(pacer, 21.0, 800.0, markers=Markers(75.0, 50.0, 20)))
    window.handle(PhaseStarted(60.0, 1, DEMO.phases[1]))
    window.handle(SourceStatus(StatusKind.CONTACT_LOST, 21.5))
    assert window.frames_rendered == frames
    np.testing.assert_array_equal(window.hr_curve.xData, drawn_x)
    assert window.hr_label.text() != "75"
    assert window.status_label.text() != "contact lost"
    window.render_frame(22.0)
    assert window.frames_rendered == frames + 1
    assert window.hr_curve.xData[-1] == 21.0
    assert window.hr_label.text() == "75"
    assert window.status_label.text() == "contact lost"


def test_session_end_shows_a_summary_and_freezes_the_frame(window, pacer):
    feed_beats(window, pacer, 0.0, 20.0)
    window.handle(SessionEnded(20.0, "duration reached", 21, Markers(65.0, 38.0, 21),
                               Markers(64.0, 52.0, 21)))
    window.render_frame(20.5)
    window.render_frame(40.0)  # later frames keep showing the end
    assert window.summary_label.text().startswith("Session complete after 00:20, 21 beats.")
    assert "RMSSD 38.0 → 52.0 ms" in window.summary_label.text()  # the catalogue's digits
    # the header says how the session ended, not which phase it was in or the time left
    assert (window.phase_label.text(), window.elapsed_label.text(),
            window.remaining_label.text()) == ("session complete", "00:20", "complete")
    assert window.pacer_label.text() == "session complete"
    assert not window.pacer_item.paced  # the disc does not stay frozen mid-breath


def test_once_shown_a_timer_draws_frames_at_the_clock_time(qtbot, pacer):
    clock = InstantClock(62.0)  # in the first paced in-breath
    coach = CoachWindow(DEMO, pacer, clock, fps=50.0)
    qtbot.addWidget(coach)
    times, _ = feed_beats(coach, pacer, 30.0, 61.0)
    assert coach.frames_rendered == 0
    coach.show()
    qtbot.waitUntil(lambda: coach.frames_rendered >= 3, timeout=3000)
    assert coach.pacer_label.text() == "breathe in"
    assert coach.elapsed_label.text() == "01:02 / 05:00"
    np.testing.assert_array_equal(coach.hr_curve.xData, times)
    coach.close()
    frames = coach.frames_rendered
    qtbot.wait(100)
    assert coach.frames_rendered == frames  # closing stops the timer


# ---- run_window, end to end ----------------------------------------------------------------------
class FakeStrap:
    """A tiny Source: beats whose HR swings with the pacer, waiting on the clock; optional error."""

    def __init__(self, pacer: Pacer, clock: Clock, *, fail_at_s: float | None = None) -> None:
        self.pacer, self.clock, self.fail_at_s = pacer, clock, fail_at_s
        self.exited = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.exited = True

    async def beats(self) -> AsyncIterator[Beat | SourceStatus]:
        yield SourceStatus(StatusKind.CONNECTED, 0.0, "fake strap")
        t_s = 0.0
        while True:
            hr_bpm = 64.0 + 8.0 * (self.pacer.state_at(t_s).lung - 0.5)
            rr_ms = 60_000.0 / hr_bpm
            t_s += rr_ms / 1000.0
            if self.fail_at_s is not None and t_s > self.fail_at_s:
                raise DeviceError("fake strap: gone")
            await self.clock.sleep_until(t_s)
            yield Beat(rr_ms, t_s, contact=True, after_gap=16.0 < t_s < 17.0)


PACED_FROM_START = Protocol("short", "a short paced session for tests", (
    Phase("settle", "baseline", 5.0, guidance="Breathe as usual."),
    Phase("slow", "paced", 25.0, 6.0, Breath(0.4, 0.0, 0.6, 0.0), "Follow the pacer."),
))


def session_maker(protocol: Protocol, clock: Clock, duration_s: float | None,
                  strap: list[FakeStrap], fail_at_s: float | None = None):
    def make_session(on_event) -> Session:
        source = FakeStrap(Pacer.for_protocol(protocol), clock, fail_at_s=fail_at_s)
        strap.append(source)
        return Session(protocol, source, on_event, duration_s=duration_s)
    return make_session


def test_run_window_saves_a_screenshot_of_the_window_at_the_end(qapp, tmp_path):
    clock = ScaledClock(speed=60.0)
    strap: list[FakeStrap] = []
    path = tmp_path / "shots" / "coach.png"
    ended = run_window(session_maker(PACED_FROM_START, clock, 20.0, strap),
                       PACED_FROM_START, clock, screenshot=path)
    assert isinstance(ended, SessionEnded)
    assert ended.reason == "duration reached"
    assert ended.beats > 15
    assert strap[0].exited
    image = QtGui.QImage(str(path))
    assert not image.isNull()
    assert (image.width(), image.height()) == WINDOW_SIZE
    small = image.scaled(220, 140)  # sample the colours on a coarse grid
    colours = {small.pixel(x, y) for x in range(small.width()) for y in range(small.height())}
    assert len(colours) > 100
    assert not [w for w in qapp.topLevelWidgets() if isinstance(w, CoachWindow) and w.isVisible()]


def test_closing_the_window_early_stops_the_session_cleanly(qapp, caplog):
    clock = ScaledClock(speed=1.0)  # an hour-long session in real time: only closing ends it
    strap: list[FakeStrap] = []
    events: list[SessionEvent] = []

    def close_windows() -> None:
        for widget in qapp.topLevelWidgets():
            if isinstance(widget, CoachWindow) and widget.isVisible():
                if widget.ended is not None:
                    events.append(widget.ended)
                widget.close()

    QtCore.QTimer.singleShot(400, close_windows)
    with caplog.at_level(logging.WARNING):
        ended = run_window(session_maker(PACED_FROM_START, clock, 3600.0, strap),
                           PACED_FROM_START, clock)
    assert not events  # the session was still running when the window closed
    assert isinstance(ended, SessionEnded)
    assert ended.reason == "stopped"
    assert strap[0].exited
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_source_error_reaches_the_caller_of_run_window(qapp, tmp_path):
    clock = ScaledClock(speed=60.0)
    strap: list[FakeStrap] = []
    with pytest.raises(DeviceError, match="gone"):
        run_window(session_maker(PACED_FROM_START, clock, 20.0, strap, fail_at_s=5.0),
                   PACED_FROM_START, clock, screenshot=tmp_path / "never.png")
    assert not (tmp_path / "never.png").exists()
    assert strap[0].exited
    assert isinstance(QtWidgets.QApplication.instance(), QtWidgets.QApplication)


def test_without_a_screenshot_the_window_stays_open_on_the_summary_until_closed(qapp):
    clock = ScaledClock(speed=60.0)
    strap: list[FakeStrap] = []
    seen_after_end: list[str] = []

    def close_once_ended() -> None:
        for widget in qapp.topLevelWidgets():
            if isinstance(widget, CoachWindow) and widget.isVisible() and widget.ended:
                seen_after_end.append(widget.summary_label.text())
                if len(seen_after_end) == 5:  # still open several polls after the end
                    widget.close()

    poll = QtCore.QTimer()
    poll.timeout.connect(close_once_ended)
    poll.start(50)
    try:
        ended = run_window(session_maker(PACED_FROM_START, clock, 6.0, strap),
                           PACED_FROM_START, clock)
    finally:
        poll.stop()
    assert isinstance(ended, SessionEnded)
    assert ended.reason == "duration reached"
    assert len(seen_after_end) == 5
    assert seen_after_end[-1].startswith("Session complete after 00:06")


def test_run_window_returns_when_the_qt_application_quits_mid_session(qapp):
    clock = ScaledClock(speed=1.0)
    strap: list[FakeStrap] = []
    QtCore.QTimer.singleShot(300, qapp.quit)
    ended = run_window(session_maker(PACED_FROM_START, clock, 3600.0, strap),
                       PACED_FROM_START, clock)
    assert isinstance(ended, SessionEnded)
    assert ended.reason == "stopped"
    assert strap[0].exited


# ---- session time starts when the window is on screen -------------------------------------------
class FakeRealTime:
    """Real seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.s = 1000.0

    def __call__(self) -> float:
        return self.s


def test_a_restarted_scaled_clock_counts_from_zero_and_a_paused_one_stays_at_zero():
    real = FakeRealTime()
    clock = ScaledClock(speed=100.0, real_s=real)
    real.s += 0.05
    assert clock.now() == pytest.approx(5.0)
    clock.restart()
    assert clock.now() == 0.0
    clock.pause()
    real.s += 0.02
    clock.restart()
    assert clock.paused and clock.now() == 0.0
    clock.resume()
    real.s += 0.02
    assert clock.now() == pytest.approx(2.0)


def test_the_coach_page_counts_as_drawn_once_qt_painted_it(qtbot, pacer):
    coach = CoachWindow(DEMO, pacer, InstantClock())
    qtbot.addWidget(coach)
    qtbot.wait(50)
    assert not coach.coach_page_drawn  # never shown: never painted
    coach.show()
    qtbot.waitUntil(lambda: coach.coach_page_drawn, timeout=3000)


class LateClock(InstantClock):
    """A fake clock already `start_s` into the session (Qt took that long to load) until restarted;
    it notes whether the coach window was on screen and drawn when `restart` was called."""

    def __init__(self, start_s: float, qapp: QtWidgets.QApplication) -> None:
        super().__init__(start_s)
        self.qapp = qapp
        self.restarts: list[tuple[bool, bool]] = []  # (window visible, coach page drawn)

    def restart(self) -> None:
        window = next(w for w in self.qapp.topLevelWidgets() if isinstance(w, CoachWindow))
        self.restarts.append((window.isVisible(), window.coach_page_drawn))
        self._now = 0.0


def recording(on_event: Callable[[SessionEvent], None], seen: list[Snapshot],
              clock: Clock, lags: list[float]) -> Callable[[SessionEvent], None]:
    """on_event, noting each Snapshot and how far the clock ran ahead of its beat."""
    def record(event: SessionEvent) -> None:
        if isinstance(event, Snapshot):
            seen.append(event)
            lags.append(clock.now() - event.time_s)
        on_event(event)
    return record


def recorded_session(clock: Clock, snapshots: list[Snapshot],
                     lags: list[float]) -> Callable[[Callable[[SessionEvent], None]], Session]:
    """A make_session for run_window: 20 s paced from the start on a simulated strap, noted."""
    def make_session(on_event: Callable[[SessionEvent], None]) -> Session:
        return Session(PACED_FROM_START, SimulatedStrap(Pacer.for_protocol(PACED_FROM_START), clock),
                       recording(on_event, snapshots, clock, lags), duration_s=20.0, clock=clock)
    return make_session


def test_run_window_restarts_a_late_clock_once_the_window_is_drawn(qapp, tmp_path):
    clock = LateClock(30.0, qapp)
    snapshots: list[Snapshot] = []
    lags: list[float] = []

    make_session = recorded_session(clock, snapshots, lags)
    ended = run_window(make_session, PACED_FROM_START, clock, screenshot=tmp_path / "late.png")
    assert clock.restarts == [(True, True)]  # once, with the coach page on screen
    assert isinstance(ended, SessionEnded) and ended.reason == "duration reached"
    assert snapshots and snapshots[0].time_s < 2.0  # the simulated strap began at session time 0
    assert snapshots[0].phase_index == 0 and ended.beats >= 15


def test_a_slow_start_passes_no_session_time_at_high_speed(qapp, tmp_path, monkeypatch):
    """0.3 s spent loading after the clock was made would skip 18 s of session time at 60x."""
    real = FakeRealTime()
    clock = ScaledClock(speed=60.0, real_s=lambda: real() + time.monotonic())
    real.s += 0.3  # the CLI makes the clock, then imports Qt and builds the window
    frames: list[str] = []
    render = CoachWindow.render_frame

    def render_and_note(self: CoachWindow, *args: object, **kwargs: object) -> None:
        render(self, *args, **kwargs)
        frames.append(self.elapsed_label.text())

    monkeypatch.setattr(CoachWindow, "render_frame", render_and_note)
    snapshots: list[Snapshot] = []
    lags: list[float] = []

    make_session = recorded_session(clock, snapshots, lags)
    ended = run_window(make_session, PACED_FROM_START, clock, screenshot=tmp_path / "fast.png")
    assert frames and frames[0] == "00:00 / 00:20"  # the first thing the user sees: time 0
    # without the restart both would be 18 s or more (0.1 real s of slack is 6 s at 60x)
    assert snapshots and snapshots[0].time_s < 6.0  # the baseline is there from its start
    assert lags[0] < 6.0  # ... and its beats come on time, not in a burst to catch up
    assert isinstance(ended, SessionEnded) and ended.beats >= 15


def test_a_session_from_the_setup_page_starts_at_time_zero_once_drawn(qapp):
    from hrvcoach.protocols.protocol import list_protocols
    from hrvcoach.views.qt.loop import run_setup_window
    from hrvcoach.views.qt.setup import SetupChoice

    clocks: list[LateClock] = []
    snapshots: list[Snapshot] = []
    lags: list[float] = []

    def start(choice: SetupChoice, on_event) -> StartedSession:
        clock = LateClock(30.0, qapp)  # as if opening the source had taken 30 s of session time
        clocks.append(clock)
        strap = SimulatedStrap(Pacer.for_protocol(choice.protocol), clock)
        session = Session(choice.protocol, strap, recording(on_event, snapshots, clock, lags),
                          duration_s=20.0, clock=clock)
        return StartedSession(session, choice.protocol, clock)

    deadline = time.monotonic() + 20.0

    def press_start_then_close_at_the_end() -> None:
        window = next((w for w in qapp.topLevelWidgets()
                       if isinstance(w, CoachWindow) and w.isVisible()), None)
        if window is None or window.setup is None:
            return
        if not clocks:
            window.setup.start_button.click()  # the simulator is preselected without a scanner
        elif window.ended is not None or time.monotonic() > deadline:
            window.close()

    poll = QtCore.QTimer()
    poll.timeout.connect(press_start_then_close_at_the_end)
    poll.start(40)
    try:
        ended = run_setup_window(list_protocols(), start)
    finally:
        poll.stop()
    (clock,) = clocks
    assert clock.restarts == [(True, True)]
    assert isinstance(ended, SessionEnded) and ended.reason == "duration reached"
    assert snapshots and snapshots[0].time_s < 2.0 and snapshots[0].phase_index == 0
