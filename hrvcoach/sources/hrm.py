"""Heart Rate Measurement (0x2A37) payloads -> heart rate, skin contact and RR intervals. Pure.

The layout (Bluetooth SIG Heart Rate Service 1.0, characteristic 0x2A37), little-endian:

    byte 0          flags
                      bit0  heart rate value is uint16 (clear: uint8)
                      bit1  sensor contact detected (meaningful only when bit2 is set)
                      bit2  sensor contact feature supported
                      bit3  energy expended present (uint16, kJ)
                      bit4  RR intervals present (uint16 each, in 1/1024 s)
                      bits5-7 reserved for future use
    1 (or 1-2)      heart rate in bpm
    next 2          energy expended, when bit3 is set
    the rest        RR intervals, 2 bytes each, when bit4 is set (zero, one or many per packet)

`parse_hrm` reads one payload; a malformed one raises `HrmPacketError` (an `InputError`) naming
the byte offset and the flag at fault, and nothing else. `HrmTimeline` turns the packets of one
strap into beats on the session clock: RR values are back-dated from the time the notification
was received, times never go backwards, and beats after a reconnect or a loss of skin contact
are marked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind, rr_ms_from_1024
from hrvcoach.core.errors import InputError

__all__ = [
    "MIN_BEAT_STEP_S",
    "HeartRateMeasurement",
    "HrmPacketError",
    "HrmTimeline",
    "parse_hrm",
]

FLAG_HR_UINT16: Final = 0x01
FLAG_CONTACT_DETECTED: Final = 0x02
FLAG_CONTACT_SUPPORTED: Final = 0x04
FLAG_ENERGY_EXPENDED: Final = 0x08
FLAG_RR_PRESENT: Final = 0x10
FLAGS_RESERVED: Final = 0xE0

MIN_BEAT_STEP_S: Final = 1 / 1024  # beat times rise at least one strap tick per beat

_FLAG_NAMES: Final = {
    "flags": "flags byte",
    "reserved": "flags bits 5-7, reserved",
    "hr8": "flags bit0 clear: heart rate is uint8",
    "hr16": "flags bit0 set: heart rate is uint16",
    "energy": "flags bit3 set: energy expended present",
    "rr": "flags bit4 set: RR intervals present",
    "no_rr": "flags bit4 clear: no RR intervals",
}


class HrmPacketError(InputError):
    """A 0x2A37 payload that breaks the Heart Rate Service layout.

    `offset` is the byte at fault (0 = flags), `flag` the flag that made that byte expected.
    """

    def __init__(self, payload: bytes, offset: int, flag: str, problem: str) -> None:
        shown = payload.hex(" ") if payload else "empty"
        super().__init__(f"heart rate packet byte {offset} ({_FLAG_NAMES[flag]})",
                         f"{problem} [payload: {shown}]")
        self.payload = payload
        self.offset = offset
        self.flag = flag


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded 0x2A37 notification."""

    hr_bpm: int  # as the strap computed it (many send 0 without skin contact)
    contact: bool | None  # skin contact; None when the strap does not support reporting it
    energy_kj: int | None  # energy expended since the last reset, when present
    rr_1024: tuple[int, ...]  # RR intervals in the strap's 1/1024 s units, oldest first

    @property
    def rr_ms(self) -> tuple[float, ...]:
        """RR intervals in ms at full precision (raw * 1000 / 1024, never rounded)."""
        return tuple(rr_ms_from_1024(raw) for raw in self.rr_1024)


def parse_hrm(payload: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode one Heart Rate Measurement payload; raises HrmPacketError when malformed."""
    data = bytes(payload)
    if not data:
        raise HrmPacketError(data, 0, "flags", "empty payload: the flags byte is missing")
    flags = data[0]
    if flags & FLAGS_RESERVED:
        raise HrmPacketError(data, 0, "reserved",
                             f"reserved bits set in flags 0x{flags:02x} (0x{flags & FLAGS_RESERVED:02x})")
    offset = 1
    if flags & FLAG_HR_UINT16:
        _need(data, offset, 2, "hr16", "heart rate")
        hr_bpm = int.from_bytes(data[offset:offset + 2], "little")
        offset += 2
    else:
        _need(data, offset, 1, "hr8", "heart rate")
        hr_bpm = data[offset]
        offset += 1
    contact = bool(flags & FLAG_CONTACT_DETECTED) if flags & FLAG_CONTACT_SUPPORTED else None
    energy_kj = None
    if flags & FLAG_ENERGY_EXPENDED:
        _need(data, offset, 2, "energy", "energy expended")
        energy_kj = int.from_bytes(data[offset:offset + 2], "little")
        offset += 2
    rest = len(data) - offset
    if not flags & FLAG_RR_PRESENT:
        if rest:
            raise HrmPacketError(data, offset, "no_rr",
                                 f"{rest} unexpected byte{'s' if rest > 1 else ''} after the last field")
        return HeartRateMeasurement(hr_bpm, contact, energy_kj, ())
    if rest == 0:
        raise HrmPacketError(data, offset, "rr", "no RR value follows")
    if rest % 2:
        raise HrmPacketError(data, len(data) - 1, "rr",
                             "truncated RR value: RR intervals are 2 bytes each, 1 byte left")
    rr = tuple(int.from_bytes(data[i:i + 2], "little") for i in range(offset, len(data), 2))
    return HeartRateMeasurement(hr_bpm, contact, energy_kj, rr)


def _need(data: bytes, offset: int, size: int, flag: str, field: str) -> None:
    if len(data) < offset + size:
        raise HrmPacketError(data, offset, flag,
                             f"truncated {field}: needs {size} byte{'s' if size > 1 else ''}, "
                             f"payload ends after {len(data)}")


class HrmTimeline:
    """Turns one strap's notifications into beats and status events on the session clock.

    - The RR values of a notification are back-dated from its receive time: the last beat at the
      receive time, each earlier one at the time of the next minus the next one's RR.
    - Beat times are strictly increasing: a beat that would not come after the previous one (a
      late notification followed by a punctual one) is put MIN_BEAT_STEP_S after it.
    - `link_up()` is called on every (re)connection; the first beat after a reconnection, and
      the first beat with skin contact after contact was lost, get `after_gap=True`.
    - Beats the strap sent without skin contact keep their RR and get `contact=False`.
    - A malformed packet becomes one BAD_PACKET status and changes nothing else.
    - An RR of 0 (no interval at all) is skipped with a BAD_PACKET status; the next beat is
      marked as after a gap.
    """

    def __init__(self, *, drop_first_rr_after_connect: bool = False) -> None:
        self.drop_first_rr_after_connect = drop_first_rr_after_connect
        self._last_time_s = -math.inf
        self._links = 0
        self._gap = False  # the next beat follows a gap
        self._drop_next_rr = False
        self._contact: bool | None = None  # last reported skin contact (None: unknown)
        self.beats = 0
        self.bad_packets = 0

    @property
    def last_time_s(self) -> float:
        """Time of the last beat delivered (-inf before the first)."""
        return self._last_time_s

    def link_up(self) -> None:
        """A connection to the strap came up: after the first, the next beat follows a gap."""
        self._links += 1
        if self._links > 1:
            self._gap = True
        self._drop_next_rr = self.drop_first_rr_after_connect

    def feed(self, payload: bytes | bytearray, received_s: float) -> list[Beat | SourceStatus]:
        """Beats and status events from one notification received at session time `received_s`."""
        try:
            measurement = parse_hrm(payload)
        except HrmPacketError as exc:
            self.bad_packets += 1
            return [SourceStatus(StatusKind.BAD_PACKET, received_s, f"skipped: {exc}")]
        out: list[Beat | SourceStatus] = []
        contact = measurement.contact
        if contact is False and self._contact is not False:
            out.append(SourceStatus(StatusKind.CONTACT_LOST, received_s,
                                    "the strap reports no skin contact (moisten the electrodes, "
                                    "tighten the strap)"))
            self._gap = True
        elif contact is True and self._contact is False:
            out.append(SourceStatus(StatusKind.CONTACT_BACK, received_s, "skin contact is back"))
            self._gap = True
        if contact is not None:
            self._contact = contact
        rr_raw = list(measurement.rr_1024)
        if rr_raw and self._drop_next_rr:
            rr_raw.pop(0)  # a strap known to report a stale first RR after connecting
            self._drop_next_rr = False
        kept: list[tuple[int, bool]] = []  # (raw RR, follows a skipped zero RR)
        follows_zero = False
        for raw in rr_raw:
            if raw == 0:
                follows_zero = True
                continue
            kept.append((raw, follows_zero))
            follows_zero = False
        if len(kept) < len(rr_raw):
            self.bad_packets += 1
            out.append(SourceStatus(StatusKind.BAD_PACKET, received_s,
                                    f"skipped {len(rr_raw) - len(kept)} RR interval(s) of 0 "
                                    f"[payload: {bytes(payload).hex(' ')}]"))
        t_s = received_s
        times_s = [0.0] * len(kept)
        for index in range(len(kept) - 1, -1, -1):
            times_s[index] = t_s
            t_s -= kept[index][0] / 1024
        for (raw, after_zero), time_s in zip(kept, times_s, strict=True):
            time_s = max(time_s, self._last_time_s + MIN_BEAT_STEP_S)
            gap = self._gap or after_zero
            out.append(Beat(rr_ms_from_1024(raw), time_s, contact=contact,
                            after_gap=gap and contact is not False))
            if contact is not False:
                self._gap = False
            self._last_time_s = time_s
            self.beats += 1
        if follows_zero:
            self._gap = True
        return out
