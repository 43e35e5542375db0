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
- **Private**: the data folder is created 0700 and the database, its WAL and lock files 0600;
  a symbolic link in the place of the database or its WAL is refused, never followed.
- **Checked before it is written** (health.py): an existing file must be an SQLite file that
  passes `PRAGMA quick_check` and holds hrvcoach's tables, checked on a read-only connection. A
  damaged file is never written to (StoreDamagedError names the latest backup); another
  program's database is refused, not "migrated". Rows of the wrong type (stored by an older
  hrvcoach) mark their session as damaged: it is hidden until `hrvcoach sessions delete`.
- **Backups** (backups.py): SQLite's online backup into `backups/`, checked, kept rotating.
- **A full disk** fails a transaction as a whole (StoreFullError): what was committed stays.

Times: `started_at`/`ended_at` are ISO 8601 local times with their UTC offset; beat and phase
times are session seconds (0 = session start).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self

from hrvcoach.store import backups, schema
from hrvcoach.store.errors import StoreBusyError, StoreDamagedError, StoreError, StoreFullError
from hrvcoach.store.health import Guarded, check_file, damaged_rows, full_check, translate

try:  # POSIX: the kernel releases a flock when its process dies, even by kill -9
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["BUSY_TIMEOUT_MS", "DB_FILE", "LOCK_DIR", "Database", "SessionLock", "SessionStatus",
           "StoreBusyError", "StoreDamagedError", "StoreError", "StoreFullError", "now_iso",
           "plus_seconds"]

log = logging.getLogger(__name__)

DB_FILE: Final = "hrvcoach.db"
LOCK_DIR: Final = "locks"
STALE_AFTER_S: Final = 60.0  # without flock: a running session this quiet is taken as dead
BUSY_TIMEOUT_MS: Final = 10_000  # wait this long for another process's write lock

SessionStatus = Literal["running", "completed", "stopped", "interrupted", "imported", "recovered"]
SESSION_STATUSES: Final[tuple[SessionStatus, ...]] = (
    "running", "completed", "stopped", "interrupted", "imported", "recovered")


def now_iso() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _private_dir(path: Path) -> None:
    if not path.exists():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)


def _private_file(path: Path) -> None:
    """Create the file 0600 if missing (SQLite gives its -wal and -shm files the same mode),
    never through a symbolic link."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


def _refuse_links(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.is_symlink():
            raise StoreError(f"{candidate}: is a symbolic link; hrvcoach does not follow links in "
                             "place of its own files (remove it, or move the real file there)")


class Database:
    """One data folder's SQLite file: opening (private modes, WAL, busy timeout), migrations with
    a backup first, short write transactions, and finding sessions whose process died. The
    session log's reads and writes are Store's (repository.py), which extends this."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self.data_dir = path.parent
        self._db = Guarded(connection, path)
        self.lock = threading.RLock()
        self.recovered: list[int] = []  # sessions this open found dead and marked interrupted
        self.deferred: list[int] = []  # dead sessions left running: the disk was full
        self.damaged: dict[int, str] = {}  # sessions with rows of the wrong type: hidden

    # ---- opening, schema ---------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path, *, recover: bool = True) -> Self:
        """Open (creating if needed) the store in `data_dir`: check it (read-only), migrate it,
        recover dead sessions."""
        path = data_dir / DB_FILE
        try:
            _private_dir(data_dir)
            _refuse_links(path)
            existed = path.exists() and path.stat().st_size > 0
            if existed:
                check_file(path)
            _private_file(path)
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000,
                                         isolation_level=None, check_same_thread=False)
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            kind = StoreFullError if full else StoreError
            raise kind(f"{data_dir}: cannot open the session store ({exc.strerror or exc})") from None
        except sqlite3.Error as exc:
            raise translate(exc, path) from None
        store = cls(path, connection)
        try:
            store._set_up(existed, recover=recover)
        except BaseException:
            connection.close()
            raise
        for suffix in ("-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists() and not side.is_symlink():
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
                self.damaged = damaged_rows(self._db)
                if recover:
                    self.recovered = self.recover_dead_sessions()
                return
            except StoreBusyError:
                if time.monotonic() > deadline:
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

    def applied_versions(self) -> list[int]:
        """Every schema version applied to this file, in order (each once)."""
        with self.lock:
            return [int(row[0]) for row in self._db.execute(
                "SELECT version FROM schema_version ORDER BY applied_at, version").fetchall()]

    def _migrate(self, existed: bool) -> None:
        newest = schema.MIGRATIONS[-1][0]
        current = self.schema_version()
        if current > newest:
            raise StoreError(f"{self.path}: written by a newer hrvcoach (schema {current}, this one "
                             f"knows up to {newest}); upgrade hrvcoach to read it")
        if current == newest:
            return
        if existed and current > 0:
            self._backup(self.path.with_name(f"{self.path.name}.bak-v{current}"))
        self._db.execute("PRAGMA foreign_keys = OFF")  # a rebuilt table keeps its children
        try:
            for version, script, step in schema.MIGRATIONS:
                with self.transaction():
                    if self.schema_version() >= version:  # another process got there first
                        continue
                    if version == 1:
                        self._db.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                                         "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
                    for statement in schema.statements(script):
                        self._db.execute(statement)
                    if step is not None:
                        step(self._db.raw)
                    if self._db.execute("PRAGMA foreign_key_check").fetchone() is not None:
                        raise StoreDamagedError(f"{self.path}: migration to schema {version} "
                                                "left rows without their session; not applied")
                    self._db.execute("INSERT INTO schema_version VALUES (?, ?)",
                                     (version, now_iso()))
                    log.info("%s: schema migrated to version %d", self.path, version)
        finally:
            self._db.execute("PRAGMA foreign_keys = ON")

    def _backup(self, target: Path) -> None:
        if not target.exists():
            backups.copy_database(self._db.raw, target)

    def backup(self, reason: str = "manual") -> Path:
        """A checked copy of the store in backups/ (daily ones rotate: KEEP_DAILY are kept)."""
        with self.lock:
            target = backups.new_backup_path(self.data_dir, reason)
            backups.copy_database(self._db.raw, target)
        if reason == "daily":
            backups.rotate(self.data_dir, self.path.name, "daily", backups.KEEP_DAILY)
        return target

    def backups(self) -> list[backups.Backup]:
        return backups.list_backups(self.data_dir, self.path.name)

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
        # Raw sqlite3 inside (errors raised in it are translated here, at its end).
        """A short write transaction: BEGIN IMMEDIATE takes the write lock up front, so two
        processes queue (busy_timeout) instead of failing half-way."""
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db.raw
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise translate(exc, self.path) from exc
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        """Undo the open transaction (SQLite may have undone it already, e.g. on a full disk)."""
        if self._db.raw.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.raw.execute("ROLLBACK")

    def problems(self) -> list[str]:
        """A full check: every page, index and constraint (integrity_check), the foreign keys,
        and the type of every stored value, beats included; empty when all is well."""
        with self.lock:
            found = full_check(self._db)
            found += [f"session {session_id}: {why}"
                      for session_id, why in damaged_rows(self._db, with_beats=True).items()]
        return found

    def integrity_ok(self) -> bool:
        with self.lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def _close_session(self, db: sqlite3.Connection, session_id: int, status: SessionStatus,
                       reason: str, ended_at: str) -> None:
        last = db.execute("SELECT MAX(time_s) FROM beats WHERE session_id = ?",
                          (session_id,)).fetchone()[0]
        key = schema.beats_sha256(row[0] for row in db.execute(
            "SELECT rr_ms FROM beats WHERE session_id = ? ORDER BY seq", (session_id,)))
        db.execute("UPDATE sessions SET status = ?, end_reason = ?, ended_at = ?, duration_s = ?,"
                   " lock_token = NULL, alive_at = NULL, beats_sha256 = ? WHERE id = ?",
                   (status, reason, ended_at, last, key, session_id))
        if last is not None:
            db.execute("UPDATE phases SET end_s = ? WHERE session_id = ? AND end_s > ? AND idx ="
                       " (SELECT MAX(idx) FROM phases WHERE session_id = ?)",
                       (last, session_id, last, session_id))

    def recover_dead_sessions(self) -> list[int]:
        """Mark `running` sessions whose process is gone as `interrupted`; their ids. On a full
        disk they stay as they are (listed in `deferred`) until a later start has room."""
        with self.lock:
            rows = self._db.execute(
                "SELECT id, lock_token, alive_at FROM sessions WHERE status = 'running'").fetchall()
        dead = [row[0] for row in rows
                if not SessionLock.is_held(self.data_dir / LOCK_DIR, row[1], row[2])]
        recovered = []
        for session_id in dead:
            try:
                with self.transaction() as db:
                    token = db.execute("SELECT lock_token FROM sessions WHERE id = ? AND status ="
                                       " 'running'", (session_id,)).fetchone()
                    if token is None:
                        continue  # another process recovered it meanwhile
                    started = db.execute("SELECT started_at FROM sessions WHERE id = ?",
                                         (session_id,)).fetchone()[0]
                    last = db.execute("SELECT MAX(time_s) FROM beats WHERE session_id = ?",
                                      (session_id,)).fetchone()[0]
                    ended_at = plus_seconds(started, last or 0.0)
                    self._close_session(db, session_id, "interrupted",
                                        "the program stopped without closing the session", ended_at)
            except StoreFullError:
                self.deferred.append(session_id)
                continue
            if token[0]:
                SessionLock.remove(self.data_dir / LOCK_DIR, token[0])
            recovered.append(session_id)
            log.info("%s: session %d was interrupted; its beats are kept", self.path, session_id)
        return recovered



def plus_seconds(iso: str, seconds: float) -> str:
    try:
        start = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return (start + dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")


class SessionLock:
    """An exclusive flock on LOCK_DIR/<token>.lock, held while a session records."""

    def __init__(self, token: str, path: Path, descriptor: int | None) -> None:
        self.token = token
        self.path = path
        self._descriptor = descriptor

    @classmethod
    def acquire(cls, folder: Path) -> SessionLock:
        _private_dir(folder)
        token = uuid.uuid4().hex
        path = folder / f"{token}.lock"
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
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


