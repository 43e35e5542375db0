"""The coach window: a breathing pacer, the heart rhythm with the breath beneath it, the vagal
markers with their trends, the live spectrum, the session bar and the controls.

The session knows nothing of Qt: `CoachWindow.handle` only stores the events it is given, and a
timer draws them `fps` times a second (the costlier plots at most PLOT_FPS), so drawing never
waits on beats and beats never wait on drawing. What is drawn is clipped to the visible time and
thinned to a bounded number of points, so a frame costs the same after 60 minutes as after one.
`run_window` runs the session's asyncio task and Qt on one qasync event loop (no threads).
Session time 0 is the moment the coach page is first drawn: loading Qt and building the window
take a second or so, which at `--speed 60` would otherwise skip the start of the baseline.

Keys: space pauses and resumes, m marks the moment, f toggles full screen (Esc leaves it),
t switches between the dark and the light theme.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final
from typing import Protocol as TypingProtocol

import numpy as np
from numpy.typing import NDArray
from PySide6 import QtCore, QtGui, QtWidgets

# isort: split

from hrvcoach.core.clock import Clock
from hrvcoach.core.errors import HrvcoachError
from hrvcoach.protocols.pacer import Pacer, PacerState
from hrvcoach.protocols.protocol import Protocol
from hrvcoach.session import (
    Marked,
    Paused,
    Resumed,
    SessionEnded,
    SessionEvent,
)
from hrvcoach.views.qt.coach_state import CoachState
from hrvcoach.views.qt.panels import (
    MARKER_CARDS,
    HeartRhythmPlot,
    MarkerCard,
    PacerDisc,
    PhaseTimeline,
    SpectrumPlot,
    make_label,
)
from hrvcoach.views.qt.summary import EndOfSession, SummaryPanel
from hrvcoach.views.qt.theme import THEMES, Theme, ThemeName
from hrvcoach.views.text import clock_text, number_text

if TYPE_CHECKING:
    from hrvcoach.views.qt.setup import SetupPanel

__all__ = ["WINDOW_SIZE", "CoachWindow", "EndOfSession", "PacerDisc"]

log = logging.getLogger(__name__)

WINDOW_SIZE: Final = (1280, 800)  # width, height in px: the size the window opens at
LEAD_S: Final = 4.0  # the plot shows this much of the coming breath right of "now"
WAVE_STEP_S: Final = 0.1  # the breath wave is sampled on a fixed grid of session times
PLOT_FPS: Final = 12.0  # the timer redraws the heart rhythm plot at most this often (real s)
SLOW_PANELS_S: Final = 1.0  # spectrum and trend lines: at most once a second (real s)
ENDED_FRAME_INTERVAL_MS: Final = 250  # after the end the frame is frozen: redraw rarely
MINIMIZED_FRAME_INTERVAL_MS: Final = 1000  # minimized: tick rarely and draw nothing
TREND_POINTS: Final = 60  # a trend line draws at most twice this many points
START_WAIT_S: Final = 3.0  # a session starts once its page is drawn, or after this (real s)
DRAWN_POLL_S: Final = 0.005  # how often the start checks whether the page was drawn (real s)
# Coherence ratio levels in plain words; 1.0 (the peak holds half the power) is what the
# sessions issue counts as "high coherence" (comparison.HIGH_COHERENCE_RATIO).
COHERENCE_LEVELS: Final = ((1.0, "high · one smooth wave"), (0.25, "medium · building"),
                           (0.0, "low · no single rhythm"))

_PART_WORDS: Final = {"in": "breathe in", "hold in": "hold", "out": "breathe out",
                      "hold out": "hold"}
_SIGNAL_ROLE: Final = {"good": "good", "fair": "warn", "poor": "bad", "no contact": "bad",
                       "unknown": "muted"}


class SessionControls(TypingProtocol):
    """What the window's controls drive (a Session)."""

    @property
    def can_pause(self) -> bool: ...

    @property
    def paused(self) -> bool: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def mark(self, text: str = "") -> Marked: ...


class LslSwitch(TypingProtocol):
    """What the window's LSL checkbox drives (the run's app.lsl_outlets.LslOutlets)."""

    @property
    def enabled(self) -> bool: ...

    def set_enabled(self, on: bool) -> None: ...  # HrvcoachError when LSL cannot be used here


def coherence_words(ratio: float) -> str:
    """The coherence ratio's level in plain words ('' while NaN)."""
    if not math.isfinite(ratio):
        return ""
    return next(words for floor, words in COHERENCE_LEVELS if ratio >= floor)


class CoachWindow(QtWidgets.QMainWindow):
    """Draws a session: `handle` stores each event, `render_frame` (on a timer) draws them."""

    closed = QtCore.Signal()
    stop_requested = QtCore.Signal()

    def __init__(self, protocol: Protocol, pacer: Pacer, clock: Clock, *,
                 history_s: float = 90.0, fps: float = 30.0, theme: ThemeName = "dark",
                 source_label: str = "") -> None:
        super().__init__()
        if not (history_s > 0 and fps > 0):
            raise ValueError(f"history_s and fps must be positive, got {history_s}, {fps}")
        self.history_s = history_s
        self.fps = fps
        self.frames_rendered = 0
        self.controls: SessionControls | None = None  # set by run_window
        self.summary_at_end = True  # False: the last frame keeps the live look (screenshots)
        self.end_info: EndOfSession | None = None
        self.open_file: Callable[[Path], None] = _open_with_desktop
        self.theme: Theme = THEMES[theme]
        self.setup: SetupPanel | None = None  # the setup page, when the window has one
        self._frame_interval_ms = max(round(1000.0 / fps), 1)
        self.coach_page_drawn = False  # Qt painted the coach page (since `until_drawn` asked)

        self.setWindowTitle("hrvcoach")
        self.resize(*WINDOW_SIZE)
        self.setMinimumSize(1000, 660)
        self._build()
        self.begin(protocol, pacer, clock, source_label=source_label)
        self.set_theme(theme)

        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.setInterval(self._frame_interval_ms)
        self._timer.timeout.connect(self.on_frame_timer)

    def begin(self, protocol: Protocol, pacer: Pacer, clock: Clock,
              total_s: float | None = None, *, source_label: str = "") -> None:
        """Forget everything drawn and get ready for a session of `protocol` on `clock`."""
        self.protocol = protocol
        self.pacer = pacer
        self.clock = clock
        self.total_s = protocol.duration_s if total_s is None else total_s
        self.state = CoachState(keep_s=self.history_s + LEAD_S,
                                trend_names=[spec.key for spec in MARKER_CARDS],
                                trend_points=TREND_POINTS, source_label=source_label)
        self._frozen_s: float | None = None
        self._wave_cache: dict[int, float] = {}
        # (self.state.snapshots, whole seconds of silence) when the cards were last drawn
        self._drawn_markers_at: tuple[int, int | None] = (-1, None)
        self._drawn_slow_at = -1  # ... when the spectrum and trend lines were last drawn
        self._plot_drawn_at = -math.inf  # time.monotonic() of the last plot redraw
        self._slow_drawn_at = -math.inf
        self.timeline.set_phases(protocol.phases, self.total_s)
        self.phase_label.setText(protocol.name)
        self.phase_step_label.setText(protocol.description)
        self.guidance_label.setText("")
        self.body_stack.setCurrentWidget(self.live_page)
        self._update_buttons()

    @property
    def ended(self) -> SessionEnded | None:
        return self.state.ended

    @property
    def source_label(self) -> str:
        """What the session runs on (the strap names itself once connected)."""
        return self.state.source_label

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.pages = QtWidgets.QStackedWidget()
        self.pages.setObjectName("central")
        self.setCentralWidget(self.pages)
        self.coach_page = QtWidgets.QWidget()
        self.coach_page.installEventFilter(self)  # its first paint starts the session's time
        self.pages.addWidget(self.coach_page)
        root = QtWidgets.QVBoxLayout(self.coach_page)
        root.setContentsMargins(24, 16, 24, 12)
        root.setSpacing(10)
        root.addLayout(self._build_header())
        self.timeline = PhaseTimeline()
        root.addWidget(self.timeline)

        body = QtWidgets.QHBoxLayout()
        body.setSpacing(14)
        root.addLayout(body, stretch=1)
        body.addWidget(self._build_pacer_card())
        self.body_stack = QtWidgets.QStackedWidget()
        self.live_page = self._build_plots()
        self.summary_page = self._build_summary()
        self.body_stack.addWidget(self.live_page)
        self.body_stack.addWidget(self.summary_page)
        body.addWidget(self.body_stack, stretch=1)
        body.addLayout(self._build_cards())
        root.addLayout(self._build_footer())

    def _build_header(self) -> QtWidgets.QHBoxLayout:
        header = QtWidgets.QHBoxLayout()
        titles = QtWidgets.QVBoxLayout()
        titles.setSpacing(2)
        self.phase_label = make_label("", size_px=30, weight=300)
        self.phase_step_label = make_label("", size_px=14, role="muted")
        self.guidance_label = make_label("", size_px=16, role="muted", wrap=True)
        for widget in (self.phase_label, self.phase_step_label, self.guidance_label):
            titles.addWidget(widget)
        header.addLayout(titles, stretch=1)
        clock_box = QtWidgets.QVBoxLayout()
        clock_box.setSpacing(2)
        self.elapsed_label = make_label("00:00 / 00:00", size_px=30, weight=300)
        self.remaining_label = make_label("elapsed / total", size_px=14, role="muted")
        for widget in (self.elapsed_label, self.remaining_label):
            widget.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
            clock_box.addWidget(widget)
        clock_box.addStretch(1)
        header.addLayout(clock_box)
        return header

    def _build_pacer_card(self) -> QtWidgets.QFrame:
        card = QtWidgets.QFrame()
        card.setObjectName("card")
        card.setFixedWidth(290)
        box = QtWidgets.QVBoxLayout(card)
        box.setContentsMargins(14, 14, 14, 16)
        box.setSpacing(2)
        self.pacer_item = PacerDisc()
        self.pacer_label = make_label("breathe freely", size_px=34, weight=300, wrap=True)
        self.pacer_count_label = make_label("", size_px=22, role="muted")
        self.pacer_rate_label = make_label("", size_px=14, role="muted", wrap=True)
        for widget in (self.pacer_label, self.pacer_count_label, self.pacer_rate_label):
            widget.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.pacer_count_label.setMinimumHeight(30)
        box.addWidget(self.pacer_item, stretch=1)
        box.addWidget(self.pacer_label)
        box.addWidget(self.pacer_count_label)
        box.addWidget(self.pacer_rate_label)
        return card

    def _build_plots(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        self.heart = HeartRhythmPlot()
        self.plot = self.heart.widget
        self.hr_curve = self.heart.hr_curve
        self.breath_curve = self.heart.breath_curve
        self.gap_points = self.heart.gap_points
        self.artifact_points = self.heart.artifact_points
        self.mark_lines = self.heart.mark_lines
        column.addWidget(self.plot, stretch=3)
        self.legend_label = make_label("", size_px=13, role="muted")
        column.addWidget(self.legend_label)
        self.spectrum = SpectrumPlot()
        column.addWidget(self.spectrum.widget, stretch=2)
        return page

    def _build_summary(self) -> SummaryPanel:
        page = SummaryPanel(MARKER_CARDS)
        self.summary_label = page.summary_label
        self.summary_table = page.table
        self.verdict_label = page.verdict_label
        self.summary_note_label = page.note_label
        self.report_button = page.report_button
        self.report_button.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.report_button.clicked.connect(lambda _checked=False: self.open_report())
        return page

    def _build_cards(self) -> QtWidgets.QVBoxLayout:
        column = QtWidgets.QVBoxLayout()
        column.setSpacing(8)
        self.cards: dict[str, MarkerCard] = {}
        for spec in MARKER_CARDS:
            card = MarkerCard(spec.title, spec.unit)
            card.setFixedWidth(330)
            self.cards[spec.key] = card
            column.addWidget(card, stretch=1)
        self.hr_label = self.cards["mean_hr_bpm"].value_label
        self.rmssd_label = self.cards["rmssd_ms"].value_label
        return column

    def _build_footer(self) -> QtWidgets.QHBoxLayout:
        footer = QtWidgets.QHBoxLayout()
        footer.setSpacing(16)
        self.connection_label = make_label("", size_px=14)
        self.signal_label = make_label("", size_px=14)
        self.battery_label = make_label("", size_px=14, role="muted")
        self.status_label = make_label("", size_px=14, role="muted")
        self.status_label.setMinimumWidth(120)
        self.status_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                        QtWidgets.QSizePolicy.Policy.Preferred)
        for label in (self.connection_label, self.status_label):  # text from the strap: no HTML
            label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        for widget in (self.connection_label, self.signal_label, self.battery_label):
            footer.addWidget(widget)
        footer.addWidget(self.status_label, stretch=1)
        self.pause_button = self._button("Pause", self.toggle_pause, "pause / resume (space)")
        self.stop_button = self._button("Stop", self.request_stop, "end the session now")
        self.mark_button = self._button("Mark", self.add_mark, "mark this moment (m)")
        self.fullscreen_button = self._button("Full screen", self.toggle_fullscreen,
                                              "full screen (f; Esc leaves it)")
        self.theme_button = self._button("Light", self.toggle_theme, "dark / light theme (t)")
        for button in (self.pause_button, self.stop_button, self.mark_button,
                       self.fullscreen_button, self.theme_button):
            footer.addWidget(button)
        footer.addWidget(self._build_lsl_box())
        return footer

    def _build_lsl_box(self) -> QtWidgets.QCheckBox:
        """The LSL checkbox: streams to Lab Streaming Layer while checked (see `set_lsl`)."""
        self.lsl: LslSwitch | None = None
        self.lsl_box = QtWidgets.QCheckBox("LSL")
        self.lsl_box.setToolTip("stream RR, heart rate, the markers and events to Lab Streaming "
                                "Layer (e.g. for LabRecorder)")
        self.lsl_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.lsl_box.setVisible(False)  # until a session can stream
        self.lsl_box.toggled.connect(self._on_lsl_toggled)
        return self.lsl_box

    def set_lsl(self, switch: LslSwitch | None) -> None:
        """Let the LSL checkbox open and close this session's streams (None: hide it)."""
        self.lsl = switch
        self.lsl_box.setVisible(switch is not None)
        with QtCore.QSignalBlocker(self.lsl_box):
            self.lsl_box.setChecked(switch is not None and switch.enabled)

    def _on_lsl_toggled(self, on: bool) -> None:
        if self.lsl is None:
            return
        try:
            self.lsl.set_enabled(on)
        except HrvcoachError as exc:
            self.state.status = str(exc)
            with QtCore.QSignalBlocker(self.lsl_box):
                self.lsl_box.setChecked(False)

    def _button(self, text: str, slot: Callable[[], None], tip: str) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setToolTip(tip)
        button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # keys go to the window
        button.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # ---- theme ------------------------------------------------------------------------------------
    def set_theme(self, name: ThemeName) -> None:
        """Switch every panel to the dark or the light theme."""
        theme = self.theme = THEMES[name]
        roles = {"text": theme.text, "muted": theme.muted, "faint": theme.faint,
                 "good": theme.good, "warn": theme.warn, "bad": theme.bad}
        rules = [f"#central, #central > QWidget {{ background: {theme.background}; }}",
                 f"QFrame#card {{ background: {theme.panel}; border-radius: 14px; }}",
                 "QLabel { background: transparent; }",
                 *(f'QLabel[role="{role}"] {{ color: {color}; }}' for role, color in roles.items()),
                 f"QPushButton {{ color: {theme.text}; background: {theme.panel};"
                 f" border: 1px solid {theme.faint}; border-radius: 8px; padding: 6px 14px;"
                 " font-size: 14px; }",
                 f"QPushButton:hover {{ border-color: {theme.muted}; }}",
                 f"QPushButton:disabled {{ color: {theme.faint}; }}",
                 f"QRadioButton, QComboBox, QListWidget {{ color: {theme.text}; font-size: 15px; }}",
                 f"QCheckBox {{ color: {theme.text}; font-size: 14px; }}",
                 f"QRadioButton:disabled {{ color: {theme.faint}; }}",
                 f"QComboBox, QListWidget {{ background: {theme.background};"
                 f" border: 1px solid {theme.faint}; border-radius: 6px; padding: 4px; }}",
                 f"QListWidget::item:selected {{ background: rgb{theme.breath}; color: {theme.panel}; }}",
                 f"QComboBox QAbstractItemView {{ background: {theme.panel}; color: {theme.text}; }}"]
        self.pages.setStyleSheet("\n".join(rules))
        self.pacer_item.set_theme(theme)
        self.timeline.set_theme(theme)
        self.heart.set_theme(theme)
        self.spectrum.set_theme(theme)
        for spec in MARKER_CARDS:
            color = theme.heart if spec.key == "mean_hr_bpm" else theme.rgba(theme.breath, 255)
            self.cards[spec.key].sparkline.set_colors(color, theme.muted)
        self.legend_label.setText(
            f"<span style='color:{theme.heart}'>━</span> heart rate &nbsp;&nbsp;"
            f"<span style='color:rgb{theme.breath}'>▆</span> pacer breath &nbsp;&nbsp;"
            f"<span style='color:{theme.gap}'>●</span> after a gap / no contact &nbsp;&nbsp;"
            f"<span style='color:{theme.artifact}'>○</span> artifact &nbsp;&nbsp;"
            f"<span style='color:{theme.mark}'>┃</span> your mark")
        self.theme_button.setText("Light" if name == "dark" else "Dark")
        self._drawn_markers_at, self._drawn_slow_at = (-1, None), -1  # redraw in the new colours
        self._plot_drawn_at = -math.inf

    def toggle_theme(self) -> None:
        self.set_theme("light" if self.theme.name == "dark" else "dark")

    # ---- controls ---------------------------------------------------------------------------------
    def attach(self, controls: SessionControls | None) -> None:
        """Let the buttons and keys drive this session (pause, mark)."""
        self.controls = controls
        self._update_buttons()

    def toggle_pause(self) -> None:
        """Pause or resume the session (its clock stops: the pacer and the time stand still)."""
        controls = self.controls
        if controls is None or not controls.can_pause or self.ended is not None:
            return
        if controls.paused:
            controls.resume()
        else:
            controls.pause()
        self._update_buttons()

    def add_mark(self) -> None:
        """Mark this moment of the session (stored as a note)."""
        if self.controls is not None and self.ended is None:
            self.controls.mark()

    def request_stop(self) -> None:
        """End the session now; the window stays open on the summary."""
        if self.ended is None:
            self.stop_requested.emit()

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def open_report(self) -> None:
        """Write the session report and open it with the desktop's viewer."""
        info = self.end_info
        if info is None or info.write_report is None:
            return
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            path = info.write_report()
        except HrvcoachError as exc:
            self.summary_note_label.setText(f"the report could not be written: {exc}")
            return
        finally:
            QtWidgets.QApplication.restoreOverrideCursor()
        self.summary_note_label.setText(f"report saved: {path}")
        self.open_file(path)

    def _update_buttons(self) -> None:
        running = self.ended is None and self.controls is not None
        can_pause = running and self.controls is not None and self.controls.can_pause
        self.pause_button.setEnabled(bool(can_pause))
        self.pause_button.setText("Resume" if self.state.paused else "Pause")
        self.stop_button.setEnabled(running)
        self.mark_button.setEnabled(running)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        actions = {QtCore.Qt.Key.Key_Space: self.toggle_pause, QtCore.Qt.Key.Key_M: self.add_mark,
                   QtCore.Qt.Key.Key_F: self.toggle_fullscreen,
                   QtCore.Qt.Key.Key_T: self.toggle_theme}
        action = actions.get(QtCore.Qt.Key(event.key()))
        if action is not None and not event.isAutoRepeat():
            action()
        elif event.key() == QtCore.Qt.Key.Key_Escape and self.isFullScreen():
            self.showNormal()
        else:
            super().keyPressEvent(event)

    # ---- events (stored, never drawn here) ------------------------------------------------------
    def handle(self, event: SessionEvent) -> None:
        """Store one session event (in `state`); the next frame draws it."""
        self.state.handle(event)
        if isinstance(event, Paused | Resumed) or (
                isinstance(event, SessionEnded) and self.summary_at_end):
            self._update_buttons()  # a screenshot keeps the live look at the end

    # ---- drawing ----------------------------------------------------------------------------------
    def render_frame(self, now_s: float | None = None, *, plot: bool = True,
                     slow: bool = True) -> None:
        """Draw everything for session time `now_s` (the clock's time when None).

        `plot=False` leaves the heart rhythm plot and the cards as they are, `slow=False` the
        spectrum and the trend lines (`tick` redraws them less often than the pacer).
        """
        t_s = self.clock.now() if now_s is None else now_s
        if self.ended is not None:
            if self._frozen_s is None:
                self._frozen_s = min(t_s, self.total_s)
                self._timer.setInterval(ENDED_FRAME_INTERVAL_MS)
                if self._shows_summary():
                    self._show_summary()
            t_s = self._frozen_s
        self.frames_rendered += 1
        self._draw_pacer(self.pacer.state_at(t_s))
        if plot:
            self._draw_plot(t_s)
            self._plot_drawn_at = time.monotonic()
            self._draw_cards()
        if slow:
            self._draw_slow_panels()
        self._draw_text(t_s)

    def tick(self, now_s: float | None = None) -> None:
        """One timer frame: the pacer at full rate, the heart rhythm plot at most PLOT_FPS a
        second, spectrum and trend lines at most once per SLOW_PANELS_S (real time).

        The plot scrolls by less than a pixel per frame, so fewer redraws look the same; the
        slow panels wait for a frame without the plot, so no frame does both.
        """
        now = time.monotonic()
        plot = now - self._plot_drawn_at >= 1.0 / PLOT_FPS - 1e-3
        slow = not plot and now - self._slow_drawn_at >= SLOW_PANELS_S - 1e-3  # never both
        self.render_frame(now_s, plot=plot, slow=slow)

    def on_frame_timer(self) -> None:
        """What the frame timer does: a frame, unless the window is minimized."""
        if not self.isMinimized():
            self.tick()

    @property
    def frame_interval_ms(self) -> int:
        """The frame timer's interval now (longer when minimized or ended)."""
        return self._timer.interval()

    def _shows_summary(self) -> bool:
        return self.ended is not None and self.summary_at_end

    def _draw_pacer(self, state: PacerState) -> None:
        ended = self._shows_summary()
        self.pacer_item.set_state(lung=state.lung, paced=state.paced,
                                  dimmed=ended or self.state.paused)
        if ended:
            self.pacer_label.setText("session complete")
            self.pacer_count_label.setText("")
            self.pacer_rate_label.setText("")
            return
        if self.state.paused:
            self.pacer_label.setText("paused")
            self.pacer_count_label.setText("space to go on")
        elif state.paced and state.part is not None:
            self.pacer_label.setText(_PART_WORDS[state.part])
            self.pacer_count_label.setText(f"{max(math.ceil(state.seconds_left - 1e-6), 1)} s")
        else:
            self.pacer_label.setText("breathe freely")
            self.pacer_count_label.setText("")
        phase = self.state.phase
        self.pacer_rate_label.setText(phase.pacing_text() if phase is not None and phase.paced
                                      else "no pacer in this phase")

    def _draw_plot(self, t_s: float) -> None:
        x0, x1 = t_s - self.history_s, t_s + LEAD_S
        visible = [p for p in self.state.beats if x0 <= p.time_s <= t_s + 1e-9]
        times = np.fromiter((p.time_s for p in visible), np.float64, len(visible))
        hrs = np.fromiter((p.instant_hr_bpm for p in visible), np.float64, len(visible))
        flagged = np.fromiter((p.flagged for p in visible), np.bool_, len(visible))
        usable = np.fromiter((p.usable for p in visible), np.bool_, len(visible))
        artifact = np.fromiter((p.time_s in self.state.artifact_times for p in visible), np.bool_,
                               len(visible))

        lo, hi = _hr_range(hrs[~flagged & np.isfinite(hrs)])
        band = 0.45 * (hi - lo)  # the breath wave's band below the heart rate
        self.heart.bpm_axis.floor_bpm = lo
        # A line segment joins beat i to i+1 unless i+1 follows a gap or either lacks contact.
        connect = np.ones(len(visible), dtype=np.int32)
        if len(visible):
            connect[:-1] = ~flagged[1:] & usable[:-1] & usable[1:]
            connect[-1] = 0
        wave_t, lung = self._breath_wave(x0, x1)
        base = lo - band
        marks = np.array([m for m in self.state.marks if x0 <= m <= t_s], dtype=np.float64)
        self.heart.draw(x0, x1, t_s, times, hrs, connect, flagged, artifact & ~flagged,
                        (base, hi + 0.06 * (hi - lo)), wave_t, base + 0.85 * band * lung, base,
                        marks)

    def _breath_wave(self, x0: float, x1: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The pacer's lung (0..1) on a fixed time grid covering [x0, x1], cached by grid step."""
        k0, k1 = math.floor(x0 / WAVE_STEP_S), math.ceil(x1 / WAVE_STEP_S)
        cache = self._wave_cache
        for k in [k for k in cache if k < k0 or k > k1]:
            del cache[k]
        lung = np.empty(k1 - k0 + 1)
        for i, k in enumerate(range(k0, k1 + 1)):
            value = cache.get(k)
            if value is None:
                value = cache[k] = self.pacer.state_at(max(k * WAVE_STEP_S, 0.0)).lung
            lung[i] = value
        return np.arange(k0, k1 + 1, dtype=np.float64) * WAVE_STEP_S, lung

    def _draw_cards(self) -> None:
        """The marker cards' numbers and notes (only when a beat brought new markers)."""
        silent_s = self.state.silent_s
        drawn = (self.state.snapshots, None if silent_s is None else int(silent_s))
        if self._drawn_markers_at == drawn:
            return
        self._drawn_markers_at = drawn
        markers, baseline = self.state.markers, self.state.baseline
        for spec in MARKER_CARDS:
            card = self.cards[spec.key]
            value = getattr(markers, spec.key)
            dimmed = spec.key == "hf_ms2" and not markers.hf_valid
            card.set_value(number_text(value, spec.digits), dimmed=dimmed or silent_s is not None)
            if silent_s is not None:  # the numbers are the last ones, not now's
                card.set_detail(f"no beats for {silent_s:.0f} s")
                continue
            detail = [spec.window]
            if spec.key == "coherence_ratio" and coherence_words(value):
                detail = [coherence_words(value)]
            if spec.key == "breathing_power_ms2" and math.isfinite(markers.breaths_per_min):
                detail = [f"at {markers.breaths_per_min:.1f} breaths/min"]
            if dimmed:
                detail = ["not valid: breathing ≤ 9/min moves into LF"]
            base = getattr(baseline, spec.key) if baseline is not None else math.nan
            if math.isfinite(base):
                detail.insert(0, f"baseline {number_text(base, spec.digits)}")
            card.set_detail(" · ".join(detail))

    def _draw_slow_panels(self) -> None:
        """Spectrum and trend lines: they change once a beat, and are drawn at most once a second."""
        self._slow_drawn_at = time.monotonic()
        if self._drawn_slow_at == self.state.snapshots:
            return
        self._drawn_slow_at = self.state.snapshots
        spectrum = self.state.spectrum
        building = math.nan
        if spectrum is not None and spectrum.duration_s < 115.0:
            building = spectrum.duration_s
        self.spectrum.draw(spectrum, self.state.markers.breaths_per_min, building)
        baseline = self.state.baseline
        for spec in MARKER_CARDS:
            x, y = self.state.trends[spec.key].data()
            base = getattr(baseline, spec.key) if baseline is not None else math.nan
            self.cards[spec.key].sparkline.set_data(x, y, base)

    def _draw_text(self, t_s: float) -> None:
        shown_s = min(max(t_s, 0.0), self.total_s)
        self.elapsed_label.setText(f"{clock_text(shown_s)} / {clock_text(self.total_s)}")
        if self.state.paused:
            self.remaining_label.setText("paused · space to go on")
        else:
            self.remaining_label.setText(f"{clock_text(self.total_s - shown_s)} left")
        self.timeline.set_position(shown_s)
        phase = self.state.phase
        if phase is not None:
            self.phase_label.setText(phase.name)
            pacing = (f"{phase.breaths_per_min:g} breaths/min"
                      if phase.breaths_per_min is not None else "free breathing")
            self.phase_step_label.setText(
                f"{self.protocol.name} · phase {self.state.phase_index + 1} of "
                f"{len(self.protocol.phases)} · {phase.kind} · {pacing}")
            self.guidance_label.setText(phase.guidance)
        _set_role_text(self.status_label, self.state.status,
                       "bad" if self.state.recording_problem else "muted")
        words, role = self.state.source_state()
        source = f" · {self.source_label}" if self.source_label else ""
        _set_role_text(self.connection_label, f"● {words}{source}", role)
        _set_role_text(self.signal_label, f"signal {self.state.signal}", _SIGNAL_ROLE[self.state.signal])
        battery = self.state.battery_pct
        self.battery_label.setText(f"battery {battery:.0f} %" if battery is not None else "")

    # ---- the end ------------------------------------------------------------------------------------
    def show_end(self, info: EndOfSession | None) -> None:
        """Use the stored session's comparison and report (call once the session is saved)."""
        self.end_info = info
        if self.ended is not None and self._frozen_s is not None and self._shows_summary():
            self._show_summary()

    def _show_summary(self) -> None:
        if self.ended is not None:
            self.body_stack.setCurrentWidget(self.summary_page)
            self.summary_page.show_session(self.ended, self.end_info)

    async def until_drawn(self, timeout_s: float = START_WAIT_S) -> bool:
        """Repaint the coach page and wait until Qt has painted it (on screen), at most
        `timeout_s` real seconds; False when it was not (hidden, closed or minimized meanwhile)."""
        self.coach_page_drawn = False
        self.coach_page.update()
        deadline = time.monotonic() + timeout_s
        while not self.coach_page_drawn:
            if not self.isVisible() or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(DRAWN_POLL_S)
        return True

    # ---- Qt events --------------------------------------------------------------------------------
    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Paint and watched is self.coach_page:
            self.coach_page_drawn = True
        return super().eventFilter(watched, event)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()

    def hideEvent(self, event: QtGui.QHideEvent) -> None:
        self._timer.stop()  # hidden: nothing to draw
        super().hideEvent(event)

    def changeEvent(self, event: QtCore.QEvent) -> None:
        if event.type() == QtCore.QEvent.Type.WindowStateChange:
            minimized = bool(self.windowState() & QtCore.Qt.WindowState.WindowMinimized)
            interval = MINIMIZED_FRAME_INTERVAL_MS if minimized else (
                ENDED_FRAME_INTERVAL_MS if self.ended is not None else self._frame_interval_ms)
            self._timer.setInterval(interval)
            self.fullscreen_button.setText("Leave full screen" if self.isFullScreen()
                                           else "Full screen")
        super().changeEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self._timer.stop()
        super().closeEvent(event)
        self.closed.emit()


def _set_role_text(label: QtWidgets.QLabel, text: str, role: str) -> None:
    label.setText(text)
    if label.property("role") != role:
        label.setProperty("role", role)
        label.style().unpolish(label)
        label.style().polish(label)


def _hr_range(hrs: NDArray[np.float64]) -> tuple[float, float]:
    """A steady y range for the heart rate: rounded to 5 bpm, at least 20 bpm tall.

    Lone spikes (an ectopic or missed beat) may run off the top or bottom instead of squashing
    the breathing swing: only values within 3.5 scaled MADs (at least 8 bpm) of the median count.
    """
    if hrs.size == 0:
        return 55.0, 85.0
    median = float(np.median(hrs))
    spread = max(3.5 * 1.4826 * float(np.median(np.abs(hrs - median))), 8.0)
    inliers = hrs[np.abs(hrs - median) <= spread]
    lo = math.floor((float(inliers.min()) - 3.0) / 5.0) * 5.0
    hi = math.ceil((float(inliers.max()) + 3.0) / 5.0) * 5.0
    if hi - lo < 20.0:
        middle = round((lo + hi) / 10.0) * 5.0
        lo, hi = middle - 10.0, middle + 10.0
    return lo, hi


def _open_with_desktop(path: Path) -> None:
    if not QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path))):
        log.warning("could not open %s with the desktop's viewer", path)
