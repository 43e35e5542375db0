"""The coach window's end-of-session page: before and after, the verdict, time in each coherence
level, and the report and new-session buttons.

With the saved session's comparison (hrvcoach.history.compare: baseline vs recovery, each marker
with its 95 % interval) when there is one; else the session's own baseline (or first phase) and
last markers. Each value has its own cell (change and interval apart), so no cell wraps; a note
(e.g. why HF is not valid) spans the change columns and wraps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtWidgets

from hrvcoach.core.markers import Markers, format_marker, marker
from hrvcoach.protocols.protocol import Protocol
from hrvcoach.session import SessionEnded
from hrvcoach.views.qt.labels import make_label, scaled_px
from hrvcoach.views.qt.panels import CardSpec
from hrvcoach.views.text import NO_VALUE, clock_text, number_text, signed_text

if TYPE_CHECKING:
    from hrvcoach.history.compare import Comparison, MarkerChange

__all__ = ["EndOfSession", "Row", "SummaryPanel", "comparison_rows", "marker_rows",
           "no_comparison_words", "summary_text"]


@dataclass(frozen=True, slots=True)
class Row:
    """One marker in the table. `note` replaces change, interval and verdict when set."""

    label: str
    before: str
    after: str
    change: str = NO_VALUE
    interval: str = ""
    verdict: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class EndOfSession:
    """What the window shows after the session: the stored comparison, and a report to open.

    The CLI makes it once the session is saved; without it the window compares the session's
    own baseline and last markers.
    """

    comparison: Comparison | None = None
    note: str = ""  # more to say (a resonance assessment's result, why there is no comparison)
    write_report: Callable[[], Path] | None = None  # writes the report file and returns its path


class SummaryPanel(QtWidgets.QFrame):
    """Before and after: a headline, a table of markers, the verdict, coherence, a note and the
    buttons."""

    def __init__(self, cards: Sequence[CardSpec], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._cards = tuple(cards)
        self.box = box = QtWidgets.QVBoxLayout(self)
        box.addWidget(make_label("Before and after", size_px=26, weight=300))
        self.summary_label = make_label("", size_px=16, wrap=True)
        box.addWidget(self.summary_label)
        self.table = QtWidgets.QGridLayout()
        box.addLayout(self.table)
        self.verdict_label = make_label("", size_px=17, wrap=True)
        box.addWidget(self.verdict_label)
        self.coherence_label = make_label("", size_px=15, role="muted", wrap=True)
        box.addWidget(self.coherence_label)
        self.note_label = make_label("", size_px=14, role="muted", wrap=True)
        box.addWidget(self.note_label)
        box.addStretch(1)
        row = QtWidgets.QHBoxLayout()
        self.report_button = QtWidgets.QPushButton("Open the report")
        self.report_button.setToolTip("write the session report (PDF) and open it")
        self.report_button.setEnabled(False)
        self.new_session_button = QtWidgets.QPushButton("New session")
        self.new_session_button.setToolTip("back to the setup page for another session")
        self.new_session_button.setVisible(False)
        for button in (self.report_button, self.new_session_button):
            button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
            row.addWidget(button)
        row.addStretch(1)
        box.addLayout(row)
        self.set_scale(1.0)

    def set_scale(self, scale: float) -> None:
        """Margins and spacing for the window's scale (fonts are scaled with the window's)."""
        self.box.setContentsMargins(scaled_px(26, scale), scaled_px(20, scale),
                                    scaled_px(26, scale), scaled_px(20, scale))
        self.box.setSpacing(scaled_px(10, scale))
        self.table.setHorizontalSpacing(scaled_px(22, scale))
        self.table.setVerticalSpacing(scaled_px(6, scale))

    def show_session(self, ended: SessionEnded, info: EndOfSession | None,
                     protocol: Protocol | None = None,
                     coherence_s: Mapping[str, float] | None = None,
                     coherence_points: float = 0.0) -> None:
        """Fill the page for a session that ended (`info`: what the store adds, if anything)."""
        _clear_layout(self.table)
        comparison = info.comparison if info is not None else None
        if comparison is not None:
            rows = comparison_rows(comparison)
            header = [f"{comparison.before.phase_name} (before)",
                      f"{comparison.after.phase_name} (after)", "change", "95 % interval", ""]
            self.verdict_label.setText(comparison.verdict())
        else:
            before = ended.baseline_markers or ended.first_phase_markers
            rows = marker_rows(self._cards, before, ended.last_markers)
            first = _first_phase_name(protocol, ended)
            header = [f"end of {first}" if first else "start", "last minute", "change"]
            self.verdict_label.setText("")
        self.summary_label.setText(summary_text(ended, comparison))
        for column, text in enumerate(["", *header]):
            self.table.addWidget(make_label(text, size_px=13, role="muted", weight=600,
                                            elide=True), 0, column)
        for row, cells in enumerate(rows, start=1):
            self.table.addWidget(make_label(cells.label, size_px=15, role="muted", elide=True),
                                 row, 0)
            for column, text in ((1, cells.before), (2, cells.after)):
                self.table.addWidget(make_label(text, size_px=18, elide=True), row, column)
            if cells.note:
                self.table.addWidget(make_label(cells.note, size_px=13, role="muted", wrap=True),
                                     row, 3, 1, len(header) - 2)
                continue
            self.table.addWidget(make_label(cells.change, size_px=15, elide=True), row, 3)
            if comparison is not None:
                self.table.addWidget(make_label(cells.interval, size_px=15, role="muted",
                                                elide=True), row, 4)
                role = {"calmer": "good", "less calm": "warn"}.get(cells.verdict, "muted")
                self.table.addWidget(make_label(cells.verdict, size_px=15, role=role,
                                                elide=True), row, 5)
        for column in range(len(header) + 1):
            self.table.setColumnStretch(column, 1)
        self.coherence_label.setText(coherence_text(coherence_s or {}, coherence_points))
        notes = [info.note] if info is not None else []  # a resonance assessment first
        if comparison is None and protocol is not None:
            notes.append(no_comparison_words(protocol, ended))
        self.note_label.setText("\n".join(note for note in notes if note))
        self.report_button.setEnabled(info is not None and info.write_report is not None)


def _clear_layout(layout: QtWidgets.QLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.hide()  # gone now, not when Qt gets round to deleting it
            widget.deleteLater()


def _first_phase_name(protocol: Protocol | None, ended: SessionEnded) -> str:
    """The phase the "before" column comes from: the baseline, else the first phase."""
    if protocol is None:
        return ""
    if ended.baseline_markers is not None:
        before = [p for p in protocol.phases if p.compare == "before"]
        if before:
            return before[-1].name
    return protocol.phases[0].name


def marker_rows(cards: Sequence[CardSpec], before: Markers, after: Markers) -> list[Row]:
    """Rows without a stored comparison: the session's own numbers (no intervals)."""
    rows = []
    for spec in cards:
        if spec.key == "hf_ms2":
            continue  # not comparable without knowing both sides' breathing
        b, a = getattr(before, spec.key), getattr(after, spec.key)
        unit = f" {spec.unit}" if spec.unit not in ("", "ratio") else ""
        change = NO_VALUE
        if math.isfinite(a) and math.isfinite(b):
            change = f"{signed_text(a - b, spec.digits)}{unit}"
        rows.append(Row(marker(spec.key).label, f"{number_text(b, spec.digits)}{unit}",
                        f"{number_text(a, spec.digits)}{unit}", change))
    return rows


def comparison_rows(comparison: Comparison) -> list[Row]:
    """Rows from the stored comparison: each marker before and after, its change, the change's
    95 % interval and the verdict word (or a note when there is no change to give)."""
    return [_comparison_row(change) for change in comparison.changes]


def _comparison_row(change: MarkerChange) -> Row:
    spec = change.spec
    digits = spec.digits
    unit = f" {spec.unit}" if spec.unit else ""
    before = f"{number_text(change.before, digits)}{unit}"
    after = f"{number_text(change.after, digits)}{unit}"
    if change.note:
        return Row(spec.label, before, after, note=change.note)
    if not (math.isfinite(change.before) and math.isfinite(change.after)):
        return Row(spec.label, before, after, note="not computable")
    if spec.relative:
        value, low, high, shown_unit, shown_digits = (change.pct, change.pct_low, change.pct_high,
                                                      " %", 0)
    else:
        value, low, high, shown_unit, shown_digits = (change.delta, change.ci_low, change.ci_high,
                                                      unit, digits)
    interval = ""
    if math.isfinite(low) and math.isfinite(high):
        interval = f"{signed_text(low, shown_digits)} … {signed_text(high, shown_digits)}{shown_unit}"
    verdict = change.verdict().partition(":")[0]
    return Row(spec.label, before, after, f"{signed_text(value, shown_digits)}{shown_unit}",
               interval or "no interval", verdict)


def no_comparison_words(protocol: Protocol, ended: SessionEnded) -> str:
    """Why this session has no before/after comparison, in the window's words."""
    phases = protocol.phases
    before = [i for i, phase in enumerate(phases) if phase.compare == "before"]
    after = [i for i, phase in enumerate(phases) if phase.compare == "after"]
    if not before:
        return "This protocol has no baseline phase, so there is no before and after to " \
               "compare: the table shows the first phase against the last minute."
    if not after:
        return "This protocol has no recovery phase to compare with its baseline: the table " \
               "shows the end of the baseline against the last minute."
    reached, _, _ = protocol.phase_at(ended.time_s)
    if reached < after[0]:
        return "The session ended before its recovery phase, so there is no after to compare " \
               "with the baseline: the table shows the end of the baseline against the last minute."
    return ""


def coherence_text(seconds: Mapping[str, float], points: float = 0.0) -> str:
    """'Time in coherence: low 12:30 · medium 2:10 · high 0:40 · accumulated score 812' ('' before
    any): the accumulated score is the 0-100 coherence score summed over the session's seconds
    (a minute at 100 adds 60), so a longer or steadier practice earns more."""
    if not seconds or sum(seconds.values()) <= 0:
        return ""
    text = "Time in coherence: " + " · ".join(f"{level} {clock_text(s)}"
                                              for level, s in seconds.items())
    return text + (f" · accumulated score {points:.0f}" if points > 0 else "")


def summary_text(ended: SessionEnded, comparison: Comparison | None = None) -> str:
    """The headline: how the session ended, and RMSSD and heart rate before → after, from the
    same numbers as the table below it (the stored comparison, else the baseline and the last
    minute)."""
    how = {"stopped": "Session stopped", "source ended": "The recording ended"}.get(
        ended.reason, "Session complete")
    if comparison is not None:
        rmssd, hr = comparison.change("rmssd_ms"), comparison.change("mean_hr_bpm")
        first_rmssd, last_rmssd = rmssd.before, rmssd.after
        first_hr, last_hr = hr.before, hr.after
    else:
        first = ended.baseline_markers or ended.first_phase_markers
        first_rmssd, first_hr = first.rmssd_ms, first.mean_hr_bpm
        last_rmssd, last_hr = ended.last_markers.rmssd_ms, ended.last_markers.mean_hr_bpm
    return (f"{how} after {clock_text(ended.time_s)}, {ended.beats} beats. RMSSD "
            f"{format_marker('rmssd_ms', first_rmssd)} → {format_marker('rmssd_ms', last_rmssd)} "
            f"ms, heart rate {format_marker('mean_hr_bpm', first_hr)} → "
            f"{format_marker('mean_hr_bpm', last_hr)} bpm.")
