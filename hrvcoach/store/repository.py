"""The session log's reads and writes (sessions, beats, phases, annotations, markers, profile)
on top of Database: one method per question the rest of hrvcoach asks of the store."""

from __future__ import annotations

import array
import json
import math
import os
import socket
import sqlite3
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hrvcoach.core.beats import Beat
from hrvcoach.core.errors import InputError
from hrvcoach.core.markers import MarkerValue, decode_stored
from hrvcoach.core.raw import BreathRecord, MovementSegment, RawChunk, RawStream
from hrvcoach.core.records import Annotation, BeatColumns, PhaseRecord, canonical_time_s
from hrvcoach.store.db import LOCK_DIR, Database, SessionLock, SessionStatus, now_iso, plus_seconds
from hrvcoach.store.schema import beats_sha256

__all__ = ["ClassMember", "SessionInfo", "Store", "StoredProfile"]


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One row of the session log."""

    id: int
    started_at: str
    ended_at: str | None
    duration_s: float | None  # session time of the last beat
    source: str
    device: str
    protocol: str
    status: SessionStatus
    end_reason: str
    origin: str
    n_beats: int
    markers_done: bool
    raw_data: bool = False  # the strap's raw ECG/accelerometer were recorded

    @property
    def date(self) -> str:
        """The local calendar date the session started (YYYY-MM-DD)."""
        return self.started_at[:10]


@dataclass(frozen=True, slots=True)
class ClassMember:
    """One participant's session in a class."""

    session_id: int
    participant: str  # the teacher's label (stays in the data folder)
    pseudonym: str  # P1, P2, ...: what exports carry


@dataclass(frozen=True, slots=True)
class StoredProfile:
    resonance_breaths_per_min: float | None
    assessed_at: str | None
    session: str | None
    scores: list[dict[str, Any]]


class Store(Database):
    """The SQLite session log of one data folder. Open with `Store.open(data_dir)`; close it
    (or use `with`). One Store object is used by one thread at a time, except through the lock
    that StoreRecorder takes."""

    # ---- sessions ------------------------------------------------------------------------

    def begin_session(self, *, protocol: str, source: str, device: str = "", origin: str = "",
                      started_at: str | None = None) -> tuple[int, SessionLock]:
        """A new `running` session; its lock is held until `end_session` (or the process dies)."""
        session_lock = SessionLock.acquire(self.data_dir / LOCK_DIR)
        try:
            with self.transaction() as db:
                cursor = db.execute(
                    "INSERT INTO sessions (started_at, source, device, protocol, status, origin,"
                    " lock_token, pid, host, alive_at) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                    (started_at or now_iso(), source, device, protocol, origin, session_lock.token,
                     os.getpid(), socket.gethostname(), time.time()))
        except BaseException:
            session_lock.release()
            raise
        return int(cursor.lastrowid or 0), session_lock

    def end_session(self, session_id: int, status: SessionStatus, reason: str,
                    session_lock: SessionLock | None = None) -> None:
        """Close a session: its end time, duration (last beat), status; the last phase ends at
        the last beat when the session stopped early."""
        with self.transaction() as db:
            self._close_session(db, session_id, status, reason, now_iso())
        if session_lock is not None:
            session_lock.release()

    def heartbeat(self, session_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE sessions SET alive_at = ? WHERE id = ?", (time.time(), session_id))

    def add_phase(self, session_id: int, phase: PhaseRecord) -> None:
        with self.transaction() as db:
            self._insert_phases(db, session_id, [phase])

    def _insert_phases(self, db: sqlite3.Connection, session_id: int,
                       phases: Iterable[PhaseRecord]) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO phases (session_id, idx, name, kind, start_s, end_s,"
            " breaths_per_min, ramp_to_breaths_per_min, pacing, compare)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(session_id, p.index, p.name, p.kind, canonical_time_s(p.start_s),
              canonical_time_s(p.end_s), p.breaths_per_min, p.ramp_to_breaths_per_min, p.pacing,
              p.compare) for p in phases])

    def record_items(self, session_id: int, next_seq: int,
                     items: Sequence[Beat | PhaseRecord | Annotation | str | RawChunk
                                     | BreathRecord | MovementSegment]) -> int:
        """A live session's beats, phases, annotations and strap name (str), in their order, in
        one transaction; the seq of the beat after them."""
        with self.transaction() as db:
            for item in items:
                if isinstance(item, Beat):
                    self._insert_beats(db, session_id, next_seq, [item])
                    next_seq += 1
                elif isinstance(item, PhaseRecord):
                    self._insert_phases(db, session_id, [item])
                elif isinstance(item, Annotation):
                    self._insert_annotations(db, session_id, [item])
                elif isinstance(item, RawChunk):
                    self._insert_raw(db, session_id, item)
                elif isinstance(item, BreathRecord):
                    self._insert_breath(db, session_id, item)
                elif isinstance(item, MovementSegment):
                    self._insert_movement(db, session_id, [item])
                else:
                    db.execute("UPDATE sessions SET device = ? WHERE id = ? AND device = ''",
                               (item, session_id))
        return next_seq

    @staticmethod
    def _insert_beats(db: sqlite3.Connection, session_id: int, first_seq: int,
                      beats: Sequence[Beat]) -> None:
        db.executemany(
            "INSERT INTO beats (session_id, seq, time_s, rr_ms, contact, after_gap)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(session_id, first_seq + i, canonical_time_s(b.time_s), float(b.rr_ms),
              None if b.contact is None else int(b.contact), int(b.after_gap))
             for i, b in enumerate(beats)])

    @staticmethod
    def _insert_raw(db: sqlite3.Connection, session_id: int, chunk: RawChunk) -> None:
        (seq,) = db.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM raw_chunks WHERE session_id = ?"
                            " AND stream = ?", (session_id, chunk.stream)).fetchone()
        db.execute("INSERT INTO raw_chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (session_id, chunk.stream, seq, chunk.start_s, chunk.rate_hz, chunk.n_samples,
                    chunk.sensor_ns, int(chunk.after_gap), _int32_blob(chunk.values)))

    @staticmethod
    def _insert_breath(db: sqlite3.Connection, session_id: int, b: BreathRecord) -> None:
        (seq,) = db.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM breaths WHERE session_id = ?",
                            (session_id,)).fetchone()
        db.execute("INSERT INTO breaths VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (session_id, seq, b.onset_s, b.duration_s, b.inhale_s, b.depth_mg,
                    int(b.moving), b.paced_per_min, b.pacer_phase))

    @staticmethod
    def _insert_movement(db: sqlite3.Connection, session_id: int,
                         segments: Iterable[MovementSegment]) -> None:
        db.executemany("INSERT OR REPLACE INTO movement VALUES (?, ?, ?, ?)",
                       [(session_id, m.start_s, m.end_s, m.kind) for m in segments])

    def raw_chunks(self, session_id: int, stream: RawStream) -> list[RawChunk]:
        """A session's raw chunks of one stream, in arrival order."""
        with self.lock:
            rows = self._db.execute(
                "SELECT start_s, rate_hz, sensor_ns, after_gap, samples FROM raw_chunks WHERE"
                " session_id = ? AND stream = ? ORDER BY seq", (session_id, stream)).fetchall()
        return [RawChunk(stream, start_s, rate_hz, _int32_values(blob), int(sensor_ns),
                         bool(gap)) for start_s, rate_hz, sensor_ns, gap, blob in rows]

    def breaths(self, session_id: int) -> list[BreathRecord]:
        with self.lock:
            rows = self._db.execute(
                "SELECT onset_s, duration_s, inhale_s, depth_mg, moving, paced_per_min,"
                " pacer_phase FROM breaths WHERE session_id = ? ORDER BY seq",
                (session_id,)).fetchall()
        return [BreathRecord(a, b, c, math.nan if d is None else d, bool(e), f, g)
                for a, b, c, d, e, f, g in rows]  # SQLite keeps a NaN depth as NULL

    def movement(self, session_id: int) -> list[MovementSegment]:
        with self.lock:
            rows = self._db.execute("SELECT start_s, end_s, kind FROM movement WHERE"
                                    " session_id = ? ORDER BY start_s", (session_id,)).fetchall()
        return [MovementSegment(start, end, kind) for start, end, kind in rows]

    def add_annotation(self, session_id: int, annotation: Annotation) -> None:
        with self.transaction() as db:
            self._insert_annotations(db, session_id, [annotation])

    @staticmethod
    def _insert_annotations(db: sqlite3.Connection, session_id: int,
                            annotations: Iterable[Annotation]) -> None:
        db.executemany("INSERT INTO annotations (session_id, time_s, kind, text) VALUES (?, ?, ?, ?)",
                       [(session_id, canonical_time_s(a.time_s), a.kind, a.text)
                        for a in annotations])

    def import_session(self, *, started_at: str, protocol: str, origin: str, content_sha256: str | None,
                       phases: Sequence[PhaseRecord], beats: Sequence[Beat],
                       annotations: Sequence[Annotation] = (), source: str = "import",
                       device: str = "", status: SessionStatus = "imported",
                       end_reason: str = "imported", breaths: Sequence[BreathRecord] = (),
                       movement: Sequence[MovementSegment] = ()) -> int:
        """Write a whole recording as one session (`imported`, or `recovered` from a journal), in
        one transaction (all or nothing). A recording whose beats are already stored (whatever
        file they came in) is refused."""
        key = beats_sha256(b.rr_ms for b in beats)
        with self.transaction() as db:
            duplicate = db.execute("SELECT id, status FROM sessions WHERE beats_sha256 = ? OR"
                                   " (content_sha256 IS NOT NULL AND content_sha256 = ?)",
                                   (key, content_sha256)).fetchone()
            if duplicate is not None:
                how = "imported" if duplicate[1] == "imported" else "in the store"
                raise InputError(origin, f"already {how} as session {duplicate[0]} (the same beats)")
            last = max((b.time_s for b in beats), default=None)
            cursor = db.execute(
                "INSERT INTO sessions (started_at, ended_at, duration_s, source, device, protocol,"
                " status, end_reason, origin, content_sha256, beats_sha256) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (started_at, plus_seconds(started_at, last or 0.0),
                 None if last is None else canonical_time_s(last), source, device, protocol,
                 status, end_reason, origin, content_sha256, key))
            session_id = int(cursor.lastrowid or 0)
            self._insert_phases(db, session_id, phases)
            self._insert_beats(db, session_id, 0, beats)
            self._insert_annotations(db, session_id, annotations)
            for breath in breaths:
                self._insert_breath(db, session_id, breath)
            self._insert_movement(db, session_id, movement)
        return session_id

    def join_class(self, members: Sequence[ClassMember]) -> int:
        """Link the members' sessions as one class; returns the new class id."""
        with self.transaction() as db:
            (last,) = db.execute("SELECT MAX(class_id) FROM sessions").fetchone()
            class_id = int(last or 0) + 1
            db.executemany("UPDATE sessions SET class_id = ?, participant = ?, pseudonym = ?"
                           " WHERE id = ?", [(class_id, m.participant, m.pseudonym, m.session_id)
                                             for m in members])
        return class_id

    def class_members(self, class_id: int) -> list[ClassMember]:
        """The sessions of a class, in the order they were joined (InputError: no such class)."""
        with self.lock:
            rows = self._db.execute("SELECT id, participant, pseudonym FROM sessions WHERE"
                                    " class_id = ? ORDER BY id", (class_id,)).fetchall()
        if not rows:
            raise InputError("CLASS", f"no class {class_id}")
        return [ClassMember(int(row[0]), row[1], row[2]) for row in rows]

    def delete_session(self, session_id: int) -> None:
        """Remove a session with its beats, phases, annotations and markers."""
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        self.damaged.pop(session_id, None)

    def append_beats(self, session_id: int, first_seq: int, beats: Sequence[Beat]) -> None:
        """Beats found after a session was closed (in its journal), with its key renewed."""
        with self.transaction() as db:
            self._insert_beats(db, session_id, first_seq, beats)
            last = db.execute("SELECT MAX(time_s) FROM beats WHERE session_id = ?",
                              (session_id,)).fetchone()[0]
            key = beats_sha256(row[0] for row in db.execute(
                "SELECT rr_ms FROM beats WHERE session_id = ? ORDER BY seq", (session_id,)))
            db.execute("UPDATE sessions SET duration_s = ?, beats_sha256 = ?, markers_at = NULL"
                       " WHERE id = ?", (last, key, session_id))
            db.execute("UPDATE phases SET end_s = ? WHERE session_id = ? AND end_s < ? AND idx ="
                       " (SELECT MAX(idx) FROM phases WHERE session_id = ?)",
                       (last, session_id, last, session_id))

    def origin(self, session_id: int) -> str:
        """Where a session came from: its journal, or the imported file ('' if unknown)."""
        with self.lock:
            row = self._db.execute("SELECT origin FROM sessions WHERE id = ?",
                                   (session_id,)).fetchone()
        if row is None:
            raise InputError("SESSION", f"no session {session_id} (see `hrvcoach sessions`)")
        return str(row[0] or "")

    def origins(self) -> set[str]:
        """The file names of every session's origin (its journal, or the imported file)."""
        with self.lock:
            rows = self._db.execute("SELECT origin FROM sessions").fetchall()
        return {Path(str(row[0])).name for row in rows if row[0]}

    # ---- markers ---------------------------------------------------------------------------

    def save_markers(self, session_id: int, markers: Mapping[int, Mapping[str, MarkerValue]],
                     artifacts: Mapping[int, str]) -> None:
        """Per-phase markers ({phase index: {name: value}}) and the artifact kind of flagged beats
        ({seq: kind}); replaces earlier ones and marks the session's markers as done."""
        rows = [(session_id, index, name, _finite_or_none(value))
                for index, values in markers.items() for name, value in values.items()]
        with self.transaction() as db:
            db.execute("DELETE FROM phase_markers WHERE session_id = ?", (session_id,))
            db.executemany("INSERT INTO phase_markers VALUES (?, ?, ?, ?)", rows)
            db.execute("UPDATE beats SET artifact = NULL WHERE session_id = ? AND artifact IS NOT"
                       " NULL", (session_id,))
            db.executemany("UPDATE beats SET artifact = ? WHERE session_id = ? AND seq = ?",
                           [(kind, session_id, seq) for seq, kind in artifacts.items()])
            db.execute("UPDATE sessions SET markers_at = ? WHERE id = ?", (now_iso(), session_id))

    def markers(self, session_id: int) -> dict[int, dict[str, MarkerValue]]:
        """{phase index: {name: value}}, each value as its catalogue kind (flags as bool)."""
        with self.lock:
            rows = self._db.execute("SELECT phase_idx, name, value FROM phase_markers WHERE"
                                    " session_id = ? ORDER BY phase_idx", (session_id,)).fetchall()
        found: dict[int, dict[str, MarkerValue]] = {}
        for index, name, value in rows:
            found.setdefault(int(index), {})[name] = decode_stored(name, value)
        return found

    def all_markers(self) -> dict[int, dict[int, dict[str, MarkerValue]]]:
        """{session id: {phase index: {name: value}}} for every session (one query)."""
        with self.lock:
            rows = self._db.execute("SELECT session_id, phase_idx, name, value FROM phase_markers"
                                    ).fetchall()
        found: dict[int, dict[int, dict[str, MarkerValue]]] = {}
        for session_id, index, name, value in rows:
            if session_id in self.damaged:
                continue
            found.setdefault(int(session_id), {}).setdefault(int(index), {})[name] = \
                decode_stored(name, value)
        return found

    def sessions_without_markers(self) -> list[int]:
        with self.lock:
            rows = self._db.execute("SELECT id FROM sessions WHERE markers_at IS NULL AND status"
                                    " != 'running' ORDER BY id").fetchall()
        return [int(row[0]) for row in rows if row[0] not in self.damaged]

    # ---- reading ---------------------------------------------------------------------------

    _SESSION_COLUMNS: Final = (
        "s.id, s.started_at, s.ended_at, s.duration_s, s.source, s.device, s.protocol, s.status,"
        " s.end_reason, s.origin, (SELECT COUNT(*) FROM beats b WHERE b.session_id = s.id),"
        " s.markers_at IS NOT NULL,"
        " EXISTS (SELECT 1 FROM raw_chunks r WHERE r.session_id = s.id)")

    def sessions(self) -> list[SessionInfo]:
        """Every session, oldest first (but damaged ones: see `damaged`)."""
        with self.lock:
            rows = self._db.execute(f"SELECT {self._SESSION_COLUMNS} FROM sessions s"
                                    " ORDER BY s.started_at, s.id").fetchall()
        return [_session_info(row) for row in rows if row[0] not in self.damaged]

    def session(self, session_id: int) -> SessionInfo:
        if session_id in self.damaged:
            raise InputError("SESSION", f"session {session_id} is damaged ({self.damaged[session_id]})"
                             f": `hrvcoach sessions delete {session_id}` removes it")
        with self.lock:
            row = self._db.execute(f"SELECT {self._SESSION_COLUMNS} FROM sessions s WHERE s.id = ?",
                                   (session_id,)).fetchone()
        if row is None:
            raise InputError("SESSION", f"no session {session_id} (see `hrvcoach sessions`)")
        return _session_info(row)

    def resolve(self, spec: str) -> SessionInfo:
        """A session by id or 'last' (the most recently started)."""
        text = spec.strip().lower()
        if text == "last":
            with self.lock:
                rows = self._db.execute("SELECT id FROM sessions ORDER BY started_at DESC, id DESC"
                                        ).fetchall()
            usable = [int(row[0]) for row in rows if row[0] not in self.damaged]
            if not usable:
                raise InputError("SESSION", "no sessions recorded yet")
            return self.session(usable[0])
        if not text.isdigit() or len(text) > 18:
            raise InputError("SESSION", f"expected a session id or 'last', got {spec[:40]!r}")
        return self.session(int(text))

    def phases(self, session_id: int) -> list[PhaseRecord]:
        with self.lock:
            rows = self._db.execute(
                "SELECT idx, name, kind, start_s, end_s, breaths_per_min, ramp_to_breaths_per_min,"
                " pacing, compare FROM phases WHERE session_id = ? ORDER BY idx",
                (session_id,)).fetchall()
        return [PhaseRecord(*row) for row in rows]

    def beats(self, session_id: int) -> BeatColumns:
        with self.lock:
            rows = self._db.execute("SELECT time_s, rr_ms, contact, after_gap, artifact FROM beats"
                                    " WHERE session_id = ? ORDER BY seq", (session_id,)).fetchall()
        if not rows:
            return BeatColumns((), (), (), (), ())
        times, rrs, contacts, gaps, artifacts = zip(*rows, strict=True)
        return BeatColumns(tuple(times), tuple(rrs),
                           tuple(None if c is None else bool(c) for c in contacts),
                           tuple(bool(g) for g in gaps), tuple(artifacts))

    def annotations(self, session_id: int) -> list[Annotation]:
        with self.lock:
            rows = self._db.execute("SELECT time_s, kind, text FROM annotations WHERE session_id = ?"
                                    " ORDER BY time_s, id", (session_id,)).fetchall()
        return [Annotation(*row) for row in rows]

    # ---- profile -------------------------------------------------------------------------

    def profile(self) -> StoredProfile | None:
        with self.lock:
            row = self._db.execute("SELECT resonance_breaths_per_min, assessed_at, session, scores_json FROM"
                                   " profile WHERE id = 1").fetchone()
        if row is None:
            return None
        return StoredProfile(row[0], row[1], row[2], json.loads(row[3]))

    def save_profile(self, profile: StoredProfile) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO profile VALUES (1, ?, ?, ?, ?)",
                       (profile.resonance_breaths_per_min, profile.assessed_at, profile.session,
                        json.dumps(profile.scores)))




def _session_info(row: tuple[Any, ...]) -> SessionInfo:
    return SessionInfo(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                       row[8], row[9], int(row[10]), bool(row[11]), bool(row[12]))


def _int32_blob(values: Sequence[int]) -> bytes:
    packed = array.array("i", values)
    if sys.byteorder == "big":  # pragma: no cover - stored little-endian everywhere
        packed.byteswap()
    return packed.tobytes()


def _int32_values(blob: bytes) -> tuple[int, ...]:
    packed = array.array("i")
    packed.frombytes(blob)
    if sys.byteorder == "big":  # pragma: no cover
        packed.byteswap()
    return tuple(packed)


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


