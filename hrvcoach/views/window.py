"""The coach window: a breathing pacer, the heart rhythm with the breath beneath it, and the numbers.

The only module that imports Qt (PySide6, drawn with pyqtgraph). The session knows nothing of Qt:
`CoachWindow.handle` only stores the events it is given, and a timer draws them `fps` times a
second, so drawing never waits on beats and beats never wait on drawing. `run_window` runs the
session's asyncio task and Qt on one qasync event loop (no threads).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from PySide6 import QtCore, QtGui, QtWidgets

# isort: split
import pyqtgraph as pg  # after PySide6, so pyqtgraph and qasync bind to it (not to PyQt)
import qasync

from hrvcoach.analysis.live import EMPTY_MARKERS, Markers
from hrvcoach.beats import SourceStatus, StatusKind
from hrvcoach.clock import Clock
from hrvcoach.errors import InputError
from hrvcoach.pacer import Pacer, PacerState
from hrvcoach.protocols import Phase, Protocol
from hrvcoach.session import PhaseStarted, Session, SessionEnded, SessionEvent, Snapshot
from hrvcoach.views.text import NO_VALUE, clock_text, number_text

__all__ = ["WINDOW_SIZE", "CoachWindow", "PacerDisc", "run_window"]

log = logging.getLogger(__name__)

WINDOW_SIZE: Final = (1100, 700)  # width, height in px: the size the window opens at
LEAD_S: Final = 4.0  # the plot shows this much of the coming breath right of "now"
WAVE_STEP_S: Final = 0.1  # the breath wave is sampled on a fixed grid of session times
MAX_BEATS_PER_S: Final = 240 / 60  # bounds the beat buffers (240 bpm)
PLOT_FPS: Final = 12.0  # the timer redraws the plot at most this often (real seconds)
ENDED_FRAME_INTERVAL_MS: Final = 250  # after the end the frame is frozen: redraw rarely

# A calm palette: deep blue-grey background, soft teal breath, warm coral heart.
BG: Final = "#0f141b"
PANEL: Final = "#151c25"
TEXT: Final = "#dce3ea"
MUTED: Final = "#8593a3"
FAINT: Final = "#2a3440"
HEART: Final = "#f2a285"
BREATH: Final = (110, 180, 214)
GAP: Final = "#e0707a"

_PART_WORDS: Final = {"in": "breathe in", "hold in": "hold", "out": "breathe out",
                      "hold out": "hold"}


@dataclass(frozen=True, slots=True)
class _BeatPoint:
    time_s: float
    hr_bpm: float
    flagged: bool  # after a gap or without skin contact
    usable: bool


class _TimeAxis(pg.AxisItem):
    """Session time as mm:ss."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [clock_text(value) if value >= 0 else "" for value in values]


class _BpmAxis(pg.AxisItem):
    """Heart rate ticks only above `floor_bpm`: the band below it belongs to the breath wave."""

    floor_bpm: float = -math.inf

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[Any]:
        levels = super().tickValues(minVal, maxVal, size)
        return [(spacing, [v for v in values if v >= self.floor_bpm - 1e-9])
                for spacing, values in levels]


class PacerDisc(QtWidgets.QWidget):
    """A soft disc that grows on the in-breath and shrinks on the out-breath.

    `lung` (0 = fully out, 1 = fully in) sets its radius between two faint guide rings. When
    `paced` is False only the rings are drawn (breathe freely); `dimmed` fades it after the end.
    """

    MIN_FRACTION: Final = 0.38  # radius at full exhale, as a fraction of the largest radius

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.lung = 0.0
        self.paced = False
        self.dimmed = False
        self.setMinimumSize(220, 220)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Expanding)

    def set_state(self, *, lung: float, paced: bool, dimmed: bool) -> None:
        """Change what is drawn; repaints only when something changed."""
        lung = min(max(lung, 0.0), 1.0)
        if (lung, paced, dimmed) != (self.lung, self.paced, self.dimmed):
            self.lung, self.paced, self.dimmed = lung, paced, dimmed
            self.update()

    def max_radius_px(self) -> float:
        return max(min(self.width(), self.height()) / 2.0 - 12.0, 10.0)

    def disc_radius_px(self) -> float:
        """Radius of the disc as drawn now (0 when hidden)."""
        if not self.paced:
            return 0.0
        outer = self.max_radius_px()
        return outer * (self.MIN_FRACTION + (1.0 - self.MIN_FRACTION) * self.lung)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        center = QtCore.QPointF(self.width() / 2.0, self.height() / 2.0)
        outer = self.max_radius_px()
        ring = QtGui.QPen(QtGui.QColor(255, 255, 255, 34), 1.5)
        painter.setPen(ring)
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawEllipse(center, outer, outer)
        ring.setStyle(QtCore.Qt.PenStyle.DashLine)
        painter.setPen(ring)
        inner = outer * self.MIN_FRACTION
        painter.drawEllipse(center, inner, inner)
        radius = self.disc_radius_px()
        if radius <= 0:
            painter.end()
            return
        alpha = 0.55 if self.dimmed else 1.0
        r, g, b = BREATH
        glow = QtGui.QRadialGradient(center, radius * 1.25)
        glow.setColorAt(0.75, QtGui.QColor(r, g, b, int(60 * alpha)))
        glow.setColorAt(1.0, QtGui.QColor(r, g, b, 0))
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(QtGui.QBrush(glow))
        painter.drawEllipse(center, radius * 1.25, radius * 1.25)
        fill = QtGui.QRadialGradient(center - QtCore.QPointF(radius * 0.25, radius * 0.3),
                                     radius * 1.3)
        fill.setColorAt(0.0, QtGui.QColor(170, 220, 240, int(235 * alpha)))
        fill.setColorAt(1.0, QtGui.QColor(60, 120, 165, int(220 * alpha)))
        painter.setBrush(QtGui.QBrush(fill))
        painter.drawEllipse(center, radius, radius)
        painter.end()


def _label(text: str, *, size_px: int, color: str = TEXT, weight: int = 400) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setStyleSheet(f"color: {color}; font-size: {size_px}px; font-weight: {weight};"
                        " background: transparent;")
    return label


class CoachWindow(QtWidgets.QMainWindow):
    """Draws a session: `handle` stores each event, `render_frame` (on a timer) draws them."""

    closed = QtCore.Signal()

    def __init__(self, protocol: Protocol, pacer: Pacer, clock: Clock, *,
                 history_s: float = 90.0, fps: float = 30.0) -> None:
        super().__init__()
        if not (history_s > 0 and fps > 0):
            raise ValueError(f"history_s and fps must be positive, got {history_s}, {fps}")
        self.protocol = protocol
        self.pacer = pacer
        self.clock = clock
        self.history_s = history_s
        self.total_s = protocol.duration_s  # run_window sets the session's own end time
        self.frames_rendered = 0

        maxlen = int(history_s * MAX_BEATS_PER_S) + 16
        self._beats: deque[_BeatPoint] = deque(maxlen=maxlen)
        self._markers: Markers = EMPTY_MARKERS
        self._phase: Phase | None = None
        self._phase_index = -1
        self._status = "waiting for the first beat…"
        self.ended: SessionEnded | None = None
        self.summary_at_end = True  # False: the last frame keeps the live look (screenshots)
        self._frozen_s: float | None = None
        self._wave_cache: dict[int, float] = {}
        self._plot_drawn_at = -math.inf  # time.monotonic() of the last plot redraw

        self.setWindowTitle("hrvcoach")
        self.resize(*WINDOW_SIZE)
        self.setMinimumSize(820, 540)
        self._build()

        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.setInterval(max(round(1000.0 / fps), 1))
        self._timer.timeout.connect(self._on_timer)

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        central = QtWidgets.QWidget()
        central.setObjectName("central")
        central.setStyleSheet(f"#central {{ background: {BG}; }}"
                              f" QFrame#card {{ background: {PANEL}; border-radius: 14px; }}")
        self.setCentralWidget(central)
        root = QtWidgets.QVBoxLayout(central)
        root.setContentsMargins(28, 22, 28, 14)
        root.setSpacing(14)

        # Header: phase, guidance (or the summary at the end), elapsed time.
        header = QtWidgets.QHBoxLayout()
        titles = QtWidgets.QVBoxLayout()
        titles.setSpacing(4)
        self.phase_label = _label(self.protocol.name, size_px=30, weight=300)
        self.phase_step_label = _label("", size_px=14, color=MUTED)
        self.guidance_label = _label(self.protocol.description, size_px=17, color=MUTED)
        self.guidance_label.setWordWrap(True)
        self.summary_label = _label("", size_px=17, color=TEXT)
        self.summary_label.setWordWrap(True)
        self.summary_label.hide()
        for widget in (self.phase_label, self.phase_step_label, self.guidance_label,
                       self.summary_label):
            titles.addWidget(widget)
        header.addLayout(titles, stretch=1)
        clock_box = QtWidgets.QVBoxLayout()
        clock_box.setSpacing(2)
        self.elapsed_label = _label("00:00 / 00:00", size_px=30, weight=300)
        self.elapsed_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        elapsed_caption = _label("elapsed / total", size_px=13, color=MUTED)
        elapsed_caption.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        clock_box.addWidget(self.elapsed_label)
        clock_box.addWidget(elapsed_caption)
        clock_box.addStretch(1)
        header.addLayout(clock_box)
        root.addLayout(header)

        body = QtWidgets.QHBoxLayout()
        body.setSpacing(18)
        root.addLayout(body, stretch=1)

        # Left: the pacer.
        pacer_card = QtWidgets.QFrame()
        pacer_card.setObjectName("card")
        pacer_card.setFixedWidth(330)
        pacer_box = QtWidgets.QVBoxLayout(pacer_card)
        pacer_box.setContentsMargins(16, 16, 16, 18)
        pacer_box.setSpacing(2)
        self.pacer_item = PacerDisc()
        self.pacer_label = _label("breathe freely", size_px=32, weight=300)
        self.pacer_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.pacer_count_label = _label("", size_px=20, color=MUTED)
        self.pacer_count_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.pacer_count_label.setMinimumHeight(28)
        pacer_box.addWidget(self.pacer_item, stretch=1)
        pacer_box.addWidget(self.pacer_label)
        pacer_box.addWidget(self.pacer_count_label)
        body.addWidget(pacer_card)

        # Right: the heart rhythm plot and the numbers.
        right = QtWidgets.QVBoxLayout()
        right.setSpacing(14)
        body.addLayout(right, stretch=1)
        self._build_plot()
        right.addWidget(self.plot, stretch=1)
        numbers = QtWidgets.QHBoxLayout()
        numbers.setSpacing(14)
        self.hr_label = self._add_card(numbers, "HEART RATE", "bpm · last 10 s")
        self.rmssd_label = self._add_card(numbers, "RMSSD", "ms · last 60 s")
        right.addLayout(numbers)

        # Footer: source status and a legend.
        footer = QtWidgets.QHBoxLayout()
        self.status_label = _label(self._status, size_px=14, color=MUTED)
        legend = _label(
            f"<span style='color:{HEART}'>━</span> heart rate &nbsp;&nbsp;"
            f"<span style='color:rgb{BREATH}'>▆</span> pacer breath &nbsp;&nbsp;"
            f"<span style='color:{GAP}'>●</span> after a gap / no contact",
            size_px=14, color=MUTED)
        footer.addWidget(self.status_label, stretch=1)
        footer.addWidget(legend)
        root.addLayout(footer)

    def _add_card(self, row: QtWidgets.QHBoxLayout, title: str, unit: str) -> QtWidgets.QLabel:
        card = QtWidgets.QFrame()
        card.setObjectName("card")
        box = QtWidgets.QVBoxLayout(card)
        box.setContentsMargins(20, 10, 20, 12)
        box.setSpacing(0)
        box.addWidget(_label(title, size_px=13, color=MUTED, weight=600))
        line = QtWidgets.QHBoxLayout()
        value = _label(NO_VALUE, size_px=44, weight=300)
        line.addWidget(value)
        line.addWidget(_label(unit, size_px=15, color=MUTED),
                       alignment=QtCore.Qt.AlignmentFlag.AlignBottom)
        line.addStretch(1)
        box.addLayout(line)
        row.addWidget(card, stretch=1)
        return value

    def _build_plot(self) -> None:
        self._time_axis = _TimeAxis("bottom")
        self._bpm_axis = _BpmAxis("left")
        self.plot = pg.PlotWidget(background=PANEL,
                                  axisItems={"bottom": self._time_axis, "left": self._bpm_axis})
        self.plot.setMinimumHeight(260)
        item = self.plot.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.getViewBox().disableAutoRange()
        item.showGrid(x=False, y=True, alpha=0.08)
        item.setContentsMargins(6, 10, 12, 4)
        item.setTitle("heart rhythm", color=MUTED, size="11pt")
        tick_font = QtGui.QFont()
        tick_font.setPixelSize(13)
        for axis in (self._time_axis, self._bpm_axis):
            axis.setPen(pg.mkPen(FAINT))
            axis.setTextPen(pg.mkPen(MUTED))
            axis.setStyle(tickFont=tick_font, tickLength=-4)
        self._bpm_axis.setWidth(44)
        self._bpm_axis.setLabel("bpm", color=MUTED)

        r, g, b = BREATH
        self.breath_curve = pg.PlotDataItem(
            pen=pg.mkPen((r, g, b, 150), width=1.5), brush=pg.mkBrush(r, g, b, 45),
            fillLevel=0.0, antialias=True)
        self.hr_curve = pg.PlotDataItem(pen=pg.mkPen(HEART, width=2.6), antialias=True)
        self.gap_points = pg.ScatterPlotItem(size=10, pen=pg.mkPen(BG, width=1.2),
                                             brush=pg.mkBrush(GAP))
        self.now_line = pg.InfiniteLine(angle=90, movable=False,
                                        pen=pg.mkPen((255, 255, 255, 45), width=1,
                                                     style=QtCore.Qt.PenStyle.DashLine))
        for z, graphic in enumerate((self.breath_curve, self.now_line, self.hr_curve,
                                     self.gap_points)):
            graphic.setZValue(z)
            item.addItem(graphic)

    # ---- events (stored, never drawn here) ------------------------------------------------------
    def handle(self, event: SessionEvent) -> None:
        """Store one session event; the next frame draws it."""
        match event:
            case Snapshot(beat=beat) as snapshot:
                self._beats.append(_BeatPoint(beat.time_s, snapshot.instant_hr_bpm,
                                              beat.after_gap or beat.contact is False,
                                              beat.usable))
                oldest_s = beat.time_s - self.history_s
                while self._beats and self._beats[0].time_s < oldest_s:
                    self._beats.popleft()
                self._markers = snapshot.markers
                if snapshot.phase_index != self._phase_index:
                    self._phase, self._phase_index = snapshot.phase, snapshot.phase_index
            case PhaseStarted(index=index, phase=phase):
                self._phase, self._phase_index = phase, index
            case SourceStatus() as status:
                self._status = _status_text(status)
            case SessionEnded() as ended:
                self.ended = ended

    # ---- drawing ----------------------------------------------------------------------------------
    def render_frame(self, now_s: float | None = None, *, plot: bool = True) -> None:
        """Draw everything for session time `now_s` (the clock's time when None).

        `plot=False` leaves the heart rhythm plot as it is (the timer redraws it less often).
        """
        t_s = self.clock.now() if now_s is None else now_s
        if self.ended is not None:
            if self._frozen_s is None:
                self._frozen_s = min(t_s, self.total_s)
                self._timer.setInterval(ENDED_FRAME_INTERVAL_MS)
            t_s = self._frozen_s
        self.frames_rendered += 1
        state = self.pacer.state_at(t_s)
        self._draw_pacer(state)
        if plot:
            self._draw_plot(t_s)
            self._plot_drawn_at = time.monotonic()
        self._draw_text(t_s)

    def _on_timer(self) -> None:
        """One timer tick: the pacer at full rate, the costlier plot at most PLOT_FPS a second.

        The plot scrolls by less than a pixel per frame, so fewer redraws look the same.
        """
        due = time.monotonic() - self._plot_drawn_at >= 1.0 / PLOT_FPS - 1e-3
        self.render_frame(plot=due)

    def _shows_summary(self) -> bool:
        return self.ended is not None and self.summary_at_end

    def _draw_pacer(self, state: PacerState) -> None:
        ended = self._shows_summary()
        self.pacer_item.set_state(lung=state.lung, paced=state.paced, dimmed=ended)
        if ended:
            self.pacer_label.setText("session complete")
            self.pacer_count_label.setText("")
        elif state.paced and state.part is not None:
            self.pacer_label.setText(_PART_WORDS[state.part])
            self.pacer_count_label.setText(f"{max(math.ceil(state.seconds_left - 1e-6), 1)} s")
        else:
            self.pacer_label.setText("breathe freely")
            self.pacer_count_label.setText("")

    def _draw_plot(self, t_s: float) -> None:
        x0, x1 = t_s - self.history_s, t_s + LEAD_S
        visible = [p for p in self._beats if x0 <= p.time_s <= t_s + 1e-9]
        times = np.fromiter((p.time_s for p in visible), np.float64, len(visible))
        hrs = np.fromiter((p.hr_bpm for p in visible), np.float64, len(visible))
        flagged = np.fromiter((p.flagged for p in visible), np.bool_, len(visible))
        usable = np.fromiter((p.usable for p in visible), np.bool_, len(visible))

        lo, hi = _hr_range(hrs[usable & np.isfinite(hrs)])
        band = 0.45 * (hi - lo)  # the breath wave's band below the heart rate
        self._bpm_axis.floor_bpm = lo
        self.plot.setXRange(x0, x1, padding=0)
        self.plot.setYRange(lo - band, hi + 0.06 * (hi - lo), padding=0)

        # A line segment joins beat i to i+1 unless i+1 follows a gap or either lacks contact.
        connect = np.ones(len(visible), dtype=np.int32)
        if len(visible):
            connect[:-1] = ~flagged[1:] & usable[:-1] & usable[1:]
            connect[-1] = 0
        self.hr_curve.setData(times, hrs, connect=connect)
        self.gap_points.setData(x=times[flagged], y=hrs[flagged])

        wave_t, lung = self._breath_wave(x0, x1)
        base = lo - band
        self.breath_curve.setData(wave_t, base + 0.85 * band * lung)
        self.breath_curve.setFillLevel(base)
        self.now_line.setValue(t_s)

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
        return np.arange(k0, k1 + 1) * WAVE_STEP_S, lung

    def _draw_text(self, t_s: float) -> None:
        self.hr_label.setText(number_text(self._markers.hr_bpm))
        self.rmssd_label.setText(number_text(self._markers.rmssd_ms))
        self.elapsed_label.setText(
            f"{clock_text(min(max(t_s, 0.0), self.total_s))} / {clock_text(self.total_s)}")
        phase = self._phase
        if phase is not None:
            self.phase_label.setText(phase.name)
            pacing = (f"{phase.breaths_per_min:g} breaths/min"
                      if phase.breaths_per_min is not None else "free breathing")
            self.phase_step_label.setText(
                f"phase {self._phase_index + 1} of {len(self.protocol.phases)} · {phase.kind}"
                f" · {pacing}")
            self.guidance_label.setText(phase.guidance)
        self.status_label.setText(self._status)
        if self.ended is not None and self._shows_summary():
            self.summary_label.setText(_summary_text(self.ended))
            self.summary_label.show()
            self.guidance_label.hide()

    # ---- Qt events --------------------------------------------------------------------------------
    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._timer.start()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self._timer.stop()
        super().closeEvent(event)
        self.closed.emit()


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


def _status_text(status: SourceStatus) -> str:
    text = status.kind.value
    if status.kind is StatusKind.BATTERY and status.value is not None:
        text = f"battery {status.value:.0f} %"
    return f"{text} — {status.message}" if status.message else text


def _summary_text(ended: SessionEnded) -> str:
    first, last = ended.first_phase_markers, ended.last_markers
    return (f"Session ended ({ended.reason}) after {clock_text(ended.time_s)}, {ended.beats} beats."
            f"  RMSSD {number_text(first.rmssd_ms)} ms at the end of the first phase"
            f" → {number_text(last.rmssd_ms)} ms in the last 60 s;"
            f" heart rate {number_text(last.hr_bpm)} bpm.")


# ---- the synchronous entry point -----------------------------------------------------------------
def run_window(make_session: Callable[[Callable[[SessionEvent], None]], Session],
               protocol: Protocol, clock: Clock, *, screenshot: Path | None = None,
               title: str = "hrvcoach") -> SessionEnded | None:
    """Show the coach window and run the session in it; returns how the session ended.

    With `screenshot`, the window is saved as a PNG there when the session ends and closed;
    otherwise it stays open on the summary until the user closes it. Closing the window early
    stops the session (which still reports its end). Ctrl+C closes the window the same way.
    """
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0] or title])
    if not isinstance(app, QtWidgets.QApplication):
        raise RuntimeError(f"the coach window needs a QApplication, found {type(app).__name__}")
    window = CoachWindow(protocol, Pacer.for_protocol(protocol), clock)
    window.setWindowTitle(title)
    window.summary_at_end = screenshot is None  # a screenshot shows the coaching, not the summary
    session = make_session(window.handle)
    window.total_s = session.end_s

    quit_on_last_window = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)  # we decide when the loop ends, not Qt
    loop = qasync.QEventLoop(app)
    restore_sigint = _close_on_sigint(window)
    main = loop.create_task(_drive(session, window, screenshot))
    try:
        window.show()
        try:
            return loop.run_until_complete(main)
        except RuntimeError:
            if main.done():
                raise
            log.info("the Qt event loop quit before the session ended: stopping the session")
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
            return window.ended
    finally:
        restore_sigint()
        app.setQuitOnLastWindowClosed(quit_on_last_window)
        window.close()
        loop.close()
        window.deleteLater()


async def _drive(session: Session, window: CoachWindow,
                 screenshot: Path | None) -> SessionEnded | None:
    """Run the session until it ends or the window closes; then screenshot or wait for closing."""
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    run = asyncio.ensure_future(session.run())
    closing = asyncio.ensure_future(closed.wait())
    try:
        await asyncio.wait({run, closing}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done():  # the user closed the window: stop the session cleanly
            log.info("window closed: stopping the session")
            run.cancel()
            await asyncio.wait({run})
            if not run.cancelled():
                run.result()  # an error while stopping is still an error
            return window.ended
        ended = run.result()  # a source error propagates to the caller
        window.render_frame()
        if screenshot is not None:
            save_screenshot(window, screenshot)
            window.close()
            return ended
        await closing
        return ended
    finally:
        for task in (run, closing):
            task.cancel()
        await asyncio.wait({run, closing})


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
    return lambda: signal.signal(signal.SIGINT, previous)
