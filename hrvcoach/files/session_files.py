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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from hrvcoach.core.beats import Beat
from hrvcoach.core.constants import MAX_RR_MS as SLOWEST_HEARTBEAT_MS
from hrvcoach.core.errors import InputError
from hrvcoach.core.raw import BreathRecord, MovementSegment, RawChunk
from hrvcoach.core.records import Annotation, BeatColumns, PhaseRecord, canonical_time_s
from hrvcoach.files.journal import HEADER as JOURNAL_LINE
from hrvcoach.files.reading import MAX_RR_INTERVALS, TOO_MANY_BEATS, numbered_lines, read_bytes, read_head
from hrvcoach.files.safe_write import atomic_output
from hrvcoach.files.session_schema import (
    SessionHeader,
    check_annotations,
    check_beats,
    check_breaths,
    check_movement,
    check_phases,
    session_header,
    started_at,
)
from hrvcoach.protocols.fields import MAX_NAME_CHARS, as_flag, as_number, as_text, shown

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
EDF_MAX_RECORDING: Final = 55  # equipment + our note: 80 less "Startdate", its date, spaces
EDF_MAX_ANNOTATION_SIGNALS: Final = 64  # EDFlib's limit
EDF_ECG_LIMIT_UV: Final = 10_000.0  # ±10 mV in 16 bits: 0.3 µV steps
EDF_ACC_LIMIT_MG: Final = 8_000.0  # ±8 G: 0.25 mG steps
ARTIFACT_KINDS: Final = ("", "ectopic", "missed", "extra", "long_short")


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
    breaths: list[BreathRecord] = field(default_factory=list)  # a strap's accelerometer found
    movement: list[MovementSegment] = field(default_factory=list)


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
    ecg: list[RawChunk] = field(default_factory=list)  # a strap's raw data, when recorded
    acc: list[RawChunk] = field(default_factory=list)
    breaths: list[BreathRecord] = field(default_factory=list)
    movement: list[MovementSegment] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Export


def write_session_file(document: SessionDocument, fmt: ExportFormat, path: Path) -> Path:
    """Write one session to `path` in the chosen format (all or nothing: see safe_write)."""
    session, phases, beats = document.session, document.phases, document.beats
    if len(beats) == 0:
        raise InputError(f"session {session.id}", "has no beats to export")
    if fmt not in EXPORT_FORMATS:
        raise InputError("--format", f"unknown format {fmt!r} (one of {', '.join(EXPORT_FORMATS)})")
    with atomic_output(path) as temporary:
        if fmt == "rr":
            temporary.write_text("".join(f"{rr!r}\n" for rr in beats.rr_ms), encoding="utf-8")
        elif fmt == "csv":
            _write_csv(temporary, session, phases, beats)
        elif fmt == "json":
            body = _session_json(session, phases, document.annotations, document.markers)
            body["beats"] = {"time_s": list(beats.time_s), "rr_ms": list(beats.rr_ms),
                             "contact": list(beats.contact), "after_gap": list(beats.after_gap),
                             "artifact": list(beats.artifact)}
            if document.breaths or document.movement or document.ecg or document.acc:
                body["breaths"] = [{"start_s": b.onset_s, "duration_s": b.duration_s,
                                    "inhale_s": b.inhale_s, "moving": b.moving,
                                    "depth_mg": b.depth_mg if math.isfinite(b.depth_mg) else None,
                                    "paced_per_min": b.paced_per_min,
                                    "pacer_phase": b.pacer_phase}
                                   for b in document.breaths]
                body["movement"] = [{"start_s": m.start_s, "end_s": m.end_s, "kind": m.kind}
                                    for m in document.movement]
            temporary.write_text(json.dumps(body, indent=1, allow_nan=False) + "\n",
                                 encoding="utf-8")
        else:
            _write_edf(temporary, document)
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


def _raw_signal(chunks: list[RawChunk], channel: int, seconds: int) -> tuple[Any, float]:
    """One channel of raw chunks on the session's time grid from 0 (zeros where nothing was
    recorded), and its rate. A stretch of chunks without a gap is laid down sample after sample
    from its least delayed chunk's time (analysis.ecg.stretch_start_s)."""
    import numpy as np

    from hrvcoach.analysis.ecg import stretch_start_s

    rate = chunks[0].rate_hz
    out = np.zeros(int(seconds * rate))
    channels = chunks[0].channels
    stretches: list[list[RawChunk]] = []
    for chunk in chunks:
        if chunk.after_gap or not stretches:
            stretches.append([])
        stretches[-1].append(chunk)
    for stretch in stretches:
        position = round(stretch_start_s(stretch) * rate)
        for chunk in stretch:
            values = np.asarray(chunk.values[channel::channels], dtype=np.float64)
            lo, hi = max(position, 0), min(position + values.size, out.size)
            if hi > lo:
                out[lo:hi] = values[lo - position:hi - position]
            position += values.size
    return out, rate


def _write_edf(path: Path, document: SessionDocument) -> None:
    """EDF+ (module note); with raw data also the ECG (µV, 130 Hz) and the accelerometer's three
    axes (mG), at their own rates on the session's time grid, and the movements and breaths as
    annotations."""
    import numpy as np
    import pyedflib

    session, phases, beats = document.session, document.phases, document.beats
    annotations = [*document.annotations,
                   *(Annotation(m.start_s, "moving", m.kind) for m in document.movement)]
    times = np.asarray(beats.time_s)
    rr = np.asarray(beats.rr_ms)
    seconds = max(math.ceil(float(times.max())) + 1, 1)
    raw = [(label, chunks, channel, unit, limit) for label, chunks, channel, unit, limit in (
        ("ECG", document.ecg, 0, "uV", EDF_ECG_LIMIT_UV),
        ("ACC X", document.acc, 0, "mG", EDF_ACC_LIMIT_MG),
        ("ACC Y", document.acc, 1, "mG", EDF_ACC_LIMIT_MG),
        ("ACC Z", document.acc, 2, "mG", EDF_ACC_LIMIT_MG)) if chunks]
    if raw:
        seconds = max(seconds, *(math.ceil(c[-1].end_s) + 1 for _, c, _, _, _ in raw))
    writer = pyedflib.EdfWriter(str(path), 1 + len(raw), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        # EDFlib writes the annotations in order, as many into each 1-s data record as there
        # are annotation signals (at most 64), and drops what does not fit: make room for all,
        # adding records (the tachogram held) when even 64 per second are too few.
        count = len(beats) + len(phases) + len(annotations)
        signals = min(max(math.ceil(count / seconds), 1), EDF_MAX_ANNOTATION_SIGNALS)
        seconds = max(seconds, math.ceil(count / signals))
        grid = np.arange(seconds * EDF_RESAMPLE_HZ) / EDF_RESAMPLE_HZ
        latest = np.searchsorted(times, grid, side="right") - 1
        tachogram = np.where(latest >= 0, rr[np.maximum(latest, 0)], rr[0])
        writer.set_number_of_annotation_signals(signals)
        writer.setSignalHeader(0, {"label": "RR", "dimension": "ms",
                                   "sample_frequency": EDF_RESAMPLE_HZ,
                                   "physical_min": 0.0, "physical_max": 3000.0,
                                   "digital_min": -32768, "digital_max": 32767,
                                   "transducer": "chest strap RR", "prefilter": ""})
        started = dt.datetime.fromisoformat(session.started_at)
        writer.setStartdatetime(started.replace(tzinfo=None))  # EDF+ keeps local clock time
        offset = started.strftime("%z") or "local"  # ... so the UTC offset goes beside it
        # EDF+ gives the recording's identification 80 characters: equipment first, then ours
        equipment = _edf_text(session.device or session.source).replace(" ", "_")
        writer.setEquipment(equipment)
        writer.setRecordingAdditional(_edf_text(f"hrvcoach_UTC{offset}_{session.protocol}")
                                      .replace(" ", "_")[:EDF_MAX_RECORDING - len(equipment)])
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
        samples = [np.clip(tachogram, 0.0, 3000.0)]
        for number, (label, chunks, channel, unit, limit) in enumerate(raw, start=1):
            values, rate_hz = _raw_signal(chunks, channel, seconds)
            header: dict[str, Any] = {
                "label": label, "dimension": unit, "sample_frequency": rate_hz,
                "physical_min": -limit, "physical_max": limit, "digital_min": -32768,
                "digital_max": 32767, "prefilter": "",
                "transducer": "Polar H10 chest electrodes" if label == "ECG" else
                "Polar H10 accelerometer (x along the strap, z out of the chest)"}
            writer.setSignalHeader(number, header)
            samples.append(np.clip(values, -limit, limit))
        writer.writeSamples(samples)
    finally:
        writer.close()


# ---------------------------------------------------------------------------------------------
# Import


def read_recording_file(path: Path, *, units: Literal["ms", "s"] | None = None,
                        column: str | None = None) -> Recording:
    """Read and check a recording (any format above, or an RR file); nothing is written."""
    head = read_head(path)
    if path.suffix.lower() in (".edf", ".bdf") or head.startswith("0       "):
        return _read_edf(path)
    stripped = head.lstrip()
    if path.suffix.lower() == ".json" or stripped.startswith("{"):
        return _read_json(path)
    first = next((line for line in head.splitlines() if line.strip()), "")
    if first.startswith(CSV_MARK.rstrip()):
        return _read_session_table(path, with_header=True)
    header = next((line for line in head.splitlines()
                   if line.strip() and not line.lstrip().startswith("#")), "")
    if header.strip() == JOURNAL_HEADER:
        return _read_session_table(path, with_header=False)
    return _read_rr(path, units, column)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as file:
            for chunk in iter(lambda: file.read(2**20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror or exc})") from None
    return digest.hexdigest()


def _read_rr(path: Path, units: Literal["ms", "s"] | None, column: str | None) -> Recording:
    from hrvcoach.files.rr_files import read_rr_file

    recording = read_rr_file(path, units=units, column=column)
    where = [f"{path}:{int(n)}" for n in recording.line_numbers]
    total, beats = 0.0, []
    for value in recording.rr_ms.tolist():
        total += value
        # an interval no heart makes is a gap in the recording (a strap reports one after a
        # reconnection): kept, and marked as such, as the recording had it
        beats.append(Beat(value, canonical_time_s(total / 1000.0),
                          after_gap=value > SLOWEST_HEARTBEAT_MS))
    check_beats(beats, where)
    return Recording(path, None, None, "import", path.name[:MAX_NAME_CHARS], beats, [], [],
                     _file_sha256(path))


def _flag(text: str, place: str, field: str, *, allow_empty: bool) -> bool | None:
    value = text.strip()
    if value == "" and allow_empty:
        return None
    if value in ("0", "1"):
        return value == "1"
    raise InputError(place, f"{field} must be 0 or 1{' or empty' if allow_empty else ''}, "
                     f"got {shown(text)}")


def _number(text: str, place: str, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(place, f"{field} is not a number: {shown(text)}") from None
    if not math.isfinite(value):
        raise InputError(place, f"{field} must be finite, got {shown(text)}")
    return value


def _read_session_table(path: Path, *, with_header: bool) -> Recording:
    """An hrvcoach CSV export (`# hrvcoach session {...}`, then one line per beat) or a CSV
    journal (`# hrvcoach recording <protocol> started <ISO>`, beats only)."""
    lines = numbered_lines(path)
    header_fields = CSV_HEADER if with_header else JOURNAL_HEADER
    columns = header_fields.count(",") + 1
    session = SessionHeader(None, None, "import", "")
    phases: list[PhaseRecord] = []
    found_header = seen_meta = False
    beats: list[Beat] = []
    where: list[str] = []
    for number, line in lines:
        if not line.strip():
            continue
        place = f"{path}:{number}"
        if not found_header:
            if with_header and line.startswith(CSV_MARK.rstrip()) and not seen_meta:
                session, phases = _csv_session_line(line[len(CSV_MARK):], place)
                seen_meta = True
            elif not with_header and line.startswith("# hrvcoach recording "):
                session = _journal_line(line, place)
            elif line.lstrip().startswith("#"):
                continue
            elif line.strip() != header_fields:
                raise InputError(place, f"expected the header {header_fields!r}")
            else:
                found_header = True
            continue
        if line.lstrip().startswith("#"):
            continue
        if len(beats) >= MAX_RR_INTERVALS:
            raise InputError(place, TOO_MANY_BEATS)
        cells = line.split(",")
        if len(cells) != columns:
            raise InputError(place, f"expected {columns} comma-separated fields, got {len(cells)}")
        time_s = _number(cells[0], place, "time_s")
        rr = _number(cells[1], place, "rr_ms")
        contact = _flag(cells[2], place, "contact", allow_empty=True)
        gap = _flag(cells[3], place, "after_gap", allow_empty=False)
        if with_header and cells[4].strip() not in ARTIFACT_KINDS:
            raise InputError(place, f"artifact must be one of {', '.join(ARTIFACT_KINDS[1:])} or "
                             f"empty, got {shown(cells[4])}")
        beats.append(Beat(rr, canonical_time_s(time_s), contact, bool(gap)))
        where.append(place)
    if not found_header:
        raise InputError(str(path), f"no header line {header_fields!r}")
    check_beats(beats, where or [str(path)])
    return Recording(path, session.started_at, session.protocol, session.source,
                     session.device or path.name[:MAX_NAME_CHARS], beats, phases, [],
                     _file_sha256(path))


def _csv_session_line(text: str, place: str) -> tuple[SessionHeader, list[PhaseRecord]]:
    meta = _json_document(text, place)
    _check_format(meta, place, allowed={"format", "version", "session", "phases"})
    return (session_header(meta.get("session", {}), f"{place}: session"),
            check_phases(meta.get("phases", []), f"{place}: phases"))


def _journal_line(line: str, place: str) -> SessionHeader:
    """'# hrvcoach recording <protocol> started <ISO>' (what CsvJournal writes first)."""
    parts = line.split()
    if len(parts) < 6 or parts[-2] != "started":
        return SessionHeader(None, None, "import", "")
    protocol = " ".join(parts[3:-2])
    return SessionHeader(started_at(parts[-1], f"{place}: started"),
                         as_text(protocol, f"{place}: protocol"), "import", "")


def _json_document(text: str | bytes, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}:{exc.lineno}" if ":" not in where else where,
                         f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise InputError(where, "not valid JSON for hrvcoach (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as exc:  # e.g. an integer of thousands of digits
        raise InputError(where, f"not valid JSON ({str(exc)[:80]})") from None


def _check_format(document: Any, where: str, *, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(document, dict) or document.get("format") != JSON_FORMAT:
        raise InputError(f"{where}: format", f"not an hrvcoach session export (expected "
                         f"\"format\": \"{JSON_FORMAT}\")")
    if document.get("version") != 1 or isinstance(document.get("version"), bool):
        raise InputError(f"{where}: version", f"unsupported version {shown(document.get('version'))}")
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise InputError(f"{where}: {shown(unknown[0])[1:-1]}",
                         f"unknown field (known: {', '.join(sorted(allowed))})")
    return document


_BEAT_COLUMNS: Final = ("time_s", "rr_ms", "contact", "after_gap", "artifact")


def _read_json(path: Path) -> Recording:
    document = _check_format(_json_document(read_bytes(path), str(path)), str(path),
                             allowed={"format", "version", "session", "phases", "annotations",
                                      "beats", "markers", "breaths", "movement"})
    columns = document.get("beats")
    if not isinstance(columns, dict) or any(not isinstance(columns.get(n), list)
                                            for n in _BEAT_COLUMNS[:4]):
        raise InputError(f"{path}: beats", f"must hold the lists {', '.join(_BEAT_COLUMNS[:4])}")
    unknown = sorted(set(columns) - set(_BEAT_COLUMNS))
    if unknown:
        raise InputError(f"{path}: beats.{shown(unknown[0])[1:-1]}", "unknown column")
    count = len(columns["rr_ms"])
    for name in _BEAT_COLUMNS:
        if name in columns and (not isinstance(columns[name], list) or len(columns[name]) != count):
            raise InputError(f"{path}: beats.{name}", f"must be a list of {count} values, as "
                             "beats.rr_ms")
    if count > MAX_RR_INTERVALS:
        raise InputError(f"{path}: beats", TOO_MANY_BEATS)
    beats, where = [], []
    for i in range(count):
        time_s = as_number(columns["time_s"][i], f"{path}: beats.time_s[{i}]")
        rr = as_number(columns["rr_ms"][i], f"{path}: beats.rr_ms[{i}]")
        contact = columns["contact"][i]
        if contact is not None:
            contact = as_flag(contact, f"{path}: beats.contact[{i}]")
        gap = as_flag(columns["after_gap"][i], f"{path}: beats.after_gap[{i}]")
        beats.append(Beat(rr, canonical_time_s(time_s), contact, gap))
        where.append(f"{path}: beats[{i}]")
    check_beats(beats, where or [f"{path}: beats"])
    session = session_header(document.get("session", {}), f"{path}: session")
    return Recording(path, session.started_at, session.protocol, session.source, session.device,
                     beats, check_phases(document.get("phases", []), f"{path}: phases"),
                     check_annotations(document.get("annotations", []), f"{path}: annotations"),
                     _file_sha256(path),
                     check_breaths(document.get("breaths", []), f"{path}: breaths"),
                     check_movement(document.get("movement", []), f"{path}: movement"))


def _read_edf(path: Path) -> Recording:
    import pyedflib

    read_bytes(path)  # a regular file within the size limit
    try:
        reader = pyedflib.EdfReader(str(path))
        try:
            onsets, durations, texts = reader.readAnnotations()
            started = reader.getStartdatetime()
            recording = reader.getRecordingAdditional()
            equipment = reader.getEquipment()
        finally:
            reader.close()
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"not a readable EDF+ file ({str(exc)[:120]})") from None
    beats, where, phases, annotations = [], [], [], []
    for number, (onset, duration, text) in enumerate(zip(onsets, durations, texts, strict=True),
                                                      start=1):
        place = f"{path}: annotation {number}"
        words = str(text).split()
        onset_s = as_number(float(onset), f"{place} onset")
        if words[:1] == ["RR"] and len(words) >= 2:
            rr = _number(words[1], place, "RR")
            flags = set(words[2:])
            if not flags <= {"contact", "nocontact", "gap"}:
                raise InputError(place, f"not a beat annotation: {shown(str(text))}")
            contact = False if "nocontact" in flags else True if "contact" in flags else None
            beats.append(Beat(rr, canonical_time_s(onset_s), contact, "gap" in flags))
            where.append(place)
        elif words[:1] == ["phase"] and len(words) >= 5:
            if not words[1].isdigit() or len(words[1]) > 3:
                raise InputError(place, f"not a phase annotation: {shown(str(text))}")
            start = canonical_time_s(onset_s)
            phases.append({
                "index": int(words[1]) - 1, "name": " ".join(words[5:]), "kind": words[2],
                "start_s": start, "end_s": canonical_time_s(start + float(duration)),
                "breaths_per_min": None if words[4] == "-" else _number(words[4], place, "breaths/min"),
                "compare": None if words[3] == "-" else words[3]})
        else:
            kind, _, rest = str(text).partition(": ")
            annotations.append({"time_s": onset_s, "kind": kind, "text": rest})
    if not beats:
        raise InputError(str(path), "no beat annotations (\"RR <ms>\"): not an EDF+ written by "
                         "hrvcoach export")
    check_beats(beats, where)
    protocol, local = None, started.astimezone()
    parts = recording.split("_", 2)
    if len(parts) == 3 and parts[0] == "hrvcoach" and parts[1].startswith("UTC"):
        protocol = as_text(parts[2], f"{path}: recording (protocol)") or None
        with contextlib.suppress(ValueError):
            offset = dt.datetime.strptime(parts[1][3:], "%z").tzinfo
            local = started.replace(tzinfo=offset)
    return Recording(path, local.isoformat(timespec="seconds"), protocol, "import",
                     as_text(equipment.replace("_", " "), f"{path}: equipment"), beats,
                     check_phases(phases, f"{path}: phases"),
                     check_annotations(annotations, f"{path}: annotations"), _file_sha256(path))
