"""The coach window: a breathing pacer, the heart rhythm with the breath beneath it, the vagal
markers with their trends, the live spectrum, the session bar and the controls.

The session knows nothing of Qt: `CoachWindow.handle` only stores the events it is given, and a
timer draws them `fps` times a second (the costlier plots at most PLOT_FPS), so drawing never
waits on beats and beats never wait on drawing. What is drawn is clipped to the visible time and
thinned to a bounded number of points, so a frame costs the same after 60 minutes as after one.
`run_window` (loop.py) runs the session's asyncio task and Qt on one qasync event loop.

The window holds from MINIMUM_SIZE to 4K: every font and margin scales with it (`scale`, 1 at
1280×800), the pacer takes about a third of its width, and a window taller than wide (e.g. half a
screen) puts the pacer above and the marker cards in rows. The focus view shows only the pacer,
the phase, the time left and two numbers, large enough for two or three metres or a projector.

Keys: space pauses and resumes, m marks the moment, v switches to the focus view and back, p
shows the pacing controls, s switches the sound, f toggles full screen (Esc leaves it and the
focus view), t switches between the dark and the light theme.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal
from typing import Protocol as TypingProtocol

import numpy as np
from numpy.typing import NDArray
from PySide6 import QtCore, QtGui, QtWidgets

# isort: split

from hrvcoach.analysis.coherence import coherence_level
from hrvcoach.core.clock import Clock
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.core.markers import marker
from hrvcoach.protocols.custom import Pacing, save_protocol, with_pacing
from hrvcoach.protocols.pacer import Pacer, PacerState
from hrvcoach.protocols.protocol import Phase, Protocol
from hrvcoach.session import (
    Marked,
    Paused,
    Resumed,
    SessionEnded,
    SessionEvent,
)
from hrvcoach.views.qt.coach_state import COHERENCE_LEVELS, CoachState
from hrvcoach.views.qt.focus import FocusView
from hrvcoach.views.qt.labels import make_label, scale_fonts, scaled_px
from hrvcoach.views.qt.pacing import PacingBar, ask_protocol_path
from hrvcoach.views.qt.panels import (
    MARKER_CARDS,
    EcgStrip,
    HeartRhythmPlot,
    MarkerCard,
    PacerDisc,
    PhaseTimeline,
    SpectrumPlot,
)
from hrvcoach.views.qt.summary import EndOfSession, SummaryPanel
from hrvcoach.views.qt.theme import MINIMUM_SIZE, THEMES, WINDOW_SIZE, Theme, ThemeName, stylesheet
from hrvcoach.views.text import NO_VALUE, clock_text, number_text

if TYPE_CHECKING:
    from hrvcoach.views.qt.setup import SetupPanel
    from hrvcoach.views.sound import SessionSound

__all__ = ["MINIMUM_SIZE", "WINDOW_SIZE", "CoachWindow", "EndOfSession", "PacerDisc"]

log = logging.getLogger(__name__)

MAX_SCALE: Final = 3.0  # fonts stop growing here (a 4K screen is 3 x 1280 wide)
NARROW_ASPECT: Final = 1.2  # narrower than this x its height: the pacer goes above the plots
PACER_WIDTH: Final = 0.31  # of the window's width, beside the plots (wide arrangement)
CARDS_WIDTH: Final = 0.24
PACER_HEIGHT: Final = 0.30  # of the window's height, above the plots (narrow arrangement) ...
PACER_MIN_HEIGHT: Final = 0.18  # ... at most and at least
LEAD_S: Final = 4.0  # the plot shows this much of the coming breath right of "now"
WAVE_STEP_S: Final = 0.1  # the breath wave is sampled on a fixed grid of session times
PLOT_FPS: Final = 12.0  # the timer redraws the heart rhythm plot at most this often (real s) ...
PLOT_MIN_FPS: Final = 4.0  # ... and at least this often ...
PLOT_STEP_PX: Final = 0.75  # ... aiming at a redraw each time it has scrolled this far
SLOW_PANELS_S: Final = 1.0  # spectrum and trend lines: at most once a second (real s)
ENDED_FRAME_INTERVAL_MS: Final = 250  # after the end the frame is frozen: redraw rarely
MINIMIZED_FRAME_INTERVAL_MS: Final = 1000  # minimized: tick rarely and draw nothing
TREND_POINTS: Final = 60  # a trend line draws at most twice this many points
START_WAIT_S: Final = 3.0  # a session starts once its page is drawn, or after this (real s)
DRAWN_POLL_S: Final = 0.005  # how often the start checks whether the page was drawn (real s)
PACING_RECORD_AFTER_MS: Final = 1500  # a pacing change is recorded once the controls rest
HF_NOT_VALID: Final = "not valid: the breath is not in HF"

_PART_WORDS: Final = {"in": "breathe in", "hold in": "hold", "out": "breathe out",
                      "hold out": "hold"}
_SIGNAL_ROLE: Final = {"good": "good", "fair": "warn", "poor": "bad", "no contact": "bad",
                       "unknown": "muted"}
_LEVEL_WORDS: Final = {level: words for level, words in COHERENCE_LEVELS}
_END_WORDS: Final = {"stopped": "session stopped", "source ended": "session ended early"}

Arrangement = Literal["wide", "narrow"]


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
    return _LEVEL_WORDS.get(coherence_level(ratio), "")


def window_scale(width: int, height: int) -> tuple[Arrangement, float]:
    """How a window of this size is arranged, and its scale (1 at 1280×800)."""
    if width < NARROW_ASPECT * height:
        return "narrow", min(max(min(width / 960.0, height / 1000.0), 0.75), MAX_SCALE)
    return "wide", min(max(min(width / WINDOW_SIZE[0], height / WINDOW_SIZE[1]), 0.75), MAX_SCALE)


class CoachWindow(QtWidgets.QMainWindow):
    """Draws a session: `handle` stores each event, `render_frame` (on a timer) draws them."""

    closed = QtCore.Signal()
    stop_requested = QtCore.Signal()
    new_session_requested = QtCore.Signal()
    pacing_changed = QtCore.Signal(float, str)  # session time, the new pacing in words

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
        self.sound: SessionSound | None = None  # set by run_window when the session has sound
        self.summary_at_end = True  # False: the last frame keeps the live look (screenshots)
        self.end_info: EndOfSession | None = None
        self.open_file: Callable[[Path], None] = _open_with_desktop
        self.ask_protocol_path: Callable[[Path], Path | None] = self._ask_protocol_path
        self.protocol_dir: Path | None = None  # where "Save as protocol" saves (the data folder's)
        self.can_start_new = False  # a "New session" button at the end (the window has a setup page)
        self.theme: Theme = THEMES[theme]
        self.setup: SetupPanel | None = None  # the setup page, when the window has one
        self._frame_interval_ms = max(round(1000.0 / fps), 1)
        self.coach_page_drawn = False  # Qt painted the coach page (since `until_drawn` asked)
        self.arrangement: Arrangement = "wide"
        self.scale = 1.0

        self.setWindowTitle("hrvcoach")
        self.setMinimumSize(*MINIMUM_SIZE)
        self.resize(*WINDOW_SIZE)
        self._build()
        self._pacing_record = QtCore.QTimer(self)
        self._pacing_record.setSingleShot(True)
        self._pacing_record.setInterval(PACING_RECORD_AFTER_MS)
        self._pacing_record.timeout.connect(self._record_pacing)
        self.begin(protocol, pacer, clock, source_label=source_label)
        self.set_theme(theme)
        self._arrange(force=True)

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
        self.controls = None
        self.end_info = None
        self._frozen_s: float | None = None
        self._wave_cache: dict[int, float] = {}
        self._wave_revision = pacer.revision
        # (self.state.snapshots, whole seconds of silence) when the cards were last drawn
        self._drawn_markers_at: tuple[int, int | None] = (-1, None)
        self._focus_drawn_at = -1  # ... when the focus view's numbers were
        self._drawn_slow_at = -1  # ... when the spectrum and trend lines were last drawn
        self._plot_drawn_at = -math.inf  # time.monotonic() of the last plot redraw
        self._slow_drawn_at = -math.inf
        self._live_pacing: tuple[int, Pacing] | None = None  # (phase index, pacing set live)
        self._pending_pacing: tuple[float, Pacing] | None = None  # not yet recorded
        self._shown_pacing_phase = -2  # the phase whose pacing the pacing bar shows
        self.timeline.set_phases(protocol.phases, self.total_s)
        self.phase_label.setText(protocol.name)
        self.phase_step_label.setText(protocol.description)
        self.guidance_label.setText("")
        self.body_stack.setCurrentWidget(self.live_page)
        self._show_side_panels(True)
        self.summary_page.new_session_button.setVisible(False)
        self.pacing_bar.set_note("")
        self._update_buttons()

    @property
    def ended(self) -> SessionEnded | None:
        return self.state.ended

    @property
    def source_label(self) -> str:
        """What the session runs on (the strap names itself once connected)."""
        return self.state.source_label

    @property
    def focused(self) -> bool:
        """The focus view is showing."""
        return self.pages.currentWidget() is self.focus_page

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        self.pages = QtWidgets.QStackedWidget()
        self.pages.setObjectName("central")
        self.setCentralWidget(self.pages)
        self.coach_page = QtWidgets.QWidget()
        self.coach_page.installEventFilter(self)  # its first paint starts the session's time
        self.pages.addWidget(self.coach_page)
        self.focus_page = FocusView(MARKER_CARDS)
        self.focus_page.installEventFilter(self)  # or the focus view's
        self.pages.addWidget(self.focus_page)
        self.root_layout = root = QtWidgets.QVBoxLayout(self.coach_page)
        root.addLayout(self._build_header())
        self.timeline = PhaseTimeline()
        root.addWidget(self.timeline)

        self.body = QtWidgets.QGridLayout()
        root.addLayout(self.body, stretch=1)
        self.pacer_card = self._build_pacer_card()
        self.body_stack = QtWidgets.QStackedWidget()
        self.live_page = self._build_plots()
        self.summary_page = self._build_summary()
        self.body_stack.addWidget(self.live_page)
        self.body_stack.addWidget(self.summary_page)
        self.cards_panel = self._build_cards()
        self.pacing_bar = PacingBar()
        self.pacing_bar.setVisible(False)
        self.pacing_bar.changed.connect(self.change_pacing)
        self.pacing_bar.save_requested.connect(self.save_pacing_as_protocol)
        root.addWidget(self.pacing_bar)
        root.addLayout(self._build_footer())

    def _build_header(self) -> QtWidgets.QHBoxLayout:
        header = QtWidgets.QHBoxLayout()
        titles = QtWidgets.QVBoxLayout()
        titles.setSpacing(2)
        self.phase_label = make_label("", size_px=30, weight=300, elide=True)
        self.phase_step_label = make_label("", size_px=14, role="muted", elide=True)
        self.guidance_label = make_label("", size_px=16, role="muted", wrap=True)
        for widget in (self.phase_label, self.phase_step_label, self.guidance_label):
            titles.addWidget(widget)
        header.addLayout(titles, stretch=2)
        clock_box = QtWidgets.QVBoxLayout()
        clock_box.setSpacing(2)
        self.elapsed_label = make_label("00:00 / 00:00", size_px=30, weight=300)
        self.remaining_label = make_label("elapsed / total", size_px=14, role="muted")
        for widget in (self.elapsed_label, self.remaining_label):
            widget.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
            clock_box.addWidget(widget)
        self.chips = QtWidgets.QHBoxLayout()  # the connection, the signal, the battery
        self.connection_label = make_label("", size_px=15, elide=True)
        self.connection_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        # a long strap name ("Polar H10 … firmware …") is elided, never pushing the title aside
        self.connection_label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                            QtWidgets.QSizePolicy.Policy.Preferred)
        self.signal_label = make_label("", size_px=15)
        self.battery_label = make_label("", size_px=15, role="muted")
        self.chips.addWidget(self.connection_label, stretch=1)
        self.chips.addWidget(self.signal_label)
        self.chips.addWidget(self.battery_label)
        clock_box.addLayout(self.chips)
        clock_box.addStretch(1)
        header.addLayout(clock_box, stretch=3)
        return header

    def _build_pacer_card(self) -> QtWidgets.QFrame:
        card = QtWidgets.QFrame()
        card.setObjectName("card")
        self.pacer_box = QtWidgets.QBoxLayout(QtWidgets.QBoxLayout.Direction.TopToBottom, card)
        self.pacer_item = PacerDisc()
        words = QtWidgets.QWidget()
        self.pacer_words = QtWidgets.QVBoxLayout(words)
        self.pacer_words.setContentsMargins(0, 0, 0, 0)
        self.pacer_words.setSpacing(2)
        self.pacer_words.setAlignment(QtCore.Qt.AlignmentFlag.AlignVCenter)
        self.pacer_label = make_label("breathe freely", size_px=34, weight=300)
        self.pacer_count_label = make_label("", size_px=22, role="muted")
        self.pacer_rate_label = make_label("", size_px=14, role="muted", wrap=True)
        for widget in (self.pacer_label, self.pacer_count_label, self.pacer_rate_label):
            widget.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            self.pacer_words.addWidget(widget)
        self.pacer_box.addWidget(self.pacer_item, stretch=1)
        self.pacer_box.addWidget(words)
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
        self.legend_label = make_label("", size_px=13, role="muted", wrap=True)
        column.addWidget(self.legend_label)
        self.ecg_strip = EcgStrip()  # shown with the ECG checkbox, once a strap sends ECG
        self.ecg_strip.widget.setVisible(False)
        column.addWidget(self.ecg_strip.widget, stretch=1)
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
        page.new_session_button.clicked.connect(lambda _checked=False: self.request_new_session())
        return page

    def _build_cards(self) -> QtWidgets.QWidget:
        panel = QtWidgets.QWidget()
        self.cards_grid = QtWidgets.QGridLayout(panel)
        self.cards_grid.setContentsMargins(0, 0, 0, 0)
        self.cards: dict[str, MarkerCard] = {}
        for spec in MARKER_CARDS:
            self.cards[spec.key] = MarkerCard(spec.title, spec.unit)
        self.hr_label = self.cards["mean_hr_bpm"].value_label
        self.rmssd_label = self.cards["rmssd_ms"].value_label
        return panel

    def _build_footer(self) -> QtWidgets.QHBoxLayout:
        self.footer = footer = QtWidgets.QHBoxLayout()
        self.status_label = make_label("", size_px=14, role="muted", elide=True)
        for label in (self.connection_label, self.status_label):  # text from the strap: no HTML
            label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        footer.addWidget(self.status_label, stretch=1)
        self.pause_button = self._button("Pause", self.toggle_pause, "pause / resume (space)")
        self.stop_button = self._button("Stop", self.request_stop, "end the session now")
        self.mark_button = self._button("Mark", self.add_mark, "mark this moment (m)")
        self.pacing_button = self._button("Pacing", self.toggle_pacing_bar,
                                          "change the pace of this phase (p)")
        self.focus_button = self._button("Focus", self.toggle_focus,
                                         "only the pacer, large (v; Esc leaves it)")
        self.sound_button = self._button("Sound", self.toggle_sound, "sound pacing on / off (s)")
        self.volume_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setToolTip("volume of the sound pacing")
        self.volume_slider.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.volume_slider.valueChanged.connect(self._volume_moved)
        self.fullscreen_button = self._button("Full screen", self.toggle_fullscreen,
                                              "full screen (f; Esc leaves it)")
        self.theme_button = self._button("Light", self.toggle_theme, "dark / light theme (t)")
        for widget in (self.pause_button, self.stop_button, self.mark_button, self.pacing_button,
                       self.focus_button, self.sound_button, self.volume_slider,
                       self.fullscreen_button, self.theme_button):
            footer.addWidget(widget)
        self.ecg_box = QtWidgets.QCheckBox("ECG")
        self.ecg_box.setToolTip("show the strap's ECG, the last seconds received")
        self.ecg_box.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.ecg_box.setVisible(False)  # until the strap sends ECG
        self.ecg_box.toggled.connect(self.ecg_strip.widget.setVisible)
        footer.addWidget(self.ecg_box)
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

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self, *, force: bool = False) -> None:
        """Lay the coach page out for the window's size: the arrangement, the scale of every
        font and margin, and the widths of the pacer and the cards."""
        arrangement, scale = window_scale(self.width(), self.height())
        if force or abs(scale - self.scale) > 0.01:
            self.scale = scale
            self._apply_scale()
        if force or arrangement != self.arrangement:
            self.arrangement = arrangement
            self._place_panels()
        width, height = self.width(), self.height()
        if arrangement == "wide":
            self.pacer_card.setFixedWidth(round(PACER_WIDTH * width))
            self.pacer_card.setMinimumHeight(0)
            self.pacer_card.setMaximumHeight(16_777_215)
            self.cards_panel.setFixedWidth(round(CARDS_WIDTH * width))
        else:  # the pacer gives way first when the window is short
            self.pacer_card.setMinimumWidth(0)
            self.pacer_card.setMaximumWidth(16_777_215)
            self.pacer_card.setMinimumHeight(round(PACER_MIN_HEIGHT * height))
            self.pacer_card.setMaximumHeight(round(PACER_HEIGHT * height))
            self.cards_panel.setMinimumWidth(0)
            self.cards_panel.setMaximumWidth(16_777_215)

    def _place_panels(self) -> None:
        """Wide: pacer | plots | cards. Narrow: the pacer (disc beside its words) above the
        cards in two rows, above the plots."""
        for widget in (self.pacer_card, self.body_stack, self.cards_panel):
            self.body.removeWidget(widget)
        for column in range(3):
            self.body.setColumnStretch(column, 0)
        for row in range(3):
            self.body.setRowStretch(row, 0)
        for spec in MARKER_CARDS:
            self.cards_grid.removeWidget(self.cards[spec.key])
        if self.arrangement == "wide":
            self.body.addWidget(self.pacer_card, 0, 0)
            self.body.addWidget(self.body_stack, 0, 1)
            self.body.addWidget(self.cards_panel, 0, 2)
            self.body.setColumnStretch(1, 1)
            self.body.setRowStretch(0, 1)
            self.pacer_box.setDirection(QtWidgets.QBoxLayout.Direction.TopToBottom)
            self.pacer_box.setStretch(1, 0)
            for row, spec in enumerate(MARKER_CARDS):
                self.cards_grid.addWidget(self.cards[spec.key], row, 0)
        else:
            self.body.addWidget(self.pacer_card, 0, 0)
            self.body.addWidget(self.cards_panel, 1, 0)
            self.body.addWidget(self.body_stack, 2, 0)
            self.body.setColumnStretch(0, 1)
            self.body.setRowStretch(0, 2)
            self.body.setRowStretch(2, 3)
            self.pacer_box.setDirection(QtWidgets.QBoxLayout.Direction.LeftToRight)
            self.pacer_box.setStretch(1, 1)  # the disc and its words share the width
            for index, spec in enumerate(MARKER_CARDS):
                self.cards_grid.addWidget(self.cards[spec.key], index // 3, index % 3)
        for row in range(len(MARKER_CARDS)):
            self.cards_grid.setRowStretch(row, 1 if self.arrangement == "wide" or row < 2 else 0)

    def _apply_scale(self) -> None:
        scale = self.scale
        px = lambda base: scaled_px(base, scale)  # noqa: E731
        self.root_layout.setContentsMargins(px(24), px(14), px(24), px(10))
        self.root_layout.setSpacing(px(8))
        self.body.setHorizontalSpacing(px(14))
        self.body.setVerticalSpacing(px(10))
        self.cards_grid.setSpacing(px(8))
        self.footer.setSpacing(px(12))
        self.chips.setSpacing(px(14))
        self.pacer_box.setContentsMargins(px(14), px(12), px(14), px(14))
        self.pacer_box.setSpacing(px(4))
        self.pacer_count_label.setMinimumHeight(px(30))
        self.volume_slider.setFixedWidth(px(90))
        scale_fonts(self, scale)
        if self.setup is not None:
            scale_fonts(self.setup, scale)
        self.timeline.set_scale(scale)
        self.heart.set_scale(scale)
        self.spectrum.set_scale(scale)
        self.ecg_strip.set_scale(scale)
        self.focus_page.set_scale(scale)
        self.summary_page.set_scale(scale)
        for card in self.cards.values():
            card.set_scale(scale)
        self.pages.setStyleSheet(stylesheet(self.theme, scale))
        self._plot_drawn_at = -math.inf

    def _show_side_panels(self, shown: bool) -> None:
        """The pacer and the cards beside the plots (the summary takes their place at the end)."""
        self.pacer_card.setVisible(shown)
        self.cards_panel.setVisible(shown)

    # ---- theme ------------------------------------------------------------------------------------
    def set_theme(self, name: ThemeName) -> None:
        """Switch every panel to the dark or the light theme."""
        theme = self.theme = THEMES[name]
        self.pages.setStyleSheet(stylesheet(theme, self.scale))
        self.pacer_item.set_theme(theme)
        self.focus_page.disc.set_theme(theme)
        self.timeline.set_theme(theme)
        self.heart.set_theme(theme)
        self.spectrum.set_theme(theme)
        self.ecg_strip.set_theme(theme)
        for spec in MARKER_CARDS:
            color = theme.heart if spec.key == "mean_hr_bpm" else theme.rgba(theme.breath, 255)
            self.cards[spec.key].sparkline.set_colors(color, theme.muted)
        keys = ((theme.heart, "━", "heart rate"), (f"rgb{theme.breath}", "▆", "pacer breath"),
                (theme.gap, "●", "gap or no contact"), (theme.artifact, "○", "artifact"),
                (theme.mark, "┃", "your mark"))
        self.legend_label.setText(" &nbsp; ".join(  # a key's symbol and words never part
            f"<span style='white-space:nowrap'><span style='color:{colour}'>{symbol}</span>"
            f"&nbsp;{words.replace(' ', '&nbsp;')}</span>" for colour, symbol, words in keys))
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

    def note(self, text: str) -> None:
        """A line for the status bar (until the next status event)."""
        self.state.status = text

    def attach_sound(self, sound: SessionSound | None) -> None:
        """The session's sound, for the sound button, its key and the volume."""
        self.sound = sound
        if sound is not None:
            self.volume_slider.blockSignals(True)
            self.volume_slider.setValue(round(100 * sound.renderer.volume))
            self.volume_slider.blockSignals(False)
        self._update_sound_button()

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

    def request_new_session(self) -> None:
        """After the end: back to the setup page for another session."""
        if self.ended is not None and self.can_start_new:
            self.new_session_requested.emit()

    def toggle_fullscreen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def toggle_focus(self) -> None:
        """The focus view (only the pacer, large) or all panels."""
        if self.pages.currentWidget() is self.focus_page:
            self.pages.setCurrentWidget(self.coach_page)
            self._drawn_markers_at, self._drawn_slow_at = (-1, None), -1  # not drawn meanwhile
            self._plot_drawn_at = -math.inf
        elif self.pages.currentWidget() is self.coach_page:
            self.pages.setCurrentWidget(self.focus_page)
            self._focus_drawn_at = -1
        self.focus_button.setText("All panels" if self.focused else "Focus")

    def toggle_pacing_bar(self) -> None:
        self.pacing_bar.setHidden(not self.pacing_bar.isHidden())
        self._shown_pacing_phase = -2  # fill it with the pacing of now

    def toggle_sound(self) -> None:
        sound = self.sound
        if sound is None:
            return
        if not sound.set_on(not sound.on):
            self.status_label.setText(sound.problem)
        self._update_sound_button()

    def _volume_moved(self, value: int) -> None:
        if self.sound is not None:
            self.sound.set_volume(value / 100.0)

    def _update_sound_button(self) -> None:
        sound = self.sound
        self.sound_button.setEnabled(sound is not None and sound.real_time)
        self.volume_slider.setEnabled(sound is not None and sound.real_time)
        self.sound_button.setText("Sound off" if sound is not None and sound.on else "Sound on")
        if sound is not None and sound.problem:
            self.sound_button.setToolTip(f"sound pacing on / off (s) — {sound.problem}")

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
        self.pacing_button.setEnabled(self.ended is None)
        if self.ended is not None:
            self.pacing_bar.setVisible(False)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        actions = {QtCore.Qt.Key.Key_Space: self.toggle_pause, QtCore.Qt.Key.Key_M: self.add_mark,
                   QtCore.Qt.Key.Key_F: self.toggle_fullscreen,
                   QtCore.Qt.Key.Key_T: self.toggle_theme, QtCore.Qt.Key.Key_V: self.toggle_focus,
                   QtCore.Qt.Key.Key_P: self.toggle_pacing_bar,
                   QtCore.Qt.Key.Key_S: self.toggle_sound}
        action = actions.get(QtCore.Qt.Key(event.key()))
        if action is not None and not event.isAutoRepeat():
            action()
        elif event.key() == QtCore.Qt.Key.Key_Escape and (self.focused or self.isFullScreen()):
            if self.focused:
                self.toggle_focus()
            else:
                self.showNormal()
        else:
            super().keyPressEvent(event)

    # ---- pacing -------------------------------------------------------------------------------------
    def current_pacing(self) -> Pacing | None:
        """The pacing of the phase under way: set live, else the protocol's (None: unpaced)."""
        phase, index = self.state.phase, self.state.phase_index
        if self._live_pacing is not None and self._live_pacing[0] == index:
            return self._live_pacing[1]
        if phase is None or phase.breaths_per_min is None:
            return None
        t_s = self.clock.now()
        state = self.pacer.state_at(t_s)
        breath = self.pacer.breath_at(t_s)
        rate = state.breaths_per_min if state.breaths_per_min is not None else phase.breaths_per_min
        return Pacing.of_breath(round(rate, 1), breath if breath is not None else phase.breath)

    def change_pacing(self, pacing: Pacing) -> bool:
        """Pace the rest of this phase at `pacing`, from now (the pacer retunes
        phase-continuously); recorded as a note once the controls rest. False when it cannot."""
        if self.ended is not None:
            return False
        t_s = self.clock.now()
        try:
            breath = pacing.breath()
            self.pacer.retune(t_s, pacing.breaths_per_min, breath)
        except InputError as exc:
            self.pacing_bar.set_note(exc.problem)
            return False
        except ValueError:
            self.pacing_bar.set_note("no pacer in this phase")
            return False
        self._live_pacing = (self.state.phase_index, pacing)
        self._pending_pacing = (t_s, pacing)
        self._pacing_record.start()
        self.pacing_bar.set_note(f"{pacing.text()} until this phase ends")
        return True

    def _record_pacing(self) -> None:
        pending, self._pending_pacing = self._pending_pacing, None
        if pending is not None:
            self.pacing_changed.emit(pending[0], f"pacing: {pending[1].text()}")

    def save_pacing_as_protocol(self) -> Path | None:
        """Save this protocol with the pacing of now as a protocol file of the user's own."""
        folder = self.protocol_dir
        pacing = self.current_pacing() or self.pacing_bar.pacing()
        if folder is None:
            self.pacing_bar.set_note("no data folder to save protocols in")
            return None
        path = self.ask_protocol_path(folder / f"{self.protocol.name}-mine.toml")
        if path is None:
            return None
        try:
            saved = save_protocol(with_pacing(self.protocol, pacing), path)
        except InputError as exc:
            self.pacing_bar.set_note(exc.problem)
            return None
        self.pacing_bar.set_note(f"saved as “{saved.name}”: the setup page offers it")
        return path

    def _ask_protocol_path(self, suggested: Path) -> Path | None:
        return ask_protocol_path(self, "Save the pacing as a protocol", suggested)

    # ---- events (stored, never drawn here) ------------------------------------------------------
    def handle(self, event: SessionEvent) -> None:
        """Store one session event (in `state`); the next frame draws it."""
        self.state.handle(event)
        if isinstance(event, Paused | Resumed) or (
                isinstance(event, SessionEnded) and self.summary_at_end):
            self._update_buttons()  # a screenshot keeps the live look at the end
        if isinstance(event, SessionEnded):
            self._record_pacing()

    # ---- drawing ----------------------------------------------------------------------------------
    def render_frame(self, now_s: float | None = None, *, plot: bool = True,
                     slow: bool = True) -> None:
        """Draw everything for session time `now_s` (the clock's time when None).

        `plot=False` leaves the heart rhythm plot and the cards as they are, `slow=False` the
        spectrum and the trend lines (`tick` redraws them less often than the pacer). The focus
        view draws only itself.
        """
        t_s = self.clock.now() if now_s is None else now_s
        if self.ended is not None:
            if self._frozen_s is None:
                self._frozen_s = min(t_s, self.total_s)
                self._timer.setInterval(ENDED_FRAME_INTERVAL_MS)
                if self._shows_summary():
                    self._show_summary()
            t_s = self._frozen_s
        if self.pacer.revision != self._wave_revision:
            self._wave_cache.clear()  # the pacing changed: the breath wave ahead did too
            self._wave_revision = self.pacer.revision
        self.frames_rendered += 1
        state = self.pacer.state_at(t_s)
        if self.focused:
            self._draw_focus(t_s, state)
            return
        self._draw_pacer(state)
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

        The plot scrolls by less than a pixel per frame, so fewer redraws look the same
        (`plot_interval_s`); the slow panels wait for a frame without the plot, so no frame
        does both.
        """
        now = time.monotonic()
        plot = now - self._plot_drawn_at >= self.plot_interval_s() - 1e-3
        slow = not plot and now - self._slow_drawn_at >= SLOW_PANELS_S - 1e-3  # never both
        self.render_frame(now_s, plot=plot, slow=slow)

    def plot_interval_s(self) -> float:
        """Real seconds between two heart rhythm redraws: as long as it takes the plot to scroll
        PLOT_STEP_PX (a redraw that moves it less looks the same), within PLOT_FPS..PLOT_MIN_FPS."""
        px_per_s = max(self.plot.width(), 1) / (self.history_s + LEAD_S)
        speed = getattr(self.clock, "speed", 1.0)
        return min(max(PLOT_STEP_PX / (px_per_s * speed), 1.0 / PLOT_FPS), 1.0 / PLOT_MIN_FPS)

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

    def _pacer_words(self, state: PacerState) -> tuple[str, str]:
        """What to do now and the seconds left of it."""
        if self._shows_summary() and self.ended is not None:
            return _END_WORDS.get(self.ended.reason, "session complete"), ""
        if self.state.paused:
            return "paused", "space to go on"
        if state.paced and state.part is not None:
            return _PART_WORDS[state.part], f"{max(math.ceil(state.seconds_left - 1e-6), 1)} s"
        return "breathe freely", ""

    def _show_breath(self, disc: PacerDisc, words_label: QtWidgets.QLabel,
                     count_label: QtWidgets.QLabel, state: PacerState) -> None:
        """A pacer disc and its words (the coach page's or the focus view's)."""
        ended = self._shows_summary()
        disc.set_state(lung=state.lung, paced=state.paced and not ended,
                       dimmed=ended or self.state.paused)
        words, count = self._pacer_words(state)
        words_label.setText(words)
        count_label.setText(count)

    def _draw_pacer(self, state: PacerState) -> None:
        self._show_breath(self.pacer_item, self.pacer_label, self.pacer_count_label, state)
        self.pacer_rate_label.setText("" if self._shows_summary() else self._pacing_text())

    def _pacing_text(self) -> str:
        phase = self.state.phase
        if phase is None or not phase.paced:
            return "no pacer in this phase"
        live = self._live_pacing
        if live is not None and live[0] == self.state.phase_index:
            return live[1].text()
        return phase.pacing_text()

    def _draw_focus(self, t_s: float, state: PacerState) -> None:
        """The focus view: the pacer, the phase, the time left, what to do, two numbers."""
        focus = self.focus_page
        self._show_breath(focus.disc, focus.part_label, focus.count_label, state)
        phase = self.state.phase
        focus.phase_label.setText(phase.name if phase is not None else self.protocol.name)
        shown_s = min(max(t_s, 0.0), self.total_s)
        focus.time_label.setText(self._time_left_text(shown_s))
        if self._focus_drawn_at != self.state.snapshots:
            self._focus_drawn_at = self.state.snapshots
            for tile, key in zip(focus.tiles, focus.numbers, strict=False):
                spec = next(spec for spec in MARKER_CARDS if spec.key == key)
                value = getattr(self.state.markers, key)
                unit = f" ({spec.unit})" if spec.unit and spec.unit != "ratio" else ""
                tile.show_number(f"{marker(key).heading}{unit}", number_text(value, spec.digits))

    def _time_left_text(self, shown_s: float) -> str:
        if self._shows_summary() and self.ended is not None:
            return "complete" if self.ended.reason not in _END_WORDS else "ended"
        if self.state.paused:
            return "paused"
        return f"{clock_text(self.total_s - shown_s)} left"

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
        if self.state.ecg and self.ecg_box.isHidden():
            self.ecg_box.setVisible(True)  # the strap sends ECG: it can be shown
        if not self.ecg_strip.widget.isHidden():
            self.ecg_strip.draw(*self.state.ecg_trace())

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
        not_valid = self.state.not_valid_because
        moving = self.state.moving_words
        for spec in MARKER_CARDS:
            card = self.cards[spec.key]
            value = getattr(markers, spec.key)
            if moving and spec.key != "mean_hr_bpm":  # vagal markers come from still stretches
                card.set_value(number_text(value, spec.digits), dimmed=True)
                card.set_detail(moving)
                continue
            if not_valid and spec.key != "mean_hr_bpm":  # the gate: HRV of this rhythm is not vagal
                card.set_value(NO_VALUE, dimmed=True)
                card.set_detail(not_valid[0].replace(" — HRV not valid", "") + " · HRV not valid")
                continue
            dimmed = spec.key == "hf_ms2" and not markers.hf_valid
            card.set_value(number_text(value, spec.digits), dimmed=dimmed or silent_s is not None)
            if silent_s is not None:  # the numbers are the last ones, not now's
                card.set_detail(f"no beats for {silent_s:.0f} s")
                continue
            detail = [spec.window]
            if markers.provisional and spec.key in ("rmssd_ms", "p2t_bpm"):
                detail = [f"{spec.window} · provisional"]
            if spec.key == "coherence_ratio" and coherence_words(value):
                detail = [coherence_words(value)]
                if math.isfinite(markers.coherence_score):
                    detail.insert(0, f"score {markers.coherence_score:.0f}/100")
            if spec.key == "breathing_power_ms2" and math.isfinite(markers.breaths_per_min):
                detail = [f"at {markers.breaths_per_min:.1f} breaths/min"]
            if dimmed:
                detail = [HF_NOT_VALID]
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
        phase = self.state.phase
        if self.ended is not None and self.summary_at_end:
            self._draw_end_text()
        else:
            self.elapsed_label.setText(f"{clock_text(shown_s)} / {clock_text(self.total_s)}")
            self.remaining_label.setText("paused · space to go on" if self.state.paused else
                                         self._time_left_text(shown_s))
            self.timeline.set_position(shown_s)
            if phase is not None:
                self.phase_label.setText(phase.name)
                self.phase_step_label.setText(self._phase_step_text(phase))
                self.guidance_label.setText(phase.guidance)
        if not self.pacing_bar.isHidden() and self._shown_pacing_phase != self.state.phase_index:
            self._shown_pacing_phase = self.state.phase_index
            pacing = self.current_pacing()
            self.pacing_bar.show_pacing(pacing, note="" if pacing is not None else
                                        "no pacer in this phase")
        _set_role_text(self.status_label, self.state.status,
                       "bad" if self.state.recording_problem else "muted")
        words, role = self.state.source_state()
        source = f" · {self.source_label}" if self.source_label else ""
        _set_role_text(self.connection_label, f"● {words}{source}", role)
        signal = f"signal {self.state.signal}"
        body = self.state.body_words
        _set_role_text(self.signal_label, f"{signal} · {body}" if body else signal,
                       "warn" if self.state.moving_words else _SIGNAL_ROLE[self.state.signal])
        battery = self.state.battery_pct
        self.battery_label.setText(f"battery {battery:.0f} %" if battery is not None else "")

    def _phase_step_text(self, phase: Phase) -> str:
        live = self._live_pacing
        if live is not None and live[0] == self.state.phase_index:
            pacing = f"{live[1].breaths_per_min:g} breaths/min (set now)"
        elif phase.breaths_per_min is not None:
            pacing = f"{phase.breaths_per_min:g} breaths/min"
        else:
            pacing = "free breathing"
        return (f"{self.protocol.name} · phase {self.state.phase_index + 1} of "
                f"{len(self.protocol.phases)} · {phase.kind} · {pacing}")

    def _draw_end_text(self) -> None:
        """The header once the session ended: how it ended and when, not the phase it was in."""
        ended = self.ended
        if ended is None:
            return
        complete = ended.reason not in _END_WORDS
        self.phase_label.setText(_END_WORDS.get(ended.reason, "session complete"))
        self.phase_step_label.setText(f"{self.protocol.name} · {ended.beats} beats")
        self.guidance_label.setText("")
        self.elapsed_label.setText(clock_text(ended.time_s))
        self.remaining_label.setText("complete" if complete else
                                     f"ended at {clock_text(ended.time_s)}")

    # ---- the end ------------------------------------------------------------------------------------
    def show_end(self, info: EndOfSession | None) -> None:
        """Use the stored session's comparison and report (call once the session is saved)."""
        self.end_info = info
        if self.ended is not None and self._frozen_s is not None and self._shows_summary():
            self._show_summary()

    def _show_summary(self) -> None:
        if self.ended is not None:
            if self.focused:
                self.toggle_focus()
            self._show_side_panels(False)
            self.body_stack.setCurrentWidget(self.summary_page)
            self.summary_page.show_session(self.ended, self.end_info, self.protocol,
                                           self.state.coherence_s, self.state.coherence_points)
            self.summary_page.new_session_button.setVisible(self.can_start_new)
            scale_fonts(self.summary_page, self.scale)
            self._draw_end_text()

    async def until_drawn(self, timeout_s: float = START_WAIT_S) -> bool:
        """Repaint the page on show and wait until Qt has painted it (on screen), at most
        `timeout_s` real seconds; False when it was not (hidden, closed or minimized meanwhile)."""
        self.coach_page_drawn = False
        page = self.pages.currentWidget()
        if page is not None:
            page.update()
        deadline = time.monotonic() + timeout_s
        while not self.coach_page_drawn:
            if not self.isVisible() or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(DRAWN_POLL_S)
        return True

    # ---- Qt events --------------------------------------------------------------------------------
    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Paint and watched is self.pages.currentWidget():
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
        self._record_pacing()
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
