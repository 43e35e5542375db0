"""The coach window's setup page: choose the heart-rate source and the protocol (a built-in one,
one of your own, or any protocol file), adjust its pacing and length if you like, then Start.

Sources: a Bluetooth strap (the page keeps scanning and lists what it finds, strongest signal
first), the simulated strap, or a recording to replay. The scan function is passed in, so this
page knows nothing of bleak; it runs on the window's qasync loop (no threads).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from PySide6 import QtCore, QtWidgets

from hrvcoach.core.errors import DeviceError, InputError
from hrvcoach.protocols.custom import Pacing, save_protocol, with_length, with_pacing
from hrvcoach.protocols.protocol import Protocol, load_protocol_file
from hrvcoach.views.qt.device_picker import fill_strap_list
from hrvcoach.views.qt.labels import make_label
from hrvcoach.views.qt.pacing import PacingBar, ask_protocol_path
from hrvcoach.views.text import clock_text, plain_problem

if TYPE_CHECKING:
    from hrvcoach.sources.ble.scan import FoundStrap

__all__ = ["RECORDING_FILTERS", "SetupChoice", "SetupPanel", "SourceKind"]

SourceKind = Literal["ble", "sim", "replay"]
ScanFunction = Callable[[float], Awaitable[Sequence["FoundStrap"]]]
SCAN_S: Final = 3.0  # each scan listens this long; the list refreshes after each
RETRY_AFTER_ERROR_S: Final = 3.0
# What the replay can read (files.session_files.read_recording_file): RR text and CSV, Polar HRM,
# Kubios text, hrvcoach journals and exports (CSV, JSON, EDF+).
RECORDING_FILTERS: Final = ("Recordings (*.txt *.csv *.tsv *.rr *.hrm *.json *.edf);;"
                            "RR text or CSV (*.txt *.csv *.tsv *.rr);;Polar HRM (*.hrm);;"
                            "hrvcoach exports (*.csv *.json *.edf);;All files (*)")


@dataclass(frozen=True, slots=True)
class SetupChoice:
    """What the user chose on the setup page (the protocol with any pacing and length set)."""

    source: SourceKind
    protocol: Protocol
    device: str | None = None  # the strap's address (source "ble")
    replay_file: Path | None = None  # the recording (source "replay")


def _titled_card(title: str) -> tuple[QtWidgets.QFrame, QtWidgets.QVBoxLayout]:
    """A themed card with a small caps title; returns it and the layout to fill."""
    card = QtWidgets.QFrame()
    card.setObjectName("card")
    layout = QtWidgets.QVBoxLayout(card)
    layout.setContentsMargins(20, 14, 20, 14)
    layout.setSpacing(6)
    layout.addWidget(make_label(title, size_px=13, role="muted", weight=600))
    return card, layout


class SetupPanel(QtWidgets.QWidget):
    """Source and protocol choice; `wait_for_choice()` returns when the user presses Start."""

    def __init__(self, protocols: Sequence[Protocol], *, scan: ScanFunction | None = None,
                 default_protocol: str = "demo", scan_s: float = SCAN_S,
                 user_protocols: Sequence[Protocol] = (), protocol_problems: Sequence[str] = (),
                 protocol_dir: Path | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        if not protocols:
            raise ValueError("the setup page needs at least one protocol")
        self.protocols = list(protocols)
        built_in = {p.name for p in protocols}
        self.yours = {p.name for p in user_protocols if p.name not in built_in}
        self.protocols += [p for p in user_protocols if p.name in self.yours]
        self.protocol_dir = protocol_dir
        self.ask_protocol_path: Callable[[Path], Path | None] = self._ask_save_path
        self.ask_open_path: Callable[[str, str], Path | None] = self._ask_open_path
        self._scan = scan
        self._scan_s = scan_s
        self._scanning: asyncio.Task[None] | None = None
        self._chosen: asyncio.Future[SetupChoice] | None = None
        self._pending: SetupChoice | None = None  # Start pressed before anyone waited
        self._user_chose_source = False
        self._customised = False  # the pacing or length was changed from the protocol's
        self.replay_file: Path | None = None
        self._build(default_protocol, protocol_problems)
        self._show_protocol_pacing()
        self._update()

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self, default_protocol: str, problems: Sequence[str]) -> None:
        root = QtWidgets.QVBoxLayout(self)
        root.setContentsMargins(36, 24, 36, 20)
        root.setSpacing(12)
        root.addWidget(make_label("hrvcoach", size_px=34, weight=300))
        root.addWidget(make_label("Choose where your heartbeats come from and a protocol, then "
                                  "Start. Sit comfortably; look at the window with soft eyes.",
                                  size_px=16, role="muted", wrap=True))
        columns = QtWidgets.QHBoxLayout()
        columns.setSpacing(18)
        root.addLayout(columns, stretch=1)

        source_card, source = _titled_card("HEART-RATE SOURCE")
        self.source_group = QtWidgets.QButtonGroup(self)
        self.ble_radio = QtWidgets.QRadioButton("Bluetooth chest strap")
        self.sim_radio = QtWidgets.QRadioButton("Simulated strap (a demo: not your heart)")
        self.replay_radio = QtWidgets.QRadioButton("Replay a recording")
        for radio in (self.ble_radio, self.sim_radio, self.replay_radio):
            self.source_group.addButton(radio)
            radio.toggled.connect(lambda _on: self._update())
            radio.clicked.connect(lambda _checked=False: self._source_clicked())
        source.addWidget(self.ble_radio)
        self.strap_list = QtWidgets.QListWidget()
        self.strap_list.setMinimumHeight(60)
        self.strap_list.currentRowChanged.connect(lambda _row: self._update())
        source.addWidget(self.strap_list, stretch=1)
        self.scan_label = make_label("", size_px=13, role="muted", wrap=True)
        source.addWidget(self.scan_label)
        source.addWidget(self.sim_radio)
        source.addWidget(self.replay_radio)
        replay_row = QtWidgets.QHBoxLayout()
        self.file_button = QtWidgets.QPushButton("Choose file…")
        self.file_button.clicked.connect(lambda _checked=False: self.choose_file())
        self.file_label = make_label("no file chosen", size_px=13, role="muted", elide=True)
        replay_row.addWidget(self.file_button)
        replay_row.addWidget(self.file_label, stretch=1)
        source.addLayout(replay_row)
        columns.addWidget(source_card, stretch=1)

        protocol_card, box = _titled_card("PROTOCOL")
        chooser = QtWidgets.QHBoxLayout()
        self.protocol_combo = QtWidgets.QComboBox()
        self.protocol_combo.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.protocol_combo.setMinimumContentsLength(12)
        for protocol in self.protocols:
            self.protocol_combo.addItem(self._combo_text(protocol))
        names = [p.name for p in self.protocols]
        self.protocol_combo.setCurrentIndex(names.index(default_protocol)
                                            if default_protocol in names else 0)
        self.protocol_combo.currentIndexChanged.connect(lambda _i: self._protocol_changed())
        self.open_button = QtWidgets.QPushButton("Open…")
        self.open_button.setToolTip("use a protocol file (.toml) from anywhere")
        self.open_button.clicked.connect(lambda _checked=False: self.open_protocol_file())
        chooser.addWidget(self.protocol_combo, stretch=1)
        chooser.addWidget(self.open_button)
        box.addLayout(chooser)
        self.protocol_label = make_label("", size_px=14, role="muted", wrap=True)
        self.protocol_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        scroll = QtWidgets.QScrollArea()  # a long protocol scrolls; it is never cut
        scroll.setWidget(self.protocol_label)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setStyleSheet("QScrollArea, QScrollArea > QWidget > QWidget "
                             "{ background: transparent; }")
        box.addWidget(scroll, stretch=1)
        self.problems_label = make_label("\n".join(f"not read: {plain_problem(p)}"
                                                   for p in problems),
                                         size_px=13, role="warn", wrap=True)
        self.problems_label.setVisible(bool(problems))
        box.addWidget(self.problems_label)
        columns.addWidget(protocol_card, stretch=1)

        self.pacing_bar = PacingBar(with_length=True)
        self.pacing_bar.changed.connect(lambda _pacing: self._customise())
        self.pacing_bar.length_changed.connect(lambda _minutes: self._customise())
        self.pacing_bar.save_requested.connect(self.save_as_protocol)
        root.addWidget(self.pacing_bar)

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
        self.strap_list.setVisible(self._scan is not None)
        self.scan_label.setVisible(self._scan is not None)
        if self._scan is None:
            source.addStretch(1)

    def _combo_text(self, protocol: Protocol) -> str:
        yours = " · yours" if protocol.name in self.yours else ""
        return f"{protocol.name} · {clock_text(protocol.duration_s)}{yours}"

    # ---- state ------------------------------------------------------------------------------------
    def default_protocol(self) -> Protocol:
        """The protocol chosen in the list (as its file says)."""
        return self.protocols[max(self.protocol_combo.currentIndex(), 0)]

    def chosen_protocol(self) -> Protocol:
        """The protocol the session will run: the chosen one, with the pacing and length set
        here when they were changed (InputError when they do not fit it)."""
        protocol = self.default_protocol()
        if not self._customised:
            return protocol
        if any(phase.paced for phase in protocol.phases):
            protocol = with_pacing(protocol, self.pacing_bar.pacing())
            length_min = self.pacing_bar.length_min()
            if length_min is not None and abs(length_min * 60.0 - protocol.duration_s) > 1.0:
                protocol = with_length(protocol, length_min * 60.0)
        return protocol

    def source_kind(self) -> SourceKind:
        if self.ble_radio.isChecked():
            return "ble"
        return "replay" if self.replay_radio.isChecked() else "sim"

    def chosen_device(self) -> str | None:
        item = self.strap_list.currentItem()
        return None if item is None else str(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def choice(self) -> SetupChoice | None:
        """The complete choice, or None while something is missing (a strap, a file) or the
        pacing does not fit the protocol."""
        try:
            protocol = self.chosen_protocol()
        except InputError:
            return None
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
        try:
            protocol = self.chosen_protocol()
        except InputError as exc:
            self.pacing_bar.set_note(exc.problem)
            protocol = self.default_protocol()
        phases = "\n".join(f"{i + 1}. {p.name} ({p.kind}, {clock_text(p.duration_s)}): "
                           f"{p.pacing_text()}" for i, p in enumerate(protocol.phases))
        changed = " (your pacing and length)" if self._customised else ""
        self.protocol_label.setText(f"{protocol.description}{changed}\n\n{phases}")
        ble = self.source_kind() == "ble"
        self.strap_list.setEnabled(ble)
        self.file_button.setEnabled(self.source_kind() == "replay")
        self.start_button.setEnabled(self.choice() is not None)

    def _protocol_changed(self) -> None:
        self._customised = False
        self._show_protocol_pacing()
        self._update()

    def _show_protocol_pacing(self) -> None:
        """Fill the pacing controls from the chosen protocol's first paced phase."""
        protocol = self.default_protocol()
        paced = next((p for p in protocol.phases if p.breaths_per_min is not None), None)
        pacing = None if paced is None or paced.breaths_per_min is None else \
            Pacing.of_breath(paced.breaths_per_min, paced.breath)
        rates = {p.breaths_per_min for p in protocol.phases if p.paced} | {
            p.ramp_to_per_min for p in protocol.phases if p.ramp_to_per_min is not None}
        note = "no paced phase" if pacing is None else (
            "this protocol paces several rates: a change paces them all alike" if len(rates) > 1
            else "as the protocol says")
        self.pacing_bar.show_pacing(pacing, length_min=round(protocol.duration_s / 60.0),
                                    note=note)

    def _customise(self) -> None:
        self._customised = True
        self._update()

    def _source_clicked(self) -> None:
        self._user_chose_source = True

    def set_replay_file(self, path: Path) -> None:
        self.replay_file = path
        self.file_label.setText(path.name)
        self.replay_radio.setChecked(True)
        self._update()

    def choose_file(self) -> None:
        path = self.ask_open_path("Choose a recording to replay", RECORDING_FILTERS)
        if path is not None:
            self.set_replay_file(path)

    def open_protocol_file(self) -> None:
        """Add a protocol file from anywhere to the list and choose it."""
        path = self.ask_open_path("Open a protocol file", "hrvcoach protocols (*.toml);;All (*)")
        if path is None:
            return
        try:
            protocol = load_protocol_file(path)
        except InputError as exc:
            self.show_error(plain_problem(str(exc)))
            return
        self._add_protocol(protocol, yours=True)

    def _add_protocol(self, protocol: Protocol, *, yours: bool) -> None:
        if yours:
            self.yours.add(protocol.name)
        names = [p.name for p in self.protocols]
        if protocol.name in names:
            index = names.index(protocol.name)
            self.protocols[index] = protocol
            self.protocol_combo.setItemText(index, self._combo_text(protocol))
        else:
            self.protocols.append(protocol)
            index = len(self.protocols) - 1
            self.protocol_combo.addItem(self._combo_text(protocol))
        if self.protocol_combo.currentIndex() == index:
            self._protocol_changed()
        self.protocol_combo.setCurrentIndex(index)
        self.error_label.setText("")

    def save_as_protocol(self) -> Path | None:
        """Save the protocol as set here as one of the user's own protocols, and choose it."""
        if self.protocol_dir is None:
            self.pacing_bar.set_note("no data folder to save protocols in")
            return None
        try:
            protocol = self.chosen_protocol()
        except InputError as exc:
            self.pacing_bar.set_note(exc.problem)
            return None
        path = self.ask_protocol_path(self.protocol_dir / f"{protocol.name}-mine.toml")
        if path is None:
            return None
        try:
            saved = save_protocol(protocol, path)
        except InputError as exc:
            self.pacing_bar.set_note(exc.problem)
            return None
        self._add_protocol(saved, yours=True)
        self.pacing_bar.set_note(f"saved as “{saved.name}”")
        return path

    def _ask_save_path(self, suggested: Path) -> Path | None:
        return ask_protocol_path(self, "Save as a protocol of your own", suggested)

    def _ask_open_path(self, title: str, filters: str) -> Path | None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, title, "", filters)
        return Path(name) if name else None

    def show_straps(self, straps: Sequence[FoundStrap]) -> None:
        """Replace the strap list, keeping the user's selection when that strap is still there."""
        fill_strap_list(self.strap_list, straps, self.chosen_device(), show_address=False)
        count = len(straps)
        self.scan_label.setText(
            f"{count} strap{'s' if count != 1 else ''} in range; still looking…" if count
            else "no strap found yet (moisten the electrodes and put it on); still looking…")
        self._update()

    def show_scan_problem(self, problem: str) -> None:
        """Bluetooth cannot scan: say why, plainly; until the user picks a source, offer the
        simulated strap instead."""
        self.scan_label.setText(f"Bluetooth is not available: {plain_problem(problem)}")
        if not self._user_chose_source and self.ble_radio.isChecked():
            self.sim_radio.setChecked(True)

    def show_error(self, text: str) -> None:
        self.error_label.setText(plain_problem(text))

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
                self.show_scan_problem(str(exc))
                await asyncio.sleep(RETRY_AFTER_ERROR_S)
                continue
            self.show_straps(straps)
