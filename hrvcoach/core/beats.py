"""Beat and SourceStatus: the records every source emits and every later layer consumes."""

from __future__ import annotations

import enum
from dataclasses import dataclass

RR_UNITS_PER_SECOND = 1024  # Heart Rate Measurement RR resolution (Bluetooth SIG HRS)


def rr_ms_from_1024(raw: int) -> float:
    """RR in ms from the strap's 1/1024 s units, at full precision (never rounded)."""
    return raw * 1000.0 / RR_UNITS_PER_SECOND


def quantize_rr_ms(rr_ms: float) -> float:
    """The RR a strap would report for a true interval: rounded to whole 1/1024 s units."""
    return rr_ms_from_1024(round(rr_ms * RR_UNITS_PER_SECOND / 1000.0))


@dataclass(frozen=True, slots=True)
class Beat:
    """One heartbeat as the source reported it."""

    rr_ms: float  # interval ending at this beat, in ms (from 1/1024 s units; never rounded)
    time_s: float  # session clock (s) at which this beat happened
    contact: bool | None = None  # sensor contact: True/False when reported, None when unknown
    after_gap: bool = False  # first beat after a reconnect, a loss of contact or a skipped stretch

    @property
    def usable(self) -> bool:
        """False when the strap said it had no skin contact for this beat."""
        return self.contact is not False


class StatusKind(enum.Enum):
    """What a source can say about itself besides beats."""

    SCANNING = "scanning"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CONTACT_LOST = "contact lost"
    CONTACT_BACK = "contact back"
    RECONNECTING = "reconnecting"
    BATTERY = "battery"
    BAD_PACKET = "bad packet"
    RAW_DATA = "raw data"  # the strap's raw ECG/accelerometer streams: running, late, restarted
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A status event from a source (connection state, battery %, a skipped bad packet)."""

    kind: StatusKind
    time_s: float
    message: str = ""
    value: float | None = None  # battery level in %, when kind is BATTERY
