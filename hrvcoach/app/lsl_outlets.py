"""Lab Streaming Layer (LSL) outlets of one session: what a lab records next to EEG, eye tracking
or stimuli, on one clock (e.g. LabRecorder writing one XDF file).

`LslOutlets` listens to the session's events (it is composed into the session's listener by
CoachRun) and pushes four streams, named `hrvcoach <KEY>` (`hrvcoach P2 <KEY>` for participant
P2 of a class):

    key           type        channels (unit)                          one sample
    RR            RR          rr_ms (ms), flags (bits)                 per beat
    RR artifacts  RRArtifact  rr_ms (ms)                               per flagged beat, once final
    HR            HR          hr_bpm (bpm), then every live marker     per beat
                              by its catalogue name (core/markers.py)
    Markers       Markers     one JSON text                            per event

All are irregular-rate. A beat's samples are stamped with the time the beat happened, mapped onto
the LSL clock when it is pushed: `local_clock() - (session now - beat time) / speed`, so a strap's
beat (reported up to a second after it happened) carries its own time, not its arrival. The RR
flags: 1 after a gap (reconnect, contact back, pause), 2 no skin contact, 4 left out of the
markers (no contact, or an RR out of range). The live artifact detector decides a beat about 50
beats later; that decision goes out on `RR artifacts`, stamped with the beat's own timestamp.
Markers are JSON objects with an `event` (session_start, phase_start, pause, resume, mark,
status, session_end) and its `session_time_s`.

Each stream's info follows the XDF meta-data conventions: `desc/channels/channel` (label, unit,
type), `desc/acquisition` (manufacturer, model, serial_number) and `desc/hrvcoach` (version,
session, protocol, participant, speed). `source_id` is the strap's address (the simulator's seed,
the replayed file's name), so a receiver picks the streams up again when hrvcoach restarts.

Raw data: a strap with raw data (the Polar H10, `coach` without `--raw off`) adds two regular-rate
streams, `ECG` (type ECG, `ecg` in µV at 130 Hz) and `ACC` (type Accelerometer, `x`, `y`, `z` in
mG at 50 Hz), pushed in chunks as the strap sends them, each stamped with its last sample's time
(the strap's own clock, mapped onto the session's). `--lsl-wait` does not wait for receivers of
these two: a lab that records only the RR starts at once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hrvcoach import __version__
from hrvcoach.core.beats import SourceStatus
from hrvcoach.core.clock import Clock
from hrvcoach.core.errors import HrvcoachError
from hrvcoach.core.markers import Markers, marker
from hrvcoach.core.raw import RawChunk
from hrvcoach.session import (
    Marked,
    Paused,
    PhaseStarted,
    Resumed,
    SessionEnded,
    SessionEvent,
    Snapshot,
)
from hrvcoach.sources.factory import BleSpec, ReplaySpec, SimulatorSpec, SourceSpec

if TYPE_CHECKING:
    import pylsl

__all__ = [
    "LIVE_MARKER_NAMES",
    "RR_AFTER_GAP",
    "RR_LEFT_OUT",
    "RR_NO_CONTACT",
    "STREAMS",
    "Channel",
    "LslOutlets",
    "StreamIdentity",
    "StreamSpec",
    "stream_identity",
]

log = logging.getLogger(__name__)

RR_AFTER_GAP: Final = 1  # RR flag bits
RR_NO_CONTACT: Final = 2
RR_LEFT_OUT: Final = 4
LIVE_MARKER_NAMES: Final = tuple(field.name for field in dataclasses.fields(Markers))
# Where liblsl looks for its configuration (labstreaminglayer.readthedocs.io, "lslapicfg").
_CONFIG_FILES: Final = ("/etc/lsl_api/lsl_api.cfg", "~/lsl_api/lsl_api.cfg", "lsl_api.cfg")
_QUIET_CONFIG: Final = "[log]\nlevel = -2\n"  # liblsl's defaults, without its INFO lines on stderr


@dataclass(frozen=True, slots=True)
class Channel:
    label: str
    unit: str
    type: str


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One LSL stream: its key (the name's end), content type, channels and format."""

    key: str
    type: str
    channels: tuple[Channel, ...]
    channel_format: str  # pylsl's name: "double64", "string"
    rate_hz: float = 0.0  # 0: irregular (pylsl.IRREGULAR_RATE)
    raw: bool = False  # a strap's raw data: only for straps that may send it


def _marker_channel(name: str) -> Channel:
    return Channel(name, marker(name).unit, "HRV")


STREAMS: Final = (
    StreamSpec("RR", "RR", (Channel("rr_ms", "ms", "RR"), Channel("flags", "", "Flags")),
               "double64"),
    StreamSpec("RR artifacts", "RRArtifact", (Channel("rr_ms", "ms", "RR"),), "double64"),
    StreamSpec("HR", "HR", (Channel("hr_bpm", "bpm", "HR"),
                            *(_marker_channel(name) for name in LIVE_MARKER_NAMES)), "double64"),
    StreamSpec("Markers", "Markers", (Channel("event", "", "Markers"),), "string"),
    StreamSpec("ECG", "ECG", (Channel("ecg", "microvolts", "ECG"),), "float32", 130.0, raw=True),
    StreamSpec("ACC", "Accelerometer", tuple(Channel(axis, "mG", "Acceleration") for axis in "xyz"),
               "float32", 50.0, raw=True),
)
RAW_STREAMS: Final = {"ecg": "ECG", "acc": "ACC"}  # RawChunk.stream -> stream key


@dataclass(frozen=True, slots=True)
class StreamIdentity:
    """Whose streams these are: the source and, in a class, the participant's pseudonym."""

    source_id: str  # stable across restarts: LSL receivers find the streams again by it
    manufacturer: str
    model: str
    serial_number: str = ""
    participant: str = ""  # a pseudonym (P1, P2, ...), never a name: streams go on the network
    raw: bool = False  # the source may send raw data (ECG, accelerometer): their streams too

    @property
    def streams(self) -> tuple[StreamSpec, ...]:
        return tuple(spec for spec in STREAMS if self.raw or not spec.raw)

    def stream_name(self, spec: StreamSpec) -> str:
        return " ".join(part for part in ("hrvcoach", self.participant, spec.key) if part)


def stream_identity(spec: SourceSpec, participant: str = "") -> StreamIdentity:
    """The identity of a source's streams. A strap's is its address once the command line has
    resolved NAME_OR_ADDRESS to it (else the text the user gave, which is stable too)."""
    match spec:
        case BleSpec():
            return StreamIdentity(spec.device, "", "Bluetooth LE heart-rate strap", spec.device,
                                  participant, raw=spec.raw)
        case SimulatorSpec():
            return StreamIdentity(f"hrvcoach-simulator-seed-{spec.seed}", "hrvcoach",
                                  "simulated strap", "", participant)
        case ReplaySpec():
            return StreamIdentity(f"hrvcoach-replay-{spec.name}", "hrvcoach", spec.label, "",
                                  participant)


class _FinalArtifacts:
    """The beats the live artifact detector flagged, handed out once its decision is final.

    A snapshot lists the flagged beats among those from `artifacts_since_s` on; older beats'
    decisions are final, and the flags they last had are theirs.
    """

    def __init__(self) -> None:
        self._pending: deque[tuple[float, float, float]] = deque()  # (time_s, stamp, rr_ms)
        self._flagged: set[float] = set()

    def update(self, snapshot: Snapshot, stamp: float) -> list[tuple[float, float]]:
        """(stamp, rr_ms) of each beat whose artifact flag became final with this snapshot."""
        self._pending.append((snapshot.beat.time_s, stamp, snapshot.beat.rr_ms))
        final: list[tuple[float, float]] = []
        since_s = snapshot.artifacts_since_s
        while self._pending and math.isfinite(since_s) and self._pending[0][0] < since_s:
            time_s, beat_stamp, rr_ms = self._pending.popleft()
            if time_s in self._flagged:
                final.append((beat_stamp, rr_ms))
        self._flagged = set(snapshot.artifacts)
        return final

    def rest(self) -> list[tuple[float, float]]:
        """At the end: the pending beats flagged as the detector last saw them."""
        rest = [(stamp, rr_ms) for time_s, stamp, rr_ms in self._pending if time_s in self._flagged]
        self._pending.clear()
        return rest


def _quiet_liblsl(lsl: Any) -> None:
    """Without any liblsl configuration, keep liblsl's defaults but not its INFO lines."""
    files = [os.environ.get("LSLAPICFG", ""), *_CONFIG_FILES]
    if not any(name and Path(name).expanduser().is_file() for name in files):
        lsl.set_config_content(_QUIET_CONFIG)


class LslOutlets:
    """The LSL streams of one session, fed by its events (`handle`). Closed until `open` (or
    `set_enabled(True)`); while closed, events are ignored. `about` goes into each stream's
    `desc/hrvcoach` (session id, protocol, ...)."""

    def __init__(self, identity: StreamIdentity, clock: Clock, *, speed: float = 1.0,
                 about: dict[str, str] | None = None,
                 local_clock: Callable[[], float] | None = None) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive finite number, got {speed!r}")
        self.identity = identity
        self.clock = clock
        self.speed = speed
        self.about = dict(about or {})
        self._local_clock = local_clock
        self._outlets: dict[str, pylsl.StreamOutlet] = {}
        self._artifacts = _FinalArtifacts()
        self._started = False  # the session_start marker went out

    @property
    def enabled(self) -> bool:
        return bool(self._outlets)

    @property
    def stream_names(self) -> list[str]:
        return [self.identity.stream_name(spec) for spec in self.identity.streams]

    def open(self) -> None:
        """Create the outlets (the streams appear on the network). HrvcoachError when LSL cannot
        be used here."""
        if self._outlets:
            return
        try:
            import pylsl
        except (ImportError, OSError, RuntimeError) as exc:  # no wheel, or liblsl did not load
            raise HrvcoachError(f"Lab Streaming Layer is not available: {exc}") from exc
        _quiet_liblsl(pylsl)
        if self._local_clock is None:
            self._local_clock = pylsl.local_clock
        try:
            self._outlets = {spec.key: pylsl.StreamOutlet(self._info(pylsl, spec))
                             for spec in self.identity.streams}
        except RuntimeError as exc:
            self._outlets = {}
            raise HrvcoachError(f"cannot open the Lab Streaming Layer streams: {exc}") from exc
        self._artifacts = _FinalArtifacts()
        self._started = False
        log.info("LSL streams open: %s", ", ".join(self.stream_names))

    def close(self) -> None:
        """Remove the streams from the network (receivers see them go)."""
        self._outlets = {}  # pylsl destroys each outlet with its last reference

    def set_enabled(self, on: bool) -> None:
        """The window's switch: open or close the streams."""
        if on:
            self.open()
        else:
            self.close()

    def wait_for_receivers(self, timeout_s: float) -> bool:
        """Wait (blocking) until every stream has a receiver, at most `timeout_s` real seconds;
        False when one is still without (the session then starts anyway)."""
        if not self._outlets:
            return False
        import time

        deadline = time.monotonic() + timeout_s
        waited = {spec.key for spec in STREAMS if not spec.raw}
        for key, outlet in self._outlets.items():
            if key not in waited:
                continue
            if not outlet.wait_for_consumers(max(deadline - time.monotonic(), 0.0)):
                return False
        return True

    def _info(self, lsl: Any, spec: StreamSpec) -> pylsl.StreamInfo:
        identity = self.identity
        info = lsl.StreamInfo(identity.stream_name(spec), spec.type, len(spec.channels),
                              spec.rate_hz or lsl.IRREGULAR_RATE, spec.channel_format,
                              identity.source_id)
        desc = info.desc()
        channels = desc.append_child("channels")
        for channel in spec.channels:
            (channels.append_child("channel").append_child_value("label", channel.label)
             .append_child_value("unit", channel.unit).append_child_value("type", channel.type))
        acquisition = desc.append_child("acquisition")
        for key, value in (("manufacturer", identity.manufacturer), ("model", identity.model),
                           ("serial_number", identity.serial_number)):
            acquisition.append_child_value(key, value)
        ours = desc.append_child("hrvcoach")
        ours.append_child_value("version", __version__)
        ours.append_child_value("participant", identity.participant)
        ours.append_child_value("speed", f"{self.speed:g}")
        ours.append_child_value("timestamps", "the beat's own time on the LSL clock")
        if spec.key == "RR":
            ours.append_child_value("flags", f"{RR_AFTER_GAP} after a gap, {RR_NO_CONTACT} no "
                                    f"skin contact, {RR_LEFT_OUT} left out of the markers")
        for key, value in self.about.items():
            ours.append_child_value(key, value)
        return info

    # ---- events -----------------------------------------------------------------------------------
    def lsl_time(self, time_s: float) -> float:
        """Session time `time_s` on the LSL clock (read now: pauses before it are accounted)."""
        assert self._local_clock is not None
        return self._local_clock() - (self.clock.now() - time_s) / self.speed

    def handle(self, event: SessionEvent) -> None:
        """Push what a session event means for the streams (nothing while closed)."""
        if not self._outlets:
            return
        if not self._started:
            self._started = True
            self._event(0.0, "session_start")
        match event:
            case Snapshot() as snapshot:
                self._beat(snapshot)
            case PhaseStarted(time_s=time_s, index=index, phase=phase):
                self._event(time_s, "phase_start", index=index, name=phase.name, kind=phase.kind,
                            breaths_per_min=phase.breaths_per_min)
            case Paused(time_s=time_s):
                self._event(time_s, "pause")
            case Resumed(time_s=time_s):
                self._event(time_s, "resume")
            case Marked(time_s=time_s, text=text):
                self._event(time_s, "mark", text=text)
            case SourceStatus(kind=kind, time_s=time_s, message=message, value=value):
                self._event(time_s, "status", status=kind.value, message=message, value=value)
            case RawChunk() as chunk if RAW_STREAMS.get(chunk.stream) in self._outlets:
                channels = chunk.channels
                rows = [list(chunk.values[i:i + channels])
                        for i in range(0, len(chunk.values), channels)]
                last_s = chunk.start_s + (chunk.n_samples - 1) / chunk.rate_hz
                self._outlets[RAW_STREAMS[chunk.stream]].push_chunk(rows, self.lsl_time(last_s))
            case SessionEnded(time_s=time_s, reason=reason, beats=beats):
                for stamp, rr_ms in self._artifacts.rest():
                    self._outlets["RR artifacts"].push_sample([rr_ms], stamp)
                self._event(time_s, "session_end", reason=reason, beats=beats)

    def _beat(self, snapshot: Snapshot) -> None:
        beat = snapshot.beat
        stamp = self.lsl_time(beat.time_s)
        flags = ((RR_AFTER_GAP if beat.after_gap else 0) | (RR_NO_CONTACT if not beat.usable else 0)
                 | (RR_LEFT_OUT if snapshot.rejected else 0))
        self._outlets["RR"].push_sample([beat.rr_ms, float(flags)], stamp)
        markers = snapshot.markers
        self._outlets["HR"].push_sample(
            [snapshot.instant_hr_bpm, *(float(getattr(markers, name)) for name in LIVE_MARKER_NAMES)],
            stamp)
        for flagged_stamp, rr_ms in self._artifacts.update(snapshot, stamp):
            self._outlets["RR artifacts"].push_sample([rr_ms], flagged_stamp)

    def _event(self, time_s: float, event: str, **fields: object) -> None:
        text = json.dumps({"event": event, "session_time_s": round(time_s, 4), **fields},
                          ensure_ascii=False, separators=(",", ":"))
        self._outlets["Markers"].push_sample([text], self.lsl_time(time_s))
