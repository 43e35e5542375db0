"""Running the coach window: one qasync event loop for Qt and the session's asyncio task (no
threads), session time 0 once the coach page is first drawn, the end page, screenshots, Ctrl+C.

`run_coach_window(run)` shows a CoachRun's session; `run_setup_window_with_store` opens on the
setup page and starts a CoachRun for what the user chose. `run_window`/`run_setup_window` are
the same without the store (tests and benchmarks give them their own sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

from PySide6 import QtCore, QtWidgets

# isort: split
import qasync  # after PySide6, so it binds to it (pyqtgraph too, in views.qt.panels)

from hrvcoach.core.clock import Clock, RestartableClock
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import Protocol
from hrvcoach.session import Session, SessionEnded, SessionEvent
from hrvcoach.views.qt.summary import EndOfSession
from hrvcoach.views.qt.theme import ThemeName
from hrvcoach.views.qt.window import START_WAIT_S, CoachWindow, LslSwitch

if TYPE_CHECKING:
    from hrvcoach.app.coach_run import CoachRun, CoachSettings, SessionSaved
    from hrvcoach.sources.ble.scan import FoundStrap
    from hrvcoach.views.qt.setup import ScanFunction, SetupChoice

__all__ = ["StartedSession", "run_coach_window", "run_qt_loop", "run_setup_window",
           "run_setup_window_with_store", "run_window", "save_screenshot"]

log = logging.getLogger(__name__)

T = TypeVar("T")
EndHook = Callable[[SessionEnded], EndOfSession | None]


@dataclass(frozen=True, slots=True)
class StartedSession:
    """What the CLI makes of the choices on the setup page."""

    session: Session
    protocol: Protocol
    clock: Clock
    on_end: EndHook | None = None
    source_label: str = ""
    lsl: LslSwitch | None = None  # the session's LSL streams (the window's checkbox)


def _qt_app(title: str) -> QtWidgets.QApplication:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0] or title])
    if not isinstance(app, QtWidgets.QApplication):
        raise RuntimeError(f"the coach window needs a QApplication, found {type(app).__name__}")
    return app


def run_window(make_session: Callable[[Callable[[SessionEvent], None]], Session],
               protocol: Protocol, clock: Clock, *, screenshot: Path | None = None,
               title: str = "hrvcoach", theme: ThemeName = "dark",
               on_end: EndHook | None = None, source_label: str = "",
               lsl: LslSwitch | None = None) -> SessionEnded | None:
    """Show the coach window and run the session in it; returns how the session ended.

    With `screenshot`, the window is saved as a PNG there when the session ends and closed;
    otherwise it stays open on the summary until the user closes it (`on_end` supplies the
    stored comparison and the report). Closing the window early stops the session (which still
    reports its end). Ctrl+C closes the window the same way.
    """
    _qt_app(title)
    window = CoachWindow(protocol, Pacer.for_protocol(protocol), _StillClock(), theme=theme,
                         source_label=source_label)  # `_drive` starts `clock` once drawn
    window.summary_at_end = screenshot is None  # a screenshot shows the coaching, not the summary
    window.set_lsl(lsl)

    async def main() -> SessionEnded | None:
        session = make_session(window.handle)
        window.total_s = session.end_s
        window.timeline.set_phases(protocol.phases, session.end_s)
        return await _drive(session, clock, window, screenshot, on_end)

    return _run_loop(window, title, main)


def run_setup_window(protocols: Sequence[Protocol],
                     start: Callable[[SetupChoice, Callable[[SessionEvent], None]], StartedSession],
                     *, scan: ScanFunction | None = None, default_protocol: str = "demo",
                     replay_file: Path | None = None, title: str = "hrvcoach",
                     theme: ThemeName = "dark") -> SessionEnded | None:
    """Show the window on its setup page (source and protocol); Start runs the chosen session.

    `scan` lists the Bluetooth straps in range (None: no Bluetooth choice). `start` makes the
    session; a bad choice raises a HrvcoachError, shown on the page, which waits for another.
    Returns None when the window is closed before a session started.
    """
    from hrvcoach.views.qt.setup import SetupPanel

    _qt_app(title)
    setup = SetupPanel(protocols, scan=scan, default_protocol=default_protocol)
    if replay_file is not None:
        setup.set_replay_file(replay_file)
    protocol = setup.default_protocol()
    window = CoachWindow(protocol, Pacer.for_protocol(protocol), _StillClock(), theme=theme)
    window.setup = setup
    window.pages.insertWidget(0, setup)
    window.pages.setCurrentWidget(setup)
    window.set_theme(theme)

    async def main() -> SessionEnded | None:
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        try:
            while True:
                choice = await _first_of(setup.wait_for_choice(), closed.wait())
                if choice is None:
                    return None
                try:
                    started = start(choice, window.handle)
                except HrvcoachError as exc:
                    setup.show_error(str(exc))
                    continue
                break
        finally:
            await setup.stop_scanning()
        window.begin(started.protocol, started.session.pacer, _StillClock(),
                     total_s=started.session.end_s,  # `_drive` starts the clock once drawn
                     source_label=started.source_label)
        window.pages.setCurrentWidget(window.coach_page)
        window.set_lsl(started.lsl)
        return await _drive(started.session, started.clock, window, None, started.on_end)

    return _run_loop(window, title, main)


async def _first_of(choice: Awaitable[SetupChoice], closing: Awaitable[object]) -> SetupChoice | None:
    """The user's choice, or None when the window closes first."""
    chosen, closed = asyncio.ensure_future(choice), asyncio.ensure_future(closing)
    try:
        await asyncio.wait({chosen, closed}, return_when=asyncio.FIRST_COMPLETED)
        return chosen.result() if chosen.done() else None
    finally:
        for task in (chosen, closed):
            task.cancel()
        await asyncio.wait({chosen, closed})


class _StillClock:
    """Session time before a session exists: always 0."""

    def now(self) -> float:
        return 0.0

    async def sleep_until(self, t_s: float) -> None:
        await asyncio.sleep(0)


def _run_loop(window: CoachWindow, title: str,
              main: Callable[[], Awaitable[SessionEnded | None]]) -> SessionEnded | None:
    return run_qt_loop(window, title, main, if_qt_quits=lambda: window.ended)


def run_qt_loop(window: QtWidgets.QMainWindow, title: str, main: Callable[[], Awaitable[T]], *,
                if_qt_quits: Callable[[], T]) -> T:
    """Show `window` and run `main` on one qasync loop with Qt (Ctrl+C closes the window); if
    Qt quits first, `main` is cancelled and `if_qt_quits()` is returned instead."""
    app = _qt_app(title)
    window.setWindowTitle(title)
    quit_on_last_window = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)  # we decide when the loop ends, not Qt
    loop = qasync.QEventLoop(app)
    restore_sigint = _close_on_sigint(window)
    task = loop.create_task(main())  # type: ignore[arg-type]
    try:
        window.show()
        try:
            return loop.run_until_complete(task)
        except RuntimeError:
            if task.done():
                raise
            log.info("the Qt event loop quit before the session ended: stopping the session")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(task)
            return if_qt_quits()
    finally:
        restore_sigint()
        app.setQuitOnLastWindowClosed(quit_on_last_window)
        window.close()
        loop.close()
        window.deleteLater()


async def _drive(session: Session, clock: Clock, window: CoachWindow, screenshot: Path | None,
                 on_end: EndHook | None) -> SessionEnded | None:
    """Once the coach page is drawn, start `clock` at 0 and run the session on it until it ends,
    is stopped or the window closes; then screenshot, or show the summary until closed."""
    closed = asyncio.Event()
    stop = asyncio.Event()
    window.closed.connect(closed.set)
    window.stop_requested.connect(stop.set)
    window.render_frame()  # session time 0 (the window's still clock), the session's length
    if not await window.until_drawn() and window.isVisible():
        log.info("the coach page was not drawn within %g s: starting anyway", START_WAIT_S)
    if isinstance(clock, RestartableClock):
        clock.restart()  # session time 0 is what the user sees first
    window.clock = clock
    window.attach(session)
    run = asyncio.ensure_future(session.run())
    closing = asyncio.ensure_future(closed.wait())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({run, closing, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done():  # the user closed the window or pressed Stop: stop the session
            log.info("stopping the session (%s)", "window closed" if closing.done() else "Stop")
            if session.paused:
                session.resume()  # a paused clock would keep a source waiting
            run.cancel()
            await asyncio.wait({run})
            if not run.cancelled():
                run.result()  # an error while stopping is still an error
            if closing.done():
                return window.ended
            ended = window.ended
        else:
            ended = run.result()  # a source error propagates to the caller
        window.render_frame()
        if screenshot is not None:
            save_screenshot(window, screenshot)
            window.close()
            return ended
        if on_end is not None and ended is not None:
            window.show_end(on_end(ended))
        await closing
        return ended
    finally:
        for task in (run, closing, stopping):
            task.cancel()
        await asyncio.wait({run, closing, stopping})


def save_screenshot(window: QtWidgets.QWidget, path: Path) -> None:
    """Save the window as it looks now to a PNG file (parent folders are created)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(str(path), f"cannot create the folder for the screenshot ({exc})") from None
    QtWidgets.QApplication.processEvents()
    if not window.grab().save(str(path), "PNG"):
        raise InputError(str(path), "cannot save the screenshot as PNG")
    log.info("screenshot saved: %s", path)


def _close_on_sigint(window: QtWidgets.QWidget) -> Callable[[], None]:
    """Let Ctrl+C close the window (and so stop the session); returns a function that undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        QtCore.QTimer.singleShot(0, window.close)

    signal.signal(signal.SIGINT, on_sigint)

    def undo() -> None:
        signal.signal(signal.SIGINT, previous)

    return undo


# ---- with a CoachRun (the store, the journal, the finish) ---------------------------------------
def end_page(run: CoachRun, reports: Path) -> EndHook:
    """What the window shows once the run's session ends: the run saves it (status, markers,
    comparison, resonance assessment), and the report can be written to `reports`."""
    def on_end(ended: SessionEnded) -> EndOfSession:
        saved = run.finish(ended)
        notes = [] if saved.comparison is not None else [f"no stored comparison: {saved.comparison_note}"]
        if saved.resonance is not None:
            rate = saved.resonance.assessment.resonance_breaths_per_min
            notes.append("no rate block was long enough to score: the profile is unchanged"
                         if saved.resonance.saved_to is None else
                         f"your resonance rate: {rate:g} breaths/min (saved; protocols that say "
                         "\"resonance\" now use it)")

        def write_report() -> Path:
            from hrvcoach.views.report import write_session_report

            return write_session_report(run.store, saved.session_id,
                                        reports / f"session-{saved.session_id}.pdf")

        return EndOfSession(saved.comparison, " · ".join(notes), write_report)

    return on_end


def run_coach_window(run: CoachRun, *, screenshot: Path | None = None,
                     theme: ThemeName = "dark") -> SessionEnded | None:
    """Show the window for a CoachRun's session (see run_window); its end page comes from the run."""
    on_end = None if screenshot is not None else end_page(run, run.home / "reports")
    return run_window(run.session, run.protocol, run.clock, screenshot=screenshot, theme=theme,
                      on_end=on_end, source_label=run.source_label, lsl=run.lsl)


def coach_run_starter(home: Path, settings: CoachSettings, stack: contextlib.ExitStack,
                      runs: list[CoachRun]) -> Callable[[SetupChoice, Callable[[SessionEvent], None]],
                                                        StartedSession]:
    """A `start` for run_setup_window: a CoachRun for the setup page's choice (kept open in
    `stack`, listed in `runs`)."""
    from hrvcoach.app.coach_run import CoachRun
    from hrvcoach.sources.factory import BleSpec, ReplaySpec, SimulatorSpec, SourceSpec

    def start(choice: SetupChoice, on_event: Callable[[SessionEvent], None]) -> StartedSession:
        spec: SourceSpec
        match choice.source:
            case "ble":
                if settings.speed != 1.0:
                    raise InputError("--speed", "a Bluetooth strap runs in real time only")
                spec = BleSpec(choice.device or "")
            case "replay":
                from hrvcoach.files.rr_files import read_rr_file

                if choice.replay_file is None:
                    raise InputError("replay", "choose a recording first")
                recording = read_rr_file(choice.replay_file)
                spec = ReplaySpec(tuple(recording.rr_ms.tolist()), choice.replay_file.name)
            case _:
                spec = SimulatorSpec()
        run = stack.enter_context(CoachRun(home, choice.protocol, spec, settings))
        runs.append(run)
        return StartedSession(run.session(on_event), choice.protocol, run.clock,
                              end_page(run, home / "reports"), run.source_label, run.lsl)

    return start


def run_setup_window_with_store(protocols: Sequence[Protocol], home: Path, settings: CoachSettings,
                                *, default_protocol: str = "demo", replay_file: Path | None = None,
                                theme: ThemeName = "dark") -> list[SessionSaved]:
    """`hrvcoach window`: the setup page, then the chosen session as a CoachRun; what it saved."""
    runs: list[CoachRun] = []
    with contextlib.ExitStack() as stack:
        ended = run_setup_window(protocols, coach_run_starter(home, settings, stack, runs),
                                 scan=_ble_scan, default_protocol=default_protocol,
                                 replay_file=replay_file, theme=theme)
        return [run.finish(ended) for run in runs]


async def _ble_scan(timeout_s: float) -> list[FoundStrap]:
    from hrvcoach.sources.ble.scan import scan

    return await scan(timeout_s)
