"""Polar Measurement Data (PMD): the H10's raw ECG and accelerometer, on the wire. Pure (no bleak).

Written from Polar's public BLE SDK documentation and the bytes real H10s send (firmware 3.0.35+).
Why not a library: bleakheart and polar-python both decode PMD, but each wants to own the
BleakClient and its callbacks, and hrvcoach connects through bleak-retry-connector, guards every
callback with its connection's generation and restarts the streams itself after each reconnect;
the decoder is small, so it lives here, fuzz-tested like sources/hrm.py.

Service FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8, two characteristics:

    control point FB005C81 (read, write, indicate)
        read        0F <feature bits> ...      bit 0 ECG, bit 2 ACC (bit n: measurement type n)
        01 <type>   GET settings  -> F0 01 <type> <status> <more> <settings>
        02 <type> <settings>  START -> F0 02 <type> <status> <more>
        03 <type>   STOP          -> F0 03 <type> <status> <more>
        settings: (setting type, count, count values) ...; types 0 sample rate (Hz, uint16),
        1 resolution (bits, uint16), 2 range (G, uint16), 3 range (mG, uint32), 4 channels (uint8)
    data FB005C82 (notify)
        <type> <timestamp: uint64 LE, ns since 2000-01-01 of the LAST sample> <frame type> <samples>
        ECG: type 0, frame type 0: signed 24-bit µV per sample
        ACC: type 2, frame type 0/1/2: x, y, z signed 8/16/24-bit mG per sample
        frame types from 0x80 on are delta-compressed (not sent by an H10 for ECG/ACC): refused

`decode_frame` reads one data notification and raises `PmdFrameError` (an InputError naming the
byte at fault) for anything else. `SensorClock` maps the strap's timestamps onto the session clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final

from hrvcoach.core.errors import InputError
from hrvcoach.core.raw import RawStream

__all__ = [
    "ACC",
    "ECG",
    "PMD_CONTROL_POINT_UUID",
    "PMD_DATA_UUID",
    "PMD_SERVICE_UUID",
    "STATUS_TEXT",
    "ControlResponse",
    "PmdFrame",
    "PmdFrameError",
    "SensorClock",
    "decode_frame",
    "decode_response",
    "features",
    "get_settings_request",
    "parse_settings",
    "start_request",
    "stop_request",
]

PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

ECG: Final = 0
ACC: Final = 2
STREAM_OF_TYPE: Final[dict[int, RawStream]] = {ECG: "ecg", ACC: "acc"}
OP_GET, OP_START, OP_STOP = 0x01, 0x02, 0x03
FEATURE_READ: Final = 0x0F
RESPONSE: Final = 0xF0
SAMPLE_RATE, RESOLUTION, RANGE_G = 0, 1, 2
_SETTING_BYTES: Final = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}
HEADER_BYTES: Final = 10  # type, timestamp, frame type
EPOCH_2000_UNIX_S: Final = 946_684_800  # the PMD timestamps count from 2000-01-01T00:00:00Z

STATUS_TEXT: Final = {  # polar-ble-sdk's PmdControlPointResponse error codes
    0: "success", 1: "invalid op code", 2: "invalid measurement type", 3: "not supported",
    4: "invalid length", 5: "invalid parameter", 6: "already in state", 7: "invalid resolution",
    8: "invalid sample rate", 9: "invalid range", 10: "invalid MTU",
    11: "invalid number of channels", 12: "invalid state", 13: "device in charger",
}
ALREADY_IN_STATE: Final = 6


class PmdFrameError(InputError):
    """A PMD data notification that breaks the frame layout; `offset` is the byte at fault."""

    def __init__(self, payload: bytes, offset: int, problem: str) -> None:
        shown = payload[:24].hex(" ") + (" …" if len(payload) > 24 else "") if payload else "empty"
        super().__init__(f"PMD frame byte {offset}", f"{problem} [payload: {shown}]")
        self.payload = payload
        self.offset = offset


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One decoded data notification."""

    stream: RawStream
    timestamp_ns: int  # sensor time of the last sample, ns since 2000-01-01
    values: tuple[int, ...]  # ECG µV; ACC x, y, z mG interleaved

    @property
    def n_samples(self) -> int:
        return len(self.values) // (3 if self.stream == "acc" else 1)


def _signed(data: bytes, start: int, width: int) -> int:
    return int.from_bytes(data[start:start + width], "little", signed=True)


def decode_frame(payload: bytes | bytearray | memoryview) -> PmdFrame:
    """Decode one PMD data notification (ECG or accelerometer); PmdFrameError when malformed."""
    data = bytes(payload)
    if len(data) < HEADER_BYTES:
        raise PmdFrameError(data, len(data), f"a frame has a {HEADER_BYTES}-byte header, got "
                            f"{len(data)} bytes")
    mtype, frame_type = data[0], data[9]
    if mtype not in STREAM_OF_TYPE:
        raise PmdFrameError(data, 0, f"measurement type {mtype} is neither ECG (0) nor ACC (2)")
    if frame_type & 0x80:
        raise PmdFrameError(data, 9, f"frame type 0x{frame_type:02x} is delta-compressed, which "
                            "hrvcoach does not read")
    stream = STREAM_OF_TYPE[mtype]
    if stream == "ecg":
        if frame_type != 0:
            raise PmdFrameError(data, 9, f"ECG frame type {frame_type} (expected 0: 24-bit µV)")
        width, channels = 3, 1
    else:
        if frame_type > 2:
            raise PmdFrameError(data, 9, f"ACC frame type {frame_type} (expected 0, 1 or 2)")
        width, channels = frame_type + 1, 3
    body = len(data) - HEADER_BYTES
    step = width * channels
    if body == 0:
        raise PmdFrameError(data, HEADER_BYTES, "no samples after the header")
    if body % step:
        raise PmdFrameError(data, len(data) - body % step,
                            f"{body % step} byte(s) left over: samples are {step} bytes each")
    stamp = int.from_bytes(data[1:9], "little")
    values = tuple(_signed(data, i, width) for i in range(HEADER_BYTES, len(data), width))
    return PmdFrame(stream, stamp, values)


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """A control point answer: F0 <op> <type> <status> <more> <parameters>."""

    op: int
    measurement: int
    status: int
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.status, f"status {self.status}")


def decode_response(payload: bytes | bytearray) -> ControlResponse | None:
    """A control point indication as a response; None for anything else (BlueZ also hands the
    feature read `0F ...` to the indication handler)."""
    data = bytes(payload)
    if len(data) < 4 or data[0] != RESPONSE:
        return None
    more = data[5:] if len(data) > 5 else b""
    return ControlResponse(data[1], data[2], data[3], more)


def features(payload: bytes | bytearray) -> frozenset[int]:
    """The measurement types a strap offers, from a control point read (`0F <bits> ...`)."""
    data = bytes(payload)
    if len(data) < 2 or data[0] != FEATURE_READ:
        return frozenset()
    bits = int.from_bytes(data[1:3], "little")
    return frozenset(n for n in range(16) if bits >> n & 1)


def parse_settings(parameters: bytes) -> dict[int, tuple[int, ...]]:
    """GET settings parameters -> {setting type: offered values}; stops at anything unreadable."""
    offered: dict[int, tuple[int, ...]] = {}
    i = 0
    while i + 2 <= len(parameters):
        setting, count = parameters[i], parameters[i + 1]
        width = _SETTING_BYTES.get(setting)
        i += 2
        if width is None or i + count * width > len(parameters):
            break
        offered[setting] = tuple(int.from_bytes(parameters[i + k * width:i + (k + 1) * width],
                                                "little") for k in range(count))
        i += count * width
    return offered


def get_settings_request(measurement: int) -> bytes:
    return bytes([OP_GET, measurement])


def start_request(measurement: int, settings: dict[int, int]) -> bytes:
    """START with one value of each setting (the order GET listed them in)."""
    out = bytearray([OP_START, measurement])
    for setting, value in settings.items():
        out += bytes([setting, 1]) + value.to_bytes(_SETTING_BYTES[setting], "little")
    return bytes(out)


def stop_request(measurement: int) -> bytes:
    return bytes([OP_STOP, measurement])


# ---- the strap's clock on the session clock ----------------------------------------------------
OFFSET_WINDOW_S: Final = 30.0  # the offset is the smallest (least delayed) of this long's frames
JUMP_S: Final = 1.0  # an offset that moves more than this at once: the clocks jumped (a pause)


class SensorClock:
    """Maps the strap's sample timestamps onto the session clock.

    A frame's timestamp is its last sample's time on the strap's clock; it is received a little
    later on the session clock. `session time - sensor time` of each frame is the clocks' offset
    plus that frame's delay, so the offset is the smallest of the last OFFSET_WINDOW_S (the least
    delayed frame; it follows a slow drift between the clocks either way). A backlog of frames
    delivered late (seconds, at a stream's start) only lowers it as it drains. When it rises by
    more than JUMP_S (the session clock jumped ahead of the strap's), the old frames are
    forgotten. (A pause of the session, in which the strap goes on, lowers it: the session drops
    the raw data while paused and marks the next chunk as after a gap.)
    """

    def __init__(self) -> None:
        self._recent: deque[tuple[float, float]] = deque()  # (received_s, candidate offset)

    def offset_s(self, sensor_s: float, received_s: float) -> tuple[float, bool]:
        """(offset to add to sensor seconds, whether the clocks jumped) for a frame whose last
        sample is at `sensor_s` on the strap and that arrived at session time `received_s`."""
        candidate = received_s - sensor_s
        jumped = bool(self._recent) and candidate - min(c for _, c in self._recent) > JUMP_S
        if jumped:
            self._recent.clear()
        self._recent.append((received_s, candidate))
        while self._recent and self._recent[0][0] < received_s - OFFSET_WINDOW_S:
            self._recent.popleft()
        return min(c for _, c in self._recent), jumped


def sensor_seconds(timestamp_ns: int) -> float:
    """A PMD timestamp in seconds (since 2000-01-01 on the strap's clock)."""
    return timestamp_ns / 1e9


def first_sample_s(frame: PmdFrame, rate_hz: float, offset_s: float) -> float:
    """Session time of a frame's first sample (its stamp is its last sample's)."""
    return sensor_seconds(frame.timestamp_ns) - (frame.n_samples - 1) / rate_hz + offset_s
