"""The CSV journal of a live session: each beat written to its own line the moment it arrives
(before the store), so a crash loses nothing. It keeps beats only; the store keeps the rest.

A write that fails (a full disk) loses nothing either: the file is cut back to its last whole
line, the beats wait in memory, `problem` says why, and every later beat (or `retry`) tries
again, in order. The file reads back with hrvcoach.files.rr_files.read_rr_file (its RR column is
`rr_ms`), with `read_recording`, and, tolerating a last line cut by a crash, `read_journal`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from hrvcoach.core.beats import Beat, SourceStatus
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.core.raw import BreathRecord, MovementSegment, RawChunk
from hrvcoach.core.records import Annotation, PhaseRecord

__all__ = ["HEADER", "CsvJournal", "JournalError", "JournalRecording", "read_journal",
           "read_recording"]

HEADER: Final = "time_s,rr_ms,contact,after_gap\n"
MARK: Final = "# hrvcoach recording "
MAX_LABEL_CHARS: Final = 60  # of the protocol name in the file name (file names end at 255 bytes)
FULL_DISK_ERRNOS: Final = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class JournalError(HrvcoachError):
    """The journal cannot be created (CLI: one line, exit 1)."""


class CsvJournal:
    """Appends one line per beat and flushes it; use as a context manager. A SessionRecorder
    (hrvcoach.session) that keeps beats only."""

    def __init__(self, path: Path, *, comment: str = "") -> None:
        self.path = path
        self._descriptor: int | None = None
        self._comment = comment
        self._written = 0  # bytes of whole lines on disk
        self._pending: list[bytes] = []  # lines that could not be written yet
        self.problem: str | None = None  # why lines are waiting (None: all written)

    @classmethod
    def in_folder(cls, folder: Path, label: str) -> CsvJournal:
        """A new recording named by the local start time and a label (e.g. the protocol)."""
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in label[:MAX_LABEL_CHARS])
        return cls(folder / f"{stamp}-{safe}.csv", comment=label)

    def __enter__(self) -> Self:
        """Create the file (user-only, never through a symbolic link); a name already taken gets
        a "-2", "-3", … suffix."""
        first = self.path
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for attempt in range(2, 1000):
                try:
                    self._descriptor = os.open(
                        self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                    break
                except FileExistsError:
                    self.path = first.with_name(f"{first.stem}-{attempt}{first.suffix}")
            else:
                raise JournalError(f"{first}: no free recording file name")
            os.fchmod(self._descriptor, 0o600)
        except OSError as exc:
            raise JournalError(f"{first.parent}: cannot start a recording ({exc.strerror or exc})"
                               ) from None
        started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        comment = " ".join(self._comment.split())  # one line, whatever the label holds
        self._write(f"{MARK}{comment} started {started}\n{HEADER}".encode())
        if self.problem is not None:
            self.close()
            raise JournalError(f"{self.path}: cannot start a recording ({self.problem})")
        return self

    @classmethod
    def open_in(cls, folder: Path, label: str) -> CsvJournal:
        """A new journal, opened, in a user-only folder (created if missing)."""
        if not folder.exists():
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            except OSError as exc:
                raise JournalError(f"{folder}: cannot start a recording ({exc.strerror or exc})"
                                   ) from None
        return cls.in_folder(folder, label).__enter__()

    @property
    def waiting(self) -> int:
        """Lines held in memory until they can be written."""
        return len(self._pending)

    def record_beat(self, beat: Beat) -> None:
        if self._descriptor is None:
            raise RuntimeError("CsvJournal.record_beat outside 'with'")
        contact = "" if beat.contact is None else int(beat.contact)
        self._write(f"{beat.time_s:.4f},{beat.rr_ms!r},{contact},{int(beat.after_gap)}\n".encode())

    def retry(self) -> None:
        """Write what is waiting (e.g. once the disk has room again)."""
        self._write(b"")

    def _write(self, line: bytes) -> None:
        """Write the waiting lines and then `line`, each whole or not at all."""
        if line:
            self._pending.append(line)
        assert self._descriptor is not None
        while self._pending:
            data = self._pending[0]
            try:
                done = 0
                while done < len(data):
                    done += os.write(self._descriptor, data[done:])
            except OSError as exc:
                self._cut_back()
                self.problem = ("the disk is full" if exc.errno in FULL_DISK_ERRNOS
                                else exc.strerror or str(exc))
                return
            self._written += len(data)
            self._pending.pop(0)
        self.problem = None

    def _cut_back(self) -> None:
        """Remove a line written in part, so the file ends with a whole line."""
        assert self._descriptor is not None
        try:
            os.ftruncate(self._descriptor, self._written)
            os.lseek(self._descriptor, self._written, os.SEEK_SET)
        except OSError:
            pass  # the reader tolerates a cut last line (read_journal)

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
        if self._descriptor is not None:
            if self._pending:
                self.retry()
            with contextlib.suppress(OSError):
                os.fsync(self._descriptor)
            os.close(self._descriptor)
            self._descriptor = None


@dataclass(frozen=True, slots=True)
class RecordedBeats:
    """A recording read back: one entry per beat, in the order recorded."""

    time_s: list[float]
    rr_ms: list[float]
    usable: list[bool]  # False where the strap reported no skin contact


def read_recording(path: Path) -> RecordedBeats:
    """Read a file written by CsvJournal (its times, RR and contact flags)."""
    journal = read_journal(path, tolerate_cut_end=False)
    return RecordedBeats([b.time_s for b in journal.beats], [b.rr_ms for b in journal.beats],
                         [b.usable for b in journal.beats])


@dataclass(frozen=True, slots=True)
class JournalRecording:
    """A journal read back: its header and its beats."""

    path: Path
    protocol: str | None
    started_at: str | None
    beats: list[Beat]


def read_journal(path: Path, *, tolerate_cut_end: bool = True) -> JournalRecording:
    """Read a CSV journal; with `tolerate_cut_end` a last line cut short (a crash in the middle
    of a write) is left out instead of refused."""
    try:
        lines = path.read_bytes().decode("utf-8", errors="replace").split("\n")
    except OSError as exc:
        raise InputError(str(path), f"cannot read recording ({exc.strerror or exc})") from None
    protocol = started = None
    beats: list[Beat] = []
    last = len(lines)
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if line.startswith(MARK):
            parts = line[len(MARK):].rsplit(" started ", 1)
            if len(parts) == 2:
                protocol, started = parts[0].strip() or None, parts[1].strip()
            continue
        if not line or line.startswith("#") or line == HEADER.strip():
            continue
        try:
            time_text, rr_text, contact, gap = line.split(",")
            contact_flag = None if contact == "" else {"0": False, "1": True}[contact]
            beats.append(Beat(float(rr_text), float(time_text), contact_flag,
                              {"0": False, "1": True}[gap]))
        except (ValueError, KeyError):
            if tolerate_cut_end and number >= last - 1:
                break
            raise InputError(f"{path}:{number}", f"not a recording line: {line[:60]!r}") from None
    return JournalRecording(path, protocol, started, beats)
