"""Sessions out of the store and recordings into it.

Export formats (`export_session`):
- `rr`: Kubios-compatible RR text: one RR interval in ms per line, nothing else (Kubios HRV
  and most HRV tools open it as "RR interval data"). Only the intervals travel.
- `csv`: one line per beat: `time_s,rr_ms,contact,after_gap,artifact,phase`, after one comment
  line `# hrvcoach session {...}` that holds the session and its phases as JSON. Spreadsheet
  tools ignore or show that line; `hrvcoach import` reads it back.
- `json`: {"format": "hrvcoach-session", "version": 1, "session", "phases", "beats" (column
  lists), "annotations", "markers"}.
- `edf`: EDF+ (pyedflib): an "RR" tachogram signal at 4 Hz (the latest interval, held) for EDF
  viewers, and one annotation per beat at its time, "RR <ms>[ nocontact][ gap]", plus one per
  phase ("phase <n> <kind> <compare|-> <breaths/min|-> <name>", its duration the phase's) and
  one per session annotation. EDF+ annotations carry times to 0.1 ms, which is the store's
  resolution; text is cut at 40 characters (long phase names are shortened).

Numbers are written with Python's shortest exact representation, so export -> import gives the
same floats: the same beats (time, RR, contact, gap) and phases; `rr` keeps the RR intervals
(times are rebuilt as their running sum). Artifact flags are recomputed on import.

Import (`read_recording_file`) reads these four and, through hrvcoach.files.rr_files.read_rr_file, any
RR text/CSV (and hrvcoach's own CSV journal, with its times and contact flags). Everything is
read and checked before anything is written; an error names the file and line (or field).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Literal

from hrvcoach.core.beats import Beat
from hrvcoach.core.errors import InputError
from hrvcoach.core.records import Annotation, BeatColumns, PhaseRecord, canonical_time_s
from hrvcoach.files.journal import HEADER as JOURNAL_LINE

__all__ = [
    "EXPORT_FORMATS",
    "ExportFormat",
    "Recording",
    "SessionDocument",
    "SessionMeta",
    "read_recording_file",
    "write_session_file",
]

ExportFormat = Literal["rr", "csv", "json", "edf"]
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("rr", "csv", "json", "edf")
JSON_FORMAT: Final = "hrvcoach-session"
CSV_MARK: Final = "# hrvcoach session "
CSV_HEADER: Final = "time_s,rr_ms,contact,after_gap,artifact,phase"
JOURNAL_HEADER: Final = JOURNAL_LINE.strip()  # the CSV journal of a live session
EDF_RESAMPLE_HZ: Final = 4
EDF_MAX_TEXT: Final = 40  # EDFlib's limit for one annotation
EDF_MAX_ANNOTATION_SIGNALS: Final = 64  # EDFlib's limit
MAX_IMPORT_RR_MS: Final = 10_000.0  # a longer "interval" is not a heartbeat: wrong units?
PHASE_KINDS: Final = ("baseline", "paced", "recovery", "free", "movement")


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording read from a file, checked, ready to become a session."""

    path: Path
    started_at: str | None  # from the file, when it says
    protocol: str | None
    source: str
    device: str
    beats: list[Beat]
    phases: list[PhaseRecord]  # empty: lay the protocol's phases over it
    annotations: list[Annotation]
    sha256: str


@dataclass(frozen=True, slots=True)
class SessionMeta:
    """Who and what a session was, as the files carry it."""

    id: int
    started_at: str
    ended_at: str | None
    protocol: str
    source: str
    device: str
    status: str
    end_reason: str


@dataclass(frozen=True, slots=True)
class SessionDocument:
    """Everything an export writes about one session."""

    session: SessionMeta
    phases: list[PhaseRecord]
    beats: BeatColumns
    annotations: list[Annotation]
    markers: dict[int, dict[str, float | bool | None]]


# ---------------------------------------------------------------------------------------------
# Export


def write_session_file(document: SessionDocument, fmt: ExportFormat, path: Path) -> Path:
    """Write one session to `path` in the chosen format."""
    session, phases, beats = document.session, document.phases, document.beats
    if len(beats) == 0:
        raise InputError(f"session {session.id}", "has no beats to export")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "rr":
            path.write_text("".join(f"{rr!r}\n" for rr in beats.rr_ms), encoding="utf-8")
        elif fmt == "csv":
            _write_csv(path, session, phases, beats)
        elif fmt == "json":
            body = _session_json(session, phases, document.annotations, document.markers)
            body["beats"] = {"time_s": list(beats.time_s), "rr_ms": list(beats.rr_ms),
                             "contact": list(beats.contact), "after_gap": list(beats.after_gap),
                             "artifact": list(beats.artifact)}
            path.write_text(json.dumps(body, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        elif fmt == "edf":
            _write_edf(path, session, phases, beats, document.annotations)
        else:
            raise InputError("--format", f"unknown format {fmt!r} (one of {', '.join(EXPORT_FORMATS)})")
    except OSError as exc:
        raise InputError(str(path), f"cannot write ({exc})") from None
    return path


def _session_json(session: SessionMeta, phases: list[PhaseRecord], annotations: list[Annotation],
                  markers: dict[int, dict[str, float | bool | None]] | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": JSON_FORMAT, "version": 1,
        "session": {"id": session.id, "started_at": session.started_at,
                    "ended_at": session.ended_at, "protocol": session.protocol,
                    "source": session.source, "device": session.device,
                    "status": session.status, "end_reason": session.end_reason},
        "phases": [asdict(phase) for phase in phases],
        "annotations": [asdict(a) for a in annotations],
    }
    if markers is not None:
        document["markers"] = {str(index): values for index, values in markers.items()}
    return document


def _phase_of(phases: list[PhaseRecord], time_s: float) -> str:
    for phase in reversed(phases):
        if time_s >= phase.start_s:
            return phase.name
    return phases[0].name if phases else ""


def _write_csv(path: Path, session: SessionMeta, phases: list[PhaseRecord], beats: BeatColumns) -> None:
    meta = _session_json(session, phases, [], None)
    del meta["annotations"]
    lines = [CSV_MARK + json.dumps(meta, separators=(",", ":")), CSV_HEADER]
    for time_s, rr, contact, gap, artifact in zip(beats.time_s, beats.rr_ms, beats.contact,
                                                   beats.after_gap, beats.artifact, strict=True):
        flag = "" if contact is None else str(int(contact))
        name = _phase_of(phases, time_s).replace(",", " ")
        lines.append(f"{time_s!r},{rr!r},{flag},{int(gap)},{artifact or ''},{name}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _edf_text(text: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)[:EDF_MAX_TEXT]


def _write_edf(path: Path, session: SessionMeta, phases: list[PhaseRecord], beats: BeatColumns,
               annotations: list[Annotation]) -> None:
    import numpy as np
    import pyedflib

    times = np.asarray(beats.time_s)
    rr = np.asarray(beats.rr_ms)
    seconds = max(math.ceil(float(times.max())) + 1, 1)
    grid = np.arange(seconds * EDF_RESAMPLE_HZ) / EDF_RESAMPLE_HZ
    latest = np.searchsorted(times, grid, side="right") - 1
    tachogram = np.where(latest >= 0, rr[np.maximum(latest, 0)], rr[0])
    writer = pyedflib.EdfWriter(str(path), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        # EDFlib stores as many annotations per 1-s data record as there are annotation
        # signals, and drops the rest: make room for the busiest second.
        onsets = [*beats.time_s, *(p.start_s for p in phases), *(a.time_s for a in annotations)]
        busiest = int(np.bincount(np.floor(np.asarray(onsets)).astype(np.int64)).max())
        if busiest + 1 > EDF_MAX_ANNOTATION_SIGNALS:
            raise InputError(str(path), f"{busiest} beats in one second: too many for EDF+")
        writer.set_number_of_annotation_signals(busiest + 1)
        writer.setSignalHeader(0, {"label": "RR", "dimension": "ms",
                                   "sample_frequency": EDF_RESAMPLE_HZ,
                                   "physical_min": 0.0, "physical_max": 3000.0,
                                   "digital_min": -32768, "digital_max": 32767,
                                   "transducer": "chest strap RR", "prefilter": ""})
        started = dt.datetime.fromisoformat(session.started_at)
        writer.setStartdatetime(started.replace(tzinfo=None))  # EDF+ keeps local clock time
        offset = started.strftime("%z") or "local"  # ... so the UTC offset goes beside it
        writer.setRecordingAdditional(
            _edf_text(f"hrvcoach_UTC{offset}_{session.protocol}").replace(" ", "_"))
        writer.setEquipment(_edf_text(session.device or session.source).replace(" ", "_"))
        for time_s, value, contact, gap in zip(beats.time_s, beats.rr_ms, beats.contact,
                                               beats.after_gap, strict=True):
            text = f"RR {value!r}" + (" nocontact" if contact is False else "") + \
                (" contact" if contact is True else "") + (" gap" if gap else "")
            writer.writeAnnotation(time_s, -1, text)
        for phase in phases:
            rate = "-" if phase.breaths_per_min is None else f"{phase.breaths_per_min!r}"
            text = f"phase {phase.index + 1} {phase.kind} {phase.compare or '-'} {rate} {phase.name}"
            writer.writeAnnotation(phase.start_s, phase.end_s - phase.start_s, _edf_text(text))
        for note in annotations:
            writer.writeAnnotation(note.time_s, -1, _edf_text(f"{note.kind}: {note.text}"))
        writer.writeSamples([np.clip(tachogram, 0.0, 3000.0)])
    finally:
        writer.close()


# ---------------------------------------------------------------------------------------------
# Import


def read_recording_file(path: Path, *, units: Literal["ms", "s"] | None = None,
                        column: str | None = None) -> Recording:
    """Read and check a recording (any format above, or an RR file); nothing is written."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc})") from None
    sha = hashlib.sha256(content).hexdigest()
    suffix = path.suffix.lower()
    if suffix in (".edf", ".bdf") or content[:8] == b"0       ":
        return _read_edf(path, sha)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not a text file ({exc})") from None
    if suffix == ".json" or text.lstrip().startswith("{"):
        return _read_json(path, text, sha)
    lines = text.splitlines()
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].startswith(CSV_MARK):
        return _read_csv(path, lines, sha)
    header = next((n for n, line in enumerate(lines)
                   if line.strip() and not line.lstrip().startswith("#")), None)
    if header is not None and lines[header].strip() == JOURNAL_HEADER:
        return _read_journal(path, lines, header, sha)
    return _read_rr(path, sha, units, column)


def _check_beats(beats: list[Beat], where: list[str]) -> None:
    previous = -math.inf
    for beat, place in zip(beats, where, strict=True):
        if not (math.isfinite(beat.rr_ms) and beat.rr_ms > 0):
            raise InputError(place, f"RR must be a number > 0 ms, got {beat.rr_ms!r}")
        if beat.rr_ms > MAX_IMPORT_RR_MS:
            raise InputError(place, f"RR of {beat.rr_ms:g} ms is not a heartbeat (over "
                             f"{MAX_IMPORT_RR_MS / 1000:g} s): wrong units? (--units ms|s)")
        if not math.isfinite(beat.time_s):
            raise InputError(place, f"time must be a finite number, got {beat.time_s!r}")
        if beat.time_s <= previous:
            raise InputError(place, f"beat time {beat.time_s!r} s does not follow the previous "
                             f"beat's ({previous!r} s)")
        previous = beat.time_s
    if len(beats) < 2:
        raise InputError(where[0] if where else "file", "a recording needs at least 2 beats")


def _read_rr(path: Path, sha: str, units: Literal["ms", "s"] | None, column: str | None) -> Recording:
    from hrvcoach.files.rr_files import read_rr_file

    recording = read_rr_file(path, units=units, column=column)
    rr = [float(value) for value in recording.rr_ms]
    where = [f"{path}:{int(n)}" for n in recording.line_numbers]
    total, beats = 0.0, []
    for value in rr:
        total += value
        beats.append(Beat(value, canonical_time_s(total / 1000.0)))
    for beat, place in zip(beats, where, strict=True):
        if not beat.rr_ms > 0:
            raise InputError(place, f"RR must be a number > 0 ms, got {beat.rr_ms!r}")
    _check_beats(beats, where)
    return Recording(path, None, None, "import", path.name, beats, [], [], sha)


def _flag(text: str, place: str, field: str, *, allow_empty: bool) -> bool | None:
    value = text.strip()
    if value == "" and allow_empty:
        return None
    if value in ("0", "1"):
        return value == "1"
    raise InputError(place, f"{field} must be 0 or 1{' or empty' if allow_empty else ''}, "
                     f"got {text!r}")


def _number(text: str, place: str, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(place, f"{field} is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise InputError(place, f"{field} must be finite, got {text!r}")
    return value


def _read_table(path: Path, lines: list[str], header: int, columns: int) -> tuple[list[Beat], list[str]]:
    beats, where = [], []
    for number in range(header + 1, len(lines)):
        line = lines[number]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        place = f"{path}:{number + 1}"
        cells = line.split(",")
        if len(cells) != columns:
            raise InputError(place, f"expected {columns} comma-separated fields, got {len(cells)}")
        time_s = _number(cells[0], place, "time_s")
        rr = _number(cells[1], place, "rr_ms")
        contact = _flag(cells[2], place, "contact", allow_empty=True)
        gap = _flag(cells[3], place, "after_gap", allow_empty=False)
        beats.append(Beat(rr, canonical_time_s(time_s), contact, bool(gap)))
        where.append(place)
    return beats, where


def _read_journal(path: Path, lines: list[str], header: int, sha: str) -> Recording:
    beats, where = _read_table(path, lines, header, 4)
    _check_beats(beats, where or [str(path)])
    started, protocol = None, None
    for line in lines[:header]:  # "# hrvcoach recording <protocol> started <ISO>"
        parts = line.split()
        if len(parts) >= 6 and parts[1:3] == ["hrvcoach", "recording"] and parts[-2] == "started":
            protocol, started = " ".join(parts[3:-2]), parts[-1]
    return Recording(path, started, protocol, "import", path.name, beats, [], [], sha)


def _phases_json(items: Any, where: str) -> list[PhaseRecord]:
    if not isinstance(items, list):
        raise InputError(where, "must be a list of phases")
    phases = []
    for index, item in enumerate(items):
        place = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise InputError(place, "must be an object")
        try:
            phase = PhaseRecord(**item)
        except TypeError as exc:
            raise InputError(place, f"unexpected phase fields ({exc})") from None
        if phase.kind not in PHASE_KINDS:
            raise InputError(f"{place}.kind", f"must be one of {', '.join(PHASE_KINDS)}, got "
                             f"{phase.kind!r}")
        if phase.compare not in (None, "before", "after"):
            raise InputError(f"{place}.compare", f"must be before, after or null, got {phase.compare!r}")
        for name in ("start_s", "end_s"):
            value = getattr(phase, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise InputError(f"{place}.{name}", f"must be a number, got {value!r}")
        if phase.end_s < phase.start_s:
            raise InputError(place, f"ends ({phase.end_s}) before it starts ({phase.start_s})")
        phases.append(phase)
    return phases


def _read_csv(path: Path, lines: list[str], sha: str) -> Recording:
    first = next(n for n, line in enumerate(lines) if line.strip())
    try:
        meta = json.loads(lines[first][len(CSV_MARK):])
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{first + 1}", f"the session line is not valid JSON ({exc})") from None
    header = next((n for n in range(first + 1, len(lines)) if lines[n].strip()), None)
    if header is None or lines[header].strip() != CSV_HEADER:
        raise InputError(f"{path}:{(header or first) + 1}", f"expected the header {CSV_HEADER!r}")
    beats, where = _read_table(path, lines, header, 6)
    _check_beats(beats, where or [str(path)])
    session = meta.get("session", {}) if isinstance(meta, dict) else {}
    phases = _phases_json(meta.get("phases", []), f"{path}:{first + 1}: phases")
    return Recording(path, session.get("started_at"), session.get("protocol"),
                     str(session.get("source", "import")), str(session.get("device", "")),
                     beats, phases, [], sha)


def _read_json(path: Path, text: str, sha: str) -> Recording:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}", f"not valid JSON ({exc.msg})") from None
    if not isinstance(document, dict) or document.get("format") != JSON_FORMAT:
        raise InputError(f"{path}: format", f"not an hrvcoach session export (expected "
                         f"\"format\": \"{JSON_FORMAT}\")")
    if document.get("version") != 1:
        raise InputError(f"{path}: version", f"unsupported version {document.get('version')!r}")
    columns = document.get("beats")
    names = ("time_s", "rr_ms", "contact", "after_gap")
    if not isinstance(columns, dict) or any(not isinstance(columns.get(n), list) for n in names):
        raise InputError(f"{path}: beats", f"must hold the lists {', '.join(names)}")
    count = len(columns["rr_ms"])
    for name in names:
        if len(columns[name]) != count:
            raise InputError(f"{path}: beats.{name}", f"has {len(columns[name])} values, "
                             f"beats.rr_ms has {count}")
    beats, where = [], []
    for i in range(count):
        place = f"{path}: beats[{i}]"
        values = [columns[name][i] for name in names]
        for name, value in zip(names[:2], values[:2], strict=True):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"{path}: beats.{name}[{i}]", f"must be a number, got {value!r}")
        if values[2] not in (True, False, None):
            raise InputError(f"{path}: beats.contact[{i}]", f"must be true, false or null, got {values[2]!r}")
        if values[3] not in (True, False):
            raise InputError(f"{path}: beats.after_gap[{i}]", f"must be true or false, got {values[3]!r}")
        beats.append(Beat(float(values[1]), canonical_time_s(values[0]), values[2], values[3]))
        where.append(place)
    _check_beats(beats, where or [f"{path}: beats"])
    session = document.get("session", {})
    if not isinstance(session, dict):
        raise InputError(f"{path}: session", "must be an object")
    phases = _phases_json(document.get("phases", []), f"{path}: phases")
    annotations = []
    for i, item in enumerate(document.get("annotations", [])):
        try:
            annotations.append(Annotation(float(item["time_s"]), str(item["kind"]),
                                                str(item.get("text", ""))))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: annotations[{i}]", f"unexpected content ({exc})") from None
    return Recording(path, session.get("started_at"), session.get("protocol"),
                     str(session.get("source", "import")), str(session.get("device", "")),
                     beats, phases, annotations, sha)


def _read_edf(path: Path, sha: str) -> Recording:
    import pyedflib

    try:
        reader = pyedflib.EdfReader(str(path))
    except OSError as exc:
        raise InputError(str(path), f"not a readable EDF+ file ({exc})") from None
    try:
        onsets, durations, texts = reader.readAnnotations()
        started = reader.getStartdatetime()
        recording = reader.getRecordingAdditional()
        equipment = reader.getEquipment()
    finally:
        reader.close()
    beats, where, phases, annotations = [], [], [], []
    for number, (onset, duration, text) in enumerate(zip(onsets, durations, texts, strict=True),
                                                      start=1):
        place = f"{path}: annotation {number}"
        words = str(text).split()
        if words[:1] == ["RR"] and len(words) >= 2:
            rr = _number(words[1], place, "RR")
            flags = set(words[2:])
            contact = False if "nocontact" in flags else True if "contact" in flags else None
            beats.append(Beat(rr, canonical_time_s(float(onset)), contact, "gap" in flags))
            where.append(place)
        elif words[:1] == ["phase"] and len(words) >= 5:
            kind, compare, rate = words[2], words[3], words[4]
            if kind not in PHASE_KINDS or not words[1].isdigit():
                raise InputError(place, f"not a phase annotation: {text!r}")
            name = " ".join(words[5:])
            start = canonical_time_s(float(onset))
            phases.append(PhaseRecord(int(words[1]) - 1, name, kind, start,
                                   canonical_time_s(start + float(duration)),
                                   None if rate == "-" else _number(rate, place, "breaths/min"),
                                   None, "", None if compare == "-" else compare))
        else:
            kind, _, rest = str(text).partition(": ")
            annotations.append(Annotation(float(onset), kind, rest))
    if not beats:
        raise InputError(str(path), "no beat annotations (\"RR <ms>\"): not an EDF+ written by "
                         "hrvcoach export")
    _check_beats(beats, where)
    protocol, local = None, started.astimezone()
    parts = recording.split("_", 2)
    if len(parts) == 3 and parts[0] == "hrvcoach" and parts[1].startswith("UTC"):
        protocol = parts[2] or None
        with contextlib.suppress(ValueError):
            offset = dt.datetime.strptime(parts[1][3:], "%z").tzinfo
            local = started.replace(tzinfo=offset)
    return Recording(path, local.isoformat(timespec="seconds"), protocol, "import",
                     equipment.replace("_", " "), beats, phases, annotations, sha)
