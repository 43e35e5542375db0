"""The pacing controls: breathing rate (3-10/min in 0.1 steps), inhale:exhale, holds and, before
Start, the session's length; "Save as protocol…" keeps them as a protocol file.

In the coach window a change paces the current phase at once (the pacer retunes
phase-continuously); on the setup page it shapes the protocol the session will run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from PySide6 import QtCore, QtWidgets

from hrvcoach.core.errors import InputError
from hrvcoach.protocols.custom import MAX_PACED_PER_MIN, MIN_PACED_PER_MIN, Pacing
from hrvcoach.views.qt.labels import BASE_PX, make_label

__all__ = ["PacingBar", "ask_protocol_path"]

MAX_HOLD_S: Final = 10.0
CONTROL_PX: Final = 15  # the controls' font size at scale 1


def _spin(low: float, high: float, step: float, decimals: int, suffix: str,
          tip: str) -> QtWidgets.QDoubleSpinBox:
    spin = QtWidgets.QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    spin.setToolTip(tip)
    spin.setKeyboardTracking(False)  # typing "5.5" is one change, not "5" then "5.5"
    spin.setAccelerated(True)
    spin.setProperty(BASE_PX, CONTROL_PX)
    return spin


class PacingBar(QtWidgets.QFrame):
    """Rate, inhale:exhale, holds (and length); `changed` carries the new Pacing after each
    edit by the user (never when `show_pacing` fills the controls)."""

    changed = QtCore.Signal(object)  # Pacing
    length_changed = QtCore.Signal(float)  # minutes
    save_requested = QtCore.Signal()

    def __init__(self, *, with_length: bool = False,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(16, 8, 16, 8)
        row.setSpacing(8)
        self.rate_spin = _spin(MIN_PACED_PER_MIN, MAX_PACED_PER_MIN, 0.1, 1, " /min",
                               "breaths per minute")
        self.exhale_spin = _spin(0.5, 3.0, 0.1, 1, "", "how much longer the out-breath is than "
                                 "the in-breath (1 : 1.5 is 4 s in, 6 s out at 6/min)")
        self.hold_in_spin = _spin(0.0, MAX_HOLD_S, 0.5, 1, " s", "hold after the in-breath")
        self.hold_out_spin = _spin(0.0, MAX_HOLD_S, 0.5, 1, " s", "hold after the out-breath")
        self.length_spin = _spin(1.0, 180.0, 1.0, 0, " min", "the whole session's length "
                                 "(the paced phases stretch or shrink)") if with_length else None
        parts: list[tuple[str, QtWidgets.QWidget]] = [
            ("pace", self.rate_spin), ("in : out  1 :", self.exhale_spin),
            ("hold in", self.hold_in_spin), ("hold out", self.hold_out_spin)]
        if self.length_spin is not None:
            parts.append(("length", self.length_spin))
        for text, spin in parts:
            row.addWidget(make_label(text, size_px=14, role="muted"))
            row.addWidget(spin)
            if isinstance(spin, QtWidgets.QDoubleSpinBox):
                spin.valueChanged.connect(lambda _value, spin=spin: self._edited(spin))
        self.note_label = make_label("", size_px=13, role="muted", elide=True)
        row.addWidget(self.note_label, stretch=1)
        self.save_button = QtWidgets.QPushButton("Save as protocol…")
        self.save_button.setToolTip("keep this pacing as a protocol of your own (a .toml file "
                                    "the setup page and --protocol find)")
        self.save_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.save_button.clicked.connect(lambda _checked=False: self.save_requested.emit())
        row.addWidget(self.save_button)
        self._filling = False

    def pacing(self) -> Pacing:
        """The pacing the controls show."""
        return Pacing(self.rate_spin.value(), 1.0 / self.exhale_spin.value(),
                      self.hold_in_spin.value(), self.hold_out_spin.value())

    def length_min(self) -> float | None:
        return None if self.length_spin is None else self.length_spin.value()

    def show_pacing(self, pacing: Pacing | None, *, length_min: float | None = None,
                    note: str = "") -> None:
        """Fill the controls (None: no pacer now; the controls are disabled)."""
        self._filling = True
        try:
            if pacing is not None:
                self.rate_spin.setValue(pacing.breaths_per_min)
                self.exhale_spin.setValue(1.0 / pacing.inhale_exhale_ratio)
                self.hold_in_spin.setValue(pacing.hold_in_s)
                self.hold_out_spin.setValue(pacing.hold_out_s)
            if self.length_spin is not None and length_min is not None:
                self.length_spin.setValue(length_min)
        finally:
            self._filling = False
        for spin in (self.rate_spin, self.exhale_spin, self.hold_in_spin, self.hold_out_spin):
            spin.setEnabled(pacing is not None)
        self.set_note(note)

    def set_note(self, text: str) -> None:
        self.note_label.setText(text)

    def _edited(self, spin: QtWidgets.QDoubleSpinBox) -> None:
        if self._filling:
            return
        if spin is self.length_spin:
            self.length_changed.emit(spin.value())
            return
        pacing = self.pacing()
        try:
            pacing.breath()
        except InputError as exc:
            self.set_note(exc.problem)
            return
        self.set_note(pacing.text())
        self.changed.emit(pacing)


def ask_protocol_path(parent: QtWidgets.QWidget, title: str, suggested: Path) -> Path | None:
    """The file a protocol of the user's own is saved as (a .toml), chosen in a save dialog."""
    name, _ = QtWidgets.QFileDialog.getSaveFileName(parent, title, str(suggested),
                                                    "hrvcoach protocols (*.toml)")
    if not name:
        return None
    path = Path(name)
    return path if path.suffix == ".toml" else path.with_suffix(".toml")
