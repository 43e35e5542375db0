"""The CSV journal of a live session: each beat written to its own line the moment it arrives
(before the store), so a crash loses nothing. It keeps beats only; the store keeps the rest.

The file reads back with hrvcoach.files.rr_files.read_rr_file (its RR column is `rr_ms`).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, TextIO

from hrvcoach.core.beats import Beat, SourceStatus
from hrvcoach.core.errors import InputError
from hrvcoach.core.raw import BreathRecord, MovementSegment, RawChunk
from hrvcoach.core.records import Annotation, PhaseRecord

HEADER = "time_s,rr_ms,contact,after_gap\n"


class CsvJournal:
    """Appends one line per beat and flushes it; use as a context manager. A SessionRecorder
    (hrvcoach.session) that keeps beats only."""

    def __init__(self, path: Path, *, comment: str = "") -> None:
        self.path = path
        self._file: TextIO | None = None
        self._comment = comment

    @classmethod
    def in_folder(cls, folder: Path, label: str) -> CsvJournal:
        """A new recording named by the local start time and a label (e.g. the protocol)."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in label)
        return cls(folder / f"{stamp}-{safe}.csv", comment=label)

    def __enter__(self) -> Self:
        """Create the file (user-only); a name already taken gets a "-2", "-3", … suffix."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        first = self.path
        for attempt in range(2, 1000):
            try:
                self._file = self.path.open("x", encoding="utf-8", newline="")
                break
            except FileExistsError:
                self.path = first.with_name(f"{first.stem}-{attempt}{first.suffix}")
        else:
            raise FileExistsError(f"{first}: no free recording file name")
        os.chmod(self.path, 0o600)
        started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        self._file.write(f"# hrvcoach recording {self._comment} started {started}\n{HEADER}")
        self._file.flush()
        return self

    @classmethod
    def open_in(cls, folder: Path, label: str) -> CsvJournal:
        """A new journal, opened, in a user-only folder (created if missing)."""
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return cls.in_folder(folder, label).__enter__()

    def record_beat(self, beat: Beat) -> None:
        if self._file is None:
            raise RuntimeError("CsvJournal.record_beat outside 'with'")
        contact = "" if beat.contact is None else int(beat.contact)
        self._file.write(f"{beat.time_s:.4f},{beat.rr_ms!r},{contact},{int(beat.after_gap)}\n")
        self._file.flush()

    def record_phase(self, phase: PhaseRecord) -> None:
        """Not journaled: the store keeps phases."""

    def record_status(self, status: SourceStatus) -> None:
        """Not journaled: the store keeps status events."""

    def record_annotation(self, annotation: Annotation) -> None:
        """Not journaled: the store keeps annotations."""

    def record_raw(self, chunk: RawChunk) -> None:
        """Not journaled: the store keeps the strap's raw data (the journal is beats only)."""

    def record_body(self, found: BreathRecord | MovementSegment) -> None:
        """Not journaled: the store keeps breaths and movement."""

    def close(self) -> None:
        self.__exit__(None, None, None)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass(frozen=True, slots=True)
class RecordedBeats:
    """A recording read back: one entry per beat, in the order recorded."""

    time_s: list[float]
    rr_ms: list[float]
    usable: list[bool]  # False where the strap reported no skin contact


def read_recording(path: Path) -> RecordedBeats:
    """Read a file written by CsvRecorder (its times, RR and contact flags)."""
    times: list[float] = []
    rrs: list[float] = []
    usable: list[bool] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(str(path), f"cannot read recording ({exc})") from None
    for number, line in enumerate(lines, start=1):
        if not line or line.startswith("#") or line == HEADER.strip():
            continue
        try:
            time_text, rr_text, contact, _gap = line.split(",")
            times.append(float(time_text))
            rrs.append(float(rr_text))
        except ValueError:
            raise InputError(f"{path}:{number}", f"not a recording line: {line!r}") from None
        usable.append(contact != "0")
    return RecordedBeats(times, rrs, usable)
