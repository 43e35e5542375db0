"""The session store: one SQLite file in the data folder (the only module that imports sqlite3).

What it keeps, and why it is built this way:

- **Every beat, as it arrived** (RR in ms exactly as reported, session time to 0.1 ms, sensor
  contact, after-gap, and the artifact kind found later). `StoreRecorder` appends each beat to
  its buffer before the session does anything else with it and commits it in a short transaction
  at once, or (when beats come faster) at most COMMIT_EVERY_S later, by the next beat or by a
  background thread: a kill -9 loses at most the last ~0.6 s of beats.
- **WAL mode, synchronous=FULL, busy_timeout**: readers never block the recorder, a second
  process (another coach, `hrvcoach sessions`) waits for the lock instead of failing, and a
  committed beat survives a crash of the process and of the machine.
- **Interrupted sessions**: a recording session holds an exclusive lock (flock) on its own lock
  file for as long as it runs; the kernel drops it when the process dies, however it dies.
  `Store.open` marks every `running` session whose lock is free as `interrupted`, closes its last
  phase at its last beat and leaves its markers to be computed (`sessions_without_markers`).
  Where flock does not exist, a session counts as dead once its heartbeat is STALE_AFTER_S old.
- **Schema version + migrations**: `schema_version` holds the version; each migration runs in
  its own IMMEDIATE transaction (two processes cannot both apply it), and an existing file is
  copied to `hrvcoach.db.bak-v<N>` before it is migrated. A file from a newer hrvcoach is refused.
- **Private**: the data folder is created 0700 and the database, its WAL and lock files 0600.

Times: `started_at`/`ended_at` are ISO 8601 local times with their UTC offset; beat and phase
times are session seconds (0 = session start).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import math
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.core.markers import LEGACY_NAMES, current_names

try:  # POSIX: the kernel releases a flock when its process dies, even by kill -9
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "COMMIT_EVERY_S",
    "DB_FILE",
    "SCHEMA_VERSION",
    "NewPhase",
    "SessionInfo",
    "SessionStatus",
    "Store",
    "StoreError",
    "StoreRecorder",
    "StoredAnnotation",
    "StoredBeats",
    "StoredPhase",
    "StoredProfile",
]

log = logging.getLogger(__name__)

DB_FILE: Final = "hrvcoach.db"
LOCK_DIR: Final = "locks"
COMMIT_EVERY_S: Final = 0.5  # a beat is committed at most this long after it arrived (+ one tick)
_FLUSH_TICK_S: Final = 0.1  # how often the recorder's thread looks for beats waiting to commit
HEARTBEAT_EVERY_S: Final = 5.0  # a running session refreshes alive_at this often
STALE_AFTER_S: Final = 60.0  # without flock: a running session this quiet is taken as dead
BUSY_TIMEOUT_MS: Final = 10_000  # wait this long for another process's write lock
TIME_DECIMALS: Final = 4  # session times are kept to 0.1 ms (the CSV journal's resolution)

SessionStatus = Literal["running", "completed", "stopped", "interrupted", "imported"]
SESSION_STATUSES: Final[tuple[SessionStatus, ...]] = (
    "running", "completed", "stopped", "interrupted", "imported")


class StoreError(HrvcoachError):
    """The session store cannot be opened or written (CLI: one line, exit 1)."""


_SCHEMA_V1: Final = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,                 -- ISO 8601, local time with UTC offset
    ended_at TEXT,                            -- NULL while running
    duration_s REAL,                          -- session time of the last beat
    source TEXT NOT NULL,                     -- simulator | replay | ble | import
    device TEXT NOT NULL DEFAULT '',
    protocol TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN
        ('running', 'completed', 'stopped', 'interrupted', 'imported')),
    end_reason TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL DEFAULT '',          -- the CSV journal, or the imported file
    content_sha256 TEXT,                      -- of an imported file (no double imports)
    lock_token TEXT,                          -- LOCK_DIR/<token>.lock is held while running
    pid INTEGER,
    host TEXT,
    alive_at REAL,                            -- unix time of the last heartbeat while running
    markers_at TEXT                           -- when markers were computed; NULL: still to do
);
CREATE UNIQUE INDEX sessions_content ON sessions(content_sha256) WHERE content_sha256 IS NOT NULL;
CREATE INDEX sessions_started ON sessions(started_at);

CREATE TABLE phases (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,                     -- 0-based position in the protocol
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('baseline', 'paced', 'recovery', 'free')),
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,                      -- planned end; the last beat's time once cut short
    breaths_per_min REAL,                     -- NULL: spontaneous breathing
    ramp_to_breaths_per_min REAL,
    pacing TEXT NOT NULL DEFAULT '',          -- e.g. '6 breaths/min (4 s in, 6 s out)'
    compare TEXT CHECK (compare IN ('before', 'after')),
    PRIMARY KEY (session_id, idx)
) WITHOUT ROWID;

CREATE TABLE beats (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,                     -- 0, 1, 2, ... in arrival order
    time_s REAL NOT NULL,
    rr_ms REAL NOT NULL,                      -- as the strap reported it, never rounded
    contact INTEGER CHECK (contact IN (0, 1)),  -- NULL: the strap does not say
    after_gap INTEGER NOT NULL CHECK (after_gap IN (0, 1)),
    artifact TEXT,                            -- ectopic | missed | extra | long_short | NULL
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    time_s REAL NOT NULL,
    kind TEXT NOT NULL,                       -- a source status ('contact lost', ...) or 'note'
    text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX annotations_session ON annotations(session_id, time_s);

CREATE TABLE phase_markers (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    phase_idx INTEGER NOT NULL,
    name TEXT NOT NULL,                       -- e.g. rmssd_ms, ln_rmssd, mean_hr_bpm
    value REAL,                               -- NULL: not computable (too short, not valid)
    PRIMARY KEY (session_id, phase_idx, name)
) WITHOUT ROWID;

CREATE TABLE profile (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    resonance_bpm REAL,
    assessed_at TEXT,
    session TEXT,
    scores_json TEXT NOT NULL DEFAULT '[]'
);
"""

# Schema 2: one name per marker (hrvcoach.core.markers): stored marker names and the profile's
# column and score keys take their catalogue names (LEGACY_NAMES); the scores are rewritten by
# _rename_profile_scores in the same transaction.
_SCHEMA_V2: Final = f"""
UPDATE phase_markers SET name = CASE name {" ".join(
    f"WHEN '{old}' THEN '{new}'" for old, new in LEGACY_NAMES.items())} ELSE name END;
ALTER TABLE profile RENAME COLUMN resonance_bpm TO resonance_breaths_per_min;
"""


def _rename_profile_scores(db: sqlite3.Connection) -> None:
    for row_id, scores in db.execute("SELECT id, scores_json FROM profile").fetchall():
        renamed = [current_names(score) for score in json.loads(scores)]
        db.execute("UPDATE profile SET scores_json = ? WHERE id = ?", (json.dumps(renamed), row_id))


Migration = Callable[[sqlite3.Connection], None]
# (version, SQL, then Python). Append new versions; never edit a released one.
MIGRATIONS: list[tuple[int, str, Migration | None]] = [
    (1, _SCHEMA_V1, None),
    (2, _SCHEMA_V2, _rename_profile_scores),
]
SCHEMA_VERSION: Final = MIGRATIONS[-1][0]


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

    @property
    def date(self) -> str:
        """The local calendar date the session started (YYYY-MM-DD)."""
        return self.started_at[:10]


@dataclass(frozen=True, slots=True)
class NewPhase:
    """A phase as a session or an import records it."""

    index: int
    name: str
    kind: str
    start_s: float
    end_s: float
    breaths_per_min: float | None = None
    ramp_to_breaths_per_min: float | None = None
    pacing: str = ""
    compare: str | None = None


StoredPhase = NewPhase


@dataclass(frozen=True, slots=True)
class StoredBeats:
    """A session's beats, column by column, in arrival order."""

    time_s: tuple[float, ...]
    rr_ms: tuple[float, ...]
    contact: tuple[bool | None, ...]
    after_gap: tuple[bool, ...]
    artifact: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.rr_ms)

    @property
    def usable(self) -> tuple[bool, ...]:
        """False where the strap said it had no skin contact."""
        return tuple(contact is not False for contact in self.contact)


@dataclass(frozen=True, slots=True)
class StoredAnnotation:
    time_s: float
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class StoredProfile:
    resonance_breaths_per_min: float | None
    assessed_at: str | None
    session: str | None
    scores: list[dict[str, Any]]


def now_iso() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def canonical_time_s(time_s: float) -> float:
    """Session times are kept to 0.1 ms, so every export format carries them exactly."""
    return round(float(time_s), TIME_DECIMALS)


def _private_dir(path: Path) -> None:
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)


def _private_file(path: Path) -> None:
    """Create the file 0600 if missing (SQLite gives its -wal and -shm files the same mode)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(descriptor)
    os.chmod(path, 0o600)


class Store:
    """The SQLite session log of one data folder. Open with `Store.open(data_dir)`; close it
    (or use `with`). One Store object is used by one thread at a time, except through the lock
    that StoreRecorder takes."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self.data_dir = path.parent
        self._db = connection
        self.lock = threading.RLock()
        self.recovered: list[int] = []  # sessions this open found dead and marked interrupted

    # ---- opening, schema ---------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path, *, recover: bool = True) -> Store:
        """Open (creating if needed) the store in `data_dir`, migrate it, recover dead sessions."""
        try:
            _private_dir(data_dir)
            path = data_dir / DB_FILE
            existed = path.exists() and path.stat().st_size > 0
            _private_file(path)
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000,
                                         isolation_level=None, check_same_thread=False)
        except OSError as exc:
            raise StoreError(f"{data_dir}: cannot create the session store ({exc})") from None
        except sqlite3.Error as exc:
            raise StoreError(f"{data_dir / DB_FILE}: cannot open the session store ({exc})") from None
        store = cls(path, connection)
        try:
            store._set_up(existed, recover=recover)
        except sqlite3.DatabaseError as exc:
            connection.close()
            raise StoreError(f"{path}: not a usable hrvcoach session store ({exc})") from None
        except BaseException:
            connection.close()
            raise
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                with contextlib.suppress(OSError):
                    os.chmod(side, 0o600)
        return store

    def _set_up(self, existed: bool, *, recover: bool) -> None:
        """WAL mode, schema, recovery. SQLite can answer "database is locked" at once (without
        waiting for busy_timeout) while another process switches a new file to WAL or recovers
        its WAL index; such a start is retried until BUSY_TIMEOUT_MS have passed."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._configure()
                self._migrate(existed)
                if recover:
                    self.recovered = self.recover_dead_sessions()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _configure(self) -> None:
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            log.warning("%s: SQLite refused WAL mode (%s)", self.path, mode)
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("PRAGMA foreign_keys = ON")

    def schema_version(self) -> int:
        exists = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
        if not exists:
            return 0
        row = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self, existed: bool) -> None:
        newest = MIGRATIONS[-1][0]
        current = self.schema_version()
        if current > newest:
            raise StoreError(f"{self.path}: written by a newer hrvcoach (schema {current}, this one "
                             f"knows up to {newest}); upgrade hrvcoach to read it")
        if current == newest:
            return
        if existed and current > 0:
            self._backup(self.path.with_name(f"{self.path.name}.bak-v{current}"))
        for version, script, step in MIGRATIONS:
            with self.transaction():
                if self.schema_version() >= version:  # another process got there first
                    continue
                if version == 1:
                    self._db.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                                     "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                for statement in _statements(script):
                    self._db.execute(statement)
                if step is not None:
                    step(self._db)
                self._db.execute("INSERT INTO schema_version VALUES (?, ?)", (version, now_iso()))
                log.info("%s: schema migrated to version %d", self.path, version)

    def _backup(self, target: Path) -> None:
        if target.exists():
            return
        _private_file(target)
        copy = sqlite3.connect(target)
        try:
            self._db.backup(copy)
        finally:
            copy.close()

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction: BEGIN IMMEDIATE takes the write lock up front, so two
        processes queue (busy_timeout) instead of failing half-way."""
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def integrity_ok(self) -> bool:
        with self.lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # ---- sessions ------------------------------------------------------------------------

    def begin_session(self, *, protocol: str, source: str, device: str = "", origin: str = "",
                      started_at: str | None = None) -> tuple[int, _SessionLock]:
        """A new `running` session; its lock is held until `end_session` (or the process dies)."""
        session_lock = _SessionLock.acquire(self.data_dir / LOCK_DIR)
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
                    session_lock: _SessionLock | None = None) -> None:
        """Close a session: its end time, duration (last beat), status; the last phase ends at
        the last beat when the session stopped early."""
        with self.transaction() as db:
            self._close_session(db, session_id, status, reason, now_iso())
        if session_lock is not None:
            session_lock.release()

    def _close_session(self, db: sqlite3.Connection, session_id: int, status: SessionStatus,
                       reason: str, ended_at: str) -> None:
        last = db.execute("SELECT MAX(time_s) FROM beats WHERE session_id = ?",
                          (session_id,)).fetchone()[0]
        db.execute("UPDATE sessions SET status = ?, end_reason = ?, ended_at = ?, duration_s = ?,"
                   " lock_token = NULL, alive_at = NULL WHERE id = ?",
                   (status, reason, ended_at, last, session_id))
        if last is not None:
            db.execute("UPDATE phases SET end_s = ? WHERE session_id = ? AND end_s > ? AND idx ="
                       " (SELECT MAX(idx) FROM phases WHERE session_id = ?)",
                       (last, session_id, last, session_id))

    def recover_dead_sessions(self) -> list[int]:
        """Mark `running` sessions whose process is gone as `interrupted`; their ids."""
        with self.lock:
            rows = self._db.execute(
                "SELECT id, lock_token, alive_at FROM sessions WHERE status = 'running'").fetchall()
        dead = [row[0] for row in rows
                if not _SessionLock.is_held(self.data_dir / LOCK_DIR, row[1], row[2])]
        for session_id in dead:
            with self.transaction() as db:
                token = db.execute("SELECT lock_token FROM sessions WHERE id = ? AND status ="
                                   " 'running'", (session_id,)).fetchone()
                if token is None:
                    continue  # another process recovered it meanwhile
                started = db.execute("SELECT started_at FROM sessions WHERE id = ?",
                                     (session_id,)).fetchone()[0]
                last = db.execute("SELECT MAX(time_s) FROM beats WHERE session_id = ?",
                                  (session_id,)).fetchone()[0]
                ended_at = _plus_seconds(started, last or 0.0)
                self._close_session(db, session_id, "interrupted",
                                    "the program stopped without closing the session", ended_at)
            if token[0]:
                _SessionLock.remove(self.data_dir / LOCK_DIR, token[0])
            log.info("%s: session %d was interrupted; its beats are kept", self.path, session_id)
        return dead

    def heartbeat(self, session_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE sessions SET alive_at = ? WHERE id = ?", (time.time(), session_id))

    def set_device(self, session_id: int, device: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE sessions SET device = ? WHERE id = ? AND device = ''",
                       (device, session_id))

    def add_phase(self, session_id: int, phase: NewPhase) -> None:
        with self.transaction() as db:
            self._insert_phases(db, session_id, [phase])

    def _insert_phases(self, db: sqlite3.Connection, session_id: int,
                       phases: Iterable[NewPhase]) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO phases (session_id, idx, name, kind, start_s, end_s,"
            " breaths_per_min, ramp_to_breaths_per_min, pacing, compare)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(session_id, p.index, p.name, p.kind, canonical_time_s(p.start_s),
              canonical_time_s(p.end_s), p.breaths_per_min, p.ramp_to_breaths_per_min, p.pacing,
              p.compare) for p in phases])

    def add_beats(self, session_id: int, first_seq: int, beats: Sequence[Beat]) -> None:
        with self.transaction() as db:
            self._insert_beats(db, session_id, first_seq, beats)

    @staticmethod
    def _insert_beats(db: sqlite3.Connection, session_id: int, first_seq: int,
                      beats: Sequence[Beat]) -> None:
        db.executemany(
            "INSERT INTO beats (session_id, seq, time_s, rr_ms, contact, after_gap)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(session_id, first_seq + i, canonical_time_s(b.time_s), float(b.rr_ms),
              None if b.contact is None else int(b.contact), int(b.after_gap))
             for i, b in enumerate(beats)])

    def add_annotation(self, session_id: int, time_s: float, kind: str, text: str = "") -> None:
        with self.transaction() as db:
            self._insert_annotations(db, session_id, [StoredAnnotation(time_s, kind, text)])

    @staticmethod
    def _insert_annotations(db: sqlite3.Connection, session_id: int,
                            annotations: Iterable[StoredAnnotation]) -> None:
        db.executemany("INSERT INTO annotations (session_id, time_s, kind, text) VALUES (?, ?, ?, ?)",
                       [(session_id, canonical_time_s(a.time_s), a.kind, a.text)
                        for a in annotations])

    def import_session(self, *, started_at: str, protocol: str, origin: str, content_sha256: str,
                       phases: Sequence[NewPhase], beats: Sequence[Beat],
                       annotations: Sequence[StoredAnnotation] = (), source: str = "import",
                       device: str = "") -> int:
        """Write a whole recording as one `imported` session, in one transaction (all or nothing)."""
        with self.transaction() as db:
            duplicate = db.execute("SELECT id FROM sessions WHERE content_sha256 = ?",
                                   (content_sha256,)).fetchone()
            if duplicate is not None:
                raise InputError(origin, f"already imported as session {duplicate[0]}")
            last = max((b.time_s for b in beats), default=None)
            cursor = db.execute(
                "INSERT INTO sessions (started_at, ended_at, duration_s, source, device, protocol,"
                " status, end_reason, origin, content_sha256) VALUES (?, ?, ?, ?, ?, ?, 'imported',"
                " 'imported', ?, ?)",
                (started_at, _plus_seconds(started_at, last or 0.0),
                 None if last is None else canonical_time_s(last), source, device, protocol,
                 origin, content_sha256))
            session_id = int(cursor.lastrowid or 0)
            self._insert_phases(db, session_id, phases)
            self._insert_beats(db, session_id, 0, beats)
            self._insert_annotations(db, session_id, annotations)
        return session_id

    def delete_session(self, session_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # ---- markers ---------------------------------------------------------------------------

    def save_markers(self, session_id: int, markers: Mapping[int, Mapping[str, float | None]],
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

    def markers(self, session_id: int) -> dict[int, dict[str, float | None]]:
        with self.lock:
            rows = self._db.execute("SELECT phase_idx, name, value FROM phase_markers WHERE"
                                    " session_id = ? ORDER BY phase_idx", (session_id,)).fetchall()
        found: dict[int, dict[str, float | None]] = {}
        for index, name, value in rows:
            found.setdefault(int(index), {})[name] = value
        return found

    def all_markers(self) -> dict[int, dict[int, dict[str, float | None]]]:
        """{session id: {phase index: {name: value}}} for every session (one query)."""
        with self.lock:
            rows = self._db.execute("SELECT session_id, phase_idx, name, value FROM phase_markers"
                                    ).fetchall()
        found: dict[int, dict[int, dict[str, float | None]]] = {}
        for session_id, index, name, value in rows:
            found.setdefault(int(session_id), {}).setdefault(int(index), {})[name] = value
        return found

    def sessions_without_markers(self) -> list[int]:
        with self.lock:
            rows = self._db.execute("SELECT id FROM sessions WHERE markers_at IS NULL AND status"
                                    " != 'running' ORDER BY id").fetchall()
        return [int(row[0]) for row in rows]

    # ---- reading ---------------------------------------------------------------------------

    _SESSION_COLUMNS: Final = (
        "s.id, s.started_at, s.ended_at, s.duration_s, s.source, s.device, s.protocol, s.status,"
        " s.end_reason, s.origin, (SELECT COUNT(*) FROM beats b WHERE b.session_id = s.id),"
        " s.markers_at IS NOT NULL")

    def sessions(self) -> list[SessionInfo]:
        """Every session, oldest first."""
        with self.lock:
            rows = self._db.execute(f"SELECT {self._SESSION_COLUMNS} FROM sessions s"
                                    " ORDER BY s.started_at, s.id").fetchall()
        return [_session_info(row) for row in rows]

    def session(self, session_id: int) -> SessionInfo:
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
                row = self._db.execute("SELECT id FROM sessions ORDER BY started_at DESC, id DESC"
                                       " LIMIT 1").fetchone()
            if row is None:
                raise InputError("SESSION", "no sessions recorded yet")
            return self.session(int(row[0]))
        if not text.isdigit():
            raise InputError("SESSION", f"expected a session id or 'last', got {spec!r}")
        return self.session(int(text))

    def phases(self, session_id: int) -> list[StoredPhase]:
        with self.lock:
            rows = self._db.execute(
                "SELECT idx, name, kind, start_s, end_s, breaths_per_min, ramp_to_breaths_per_min,"
                " pacing, compare FROM phases WHERE session_id = ? ORDER BY idx",
                (session_id,)).fetchall()
        return [NewPhase(*row) for row in rows]

    def beats(self, session_id: int) -> StoredBeats:
        with self.lock:
            rows = self._db.execute("SELECT time_s, rr_ms, contact, after_gap, artifact FROM beats"
                                    " WHERE session_id = ? ORDER BY seq", (session_id,)).fetchall()
        if not rows:
            return StoredBeats((), (), (), (), ())
        times, rrs, contacts, gaps, artifacts = zip(*rows, strict=True)
        return StoredBeats(tuple(times), tuple(rrs),
                           tuple(None if c is None else bool(c) for c in contacts),
                           tuple(bool(g) for g in gaps), tuple(artifacts))

    def annotations(self, session_id: int) -> list[StoredAnnotation]:
        with self.lock:
            rows = self._db.execute("SELECT time_s, kind, text FROM annotations WHERE session_id = ?"
                                    " ORDER BY time_s, id", (session_id,)).fetchall()
        return [StoredAnnotation(*row) for row in rows]

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


def _statements(script: str) -> list[str]:
    """The statements of a migration script (it has no ';' inside literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def _session_info(row: tuple[Any, ...]) -> SessionInfo:
    return SessionInfo(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                       row[8], row[9], int(row[10]), bool(row[11]))


def _plus_seconds(iso: str, seconds: float) -> str:
    try:
        start = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return (start + dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


class _SessionLock:
    """An exclusive flock on LOCK_DIR/<token>.lock, held while a session records."""

    def __init__(self, token: str, path: Path, descriptor: int | None) -> None:
        self.token = token
        self.path = path
        self._descriptor = descriptor

    @classmethod
    def acquire(cls, folder: Path) -> _SessionLock:
        _private_dir(folder)
        token = uuid.uuid4().hex
        path = folder / f"{token}.lock"
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return cls(token, path, descriptor)

    def release(self) -> None:
        if self._descriptor is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._descriptor)  # closing drops the flock
        self._descriptor = None

    @staticmethod
    def is_held(folder: Path, token: str | None, alive_at: float | None) -> bool:
        """True while the session's recording process is still alive."""
        if not token:
            return False
        if fcntl is None:  # pragma: no cover - Windows: fall back on the heartbeat
            return alive_at is not None and time.time() - alive_at < STALE_AFTER_S
        path = folder / f"{token}.lock"
        try:
            descriptor = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(descriptor)  # also releases the lock if we got it
        return False

    @staticmethod
    def remove(folder: Path, token: str) -> None:
        with contextlib.suppress(OSError):
            (folder / f"{token}.lock").unlink()


class StoreRecorder:
    """A BeatRecorder that writes a session into the store as it happens.

    `append` buffers the beat first thing and commits the buffer in one short transaction unless
    the last commit is less than COMMIT_EVERY_S ago (at a strap's pace every beat is committed as
    it arrives; a fast replay is batched); a background thread commits what is left when no beat
    follows. `on_event` records phases, status events (as annotations) and the
    strap's name; `close` commits the rest and closes the session with its status.
    """

    def __init__(self, store: Store, *, protocol: str, source: str, device: str = "",
                 origin: str = "", commit_every_s: float = COMMIT_EVERY_S) -> None:
        self.store = store
        self.commit_every_s = commit_every_s
        self.session_id, self._lock = store.begin_session(protocol=protocol, source=source,
                                                          device=device, origin=origin)
        self._buffer: list[Beat] = []
        self._last_commit_s = -math.inf  # monotonic time of the last commit
        self._next_seq = 0
        self._mutex = threading.Lock()
        self._closed = threading.Event()
        self._last_heartbeat_s = time.monotonic()
        self.flush_error: BaseException | None = None
        self._thread = threading.Thread(target=self._flush_loop, name="hrvcoach-store-commit",
                                        daemon=True)
        self._thread.start()

    def append(self, beat: Beat) -> None:
        with self._mutex:
            if self._closed.is_set():
                raise RuntimeError("StoreRecorder.append after close")
            self._buffer.append(beat)
            if time.monotonic() - self._last_commit_s >= self.commit_every_s:
                try:
                    self._flush_locked()
                except sqlite3.Error as exc:  # keep coaching: the beats stay buffered (and in
                    log.error("session store: cannot commit beats (%s); retrying", exc)  # the
                    self.flush_error = exc  # CSV journal); close() reports it if it persists

    def flush(self) -> None:
        with self._mutex:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._buffer:
            return
        beats, self._buffer = self._buffer, []
        try:
            self.store.add_beats(self.session_id, self._next_seq, beats)
        except BaseException:
            self._buffer = beats + self._buffer  # keep them for the next try
            raise
        self._next_seq += len(beats)
        self._last_commit_s = time.monotonic()

    def _flush_loop(self) -> None:
        while not self._closed.wait(_FLUSH_TICK_S):
            try:
                with self._mutex:
                    if self._buffer and time.monotonic() - self._last_commit_s >= self.commit_every_s:
                        self._flush_locked()
                if time.monotonic() - self._last_heartbeat_s >= HEARTBEAT_EVERY_S:
                    self._last_heartbeat_s = time.monotonic()
                    self.store.heartbeat(self.session_id)
            except sqlite3.Error as exc:  # retried on the next tick; close() raises it
                log.error("session store: cannot commit beats (%s); retrying", exc)
                self.flush_error = exc

    def on_event(self, event: object) -> None:
        """Record what the session reports besides beats (call it before the views do)."""
        from hrvcoach.session import PhaseStarted  # late: session imports analysis (numpy)

        if isinstance(event, PhaseStarted):
            phase = event.phase
            self.flush()
            self.store.add_phase(self.session_id, NewPhase(
                event.index, phase.name, phase.kind, event.time_s, event.time_s + phase.duration_s,
                phase.breaths_per_min, phase.ramp_to_per_min, phase.pacing_text(), phase.compare))
        elif isinstance(event, SourceStatus) and event.kind is not StatusKind.ENDED:
            text = event.message if event.value is None else f"{event.message} ({event.value:g})"
            self.store.add_annotation(self.session_id, event.time_s, event.kind.value, text)
            if event.kind is StatusKind.CONNECTED and event.message:
                self.store.set_device(self.session_id, event.message)

    def close(self, status: SessionStatus, reason: str) -> None:
        """Commit every buffered beat and close the session."""
        self._closed.set()
        self._thread.join()
        try:
            with self._mutex:
                self._flush_locked()
            self.store.end_session(self.session_id, status, reason, self._lock)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.store.path}: session {self.session_id} could not be saved "
                             f"completely ({exc}); its CSV journal has every beat") from None
