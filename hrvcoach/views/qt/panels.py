"""The coach window's panels: pacer disc, marker cards with trend lines, phase timeline, heart
rhythm plot and spectrum plot. Each only draws what it is given; nothing here computes a marker.
Each takes the window's scale (`set_scale`) for what its own fonts and margins are.

Qt (PySide6 + pyqtgraph) lives in views/qt/ only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from PySide6 import QtCore, QtGui, QtWidgets

# isort: split
import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it (not to PyQt)

from hrvcoach.analysis.spectral import Spectrum
from hrvcoach.core.constants import HF_BAND_HZ, LF_BAND_HZ, VLF_BAND_HZ
from hrvcoach.core.markers import marker
from hrvcoach.protocols.protocol import Phase
from hrvcoach.views.qt.labels import make_label, scaled_px
from hrvcoach.views.qt.theme import DARK, Theme
from hrvcoach.views.text import NO_VALUE, clock_text

__all__ = [
    "MARKER_CARDS",
    "CardSpec",
    "HeartRhythmPlot",
    "MarkerCard",
    "PacerDisc",
    "PhaseTimeline",
    "Sparkline",
    "SpectrumPlot",
]

FloatArray = NDArray[np.float64]

SPECTRUM_MAX_HZ: Final = 0.45  # the spectrum plot's right edge (HF ends at 0.40 Hz)
SPECTRUM_SHRINK: Final = 0.93  # the y range follows a falling peak by at most 7 % per update
SPECTRUM_MIN_S: Final = 30.0  # a spectrum of fewer seconds of beats is not drawn: it means little
TIME_LABEL_PX: Final = 64  # the heart rhythm's time labels stand at least this far apart (scale 1)


@dataclass(frozen=True, slots=True)
class CardSpec:
    """One marker card: the Markers field it shows (title, unit and digits from the catalogue)
    and what the number covers."""

    key: str  # the Markers field: a catalogue name
    window: str  # what the number covers

    @property
    def title(self) -> str:
        return marker(self.key).heading.upper()

    @property
    def unit(self) -> str:
        return marker(self.key).unit

    @property
    def digits(self) -> int:
        return marker(self.key).card_digits


MARKER_CARDS: Final = (
    CardSpec("mean_hr_bpm", "last 10 s"),
    CardSpec("rmssd_ms", "last 60 s"),
    CardSpec("p2t_bpm", "peak to trough"),
    CardSpec("breathing_power_ms2", "±0.015 Hz"),
    CardSpec("coherence_ratio", "last 64 s"),
    CardSpec("hf_ms2", "0.15–0.4 Hz"),
)


def _qcolor(color: str | tuple[int, ...], alpha: int | None = None) -> QtGui.QColor:
    qcolor = QtGui.QColor(color) if isinstance(color, str) else QtGui.QColor(*color)
    if alpha is not None:
        qcolor.setAlpha(alpha)
    return qcolor


class PacerDisc(QtWidgets.QWidget):
    """A soft disc that grows on the in-breath and shrinks on the out-breath.

    `lung` (0 = fully out, 1 = fully in) sets its radius between two faint guide rings. When
    `paced` is False only the rings are drawn (breathe freely); `dimmed` fades it (paused, ended).
    """

    MIN_FRACTION: Final = 0.38  # radius at full exhale, as a fraction of the largest radius
    GLOW: Final = 1.25  # the soft halo's radius, as a multiple of the disc's

    def __init__(self, parent: QtWidgets.QWidget | None = None, *, on_card: bool = True) -> None:
        super().__init__(parent)
        self.lung = 0.0
        self.paced = False
        self.dimmed = False
        self.theme = DARK
        self.on_card = on_card  # drawn on a card (the panel colour) or on the window's background
        self.paints = 0
        self._backdrop_pixmap: QtGui.QPixmap | None = None
        self._backdrop_key: tuple[object, ...] = ()
        self._glow_image: QtGui.QImage | None = None
        self._glow_key: tuple[object, ...] = ()
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Expanding)
        # It paints its own background: a breath's repaint touches nothing beneath it (the
        # card's rounded frame costs more to draw than the disc).
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.update()

    def set_state(self, *, lung: float, paced: bool, dimmed: bool) -> None:
        """Change what is drawn; repaints only what changed: the square around the larger of
        the old and the new disc while it breathes, everything when it shows or hides."""
        lung = min(max(lung, 0.0), 1.0)
        if (lung, paced, dimmed) == (self.lung, self.paced, self.dimmed):
            return
        breathing = (paced, dimmed) == (self.paced, self.dimmed)
        old_px = self.disc_radius_px()
        self.lung, self.paced, self.dimmed = lung, paced, dimmed
        if not breathing:
            self.update()
            return
        reach = math.ceil(self.GLOW * max(old_px, self.disc_radius_px())) + 2
        centre = self.rect().center()
        self.update(QtCore.QRect(centre.x() - reach, centre.y() - reach, 2 * reach + 1,
                                 2 * reach + 1))

    def max_radius_px(self) -> float:
        return max(min(self.width(), self.height()) / 2.0 - 12.0, 10.0)

    def disc_radius_px(self) -> float:
        """Radius of the disc as drawn now (0 when hidden)."""
        if not self.paced:
            return 0.0
        outer = self.max_radius_px()
        return outer * (self.MIN_FRACTION + (1.0 - self.MIN_FRACTION) * self.lung)

    def _backdrop(self) -> QtGui.QPixmap:
        """The background and the two guide rings, drawn once per size and look (the rings, one
        dashed, cost more to stroke than the disc to fill)."""
        key = (self.width(), self.height(), self.theme.name, self.on_card, self.devicePixelRatio())
        if self._backdrop_key != key or self._backdrop_pixmap is None:
            ratio = self.devicePixelRatio()
            pixmap = QtGui.QPixmap(round(self.width() * ratio), round(self.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            theme = self.theme
            pixmap.fill(_qcolor(theme.panel if self.on_card else theme.background))
            painter = QtGui.QPainter(pixmap)
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            center = QtCore.QPointF(self.width() / 2.0, self.height() / 2.0)
            outer = self.max_radius_px()
            ring = QtGui.QPen(_qcolor(theme.muted, theme.ring_alpha * 2), 1.5)
            painter.setPen(ring)
            painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            painter.drawEllipse(center, outer, outer)
            ring.setStyle(QtCore.Qt.PenStyle.DashLine)
            painter.setPen(ring)
            inner = outer * self.MIN_FRACTION
            painter.drawEllipse(center, inner, inner)
            painter.end()
            self._backdrop_pixmap, self._backdrop_key = pixmap, key
        return self._backdrop_pixmap

    def _glow(self) -> QtGui.QImage:
        """The halo at the largest radius, drawn once per look and scaled to the breath (it is a
        soft gradient: scaling it looks the same as drawing it anew, for a third of the cost)."""
        key = (round(self.max_radius_px()), self.theme.name, self.dimmed)
        if self._glow_key != key or self._glow_image is None:
            half = math.ceil(self.GLOW * self.max_radius_px()) + 1
            image = QtGui.QImage(2 * half, 2 * half, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
            image.fill(QtCore.Qt.GlobalColor.transparent)
            painter = QtGui.QPainter(image)
            centre = QtCore.QPointF(half, half)
            glow = QtGui.QRadialGradient(centre, half - 1)
            alpha = 0.45 if self.dimmed else 1.0
            glow.setColorAt(0.75, _qcolor(self.theme.breath, int(60 * alpha)))
            glow.setColorAt(1.0, _qcolor(self.theme.breath, 0))
            painter.setPen(QtCore.Qt.PenStyle.NoPen)
            painter.setBrush(QtGui.QBrush(glow))
            painter.drawEllipse(centre, half - 1, half - 1)
            painter.end()
            self._glow_image, self._glow_key = image, key
        return self._glow_image

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        self.paints += 1
        theme = self.theme
        painter = QtGui.QPainter(self)
        dirty, ratio = event.rect(), self.devicePixelRatio()
        painter.drawPixmap(dirty, self._backdrop(), QtCore.QRect(
            round(dirty.x() * ratio), round(dirty.y() * ratio), round(dirty.width() * ratio),
            round(dirty.height() * ratio)))
        radius = self.disc_radius_px()
        if radius <= 0:
            painter.end()
            return
        center = QtCore.QPointF(self.width() / 2.0, self.height() / 2.0)
        halo = min(radius * self.GLOW, min(self.width(), self.height()) / 2.0)  # never cut off
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QtCore.QRectF(center.x() - halo, center.y() - halo, 2 * halo, 2 * halo),
                          self._glow())
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        alpha = 0.45 if self.dimmed else 1.0  # dimmed, the rings show through the disc
        fill = QtGui.QRadialGradient(center - QtCore.QPointF(radius * 0.25, radius * 0.3),
                                     radius * 1.3)
        fill.setColorAt(0.0, _qcolor(theme.breath_light, int(255 * alpha)))
        fill.setColorAt(1.0, _qcolor(theme.breath_deep, int(255 * alpha)))
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(QtGui.QBrush(fill))
        painter.drawEllipse(center, radius, radius)
        painter.end()


class Sparkline(QtWidgets.QWidget):
    """A small trend line of one marker over the session, with its baseline dashed across it."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.times_s: FloatArray = np.empty(0)  # not x/y: those are QWidget's methods
        self.values: FloatArray = np.empty(0)
        self.baseline = math.nan
        self.color = _qcolor(DARK.text)
        self.baseline_color = _qcolor(DARK.muted)
        self.setMinimumSize(60, 24)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Expanding)

    def set_colors(self, line: str | tuple[int, ...], baseline: str) -> None:
        self.color, self.baseline_color = _qcolor(line), _qcolor(baseline)
        self.update()

    def set_data(self, x: FloatArray, y: FloatArray, baseline: float = math.nan) -> None:
        self.times_s, self.values, self.baseline = x, y, baseline
        self.update()

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        finite = np.isfinite(self.values)
        if np.count_nonzero(finite) < 2:
            return
        values = self.values[finite]
        lo, hi = float(values.min()), float(values.max())
        if math.isfinite(self.baseline):
            lo, hi = min(lo, self.baseline), max(hi, self.baseline)
        if hi - lo < 1e-9:
            lo, hi = lo - 1.0, hi + 1.0
        x0, x1 = float(self.times_s[0]), float(self.times_s[-1])
        w, h, pad = self.width() - 6.0, self.height() - 8.0, 4.0
        px = 3.0 + w * (self.times_s - x0) / max(x1 - x0, 1e-9)
        py = pad + h * (hi - self.values) / (hi - lo)
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        if math.isfinite(self.baseline):
            painter.setPen(QtGui.QPen(self.baseline_color, 1.0, QtCore.Qt.PenStyle.DashLine))
            y_base = pad + h * (hi - self.baseline) / (hi - lo)
            painter.drawLine(QtCore.QPointF(3.0, y_base), QtCore.QPointF(3.0 + w, y_base))
        painter.setPen(QtGui.QPen(self.color, 1.0))  # 1 px: Qt's fast antialiased lines
        painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        painter.drawPath(pg.arrayToQPath(px, py, connect="finite"))  # gaps where NaN
        last = int(np.flatnonzero(finite)[-1])
        painter.setBrush(self.color)
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.drawEllipse(QtCore.QPointF(float(px[last]), float(py[last])), 2.6, 2.6)
        painter.end()


class MarkerCard(QtWidgets.QFrame):
    """One marker: its name, value and unit, a line of detail (baseline, a note), a trend line."""

    def __init__(self, title: str, unit: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(16, 6, 12, 6)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(0)
        self.title_label = make_label(title, size_px=13, role="muted", weight=600, elide=True)
        self.value_label = make_label(NO_VALUE, size_px=30, weight=300)
        self.unit_label = make_label(unit, size_px=14, role="muted")
        self.detail_label = make_label("", size_px=13, role="muted", wrap=True)
        value_line = QtWidgets.QHBoxLayout()
        value_line.setSpacing(6)
        value_line.addWidget(self.value_label)
        value_line.addWidget(self.unit_label, alignment=QtCore.Qt.AlignmentFlag.AlignBottom)
        value_line.addStretch(1)
        self.sparkline = Sparkline()
        grid.addWidget(self.title_label, 0, 0, 1, 2)
        grid.addLayout(value_line, 1, 0)
        grid.addWidget(self.detail_label, 2, 0, 1, 2)
        grid.addWidget(self.sparkline, 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self._dimmed = False

    def set_value(self, text: str, *, dimmed: bool = False) -> None:
        """The value; `dimmed` greys it (a marker that does not mean what it says right now)."""
        self.value_label.setText(text)
        if dimmed != self._dimmed:
            self._dimmed = dimmed
            self.value_label.setProperty("role", "muted" if dimmed else "text")
            self.value_label.style().unpolish(self.value_label)
            self.value_label.style().polish(self.value_label)

    @property
    def dimmed(self) -> bool:
        return self._dimmed

    def set_detail(self, text: str) -> None:
        self.detail_label.setText(text)

    def set_scale(self, scale: float) -> None:
        """Margins and spacing for the window's scale (fonts are scaled with the window's)."""
        grid = self.layout()
        if isinstance(grid, QtWidgets.QGridLayout):
            grid.setContentsMargins(scaled_px(16, scale), scaled_px(6, scale),
                                    scaled_px(12, scale), scaled_px(6, scale))
            grid.setHorizontalSpacing(scaled_px(10, scale))


class PhaseTimeline(QtWidgets.QWidget):
    """The protocol's phases as a bar (paced phases in the breath colour), and where we are."""

    def __init__(self, phases: Sequence[Phase] = (), parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.phases = tuple(phases)
        self.position_s = 0.0
        self.total_s = sum(p.duration_s for p in self.phases) or 1.0
        self.theme = DARK
        self.scale = 1.0
        self.set_scale(1.0)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Fixed)

    def _font(self) -> QtGui.QFont:
        font = QtGui.QFont(self.font())
        font.setPixelSize(scaled_px(12, self.scale))
        return font

    def set_scale(self, scale: float) -> None:
        """The bar and its names' font at the window's scale; tall enough for the names."""
        self.scale = scale
        metrics = QtGui.QFontMetrics(self._font())
        self.setFixedHeight(round(16 * scale) + metrics.height() + 2)
        self.update()

    def set_phases(self, phases: Sequence[Phase], total_s: float | None = None) -> None:
        self.phases = tuple(phases)
        self.total_s = total_s or sum(p.duration_s for p in self.phases) or 1.0
        self.update()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.update()

    def set_position(self, t_s: float) -> None:
        """Move the position mark; repaints only when it moved by a visible amount."""
        t_s = min(max(t_s, 0.0), self.total_s)
        if abs(t_s - self.position_s) * max(self.width(), 1) / self.total_s >= 0.5 or t_s == 0:
            self.position_s = t_s
            self.update()

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(400, self.height())

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        if not self.phases:
            return
        theme = self.theme
        painter = QtGui.QPainter(self)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setFont(self._font())
        width, bar_y, bar_h = float(self.width()), 4.0 * self.scale, 10.0 * self.scale
        text_y = bar_y + bar_h + 2.0 * self.scale + painter.fontMetrics().ascent()
        scale = width / self.total_s
        start = 0.0
        for phase in self.phases:
            x0, x1 = start * scale, min(start + phase.duration_s, self.total_s) * scale
            done = min(max(self.position_s - start, 0.0), phase.duration_s) * scale
            base = _qcolor(theme.breath) if phase.paced else _qcolor(theme.muted)
            rect = QtCore.QRectF(x0 + 1.5, bar_y, max(x1 - x0 - 3.0, 1.0), bar_h)
            painter.setPen(QtCore.Qt.PenStyle.NoPen)
            painter.setBrush(_qcolor(base.name(), 70))
            painter.drawRoundedRect(rect, 4, 4)
            if done > 0:
                painter.setBrush(_qcolor(base.name(), 230))
                painter.drawRoundedRect(QtCore.QRectF(rect.x(), bar_y, min(done, rect.width()),
                                                      bar_h), 4, 4)
            name = f"{phase.name} · {clock_text(phase.duration_s)}"
            metrics = painter.fontMetrics()
            if metrics.horizontalAdvance(name) > rect.width() - 4:
                name = phase.name
            if metrics.horizontalAdvance(name) <= rect.width() - 4:
                painter.setPen(_qcolor(theme.muted))
                painter.drawText(QtCore.QPointF(rect.x() + 2, text_y), name)
            start += phase.duration_s
        x = self.position_s * scale
        painter.setPen(QtGui.QPen(_qcolor(theme.text), 2.0))
        painter.drawLine(QtCore.QPointF(x, bar_y - 3), QtCore.QPointF(x, bar_y + bar_h + 3))
        painter.end()


class _TimeAxis(pg.AxisItem):
    """Session time as mm:ss, labelled at one spacing only (the finest whose labels stand
    `min_gap_px` apart) and never before 0 (the start of a session has nothing to the left)."""

    min_gap_px: float = TIME_LABEL_PX

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[Any]:
        levels = super().tickValues(minVal, maxVal, size)
        px_per_s = size / max(maxVal - minVal, 1e-9)
        ordered = sorted(levels, key=lambda level: level[0])
        chosen = next((level for level in ordered if level[0] * px_per_s >= self.min_gap_px),
                      ordered[-1] if ordered else None)
        if chosen is None:
            return []
        spacing, values = chosen
        return [(spacing, [v for v in values if v >= -1e-9])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [clock_text(value) if value >= -1e-9 else "" for value in values]


class _BpmAxis(pg.AxisItem):
    """Heart rate ticks only above `floor_bpm`: the band below it belongs to the breath wave."""

    floor_bpm: float = -math.inf

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[Any]:
        levels = super().tickValues(minVal, maxVal, size)
        return [(spacing, [v for v in values if v >= self.floor_bpm - 1e-9])
                for spacing, values in levels]


def _style_plot(widget: pg.PlotWidget, axes: Sequence[pg.AxisItem], theme: Theme,
                scale: float = 1.0) -> None:
    widget.setBackground(theme.panel)
    tick_font = QtGui.QFont()
    tick_font.setPixelSize(scaled_px(13, scale))
    for axis in axes:
        axis.setPen(pg.mkPen(theme.faint))
        axis.setTextPen(pg.mkPen(theme.muted))
        axis.setStyle(tickFont=tick_font, tickLength=-4)


def _title_size(scale: float) -> str:
    return f"{scaled_px(15, scale)}px"


def _bare_plot(axis_items: dict[str, pg.AxisItem]) -> pg.PlotWidget:
    for axis in axis_items.values():
        axis.enableAutoSIPrefix(False)  # else every range change re-lays the label out (HTML)
    widget = pg.PlotWidget(axisItems=axis_items)
    item = widget.getPlotItem()
    item.setMouseEnabled(x=False, y=False)
    item.setMenuEnabled(False)
    item.hideButtons()
    item.getViewBox().disableAutoRange()
    return widget


class HeartRhythmPlot:
    """Heart rate of the last minute or two, the pacer's breath wave beneath it, and markers:
    beats after a gap or without contact, artifact beats, and the user's marks."""

    def __init__(self) -> None:
        self.time_axis = _TimeAxis("bottom")
        self.bpm_axis = _BpmAxis("left")
        self.widget = _bare_plot({"bottom": self.time_axis, "left": self.bpm_axis})
        self.widget.setMinimumHeight(120)
        self.scale = 1.0
        self.theme = DARK
        item = self.widget.getPlotItem()
        # no grid: the axis picture with grid lines costs ~2 ms per repaint, a third of a frame
        item.setContentsMargins(6, 8, 12, 4)
        self.bpm_axis.setWidth(44)
        # Drawing costs, measured (benchmarks/window.py): an antialiased path wider than 1 px costs
        # ~2 ms a repaint, and a fill under it as much again. So the breath wave is a 1-px
        # antialiased outline over a fill without antialiasing (the outline hides its edge), and
        # the heart rate, 2.6 px wide, is drawn as separate round-capped segments (~0.7 ms).
        self.breath_curve = pg.PlotDataItem(antialias=True)
        self.breath_fill = pg.PlotDataItem(antialias=False, pen=None)
        self.hr_curve = pg.PlotDataItem(antialias=True)
        self.hr_curve.curve.setSegmentedLineMode("on")
        self.gap_points = pg.ScatterPlotItem(size=10)
        self.artifact_points = pg.ScatterPlotItem(size=13, symbol="o")
        self.mark_lines = pg.PlotDataItem(connect="pairs")
        self.now_line = pg.InfiniteLine(angle=90, movable=False)
        for z, graphic in enumerate((self.breath_fill, self.breath_curve, self.now_line,
                                     self.mark_lines,
                                     self.hr_curve, self.artifact_points, self.gap_points)):
            graphic.setZValue(z)
            item.addItem(graphic)
        self.set_theme(DARK)

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self.bpm_axis.setWidth(scaled_px(44, scale))
        self.time_axis.min_gap_px = TIME_LABEL_PX * scale
        self.set_theme(self.theme)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        _style_plot(self.widget, (self.time_axis, self.bpm_axis), theme, self.scale)
        item = self.widget.getPlotItem()
        item.setTitle("heart rhythm", color=theme.muted, size=_title_size(self.scale))
        self.bpm_axis.setLabel("bpm", color=theme.muted,
                               **{"font-size": f"{scaled_px(13, self.scale)}px"})
        self.breath_curve.setPen(pg.mkPen(theme.rgba(theme.breath, 190), width=1.0))
        self.breath_fill.setBrush(pg.mkBrush(theme.rgba(theme.breath, 45)))
        self.hr_curve.setPen(pg.mkPen(theme.heart, width=2.6,
                                      capStyle=QtCore.Qt.PenCapStyle.RoundCap))
        self.gap_points.setPen(pg.mkPen(theme.panel, width=1.2))
        self.gap_points.setBrush(pg.mkBrush(theme.gap))
        self.artifact_points.setPen(pg.mkPen(theme.artifact, width=2.0))
        self.artifact_points.setBrush(pg.mkBrush(None))
        self.mark_lines.setPen(pg.mkPen(theme.mark, width=1.6))
        self.now_line.setPen(pg.mkPen(theme.rgba(_rgb(theme.muted), 90), width=1,
                                      style=QtCore.Qt.PenStyle.DashLine))

    def draw(self, x0: float, x1: float, now_s: float, times: FloatArray, hrs: FloatArray,
             connect: NDArray[np.int32], gap: NDArray[np.bool_], artifact: NDArray[np.bool_],
             y_range: tuple[float, float], wave_t: FloatArray, wave_y: FloatArray,
             wave_base: float, marks: FloatArray) -> None:
        """Put the given arrays on screen (all in plot coordinates: session s, bpm)."""
        lo, hi = y_range
        self.widget.setXRange(x0, x1, padding=0)
        self.widget.setYRange(lo, hi, padding=0)
        self.hr_curve.setData(times, hrs, connect=connect)
        self.gap_points.setData(x=times[gap], y=hrs[gap])
        self.artifact_points.setData(x=times[artifact], y=hrs[artifact])
        self.breath_curve.setData(wave_t, wave_y)
        self.breath_fill.setData(wave_t, wave_y)
        self.breath_fill.setFillLevel(wave_base)
        self.mark_lines.setData(np.repeat(marks, 2), np.tile([lo, hi], marks.size))
        self.now_line.setValue(now_s)


class EcgStrip:
    """The strap's own ECG, the newest seconds received (millivolts; no axes: a rhythm strip to
    see the electrodes' contact and the beats themselves)."""

    def __init__(self) -> None:
        self.widget = _bare_plot({"bottom": pg.AxisItem("bottom"), "left": pg.AxisItem("left")})
        self.widget.setMinimumHeight(70)
        item = self.widget.getPlotItem()
        item.setContentsMargins(6, 4, 12, 4)
        item.hideAxis("bottom")
        item.hideAxis("left")
        self.scale = 1.0
        self.trace = pg.PlotDataItem(antialias=True, connect="finite")
        item.addItem(self.trace)
        self.set_theme(DARK)

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self.set_theme(self.theme)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        _style_plot(self.widget, (), theme, self.scale)
        self.widget.getPlotItem().setTitle("ECG", color=theme.muted, size=_title_size(self.scale))
        self.trace.setPen(pg.mkPen(theme.heart, width=1.4))

    def draw(self, times_s: FloatArray, mv: FloatArray) -> None:
        """Put the trace on screen: the whole time span given, the middle 98 % of the values."""
        self.trace.setData(times_s, mv)
        finite = np.isfinite(mv)
        if not finite.any():
            return
        t = times_s[np.isfinite(times_s)]
        lo, hi = np.percentile(mv[finite], [1, 99])
        pad = max(0.15 * (hi - lo), 0.05)
        self.widget.setXRange(float(t.min()), float(t.max()), padding=0)
        self.widget.setYRange(float(lo - pad), float(hi + 3 * pad), padding=0)


class _HzAxis(pg.AxisItem):
    """Frequency ticks as Hz with the breathing rate they stand for ('0.1 Hz (6/min)'), or the
    rate alone ('6/min') where the labels would touch."""

    min_gap_px: float = 130.0  # room for '0.1 Hz (6/min)' at scale 1

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        shown_hz = SPECTRUM_MAX_HZ
        room_px = self.geometry().width() * spacing / shown_hz
        if room_px >= self.min_gap_px:
            return [f"{v:.2g} Hz ({v * 60:.3g}/min)" if v > 0 else "" for v in values]
        return [f"{v * 60:.3g}/min" if v > 0 else "" for v in values]


class SpectrumPlot:
    """The live RR power spectrum, VLF/LF/HF shaded, the breathing rate marked."""

    BANDS: Final = (("VLF", VLF_BAND_HZ), ("LF", LF_BAND_HZ), ("HF", HF_BAND_HZ))

    def __init__(self) -> None:
        self.freq_axis = _HzAxis("bottom")
        self.power_axis = pg.AxisItem("left")
        self.widget = _bare_plot({"bottom": self.freq_axis, "left": self.power_axis})
        self.widget.setMinimumHeight(90)
        self.scale = 1.0
        self.theme = DARK
        item = self.widget.getPlotItem()
        item.setContentsMargins(6, 4, 12, 4)
        self.power_axis.setWidth(44)
        self.power_axis.setStyle(showValues=False)
        self.freq_axis.setTickSpacing(0.1, 0.05)
        self.regions = [pg.LinearRegionItem(values=band, movable=False) for _, band in self.BANDS]
        self.band_labels = [pg.TextItem(name, anchor=(0.0, 0.0)) for name, _ in self.BANDS]
        self.psd_curve = pg.PlotDataItem(antialias=True)  # outline: segments, as the heart rate
        self.psd_curve.curve.setSegmentedLineMode("on")
        self.psd_fill = pg.PlotDataItem(antialias=False, pen=None)  # fill: no antialiasing
        self.breath_line = pg.InfiniteLine(angle=90, movable=False)
        self.breath_label = pg.TextItem("", anchor=(0.0, 0.0))
        self.placeholder = pg.TextItem("", anchor=(0.5, 0.5))
        for z, graphic in enumerate((*self.regions, self.psd_fill, self.psd_curve, self.breath_line,
                                     *self.band_labels, self.breath_label, self.placeholder)):
            graphic.setZValue(z)
            item.addItem(graphic)
        self.widget.setXRange(0.0, SPECTRUM_MAX_HZ, padding=0)
        self.top = 1.0
        self.breathing_hz = math.nan
        self.set_theme(DARK)
        self.draw(None, math.nan)

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self.power_axis.setWidth(scaled_px(44, scale))
        self.freq_axis.min_gap_px = 130.0 * scale
        font = QtGui.QFont()
        font.setPixelSize(scaled_px(13, scale))
        for label in (*self.band_labels, self.breath_label, self.placeholder):
            label.setFont(font)
        self.set_theme(self.theme)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        _style_plot(self.widget, (self.freq_axis, self.power_axis), theme, self.scale)
        item = self.widget.getPlotItem()
        item.setTitle("spectrum of the heart rhythm · last 2 min", color=theme.muted,
                      size=_title_size(self.scale))
        self.power_axis.setLabel("power", color=theme.muted,
                                 **{"font-size": f"{scaled_px(13, self.scale)}px"})
        for region, rgb in zip(self.regions, theme.bands, strict=True):
            region.setBrush(pg.mkBrush(theme.rgba(rgb, theme.band_alpha)))
            region.setHoverBrush(pg.mkBrush(theme.rgba(rgb, theme.band_alpha)))
            for line in region.lines:
                line.setPen(pg.mkPen(theme.rgba(rgb, 60)))
                line.setHoverPen(pg.mkPen(theme.rgba(rgb, 60)))
        for label in self.band_labels:
            label.setColor(theme.muted)
        self.psd_curve.setPen(pg.mkPen(theme.heart, width=2.0,
                                       capStyle=QtCore.Qt.PenCapStyle.RoundCap))
        self.psd_fill.setBrush(pg.mkBrush(theme.rgba(_rgb(theme.heart), 50)))
        self.psd_fill.setFillLevel(0.0)
        self.breath_line.setPen(pg.mkPen(theme.rgba(theme.breath, 220), width=2,
                                         style=QtCore.Qt.PenStyle.DashLine))
        self.breath_label.setColor(_qcolor(theme.breath))
        self.placeholder.setColor(theme.muted)

    def draw(self, spectrum: Spectrum | None, breaths_per_min: float,
             building_s: float = math.nan) -> None:
        """Show a spectrum (None, empty or shorter than SPECTRUM_MIN_S: a placeholder) and the
        breathing rate (NaN: none)."""
        if spectrum is None or spectrum.frequency_hz.size == 0 or \
                spectrum.duration_s < SPECTRUM_MIN_S:
            self.psd_curve.setData([], [])
            self.psd_fill.setData([], [])
            note = "the spectrum appears after half a minute of beats"
            self.placeholder.setText(note)
            self.placeholder.setPos(SPECTRUM_MAX_HZ / 2, 0.5 * self.top)
            self._set_top(1.0, force=True)
        else:
            keep = spectrum.frequency_hz <= SPECTRUM_MAX_HZ
            freq, psd = spectrum.frequency_hz[keep], spectrum.psd_ms2_per_hz[keep]
            self.psd_curve.setData(freq, psd)
            self.psd_fill.setData(freq, psd)
            shown = psd[freq >= VLF_BAND_HZ[0]]
            peak = float(shown.max()) if shown.size and np.isfinite(shown).any() else 1.0
            self._set_top(max(peak * 1.15, 1e-6))
            self.placeholder.setText("" if not math.isfinite(building_s) else
                                     f"building: {building_s:.0f} of 120 s")
            self.placeholder.setPos(SPECTRUM_MAX_HZ * 0.78, 0.9 * self.top)
        self.breathing_hz = breaths_per_min / 60.0 if math.isfinite(breaths_per_min) else math.nan
        if math.isfinite(self.breathing_hz):
            self.breath_line.setValue(self.breathing_hz)
            self.breath_line.show()
            self.breath_label.setText(f" breathing {breaths_per_min:.1f}/min")
            self.breath_label.setPos(self.breathing_hz, 0.8 * self.top)
            self.breath_label.show()
        else:
            self.breath_line.hide()
            self.breath_label.hide()
        for label, (_, (lo, _hi)) in zip(self.band_labels, self.BANDS, strict=True):
            label.setPos(lo, self.top)  # top left of each band, clear of a central peak

    def _set_top(self, wanted: float, *, force: bool = False) -> None:
        top = wanted if force or wanted > self.top else max(wanted, self.top * SPECTRUM_SHRINK)
        if top != self.top or force:
            self.top = top
            self.widget.setYRange(0.0, top, padding=0)


def _rgb(color: str) -> tuple[int, int, int]:
    qcolor = QtGui.QColor(color)
    return qcolor.red(), qcolor.green(), qcolor.blue()
