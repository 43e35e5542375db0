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
from hrvcoach.store.db import (
    NewPhase,
    SessionInfo,
    Store,
    StoredAnnotation,
    canonical_time_s,
)

__all__ = [
    "EXPORT_FORMATS",
    "ExportFormat",
    "Recording",
    "export_session",
    "import_recording",
    "import_start",
    "read_recording_file",
]

ExportFormat = Literal["rr", "csv", "json", "edf"]
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("rr", "csv", "json", "edf")
JSON_FORMAT: Final = "hrvcoach-session"
CSV_MARK: Final = "# hrvcoach session "
CSV_HEADER: Final = "time_s,rr_ms,contact,after_gap,artifact,phase"
JOURNAL_HEADER: Final = "time_s,rr_ms,contact,after_gap"  # recording.CsvRecorder's journal
EDF_RESAMPLE_HZ: Final = 4
EDF_MAX_TEXT: Final = 40  # EDFlib's limit for one annotation
EDF_MAX_ANNOTATION_SIGNALS: Final = 64  # EDFlib's limit
MAX_IMPORT_RR_MS: Final = 10_000.0  # a longer "interval" is not a heartbeat: wrong units?
PHASE_KINDS: Final = ("baseline", "paced", "recovery", "free")


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording read from a file, checked, ready to become a session."""

    path: Path
    started_at: str | None  # from the file, when it says
    protocol: str | None
    source: str
    device: str
    beats: list[Beat]
    phases: list[NewPhase]  # empty: lay the protocol's phases over it
    annotations: list[StoredAnnotation]
    sha256: str


# ---------------------------------------------------------------------------------------------
# Export


def export_session(store: Store, session_id: int, fmt: ExportFormat, path: Path) -> Path:
    """Write one stored session to `path` in the chosen format."""
    session = store.session(session_id)
    beats = store.beats(session_id)
    phases = store.phases(session_id)
    if len(beats) == 0:
        raise InputError(f"session {session_id}", "has no beats to export")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "rr":
            path.write_text("".join(f"{rr!r}\n" for rr in beats.rr_ms), encoding="utf-8")
        elif fmt == "csv":
            _write_csv(path, session, phases, beats)
        elif fmt == "json":
            document = _session_json(session, phases, store.annotations(session_id),
                                     store.markers(session_id))
            document["beats"] = {"time_s": list(beats.time_s), "rr_ms": list(beats.rr_ms),
                                 "contact": list(beats.contact), "after_gap": list(beats.after_gap),
                                 "artifact": list(beats.artifact)}
            path.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        elif fmt == "edf":
            _write_edf(path, session, phases, beats, store.annotations(session_id))
        else:
            raise InputError("--format", f"unknown format {fmt!r} (one of {', '.join(EXPORT_FORMATS)})")
    except OSError as exc:
        raise InputError(str(path), f"cannot write ({exc})") from None
    return path


def _session_json(session: SessionInfo, phases: list[NewPhase], annotations: list[StoredAnnotation],
                  markers: dict[int, dict[str, float | None]] | None) -> dict[str, Any]:
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


def _phase_of(phases: list[NewPhase], time_s: float) -> str:
    for phase in reversed(phases):
        if time_s >= phase.start_s:
            return phase.name
    return phases[0].name if phases else ""


def _write_csv(path: Path, session: SessionInfo, phases: list[NewPhase], beats: Any) -> None:
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


def _write_edf(path: Path, session: SessionInfo, phases: list[NewPhase], beats: Any,
               annotations: list[StoredAnnotation]) -> None:
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


def _phases_json(items: Any, where: str) -> list[NewPhase]:
    if not isinstance(items, list):
        raise InputError(where, "must be a list of phases")
    phases = []
    for index, item in enumerate(items):
        place = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise InputError(place, "must be an object")
        try:
            phase = NewPhase(**item)
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
            annotations.append(StoredAnnotation(float(item["time_s"]), str(item["kind"]),
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
            phases.append(NewPhase(int(words[1]) - 1, name, kind, start,
                                   canonical_time_s(start + float(duration)),
                                   None if rate == "-" else _number(rate, place, "breaths/min"),
                                   None, "", None if compare == "-" else compare))
        else:
            kind, _, rest = str(text).partition(": ")
            annotations.append(StoredAnnotation(float(onset), kind, rest))
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


def import_start(recording: Recording, date: str | None) -> str:
    """--date, else the file's own start, else the file's modification time minus its length."""
    if date is not None:
        try:
            when = dt.datetime.fromisoformat(date)
        except ValueError:
            raise InputError("--date", f"expected an ISO date or date-time (e.g. 2026-11-25 or "
                             f"2026-11-25T07:30), got {date!r}") from None
        return (when if when.tzinfo else when.astimezone()).isoformat(timespec="seconds")
    if recording.started_at:
        try:
            return dt.datetime.fromisoformat(recording.started_at).isoformat(timespec="seconds")
        except ValueError:
            pass
    end = dt.datetime.fromtimestamp(recording.path.stat().st_mtime).astimezone()
    length = dt.timedelta(seconds=recording.beats[-1].time_s)
    return (end - length).isoformat(timespec="seconds")


def _laid_phases(recording: Recording, protocol_name: str | None) -> tuple[str, list[NewPhase]]:
    """The phases of a protocol laid over the recording by time (the last phase runs to its end)."""
    last_s = recording.beats[-1].time_s
    if protocol_name is None:
        return "import", [NewPhase(0, "recording", "baseline", 0.0, last_s, None, None,
                                   "breathe freely", "before")]
    from hrvcoach.protocols.protocol import load_protocol

    protocol = load_protocol(protocol_name)
    phases = []
    final = len(protocol.phases) - 1
    for index, (phase, start_s) in enumerate(zip(protocol.phases, protocol.phase_starts_s(),
                                                 strict=True)):
        if index > 0 and start_s >= last_s:
            break  # the recording ended before this phase
        end_s = start_s + phase.duration_s
        # the protocol's last phase keeps any beats after its planned end; a cut-short one ends
        # at the last beat
        end_s = max(end_s, last_s) if index == final else min(end_s, last_s)
        phases.append(NewPhase(index, phase.name, phase.kind, start_s, end_s, phase.breaths_per_min,
                               phase.ramp_to_per_min, phase.pacing_text(), phase.compare))
    return protocol.name, phases


def import_recording(store: Store, recording: Recording, *, started_at: str,
                     protocol: str | None = None) -> int:
    """Write a recording read by read_recording_file as one session (one transaction); its id.
    `started_at` comes from `import_start(recording, date)`."""
    path = recording.path
    if protocol is not None or not recording.phases:
        name, phases = _laid_phases(recording, protocol or (
            recording.protocol if _is_builtin(recording.protocol) else None))
    else:
        name, phases = recording.protocol or "import", recording.phases
    return store.import_session(started_at=started_at, protocol=name, origin=str(path),
                                content_sha256=recording.sha256, phases=phases,
                                beats=recording.beats, annotations=recording.annotations,
                                source=recording.source, device=recording.device)


def _is_builtin(name: str | None) -> bool:
    if not name:
        return False
    from hrvcoach.protocols.bundled import bundled_protocol_dir

    return (bundled_protocol_dir() / f"{name}.toml").exists()
