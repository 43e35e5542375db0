"""Running the coach window: one qasync event loop for Qt and the session's asyncio task (no
threads), session time 0 once the coach page is first drawn, the sound, the end page, New
session (back to the setup page), screenshots, Ctrl+C.

`run_coach_window(run)` shows a CoachRun's session (with a setup page for New session when the
CLI offers one); `run_setup_window_with_store` opens on the setup page and starts a CoachRun for
each choice. `run_window`/`run_setup_window` are the same without the store (tests and
benchmarks give them their own sessions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

from PySide6 import QtCore, QtWidgets

# isort: split
import qasync  # after PySide6, so it binds to it (pyqtgraph too, in views.qt.panels)

from hrvcoach.app.paths import REPORTS
from hrvcoach.core.clock import Clock, RestartableClock, ScaledClock
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.core.records import Annotation
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import Protocol
from hrvcoach.session import Session, SessionEnded, SessionEvent
from hrvcoach.views.qt.summary import EndOfSession
from hrvcoach.views.qt.theme import ThemeName
from hrvcoach.views.qt.window import START_WAIT_S, CoachWindow, LslSwitch

if TYPE_CHECKING:
    from hrvcoach.app.coach_run import CoachRun, CoachSettings, SessionSaved
    from hrvcoach.sources.ble.scan import FoundStrap
    from hrvcoach.views.qt.setup import ScanFunction, SetupChoice, SetupPanel
    from hrvcoach.views.sound import SessionSound, SoundOptions

__all__ = ["SetupOffer", "StartedSession", "WindowOptions", "run_coach_window", "run_qt_loop",
           "run_setup_window",
           "run_setup_window_with_store", "run_window", "save_screenshot"]

log = logging.getLogger(__name__)

T = TypeVar("T")
EndHook = Callable[[SessionEnded], EndOfSession | None]
Starter = Callable[["SetupChoice", Callable[[SessionEvent], None]], "StartedSession"]


@dataclass(frozen=True, slots=True)
class StartedSession:
    """What the CLI makes of the choices on the setup page."""

    session: Session
    protocol: Protocol
    clock: Clock
    on_end: EndHook | None = None
    source_label: str = ""
    lsl: LslSwitch | None = None  # the session's LSL streams (the window's checkbox)


@dataclass(frozen=True, slots=True)
class WindowOptions:
    """How the window opens: its size, the focus view, the sound, what a screenshot shows, and
    where "Save as protocol" saves."""

    size: tuple[int, int] | None = None  # None: CoachWindow's WINDOW_SIZE
    focus: bool = False  # open on the focus view
    sound: SoundOptions | None = None  # None: no sound controls at all
    screenshot_summary: bool = False  # a screenshot shows the end page, not the last live frame
    protocol_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class SetupOffer:
    """What the setup page offers: protocols (built-in and the user's), how to start a session
    for a choice, the straps in range."""

    protocols: Sequence[Protocol]
    start: Starter
    scan: ScanFunction | None = None
    default_protocol: str = "demo"
    replay_file: Path | None = None
    user_protocols: Sequence[Protocol] = ()
    protocol_problems: Sequence[str] = field(default_factory=list)


def _qt_app(title: str) -> QtWidgets.QApplication:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0] or title])
    if not isinstance(app, QtWidgets.QApplication):
        raise RuntimeError(f"the coach window needs a QApplication, found {type(app).__name__}")
    return app


def _new_window(protocol: Protocol, theme: ThemeName, options: WindowOptions,
                offer: SetupOffer | None, source_label: str = "") -> CoachWindow:
    window = CoachWindow(protocol, Pacer.for_protocol(protocol), _StillClock(), theme=theme,
                         source_label=source_label)  # `_drive` starts the session's clock
    window.protocol_dir = options.protocol_dir
    if options.size is not None:
        window.resize(*options.size)
    if offer is not None:
        from hrvcoach.views.qt.setup import SetupPanel

        setup = SetupPanel(offer.protocols, scan=offer.scan,
                           default_protocol=offer.default_protocol,
                           user_protocols=offer.user_protocols,
                           protocol_problems=offer.protocol_problems,
                           protocol_dir=options.protocol_dir)
        if offer.replay_file is not None:
            setup.set_replay_file(offer.replay_file)
        window.setup = setup
        window.can_start_new = True
        window.pages.insertWidget(0, setup)
        setup.installEventFilter(window)  # `until_drawn` sees it painted
        window.set_theme(theme)
        window._arrange(force=True)  # the setup page's fonts at the window's scale
    return window


def run_window(make_session: Callable[[Callable[[SessionEvent], None]], Session],
               protocol: Protocol, clock: Clock, *, screenshot: Path | None = None,
               title: str = "hrvcoach", theme: ThemeName = "dark",
               on_end: EndHook | None = None, source_label: str = "",
               options: WindowOptions = WindowOptions(),
               offer: SetupOffer | None = None,
               lsl: LslSwitch | None = None) -> SessionEnded | None:
    """Show the coach window and run the session in it; returns how the (first) session ended.

    With `screenshot`, the window is saved as a PNG there when the session ends and closed;
    otherwise it stays open on the summary until the user closes it (`on_end` supplies the
    stored comparison and the report) or, with a setup `offer`, starts a new session. Closing
    the window early stops the session (which still reports its end). Ctrl+C closes the window
    the same way.
    """
    _qt_app(title)
    window = _new_window(protocol, theme, options, offer, source_label)

    def first(on_event: Callable[[SessionEvent], None]) -> StartedSession:
        return StartedSession(make_session(on_event), protocol, clock, on_end, source_label, lsl)

    async def main() -> SessionEnded | None:
        return await _sessions(window, first, offer, screenshot, options)

    return _run_loop(window, title, main)


def run_setup_window(protocols: Sequence[Protocol], start: Starter, *,
                     scan: ScanFunction | None = None, default_protocol: str = "demo",
                     replay_file: Path | None = None, title: str = "hrvcoach",
                     theme: ThemeName = "dark", options: WindowOptions = WindowOptions(),
                     user_protocols: Sequence[Protocol] = (),
                     protocol_problems: Sequence[str] = (),
                     screenshot: Path | None = None) -> SessionEnded | None:
    """Show the window on its setup page (source and protocol); Start runs the chosen session,
    and New session at its end comes back here.

    `scan` lists the Bluetooth straps in range (None: no Bluetooth choice). `start` makes the
    session; a bad choice raises a HrvcoachError, shown on the page, which waits for another.
    Returns how the last session ended (None when the window is closed before any started).
    With `screenshot`, the setup page is saved there once drawn and the window closes.
    """
    _qt_app(title)
    offer = SetupOffer(protocols, start, scan, default_protocol, replay_file, user_protocols,
                       list(protocol_problems))
    window = _new_window(offer.protocols[0], theme, options, offer)
    if window.setup is not None:
        window.pages.setCurrentWidget(window.setup)

    async def main() -> SessionEnded | None:
        if screenshot is not None:
            await window.until_drawn()
            save_screenshot(window, screenshot)
            window.close()
            return None
        return await _sessions(window, None, offer, None, options)

    return _run_loop(window, title, main)


async def _sessions(window: CoachWindow,
                    first: Callable[[Callable[[SessionEvent], None]], StartedSession] | None,
                    offer: SetupOffer | None, screenshot: Path | None,
                    options: WindowOptions) -> SessionEnded | None:
    """Run `first` (if any), then, while the user asks for a new session, what the setup page
    starts; how the last one ended."""
    ended: SessionEnded | None = None
    make = first
    while True:
        if make is not None:
            started = make(window.handle)
            make = None
        else:
            if window.setup is None or offer is None:
                return ended
            chosen = await _choose(window, window.setup, offer.start)
            if chosen is None:
                return ended
            started = chosen
        window.begin(started.protocol, started.session.pacer, _StillClock(),
                     total_s=started.session.end_s, source_label=started.source_label)
        window.pages.setCurrentWidget(window.coach_page)
        window.set_lsl(started.lsl)
        if options.focus:
            window.toggle_focus()
        ended, again = await _drive(started, window, screenshot, options)
        if not again:
            return ended


async def _choose(window: CoachWindow, setup: SetupPanel, start: Starter) -> StartedSession | None:
    """Show the setup page until a choice starts a session (None: the window closed first)."""
    window.pages.setCurrentWidget(setup)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    try:
        while True:
            choice = await _first_of(setup.wait_for_choice(), closed.wait())
            if choice is None:
                return None
            try:
                return start(choice, window.handle)
            except HrvcoachError as exc:
                setup.show_error(str(exc))
    finally:
        window.closed.disconnect(closed.set)
        await setup.stop_scanning()


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


def _session_sound(started: StartedSession, options: WindowOptions) -> SessionSound | None:
    """The session's sound (None when the window has no sound controls)."""
    if options.sound is None:
        return None
    from hrvcoach.views.sound import SessionSound

    clock = started.clock
    real_time = isinstance(clock, ScaledClock) and clock.speed == 1.0
    return SessionSound.for_session(started.session.pacer, started.protocol,
                                    started.session.end_s, clock, options.sound,
                                    real_time=real_time)


async def _drive(started: StartedSession, window: CoachWindow, screenshot: Path | None,
                 options: WindowOptions) -> tuple[SessionEnded | None, bool]:
    """Once the coach page is drawn, start the clock at 0 and run the session on it until it
    ends, is stopped or the window closes; then screenshot, or show the summary until the
    window closes or the user asks for a new session (the second value: True)."""
    session, clock = started.session, started.clock
    closed, stop, again = asyncio.Event(), asyncio.Event(), asyncio.Event()
    window.summary_at_end = screenshot is None or options.screenshot_summary
    window.closed.connect(closed.set)
    window.stop_requested.connect(stop.set)
    window.new_session_requested.connect(again.set)
    recorder = session.recorder

    def record_pacing(time_s: float, text: str) -> None:
        if recorder is not None:
            recorder.record_annotation(Annotation(time_s, "pacing", text))

    window.pacing_changed.connect(record_pacing)
    window.render_frame()  # session time 0 (the window's still clock), the session's length
    if await window.until_drawn():
        log.info("first frame drawn: the session starts")
    elif window.isVisible():
        log.info("the coach page was not drawn within %g s: starting anyway", START_WAIT_S)
    if isinstance(clock, RestartableClock):
        clock.restart()  # session time 0 is what the user sees first
    window.clock = clock
    window.attach(session)
    sound = _session_sound(started, options)
    if sound is not None and options.sound is not None and options.sound.live and \
            not sound.set_on(True):
        window.note(f"no sound: {sound.problem}")
    window.attach_sound(sound)
    run = asyncio.ensure_future(session.run())
    closing = asyncio.ensure_future(closed.wait())
    stopping = asyncio.ensure_future(stop.wait())
    renewing = asyncio.ensure_future(again.wait())
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
                return window.ended, False
            ended = window.ended
        else:
            ended = run.result()  # a source error propagates to the caller
        if sound is not None:
            sound.close()  # the end chime has rung by now, or the user stopped
        window.render_frame()
        if screenshot is not None:
            if options.screenshot_summary and started.on_end is not None and ended is not None:
                window.show_end(started.on_end(ended))
            save_screenshot(window, screenshot)
            window.close()
            return ended, False
        if started.on_end is not None and ended is not None:
            window.show_end(started.on_end(ended))
        await asyncio.wait({closing, renewing}, return_when=asyncio.FIRST_COMPLETED)
        return ended, renewing.done() and not closing.done()
    finally:
        if sound is not None:
            sound.close()
        window.attach_sound(None)
        for signal_, slot in ((window.closed, closed.set), (window.stop_requested, stop.set),
                              (window.new_session_requested, again.set),
                              (window.pacing_changed, record_pacing)):
            signal_.disconnect(slot)
        for task in (run, closing, stopping, renewing):
            task.cancel()
        await asyncio.wait({run, closing, stopping, renewing})


def save_screenshot(window: QtWidgets.QWidget, path: Path) -> None:
    """Save the window as it looks now to a PNG file (parent folders are created)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(str(path), f"cannot create the folder for the screenshot ({exc})") from None
    for _ in range(3):  # layouts settle over a few rounds of events (wrapped text, the scale)
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
        from hrvcoach.views.text import resonance_words

        saved = run.finish(ended)
        resonance = saved.resonance
        notes = [] if resonance is None else [resonance_words(
            resonance.assessment.resonance_breaths_per_min, saved=resonance.saved_to is not None,
            not_saved=resonance.not_saved)]
        if saved.comparison is None and saved.comparison_note and "--" not in \
                saved.comparison_note and "phase marked" not in saved.comparison_note:
            notes.append(f"No comparison: {saved.comparison_note}.")

        def write_report() -> Path:
            from hrvcoach.views.report import write_session_report

            return write_session_report(run.store, saved.session_id,
                                        reports / f"session-{saved.session_id}.pdf")

        return EndOfSession(saved.comparison, "\n".join(notes), write_report)

    return on_end


def run_coach_window(run: CoachRun, *, screenshot: Path | None = None, theme: ThemeName = "dark",
                     options: WindowOptions = WindowOptions(),
                     offer: SetupOffer | None = None) -> SessionEnded | None:
    """Show the window for a CoachRun's session (see run_window); its end page comes from the
    run. With a setup `offer`, New session at the end goes to the setup page."""
    on_end = None if screenshot is not None and not options.screenshot_summary else \
        end_page(run, run.home / REPORTS)
    return run_window(run.session, run.protocol, run.clock, screenshot=screenshot, theme=theme,
                      on_end=on_end, source_label=run.source_label, options=options,
                      offer=None if screenshot is not None else offer, lsl=run.lsl)


def coach_run_starter(home: Path, settings: CoachSettings, stack: contextlib.ExitStack,
                      runs: list[CoachRun]) -> Starter:
    """A `start` for the setup page: a CoachRun for its choice (kept open in `stack`, listed in
    `runs`)."""
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
                from hrvcoach.files.session_files import read_recording_file

                if choice.replay_file is None:
                    raise InputError("replay", "choose a recording first")
                recording = read_recording_file(choice.replay_file)
                spec = ReplaySpec(tuple(beat.rr_ms for beat in recording.beats),
                                  choice.replay_file.name)
            case _:
                spec = SimulatorSpec()
        run = stack.enter_context(CoachRun(home, choice.protocol, spec, settings))
        runs.append(run)
        return StartedSession(run.session(on_event), choice.protocol, run.clock,
                              end_page(run, home / REPORTS), run.source_label, run.lsl)

    return start


def setup_offer(home: Path, protocols: Sequence[Protocol], start: Starter, *,
                default_protocol: str = "demo", replay_file: Path | None = None,
                scan: bool = True) -> SetupOffer:
    """The setup page's offer: the given protocols, the user's own from the data folder (and
    the problems of those that do not read), the straps in range."""
    from hrvcoach.protocols.custom import USER_PROTOCOL_FOLDER, read_user_protocols

    yours = read_user_protocols(home / USER_PROTOCOL_FOLDER)
    return SetupOffer(protocols, start, _ble_scan if scan else None, default_protocol,
                      replay_file, yours.protocols, yours.problems)


def run_setup_window_with_store(protocols: Sequence[Protocol], home: Path, settings: CoachSettings,
                                *, default_protocol: str = "demo", replay_file: Path | None = None,
                                theme: ThemeName = "dark", options: WindowOptions = WindowOptions(),
                                screenshot: Path | None = None) -> list[SessionSaved]:
    """`hrvcoach window`: the setup page, then each chosen session as a CoachRun; what they
    saved."""
    runs: list[CoachRun] = []
    with contextlib.ExitStack() as stack:
        offer = setup_offer(home, protocols, coach_run_starter(home, settings, stack, runs),
                            default_protocol=default_protocol, replay_file=replay_file,
                            scan=screenshot is None)
        ended = run_setup_window(offer.protocols, offer.start, scan=offer.scan,
                                 default_protocol=default_protocol, replay_file=replay_file,
                                 theme=theme, options=options,
                                 user_protocols=offer.user_protocols,
                                 protocol_problems=offer.protocol_problems, screenshot=screenshot)
        return [run.finish(ended) for run in runs]  # the ended ones saved already (end page)


async def _ble_scan(timeout_s: float) -> list[FoundStrap]:
    from hrvcoach.sources.ble.scan import scan

    return await scan(timeout_s)
