"""Recordings into the store: a file read and checked by hrvcoach.files.session_files becomes
one `imported` session, with its own phases or a protocol's laid over it."""

from __future__ import annotations

import datetime as dt

from hrvcoach.core.errors import InputError
from hrvcoach.core.records import PhaseRecord
from hrvcoach.files.session_files import Recording
from hrvcoach.files.session_schema import check_start
from hrvcoach.protocols.bundled import bundled_protocol_dir
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.store import Store

__all__ = ["import_recording", "import_start", "is_builtin", "laid_phases"]


def import_start(recording: Recording, date: str | None) -> str:
    """--date, else the file's own start, else the file's modification time minus its length."""
    if date is not None:
        try:
            when = dt.datetime.fromisoformat(date)
        except ValueError:
            raise InputError("--date", f"expected an ISO date or date-time (e.g. 2026-11-25 or "
                             f"2026-11-25T07:30), got {date!r}") from None
        check_start(when, "--date")
        return (when if when.tzinfo else when.astimezone()).isoformat(timespec="seconds")
    if recording.started_at:
        try:
            return dt.datetime.fromisoformat(recording.started_at).isoformat(timespec="seconds")
        except ValueError:
            pass
    end = dt.datetime.fromtimestamp(recording.path.stat().st_mtime).astimezone()
    length = dt.timedelta(seconds=recording.beats[-1].time_s)
    return (end - length).isoformat(timespec="seconds")


def laid_phases(protocol_name: str | None, last_s: float) -> tuple[str, list[PhaseRecord]]:
    """The phases of a protocol laid over a recording ending at `last_s` by time (the last
    phase runs to its end); without a protocol, one baseline phase."""
    if protocol_name is None:
        return "import", [PhaseRecord(0, "recording", "baseline", 0.0, last_s, None, None,
                                   "breathe freely", "before")]

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
        phases.append(PhaseRecord(index, phase.name, phase.kind, start_s, end_s, phase.breaths_per_min,
                               phase.ramp_to_per_min, phase.pacing_text(), phase.compare))
    return protocol.name, phases


def import_recording(store: Store, recording: Recording, *, started_at: str,
                     protocol: str | None = None) -> int:
    """Write a recording read by read_recording_file as one session (one transaction); its id.
    `started_at` comes from `import_start(recording, date)`."""
    path = recording.path
    if protocol is not None or not recording.phases:
        name, phases = laid_phases(protocol or (
            recording.protocol if is_builtin(recording.protocol) else None),
            recording.beats[-1].time_s)
    else:
        name, phases = recording.protocol or "import", recording.phases
    return store.import_session(started_at=started_at, protocol=name, origin=str(path),
                                content_sha256=recording.sha256, phases=phases,
                                beats=recording.beats, annotations=recording.annotations,
                                source=recording.source, device=recording.device,
                                breaths=recording.breaths, movement=recording.movement)


def is_builtin(name: str | None) -> bool:
    """Whether `name` is one of the protocols that come with hrvcoach."""
    if not name or "/" in name or len(name) > 100:
        return False
    return (bundled_protocol_dir() / f"{name}.toml").exists()
