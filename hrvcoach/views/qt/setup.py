"""The coach window's setup page: choose the heart-rate source and the protocol, then Start.

Sources: a Bluetooth strap (the page keeps scanning and lists what it finds, strongest signal
first), the simulated strap, or a recorded RR file to replay. The scan function is passed in,
so this page knows nothing of bleak; it runs on the window's qasync loop (no threads).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from PySide6 import QtCore, QtWidgets

from hrvcoach.core.errors import DeviceError
from hrvcoach.protocols.protocol import Protocol
from hrvcoach.views.qt.device_picker import fill_strap_list
from hrvcoach.views.qt.panels import make_label
from hrvcoach.views.text import clock_text

if TYPE_CHECKING:
    from hrvcoach.sources.ble.scan import FoundStrap

__all__ = ["SetupChoice", "SetupPanel", "SourceKind"]

SourceKind = Literal["ble", "sim", "replay"]
ScanFunction = Callable[[float], Awaitable[Sequence["FoundStrap"]]]
SCAN_S: Final = 3.0  # each scan listens this long; the list refreshes after each
RETRY_AFTER_ERROR_S: Final = 3.0


@dataclass(frozen=True, slots=True)
class SetupChoice:
    """What the user chose on the setup page."""

    source: SourceKind
    protocol: Protocol
    device: str | None = None  # the strap's address (source "ble")
    replay_file: Path | None = None  # the recording (source "replay")


def _titled_card(title: str) -> tuple[QtWidgets.QFrame, QtWidgets.QVBoxLayout]:
    """A themed card with a small caps title; returns it and the layout to fill."""
    card = QtWidgets.QFrame()
    card.setObjectName("card")
    layout = QtWidgets.QVBoxLayout(card)
    layout.setContentsMargins(22, 18, 22, 18)
    layout.setSpacing(8)
    layout.addWidget(make_label(title, size_px=13, role="muted", weight=600))
    return card, layout


class SetupPanel(QtWidgets.QWidget):
    """Source and protocol choice; `wait_for_choice()` returns when the user presses Start."""

    def __init__(self, protocols: Sequence[Protocol], *, scan: ScanFunction | None = None,
                 default_protocol: str = "demo", scan_s: float = SCAN_S,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        if not protocols:
            raise ValueError("the setup page needs at least one protocol")
        self.protocols = list(protocols)
        self._scan = scan
        self._scan_s = scan_s
        self._scanning: asyncio.Task[None] | None = None
        self._chosen: asyncio.Future[SetupChoice] | None = None
        self._pending: SetupChoice | None = None  # Start pressed before anyone waited
        self.replay_file: Path | None = None
        self._build(default_protocol)
        self._update()

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self, default_protocol: str) -> None:
        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(40, 30, 40, 26)
        root.setSpacing(14)
        root.addWidget(make_label("hrvcoach", size_px=34, weight=300))
        root.addWidget(make_label("Choose where your heartbeats come from and a protocol, then "
                                  "Start. Sit comfortably; look at the window with soft eyes.",
                                  size_px=16, role="muted", wrap=True))
        columns = QtWidgets.QHBoxLayout()
        columns.setSpacing(20)
        root.addLayout(columns, stretch=1)

        source_card, source = _titled_card("HEART-RATE SOURCE")
        self.source_group = QtWidgets.QButtonGroup(self)
        self.ble_radio = QtWidgets.QRadioButton("Bluetooth chest strap")
        self.sim_radio = QtWidgets.QRadioButton(
            "Simulated strap (a simulated person breathes with the pacer)")
        self.replay_radio = QtWidgets.QRadioButton("Replay a recorded RR file")
        for radio in (self.ble_radio, self.sim_radio, self.replay_radio):
            self.source_group.addButton(radio)
            radio.toggled.connect(lambda _on: self._update())
        source.addWidget(self.ble_radio)
        self.strap_list = QtWidgets.QListWidget()
        self.strap_list.setMinimumHeight(110)
        self.strap_list.currentRowChanged.connect(lambda _row: self._update())
        source.addWidget(self.strap_list)
        self.scan_label = make_label("", size_px=13, role="muted", wrap=True)
        source.addWidget(self.scan_label)
        source.addWidget(self.sim_radio)
        source.addWidget(self.replay_radio)
        replay_row = QtWidgets.QHBoxLayout()
        self.file_button = QtWidgets.QPushButton("Choose file…")
        self.file_button.clicked.connect(lambda _checked=False: self.choose_file())
        self.file_label = make_label("no file chosen", size_px=13, role="muted")
        replay_row.addWidget(self.file_button)
        replay_row.addWidget(self.file_label, stretch=1)
        source.addLayout(replay_row)
        source.addStretch(1)
        columns.addWidget(source_card, stretch=1)

        protocol_card, box = _titled_card("PROTOCOL")
        self.protocol_combo = QtWidgets.QComboBox()
        for protocol in self.protocols:
            self.protocol_combo.addItem(f"{protocol.name} · {clock_text(protocol.duration_s)}")
        names = [p.name for p in self.protocols]
        self.protocol_combo.setCurrentIndex(names.index(default_protocol)
                                            if default_protocol in names else 0)
        self.protocol_combo.currentIndexChanged.connect(lambda _i: self._update())
        box.addWidget(self.protocol_combo)
        self.protocol_label = make_label("", size_px=14, role="muted", wrap=True)
        self.protocol_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        box.addWidget(self.protocol_label, stretch=1)
        columns.addWidget(protocol_card, stretch=1)

        bottom = QtWidgets.QHBoxLayout()
        self.error_label = make_label("", size_px=14, role="bad", wrap=True)
        bottom.addWidget(self.error_label, stretch=1)
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setMinimumWidth(140)
        self.start_button.clicked.connect(lambda _checked=False: self.start())
        bottom.addWidget(self.start_button)
        root.addLayout(bottom)
        (self.ble_radio if self._scan is not None else self.sim_radio).setChecked(True)
        self.ble_radio.setEnabled(self._scan is not None)

    # ---- state ------------------------------------------------------------------------------------
    def default_protocol(self) -> Protocol:
        return self.protocols[max(self.protocol_combo.currentIndex(), 0)]

    def source_kind(self) -> SourceKind:
        if self.ble_radio.isChecked():
            return "ble"
        return "replay" if self.replay_radio.isChecked() else "sim"

    def chosen_device(self) -> str | None:
        item = self.strap_list.currentItem()
        return None if item is None else str(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def choice(self) -> SetupChoice | None:
        """The complete choice, or None while something is missing (a strap, a file)."""
        protocol = self.default_protocol()
        match self.source_kind():
            case "ble":
                device = self.chosen_device()
                return None if device is None else SetupChoice("ble", protocol, device=device)
            case "replay":
                file = self.replay_file
                return None if file is None else SetupChoice("replay", protocol, replay_file=file)
            case _:
                return SetupChoice("sim", protocol)

    def _update(self) -> None:
        protocol = self.default_protocol()
        phases = "\n".join(f"{i + 1}. {p.name} ({p.kind}, {clock_text(p.duration_s)}): "
                           f"{p.pacing_text()}" for i, p in enumerate(protocol.phases))
        self.protocol_label.setText(f"{protocol.description}\n\n{phases}")
        ble = self.source_kind() == "ble"
        self.strap_list.setEnabled(ble)
        self.file_button.setEnabled(self.source_kind() == "replay")
        self.start_button.setEnabled(self.choice() is not None)

    def set_replay_file(self, path: Path) -> None:
        self.replay_file = path
        self.file_label.setText(path.name)
        self.replay_radio.setChecked(True)
        self._update()

    def choose_file(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Choose an RR recording", "", "RR recordings (*.txt *.csv *.tsv *.rr);;All (*)")
        if name:
            self.set_replay_file(Path(name))

    def show_straps(self, straps: Sequence[FoundStrap]) -> None:
        """Replace the strap list, keeping the user's selection when that strap is still there."""
        fill_strap_list(self.strap_list, straps, self.chosen_device(), show_address=False)
        count = len(straps)
        self.scan_label.setText(
            f"{count} strap{'s' if count != 1 else ''} in range; still looking…" if count
            else "no strap found yet (moisten the electrodes and put it on); still looking…")
        self._update()

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)

    # ---- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        """The Start button: hand the choice to whoever waits for it."""
        choice = self.choice()
        if choice is None:
            return
        self.error_label.setText("")
        if self._chosen is None or self._chosen.done():
            self._pending = choice
        else:
            self._chosen.set_result(choice)

    async def wait_for_choice(self) -> SetupChoice:
        """Scan (when a scan function was given) and wait for Start."""
        if self._pending is not None:
            choice, self._pending = self._pending, None
            return choice
        self._chosen = asyncio.get_running_loop().create_future()
        if self._scan is not None and self._scanning is None:
            self._scanning = asyncio.ensure_future(self._keep_scanning())
        return await self._chosen

    async def stop_scanning(self) -> None:
        scanning, self._scanning = self._scanning, None
        if scanning is not None:
            scanning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scanning

    async def _keep_scanning(self) -> None:
        scan = self._scan
        if scan is None:
            return
        self.scan_label.setText("looking for straps…")
        while True:
            try:
                straps = await scan(self._scan_s)
            except DeviceError as exc:
                self.scan_label.setText(f"Bluetooth problem: {exc}")
                await asyncio.sleep(RETRY_AFTER_ERROR_S)
                continue
            self.show_straps(straps)
