"""The class window: one shared pacer for the room and a tile per participant, made to be read on
a projector from the back of the room (6–8 tiles at 1280×800).

A tile shows the participant's label, heart rate, RMSSD with its trend over the session, the
breath swing (heart-rate peak to trough per breath) and coherence, and the strap's connection
and signal. Tiles only draw what each participant's CoachState (the coach window's Qt-free fold)
holds; the pacer is the protocol's, as in the coach window. At the end the window shows the class
summary (app.class_run) until it is closed.

Keys: space pauses and resumes the whole class, f full screen (Esc leaves it), t theme.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6 import QtCore, QtGui, QtWidgets

from hrvcoach.core.beats import StatusKind
from hrvcoach.core.clock import Clock
from hrvcoach.core.markers import marker
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import Protocol
from hrvcoach.session import SessionEnded, SessionEvent
from hrvcoach.views.class_text import summary_lines
from hrvcoach.views.qt.coach_state import CONNECTION_WORDS, CoachState
from hrvcoach.views.qt.labels import make_label
from hrvcoach.views.qt.loop import _qt_app, run_qt_loop, save_screenshot
from hrvcoach.views.qt.panels import PacerDisc, PhaseTimeline, Sparkline
from hrvcoach.views.qt.theme import THEMES, Theme, ThemeName
from hrvcoach.views.qt.window import WINDOW_SIZE, coherence_words
from hrvcoach.views.text import clock_text, number_text

if TYPE_CHECKING:
    from hrvcoach.app.class_run import ClassRun, ClassSummary

__all__ = ["ClassWindow", "ParticipantTile", "grid_columns", "run_class_window"]

log = logging.getLogger(__name__)

FPS: Final = 30.0  # the pacer's frame rate
TILE_REDRAW_S: Final = 0.5  # tiles change once a beat: redraw them at most this often (real s)
TREND_POINTS: Final = 60
START_WAIT_S: Final = 3.0  # the class starts once the window is drawn, or after this (real s)
_PART_WORDS: Final = {"in": "breathe in", "hold in": "hold", "out": "breathe out",
                      "hold out": "hold"}
_NO_LINK: Final = tuple(CONNECTION_WORDS[kind] for kind in (
    StatusKind.SCANNING, StatusKind.CONNECTING, StatusKind.RECONNECTING, StatusKind.ENDED))
_SIGNAL_ROLE: Final = {"good": "good", "fair": "warn", "poor": "bad", "no contact": "bad",
                       "unknown": "muted"}


def grid_columns(tiles: int) -> int:
    """Columns for `tiles` tiles: one row up to 3, then 2, 3 and 4 columns (8 tiles: 4 × 2)."""
    if tiles <= 3:
        return max(tiles, 1)
    if tiles == 4:
        return 2
    return 3 if tiles <= 6 else 4


def _set_role(label: QtWidgets.QLabel, role: str) -> None:
    if label.property("role") != role:
        label.setProperty("role", role)
        label.style().unpolish(label)
        label.style().polish(label)


class ParticipantTile(QtWidgets.QFrame):
    """One participant: label and connection, heart rate, RMSSD and its trend, breath swing and
    coherence, signal quality."""

    def __init__(self, name: str, *, large: bool) -> None:
        super().__init__()
        self.setObjectName("card")
        self.name = name
        scale = 1.25 if large else 1.0
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(18, 12, 18, 12)
        grid.setVerticalSpacing(2)
        self.name_label = make_label(name, size_px=round(26 * scale), weight=500)
        self.connection_label = make_label("waiting", size_px=round(16 * scale), role="muted")
        self.hr_label = make_label("—", size_px=round(64 * scale), weight=300)
        self.hr_unit = make_label("bpm", size_px=round(18 * scale), role="muted")
        self.rmssd_label = make_label("RMSSD —", size_px=round(18 * scale))
        self.trend = Sparkline()
        self.trend.setMinimumHeight(round(40 * scale))
        self.swing_label = make_label("", size_px=round(17 * scale), role="muted")
        self.coherence_label = make_label("", size_px=round(17 * scale), role="muted")
        self.signal_label = make_label("", size_px=round(15 * scale), role="muted")
        hr_line = QtWidgets.QHBoxLayout()
        hr_line.setSpacing(8)
        hr_line.addWidget(self.hr_label)
        hr_line.addWidget(self.hr_unit, alignment=QtCore.Qt.AlignmentFlag.AlignBottom)
        hr_line.addStretch(1)
        rows: list[QtWidgets.QWidget | QtWidgets.QLayout] = [
            self.name_label, hr_line, self.rmssd_label, self.trend, self.swing_label,
            self.coherence_label, self.connection_label, self.signal_label]
        for row, item in enumerate(rows):
            if isinstance(item, QtWidgets.QLabel):  # long text is cut, never widens the window
                item.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                   QtWidgets.QSizePolicy.Policy.Preferred)
            if isinstance(item, QtWidgets.QLayout):
                grid.addLayout(item, row, 0)
            else:
                grid.addWidget(item, row, 0)
        grid.setRowStretch(3, 1)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Expanding)

    def set_theme(self, theme: Theme) -> None:
        self.trend.set_colors(theme.rgba(theme.breath, 255), theme.muted)

    def draw(self, state: CoachState, *, live_look: bool = False) -> None:
        """Show `state`; `live_look` keeps the connection words of a session that ended."""
        markers = state.markers
        self.hr_label.setText(number_text(markers.mean_hr_bpm, marker("mean_hr_bpm").card_digits))
        rmssd = marker("rmssd_ms")
        self.rmssd_label.setText(f"RMSSD {number_text(markers.rmssd_ms, rmssd.card_digits)} "
                                 f"{rmssd.unit}")
        swing = marker("p2t_bpm")
        self.swing_label.setText(f"breath swing {number_text(markers.p2t_bpm, swing.card_digits)} "
                                 f"{swing.unit}")
        coherence = markers.coherence_ratio
        words = coherence_words(coherence).split(" · ")[0]
        self.coherence_label.setText(
            f"coherence {number_text(coherence, marker('coherence_ratio').card_digits)}"
            + (f" · {words}" if words else ""))
        x, y = state.trends["rmssd_ms"].data()
        self.trend.set_data(x, y, state.baseline.rmssd_ms if state.baseline is not None
                            else math.nan)
        words_role = state.source_state()  # a quiet strap: "no beats for N s"
        if state.ended is not None and not live_look:  # the strap failed or the class ended
            words_role = (("strap lost", "bad") if state.connection == CONNECTION_WORDS[StatusKind.ENDED]
                          else ("session ended", "muted"))
        self.connection_label.setText(f"● {words_role[0]}")
        _set_role(self.connection_label, words_role[1])
        signal = state.signal if state.connection not in _NO_LINK else "—"  # no link: unknown
        self.signal_label.setText(f"signal {signal}")
        _set_role(self.signal_label, _SIGNAL_ROLE.get(signal, "muted"))


class ClassWindow(QtWidgets.QMainWindow):
    """The class: `handle(index, event)` folds each participant's events into their state; a
    timer draws the pacer every frame and the tiles twice a second."""

    closed = QtCore.Signal()
    stop_requested = QtCore.Signal()
    pause_toggled = QtCore.Signal()

    def __init__(self, protocol: Protocol, names: Sequence[str], clock: Clock, *,
                 total_s: float | None = None, theme: ThemeName = "dark",
                 title: str = "") -> None:
        super().__init__()
        self.protocol = protocol
        self.pacer = Pacer.for_protocol(protocol)
        self.clock = clock
        self.total_s = protocol.duration_s if total_s is None else total_s
        self.states = [CoachState(keep_s=5.0, trend_names=["rmssd_ms"], trend_points=TREND_POINTS)
                       for _ in names]
        self.paused = False
        self.ended = False
        self.live_look_at_end = False  # True: tiles keep their live look (a screenshot)
        self.frames_rendered = 0
        self._tiles_drawn_at = -math.inf
        self.setWindowTitle(title or f"hrvcoach class · {protocol.name}")
        self.resize(*WINDOW_SIZE)
        self._build(names, title)
        self.set_theme(theme)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(round(1000 / FPS))
        self._timer.timeout.connect(self.render_frame)
        self.drawn = asyncio.Event()

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self, names: Sequence[str], title: str) -> None:
        self.pages = QtWidgets.QStackedWidget()
        self.pages.setObjectName("central")
        self.setCentralWidget(self.pages)
        page = QtWidgets.QWidget()
        self.pages.addWidget(page)
        root = QtWidgets.QVBoxLayout(page)
        root.setContentsMargins(24, 14, 24, 12)
        root.setSpacing(10)
        header = QtWidgets.QHBoxLayout()
        titles = QtWidgets.QVBoxLayout()
        self.phase_label = make_label(self.protocol.name, size_px=30, weight=300)
        self.guidance_label = make_label("", size_px=16, role="muted", wrap=True)
        titles.addWidget(self.phase_label)
        titles.addWidget(self.guidance_label)
        header.addLayout(titles, stretch=1)
        self.elapsed_label = make_label("00:00 / 00:00", size_px=30, weight=300)
        self.elapsed_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        header.addWidget(self.elapsed_label, alignment=QtCore.Qt.AlignmentFlag.AlignTop)
        root.addLayout(header)
        self.timeline = PhaseTimeline(self.protocol.phases)
        self.timeline.set_phases(self.protocol.phases, self.total_s)
        root.addWidget(self.timeline)

        body = QtWidgets.QHBoxLayout()
        body.setSpacing(14)
        root.addLayout(body, stretch=1)
        pacer_card = QtWidgets.QFrame()
        pacer_card.setObjectName("card")
        pacer_card.setFixedWidth(300 if len(names) <= 4 else 250)
        pacer_box = QtWidgets.QVBoxLayout(pacer_card)
        self.pacer_disc = PacerDisc()
        self.pacer_label = make_label("breathe freely", size_px=34, weight=300, wrap=True)
        self.pacer_count_label = make_label("", size_px=24, role="muted")
        self.pacer_rate_label = make_label("", size_px=16, role="muted", wrap=True)
        pacer_box.addWidget(self.pacer_disc, stretch=1)
        for label in (self.pacer_label, self.pacer_count_label, self.pacer_rate_label):
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            pacer_box.addWidget(label)
        body.addWidget(pacer_card)

        self.body_pages = QtWidgets.QStackedWidget()
        tiles_page = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(tiles_page)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(12)
        columns = grid_columns(len(names))
        self.tiles = [ParticipantTile(name, large=len(names) <= 4) for name in names]
        for index, tile in enumerate(self.tiles):
            grid.addWidget(tile, index // columns, index % columns)
        self.body_pages.addWidget(tiles_page)
        self.summary_card = QtWidgets.QFrame()
        self.summary_card.setObjectName("card")
        summary_box = QtWidgets.QVBoxLayout(self.summary_card)
        summary_box.setContentsMargins(24, 18, 24, 18)
        self.summary_label = make_label("", size_px=17, wrap=True)
        self.summary_label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        summary_box.addWidget(self.summary_label)
        summary_box.addStretch(1)
        self.body_pages.addWidget(self.summary_card)
        body.addWidget(self.body_pages, stretch=1)

        footer = QtWidgets.QHBoxLayout()
        self.status_label = make_label(title, size_px=14, role="muted")
        footer.addWidget(self.status_label, stretch=1)
        self.pause_button = self._button("Pause", self.toggle_pause, "pause / resume the class (space)")
        self.stop_button = self._button("Stop", self.stop_requested.emit, "end the class now")
        self.fullscreen_button = self._button("Full screen", self.toggle_fullscreen,
                                              "full screen (f; Esc leaves it)")
        self.theme_button = self._button("Light", self.toggle_theme, "dark / light theme (t)")
        for button in (self.pause_button, self.stop_button, self.fullscreen_button,
                       self.theme_button):
            footer.addWidget(button)
        root.addLayout(footer)

    def _button(self, text: str, slot: Callable[[], object], tip: str) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setToolTip(tip)
        button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def set_theme(self, name: ThemeName) -> None:
        theme = self.theme = THEMES[name]
        roles = {"text": theme.text, "muted": theme.muted, "good": theme.good,
                 "warn": theme.warn, "bad": theme.bad}
        self.pages.setStyleSheet("\n".join([
            f"#central, #central QWidget {{ background: {theme.background}; }}",
            f"QFrame#card, QFrame#card QWidget {{ background: {theme.panel}; }}",
            "QFrame#card { border-radius: 14px; }",
            *(f'QLabel[role="{role}"] {{ color: {color}; }}' for role, color in roles.items()),
            f"QPushButton {{ color: {theme.text}; background: {theme.panel}; border: 1px solid"
            f" {theme.faint}; border-radius: 8px; padding: 6px 14px; font-size: 14px; }}",
            f"QPushButton:disabled {{ color: {theme.faint}; }}"]))
        self.pacer_disc.set_theme(theme)
        self.timeline.set_theme(theme)
        for tile in self.tiles:
            tile.set_theme(theme)
        self.theme_button.setText("Light" if name == "dark" else "Dark")
        self._tiles_drawn_at = -math.inf

    def toggle_theme(self) -> None:
        self.set_theme("light" if self.theme.name == "dark" else "dark")

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def toggle_pause(self) -> None:
        if not self.ended:
            self.pause_toggled.emit()

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.pause_button.setText("Resume" if paused else "Pause")

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        actions = {QtCore.Qt.Key.Key_Space: self.toggle_pause,
                   QtCore.Qt.Key.Key_F: self.toggle_fullscreen, QtCore.Qt.Key.Key_T: self.toggle_theme}
        action = actions.get(QtCore.Qt.Key(event.key()))
        if action is not None and not event.isAutoRepeat():
            action()
        elif event.key() == QtCore.Qt.Key.Key_Escape and self.isFullScreen():
            self.showNormal()
        else:
            super().keyPressEvent(event)

    # ---- events and drawing -----------------------------------------------------------------------
    def handle(self, index: int, event: SessionEvent) -> None:
        """Fold one participant's event in (drawn by the next frames)."""
        self.states[index].handle(event)

    def render_frame(self, *, tiles: bool = False) -> None:
        """Draw the pacer and the clock; the tiles too when `tiles` or TILE_REDRAW_S passed."""
        self.frames_rendered += 1
        t_s = min(max(self.clock.now(), 0.0), self.total_s)
        state = self.pacer.state_at(t_s)
        self.pacer_disc.set_state(lung=state.lung, paced=state.paced,
                                  dimmed=self.paused or self.ended)
        if self.ended:
            self.pacer_label.setText("class complete")
            self.pacer_count_label.setText("")
        elif self.paused:
            self.pacer_label.setText("paused")
            self.pacer_count_label.setText("space to go on")
        elif state.paced and state.part is not None:
            self.pacer_label.setText(_PART_WORDS[state.part])
            self.pacer_count_label.setText(f"{max(math.ceil(state.seconds_left - 1e-6), 1)} s")
        else:
            self.pacer_label.setText("breathe freely")
            self.pacer_count_label.setText("")
        _index, phase, _start_s = self.protocol.phase_at(t_s)
        self.pacer_rate_label.setText(phase.pacing_text() if phase.paced else "no pacer in this phase")
        self.phase_label.setText(phase.name)
        self.guidance_label.setText(phase.guidance)
        self.elapsed_label.setText(f"{clock_text(t_s)} / {clock_text(self.total_s)}")
        self.timeline.set_position(t_s)
        now = QtCore.QDateTime.currentMSecsSinceEpoch() / 1000.0
        if tiles or now - self._tiles_drawn_at >= TILE_REDRAW_S:
            self._tiles_drawn_at = now
            for tile, tile_state in zip(self.tiles, self.states, strict=True):
                tile.draw(tile_state, live_look=self.live_look_at_end)

    def show_summary(self, summary: ClassSummary) -> None:
        """The class summary in place of the tiles (until the window is closed)."""
        self.ended = True
        self.summary_label.setText("\n".join(summary_lines(summary)))
        self.body_pages.setCurrentWidget(self.summary_card)
        self.pause_button.setEnabled(False)
        self.stop_button.setEnabled(False)

    # ---- Qt events --------------------------------------------------------------------------------
    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        super().paintEvent(event)
        self.drawn.set()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()

    def hideEvent(self, event: QtGui.QHideEvent) -> None:
        self._timer.stop()
        super().hideEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self._timer.stop()
        super().closeEvent(event)
        self.closed.emit()


def run_class_window(run: ClassRun, names: Sequence[str], *, screenshot: Path | None = None,
                     theme: ThemeName = "dark") -> list[SessionEnded | None] | None:
    """Show the class window and run the class in it; how each session ended (None: stopped).

    With `screenshot`, the window is saved as a PNG when the class ends, and closed; otherwise
    it shows the class summary until closed. Closing the window or Stop stops every session.
    """
    _qt_app("hrvcoach class")  # before any widget
    total_s = run.settings.duration_s or run.protocol.duration_s
    window = ClassWindow(run.protocol, names, run.clock, total_s=total_s, theme=theme,
                         title=f"class {run.class_id} · {len(names)} participants")
    window.live_look_at_end = screenshot is not None  # a screenshot shows the class going on

    def pause_or_resume() -> None:
        if window.paused:
            run.resume()
        else:
            run.pause()
        window.set_paused(not window.paused)

    window.pause_toggled.connect(pause_or_resume)

    async def main() -> list[SessionEnded | None] | None:
        closed, stop = asyncio.Event(), asyncio.Event()
        window.closed.connect(closed.set)
        window.stop_requested.connect(stop.set)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(window.drawn.wait(), START_WAIT_S)
        classes = asyncio.ensure_future(run.run(window.handle))  # session time 0 is now
        waiters = {classes, asyncio.ensure_future(closed.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            ended: list[SessionEnded | None] | None = None
            if classes.done():
                ended = classes.result()
            else:
                if window.paused:
                    run.resume()
                classes.cancel()
                await asyncio.wait({classes})
            window.render_frame(tiles=True)
            if screenshot is not None:
                save_screenshot(window, screenshot)
                window.close()
                return ended
            if not closed.is_set():
                window.show_summary(run.finish(ended, stopped=ended is None))
                await closed.wait()
            return ended
        finally:
            for waiter in waiters:
                waiter.cancel()

    return run_qt_loop(window, window.windowTitle(), main, if_qt_quits=lambda: None)
