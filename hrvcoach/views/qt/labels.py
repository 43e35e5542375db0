"""Text in the coach window that holds at every size: labels that remember their design size
(so the window can scale every font with itself), and a label that elides by design.

A label is either wrapped (`wrap=True`: it grows in height) or elided (`ElidedLabel`: it ends
in "…" when narrower than its text, and says so); plain labels keep their text whole and ask the
layout for its width. None is ever cut mid-line.
"""

from __future__ import annotations

from typing import Final

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["BASE_PX", "ElidedLabel", "make_label", "scale_fonts", "scaled_px"]

BASE_PX: Final = "base_px"  # the Qt property holding a widget's font size at scale 1


def scaled_px(base_px: float, scale: float) -> int:
    """A font or distance of `base_px` at `scale`, in whole pixels (at least 1)."""
    return max(round(base_px * scale), 1)


def _set_font(widget: QtWidgets.QWidget, size_px: int, weight: int | None = None) -> None:
    font = widget.font()
    font.setPixelSize(size_px)
    if weight is not None:
        font.setWeight(QtGui.QFont.Weight(weight))
    widget.setFont(font)


def make_label(text: str, *, size_px: int, role: str = "text", weight: int = 400,
               wrap: bool = False, elide: bool = False) -> QtWidgets.QLabel:
    """A label whose colour comes from the window's theme stylesheet (`role`: text, muted, ...)
    and whose font the window scales (`size_px` at scale 1)."""
    label = ElidedLabel(text) if elide else QtWidgets.QLabel(text)
    _set_font(label, size_px, weight)
    label.setProperty(BASE_PX, size_px)
    label.setProperty("role", role)
    label.setWordWrap(wrap and not elide)
    return label


def scale_fonts(root: QtWidgets.QWidget, scale: float) -> None:
    """Set every font under `root` that has a design size (BASE_PX) to that size x scale."""
    for widget in [root, *root.findChildren(QtWidgets.QWidget)]:
        base = widget.property(BASE_PX)
        if isinstance(base, (int, float)) and base > 0:
            size = scaled_px(base, scale)
            if widget.font().pixelSize() != size:
                _set_font(widget, size)


class ElidedLabel(QtWidgets.QLabel):
    """A one-line label that ends in "…" when it is narrower than its text (`elided` says
    whether it does now); its tooltip then holds the whole text."""

    MIN_CHARS: Final = 6  # it never asks for less width than this many characters

    def __init__(self, text: str = "", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.elided = False
        self.setText(text)

    def text(self) -> str:
        return self._full

    def setText(self, text: str) -> None:
        if text != self._full:
            self._full = text
            self.updateGeometry()
            self._fit()

    def shown_text(self) -> str:
        """What is drawn now (the text, or its elided start)."""
        return super().text()

    def _fit(self) -> None:
        metrics = self.fontMetrics()
        width = self.contentsRect().width()
        shown = metrics.elidedText(self._full, QtCore.Qt.TextElideMode.ElideRight, max(width, 0))
        self.elided = shown != self._full
        if super().text() != shown:
            super().setText(shown)
        self.setToolTip(self._full if self.elided else "")

    def sizeHint(self) -> QtCore.QSize:
        metrics = self.fontMetrics()
        margins = self.contentsMargins()
        return QtCore.QSize(metrics.horizontalAdvance(self._full) + 2 + margins.left()
                            + margins.right(), metrics.height() + margins.top() + margins.bottom())

    def minimumSizeHint(self) -> QtCore.QSize:
        metrics = self.fontMetrics()
        return QtCore.QSize(metrics.averageCharWidth() * self.MIN_CHARS, metrics.height())

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event: QtCore.QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:
            self.updateGeometry()
            self._fit()
