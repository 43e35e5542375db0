"""The typed schema of hrvcoach's session files: every field of the session, its phases, its
annotations and its beats, with its type and range, checked by hand before anything is stored.

Why by hand and not pydantic or msgspec: the checks that matter are ranges and relations (an RR
a strap can send, beat times that rise, phase indices 0..n-1 once each, text without control
characters), which a type library leaves to hand-written validators anyway; the messages name
the file, line or field the way every hrvcoach error does; and it costs no import time (pydantic
adds ~130 ms to `hrvcoach import`, msgspec ~40 ms, against a 100 ms budget for start-up).

A schema is a tuple of `Field`s; `read_record` checks a JSON object against one (unknown keys are
refused where the format is ours, ignored where it says so) and returns the checked values.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from hrvcoach.core.beats import Beat
from hrvcoach.core.constants import SESSION_YEARS
from hrvcoach.core.errors import InputError
from hrvcoach.core.raw import MOVEMENT_KINDS, BreathRecord, MovementSegment
from hrvcoach.core.records import Annotation, PhaseRecord, canonical_time_s
from hrvcoach.files.reading import MAX_RR_INTERVALS, MAX_RR_MS, TOO_MANY_BEATS
from hrvcoach.protocols.fields import (
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    as_flag,
    as_integer,
    as_number,
    as_text,
    shown,
)
from hrvcoach.protocols.protocol import MAX_BREATHS_PER_MIN, MAX_PHASES, MIN_BREATHS_PER_MIN, PHASE_KINDS

__all__ = [
    "ANNOTATION",
    "PHASE",
    "SESSION",
    "SessionHeader",
    "check_annotations",
    "check_beats",
    "check_breaths",
    "check_movement",
    "check_phases",
    "check_start",
    "read_record",
    "started_at",
]

MAX_ANNOTATIONS: Final = 100_000
MAX_SESSION_S: Final = 100 * 24 * 3600.0  # beat, phase and note times: within 100 days
_REQUIRED: Final = object()


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a record: its name, the check that reads its value, and its default
    (absent: required)."""

    name: str
    check: Callable[[Any, str], Any]
    default: Any = _REQUIRED


def _optional(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, where: None if value is None else check(value, where)


def _choice(options: Sequence[str | None]) -> Callable[[Any, str], Any]:
    def check(value: Any, where: str) -> Any:
        if value not in options:
            raise InputError(where, f"must be one of {', '.join(str(o) for o in options)}, got "
                             f"{shown(value)}")
        return value
    return check


def check_start(when: dt.datetime, where: str) -> None:
    """A session's start, refused unless its year is within SESSION_YEARS."""
    first, last = SESSION_YEARS
    if not first <= when.year <= last:
        raise InputError(where, f"a session starts in the years {first}–{last}, got "
                         f"{when.isoformat()!r}")


def started_at(value: Any, where: str) -> str:
    """An ISO 8601 date-time (e.g. 2026-11-25T07:30:00+01:00), as hrvcoach writes it, within
    SESSION_YEARS."""
    text = as_text(value, where, max_chars=40)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(where, f"must be an ISO date-time such as 2026-11-25T07:30:00+01:00, "
                         f"got {shown(text)}") from None
    check_start(when, where)
    return text


_time = partial(as_number, low=-MAX_RR_MS / 1000, high=MAX_SESSION_S)
_rate = _optional(partial(as_number, low=MIN_BREATHS_PER_MIN, high=MAX_BREATHS_PER_MIN))

PHASE: Final = (
    Field("index", partial(as_integer, low=0, high=MAX_PHASES - 1)),
    Field("name", partial(as_text, max_chars=MAX_NAME_CHARS)),
    Field("kind", _choice(PHASE_KINDS)),
    Field("start_s", _time),
    Field("end_s", _time),
    Field("breaths_per_min", _rate, None),
    Field("ramp_to_breaths_per_min", _rate, None),
    Field("pacing", partial(as_text, max_chars=MAX_NAME_CHARS * 2), ""),
    Field("compare", _choice((None, "before", "after")), None),
)
ANNOTATION: Final = (
    Field("time_s", _time),
    Field("kind", partial(as_text, max_chars=40)),
    Field("text", partial(as_text, max_chars=MAX_TEXT_CHARS, lines=True), ""),
)
_length = partial(as_number, low=0.0, high=MAX_SESSION_S)
BREATH: Final = (  # what the accelerometer found of one breath (export: "breaths")
    Field("start_s", _time),
    Field("duration_s", _length),
    Field("inhale_s", _length),
    Field("depth_mg", _optional(partial(as_number, low=0.0, high=1e6)), None),
    Field("moving", _optional(as_flag), None),
    Field("paced_per_min", _rate, None),
    Field("pacer_phase", _optional(partial(as_number, low=0.0, high=1.0)), None),
)
MOVEMENT: Final = (  # one stretch the body moved (export: "movement")
    Field("start_s", _time),
    Field("end_s", _time),
    Field("kind", _choice(MOVEMENT_KINDS)),
)
_short = partial(as_text, max_chars=MAX_NAME_CHARS)
SESSION: Final = (  # what an export says of its session; only these are read back
    Field("started_at", _optional(started_at), None),
    Field("protocol", _optional(_short), None),
    Field("source", _short, "import"),
    Field("device", partial(as_text, max_chars=MAX_NAME_CHARS * 2), ""),
    Field("id", _optional(partial(as_integer, low=0, high=2**63 - 1)), None),
    Field("ended_at", _optional(_short), None),
    Field("status", _optional(_short), None),
    Field("end_reason", _optional(partial(as_text, max_chars=MAX_TEXT_CHARS)), None),
)


@dataclass(frozen=True, slots=True)
class SessionHeader:
    """What a session file says of its session, checked."""

    started_at: str | None
    protocol: str | None
    source: str
    device: str


def read_record(value: Any, schema: Sequence[Field], where: str) -> dict[str, Any]:
    """The checked fields of a JSON object (unknown keys refused)."""
    if not isinstance(value, dict):
        raise InputError(where, f"must be an object, got {shown(value)}")
    names = {field.name for field in schema}
    unknown = sorted(key for key in value if key not in names)
    if unknown:
        raise InputError(f"{where}.{shown(unknown[0])[1:-1]}",
                         f"unknown field (known: {', '.join(sorted(names))})")
    record = {}
    for field in schema:
        if field.name not in value:
            if field.default is _REQUIRED:
                raise InputError(f"{where}.{field.name}", "missing")
            record[field.name] = field.default
        else:
            record[field.name] = field.check(value[field.name], f"{where}.{field.name}")
    return record


def session_header(value: Any, where: str) -> SessionHeader:
    fields = read_record(value, SESSION, where)
    return SessionHeader(fields["started_at"], fields["protocol"], fields["source"], fields["device"])


def _list(items: Any, where: str, what: str, most: int) -> list[Any]:
    if not isinstance(items, list):
        raise InputError(where, f"must be a list of {what}, got {shown(items)}")
    if len(items) > most:
        raise InputError(where, f"at most {most:,} {what}, got {len(items):,}")
    return items


def check_phases(items: Any, where: str) -> list[PhaseRecord]:
    """A session's phases: each checked, indices 0..n-1 once each, starting in order."""
    phases = []
    for position, item in enumerate(_list(items, where, "phases", MAX_PHASES)):
        place = f"{where}[{position}]"
        phase = PhaseRecord(**read_record(item, PHASE, place))
        if phase.end_s < phase.start_s:
            raise InputError(place, f"ends ({phase.end_s:g} s) before it starts ({phase.start_s:g} s)")
        phases.append(phase)
    indices = sorted(phase.index for phase in phases)
    if indices != list(range(len(phases))):
        raise InputError(where, f"phase indices must be 0..{len(phases) - 1}, once each; got "
                         f"{shown(indices)}")
    ordered = sorted(phases, key=lambda phase: phase.index)
    for earlier, later in itertools.pairwise(ordered):
        if later.start_s < earlier.start_s:
            raise InputError(where, f"phase {later.index} starts ({later.start_s:g} s) before "
                             f"phase {earlier.index} ({earlier.start_s:g} s)")
    return ordered


def check_annotations(items: Any, where: str) -> list[Annotation]:
    annotations = []
    for position, item in enumerate(_list(items, where, "annotations", MAX_ANNOTATIONS)):
        fields = read_record(item, ANNOTATION, f"{where}[{position}]")
        annotations.append(Annotation(canonical_time_s(fields["time_s"]), fields["kind"],
                                      fields["text"]))
    return annotations


def check_breaths(items: Any, where: str) -> list[BreathRecord]:
    """The breaths an export lists: each a whole breath (its in-breath within it)."""
    breaths = []
    for position, item in enumerate(_list(items, where, "breaths", MAX_RR_INTERVALS)):
        place = f"{where}[{position}]"
        fields = read_record(item, BREATH, place)
        if not fields["duration_s"] > 0.0 or fields["inhale_s"] > fields["duration_s"]:
            raise InputError(place, "a breath lasts more than 0 s and holds its in-breath")
        breaths.append(BreathRecord(fields["start_s"], fields["duration_s"], fields["inhale_s"],
                                    math.nan if fields["depth_mg"] is None else fields["depth_mg"],
                                    bool(fields["moving"]), fields["paced_per_min"],
                                    fields["pacer_phase"]))
    return breaths


def check_movement(items: Any, where: str) -> list[MovementSegment]:
    """The stretches an export says the body moved: each ending after it starts."""
    segments = []
    for position, item in enumerate(_list(items, where, "movement", MAX_ANNOTATIONS)):
        place = f"{where}[{position}]"
        fields = read_record(item, MOVEMENT, place)
        if fields["end_s"] < fields["start_s"]:
            raise InputError(place, f"ends ({fields['end_s']:g} s) before it starts "
                             f"({fields['start_s']:g} s)")
        segments.append(MovementSegment(fields["start_s"], fields["end_s"], fields["kind"]))
    return segments


def check_beats(beats: Sequence[Beat], where: Sequence[str]) -> None:
    """Beats as a recording needs them: RR from 0 to what a strap can send, times finite and
    rising, at least 2 and at most MAX_RR_INTERVALS. `where` names each beat (with no beats:
    the file or field that holds none)."""
    if not beats:
        raise InputError(where[0] if where else "file", "no beats: a recording needs at least 2")
    if len(beats) > MAX_RR_INTERVALS:
        raise InputError(where[MAX_RR_INTERVALS], TOO_MANY_BEATS)
    previous = -math.inf
    for beat, place in zip(beats, where, strict=True):
        if not (math.isfinite(beat.rr_ms) and beat.rr_ms > 0):
            raise InputError(place, f"RR must be a number > 0 ms, got {beat.rr_ms!r}")
        if beat.rr_ms > MAX_RR_MS:
            raise InputError(place, f"RR of {beat.rr_ms:g} ms is longer than a strap can report "
                             f"({MAX_RR_MS / 1000:.0f} s): wrong units? (--units ms|s)")
        if not math.isfinite(beat.time_s) or abs(beat.time_s) > MAX_SESSION_S:
            raise InputError(place, f"time must be a number of seconds within "
                             f"{MAX_SESSION_S / 86400:.0f} days, got {beat.time_s!r}")
        if beat.time_s <= previous:
            raise InputError(place, f"beat time {beat.time_s!r} s does not follow the previous "
                             f"beat's ({previous!r} s)")
        previous = beat.time_s
    if len(beats) < 2:
        raise InputError(where[0] if where else "file", "a recording needs at least 2 beats")
