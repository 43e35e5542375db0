"""The focus view: only what a person follows from two or three metres, or on a projector: the
pacer as large as the window allows, the phase, the time left, what to do now, and two numbers
(click one to show another marker). Everything scales with the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6 import QtCore, QtGui, QtWidgets

from hrvcoach.views.qt.labels import make_label, scaled_px
from hrvcoach.views.qt.panels import CardSpec, PacerDisc
from hrvcoach.views.text import NO_VALUE

__all__ = ["DEFAULT_FOCUS_NUMBERS", "FocusView", "NumberTile"]

DEFAULT_FOCUS_NUMBERS: Final = ("mean_hr_bpm", "rmssd_ms")


class NumberTile(QtWidgets.QWidget):
    """One large number with its name and unit; a click shows the next marker."""

    clicked = QtCore.Signal()

    def __init__(self, align: QtCore.Qt.AlignmentFlag,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        box = QtWidgets.QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        self.title_label = make_label("", size_px=15, role="muted", weight=600)
        self.value_label = make_label(NO_VALUE, size_px=60, weight=300)
        for label in (self.title_label, self.value_label):
            label.setAlignment(align)
            box.addWidget(label)
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setToolTip("click to show another number")

    def show_number(self, title: str, value: str) -> None:
        self.title_label.setText(title)
        self.value_label.setText(value)

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)


class FocusView(QtWidgets.QWidget):
    """The pacer filling the room, the phase and the time left above it, the breath below it,
    two numbers in the lower corners and a faint line saying how to leave."""

    def __init__(self, cards: Sequence[CardSpec], parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.cards = tuple(cards)
        keys = [spec.key for spec in self.cards]
        self.numbers: list[str] = [key for key in DEFAULT_FOCUS_NUMBERS if key in keys] or keys[:2]
        root = QtWidgets.QVBoxLayout(self)
        self.root = root
        top = QtWidgets.QHBoxLayout()
        self.phase_label = make_label("", size_px=30, weight=300, elide=True)
        self.time_label = make_label("", size_px=30, weight=300)
        self.time_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        top.addWidget(self.phase_label, stretch=1)
        top.addWidget(self.time_label)
        root.addLayout(top)
        self.disc = PacerDisc(on_card=False)
        root.addWidget(self.disc, stretch=1)
        self.part_label = make_label("", size_px=54, weight=300)
        self.count_label = make_label("", size_px=30, role="muted")
        for label in (self.part_label, self.count_label):
            label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            root.addWidget(label)
        bottom = QtWidgets.QHBoxLayout()
        self.tiles = [NumberTile(QtCore.Qt.AlignmentFlag.AlignLeft),
                      NumberTile(QtCore.Qt.AlignmentFlag.AlignRight)]
        self.hint_label = make_label("v or Esc: all panels · f: full screen · space: pause",
                                     size_px=13, role="faint", elide=True)
        self.hint_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter
                                     | QtCore.Qt.AlignmentFlag.AlignBottom)
        bottom.addWidget(self.tiles[0], alignment=QtCore.Qt.AlignmentFlag.AlignBottom)
        bottom.addWidget(self.hint_label, stretch=1)
        bottom.addWidget(self.tiles[1], alignment=QtCore.Qt.AlignmentFlag.AlignBottom)
        root.addLayout(bottom)
        for index, tile in enumerate(self.tiles):
            tile.clicked.connect(lambda index=index: self.next_number(index))
        self.set_scale(1.0)

    def set_scale(self, scale: float) -> None:
        """Margins for the window's scale (fonts are scaled with the window's)."""
        margin = scaled_px(28, scale)
        self.root.setContentsMargins(margin, scaled_px(18, scale), margin, scaled_px(14, scale))
        self.root.setSpacing(scaled_px(6, scale))

    def next_number(self, index: int) -> None:
        """Show the next marker in tile `index` (skipping the one the other tile shows)."""
        keys = [spec.key for spec in self.cards]
        other = self.numbers[1 - index] if len(self.numbers) > 1 else None
        position = keys.index(self.numbers[index])
        for step in range(1, len(keys) + 1):
            candidate = keys[(position + step) % len(keys)]
            if candidate != other:
                self.numbers[index] = candidate
                return
