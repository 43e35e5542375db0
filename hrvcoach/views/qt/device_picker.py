"""A small Qt dialog to choose the heart-rate strap before a coach session (`coach` without --device).

It rescans every few seconds and lists what it found, strongest signal first; the user picks one
(double-click or Connect). Scanning runs on a qasync event loop, like the coach window: no
threads. The scan function is passed in, so the dialog knows nothing of bleak.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final, cast

from PySide6 import QtCore, QtWidgets

# isort: split
import qasync  # after PySide6, so it binds to it

from hrvcoach.core.errors import DeviceError
from hrvcoach.views.qt.labels import make_label
from hrvcoach.views.qt.theme import THEMES, ThemeName, stylesheet
from hrvcoach.views.text import plain_problem

if TYPE_CHECKING:
    from hrvcoach.sources.ble.scan import FoundStrap

__all__ = ["DevicePicker", "pick_device"]

SCAN_S: Final = 3.0  # each scan listens this long; the list refreshes after each
RETRY_AFTER_ERROR_S: Final = 3.0

ScanFunction = Callable[[float], Awaitable[Sequence["FoundStrap"]]]


def fill_strap_list(strap_list: QtWidgets.QListWidget, straps: Sequence[FoundStrap],
                    selected: str | None, *, show_address: bool) -> None:
    """Show the straps (address kept as item data), re-selecting `selected` when it is still
    there, or the only strap when there is just one."""
    strap_list.clear()
    for strap in straps:
        signal = f"{strap.rssi_dbm} dBm" if strap.rssi_dbm is not None else "? dBm"
        address = f"    {strap.address}" if show_address else ""
        item = QtWidgets.QListWidgetItem(
            f"{strap.name or '(no name)'}{address}    {signal}    {strap.profile.name}")
        item.setData(QtCore.Qt.ItemDataRole.UserRole, strap.address)
        strap_list.addItem(item)
        if strap.address == selected or (selected is None and len(straps) == 1):
            strap_list.setCurrentItem(item)


class DevicePicker(QtWidgets.QDialog):
    """Lists the straps in range; `run()` returns the chosen strap's address, or None."""

    def __init__(self, scan: ScanFunction, *, scan_s: float = SCAN_S, theme: ThemeName = "dark",
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._scan = scan
        self._scan_s = scan_s
        self.setWindowTitle("hrvcoach: choose your strap")
        self.setStyleSheet(stylesheet(THEMES[theme]))  # the coach window's colours
        self.resize(560, 360)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(22, 18, 22, 16)
        layout.setSpacing(10)
        layout.addWidget(make_label("Put the strap on (moisten the electrodes) and choose it:",
                                    size_px=16, wrap=True))
        self.strap_list = QtWidgets.QListWidget()
        self.strap_list.itemDoubleClicked.connect(lambda _item: self.accept())
        self.strap_list.currentRowChanged.connect(self._update_buttons)
        layout.addWidget(self.strap_list, stretch=1)
        self.status_label = make_label("scanning…", size_px=13, role="muted", wrap=True)
        layout.addWidget(self.status_label)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = buttons.addButton(
            "Connect", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        self.connect_button.setEnabled(False)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen_address(self) -> str | None:
        item = self.strap_list.currentItem()
        return None if item is None else str(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def show_straps(self, straps: Sequence[FoundStrap]) -> None:
        """Replace the list, keeping the user's selection when that strap is still there."""
        fill_strap_list(self.strap_list, straps, self.chosen_address(), show_address=True)
        count = len(straps)
        self.status_label.setText(
            f"{count} strap{'s' if count != 1 else ''} in range; still scanning…" if count
            else "no strap found yet; still scanning…")
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.connect_button.setEnabled(self.chosen_address() is not None)

    async def _keep_scanning(self) -> None:
        while True:
            try:
                straps = await self._scan(self._scan_s)
            except DeviceError as exc:
                self.status_label.setText(f"Bluetooth is not available: {plain_problem(str(exc))}")
                await asyncio.sleep(RETRY_AFTER_ERROR_S)
                continue
            self.show_straps(straps)

    async def run(self) -> str | None:
        """Show the dialog until the user connects (the address) or cancels (None)."""
        done = asyncio.Event()
        self.finished.connect(lambda _result: done.set())
        scanning = asyncio.ensure_future(self._keep_scanning())
        self.show()
        try:
            await done.wait()
        finally:
            scanning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scanning
            self.hide()
        accepted = self.result() == QtWidgets.QDialog.DialogCode.Accepted
        return self.chosen_address() if accepted else None


def pick_device(scan: ScanFunction | None = None, *, theme: ThemeName = "dark") -> str | None:
    """Run the picker on its own qasync loop; the chosen strap's address, or None."""
    if scan is None:
        from hrvcoach.sources.ble.scan import scan as ble_scan

        scan = ble_scan
    app = cast(QtWidgets.QApplication, QtWidgets.QApplication.instance()) \
        or QtWidgets.QApplication([sys.argv[0] or "hrvcoach"])
    picker = DevicePicker(scan, theme=theme)
    quit_on_last_window = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)  # closing the dialog must not stop the loop under us
    loop = qasync.QEventLoop(app)
    try:
        return loop.run_until_complete(picker.run())
    finally:
        loop.close()
        app.setQuitOnLastWindowClosed(quit_on_last_window)
        picker.deleteLater()
