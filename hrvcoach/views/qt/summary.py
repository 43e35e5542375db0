"""The coach window's end-of-session page: before and after, the verdict, and the report button.

With the saved session's comparison (hrvcoach.history.compare: baseline vs recovery, each marker with
its 95 % interval) when the CLI supplies it; else the session's own baseline and last markers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtWidgets

from hrvcoach.core.markers import Markers
from hrvcoach.session import SessionEnded
from hrvcoach.views.qt.panels import CardSpec, make_label
from hrvcoach.views.text import NO_VALUE, clock_text, number_text

if TYPE_CHECKING:
    from hrvcoach.history.compare import Comparison, MarkerChange

__all__ = ["EndOfSession", "SummaryPanel"]

Row = tuple[str, str, str, str]  # marker, before, after, change


@dataclass(frozen=True, slots=True)
class EndOfSession:
    """What the window shows after the session: the stored comparison, and a report to open.

    The CLI makes it once the session is saved; without it the window compares the session's
    own baseline and last markers.
    """

    comparison: Comparison | None = None
    note: str = ""  # why there is no comparison (e.g. the protocol has no "after" phase)
    write_report: Callable[[], Path] | None = None  # writes the report file and returns its path


class SummaryPanel(QtWidgets.QFrame):
    """Before and after: a headline, a table of markers, the verdict, a note, the report button."""

    def __init__(self, cards: Sequence[CardSpec], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._cards = tuple(cards)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(26, 22, 26, 22)
        box.setSpacing(12)
        box.addWidget(make_label("Before and after", size_px=26, weight=300))
        self.summary_label = make_label("", size_px=16, wrap=True)
        box.addWidget(self.summary_label)
        self.table = QtWidgets.QGridLayout()
        self.table.setHorizontalSpacing(22)
        self.table.setVerticalSpacing(8)
        box.addLayout(self.table)
        self.verdict_label = make_label("", size_px=17, wrap=True)
        box.addWidget(self.verdict_label)
        self.note_label = make_label("", size_px=14, role="muted", wrap=True)
        box.addWidget(self.note_label)
        box.addStretch(1)
        row = QtWidgets.QHBoxLayout()
        self.report_button = QtWidgets.QPushButton("Open the report")
        self.report_button.setToolTip("write the session report (PDF) and open it")
        self.report_button.setEnabled(False)
        row.addWidget(self.report_button)
        row.addStretch(1)
        box.addLayout(row)

    def show_session(self, ended: SessionEnded, info: EndOfSession | None) -> None:
        """Fill the page for a session that ended (`info`: what the store adds, if anything)."""
        _clear_layout(self.table)
        comparison = info.comparison if info is not None else None
        if comparison is not None:
            rows = comparison_rows(comparison)
            header = (f"{comparison.before.phase_name} (before)",
                      f"{comparison.after.phase_name} (after)")
            self.verdict_label.setText(comparison.verdict())
        else:
            before = ended.baseline_markers or ended.first_phase_markers
            rows = marker_rows(self._cards, before, ended.last_markers)
            header = ("end of the baseline", "last minute")
            self.verdict_label.setText("")
        self.summary_label.setText(summary_text(ended))
        for column, text in enumerate(("", *header, "change (95 % interval)")):
            self.table.addWidget(make_label(text, size_px=13, role="muted", weight=600), 0, column)
        for row, cells in enumerate(rows, start=1):
            for column, text in enumerate(cells):
                size = 18 if column in (1, 2) else 14
                role = "muted" if column == 0 else "text"
                cell = make_label(text, size_px=size, role=role, wrap=column == 3)
                self.table.addWidget(cell, row, column)
        self.table.setColumnStretch(3, 1)
        self.note_label.setText(info.note if info is not None else "")
        self.report_button.setEnabled(info is not None and info.write_report is not None)


def _clear_layout(layout: QtWidgets.QLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.deleteLater()


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
            change = f"{a - b:+.{spec.digits}f}{unit}".replace("-", "−")
        rows.append((spec.title.lower(), f"{number_text(b, spec.digits)}{unit}",
                     f"{number_text(a, spec.digits)}{unit}", change))
    return rows


def comparison_rows(comparison: Comparison) -> list[Row]:
    """Rows from the stored comparison: each marker before, after, and its verdict."""
    rows = []
    for change in comparison.changes:
        digits = change.spec.digits
        unit = f" {change.spec.unit}" if change.spec.unit else ""
        rows.append((change.spec.label, f"{number_text(change.before, digits)}{unit}",
                     f"{number_text(change.after, digits)}{unit}", change_text(change)))
    return rows


def change_text(change: MarkerChange) -> str:
    """The comparison's verdict for one marker, shortened for a table cell:
    'calmer: RMSSD +39 % (95 % CI +17 … +76 %)' -> 'calmer\\n+39 % (+17 … +76 %)'."""
    word, _, rest = change.verdict().partition(": ")
    if change.note or not rest.startswith(change.spec.label):
        return rest or word  # a note ("needs ≥ 60 s of beats"), or not computable
    return f"{word}\n{rest.removeprefix(change.spec.label).strip().replace('95 % CI ', '')}"


def summary_text(ended: SessionEnded) -> str:
    """The headline: how the session ended, RMSSD and heart rate from baseline to the end."""
    first = ended.baseline_markers or ended.first_phase_markers
    last = ended.last_markers
    return (f"Session complete ({ended.reason}) after {clock_text(ended.time_s)}, {ended.beats} "
            f"beats. RMSSD {number_text(first.rmssd_ms)} → {number_text(last.rmssd_ms)} ms, "
            f"heart rate {number_text(first.mean_hr_bpm)} → {number_text(last.mean_hr_bpm)} bpm.")
