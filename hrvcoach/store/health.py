"""Is this file a healthy hrvcoach store? Checked read-only before anything writes to it, and
SQLite's errors turned into StoreErrors that say what happened and what to do.

- `check_file`: an SQLite file (its header), whole (`PRAGMA quick_check`: every page and index
  readable and consistent; ~0.3 s for 50 MB), and an hrvcoach store (its tables are there). A
  damaged file raises StoreDamagedError naming the latest backup; another program's database
  raises StoreError. The check connection is read-only, so a damaged file is never written to.
- `damaged_rows`: sessions whose rows hold values of the wrong type (a phase index "zero", a
  rate as text, a start that is no date or outside SESSION_YEARS) that an older hrvcoach or a
  hand edit let in: the store hides them until they are deleted.
- `Guarded`: the store's connection, raising StoreError (full, damaged, busy) instead of
  sqlite3's errors.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from hrvcoach.core.constants import SESSION_YEARS
from hrvcoach.store import schema
from hrvcoach.store.backups import disk_is_full, restore_hint
from hrvcoach.store.errors import StoreBusyError, StoreDamagedError, StoreError, StoreFullError

__all__ = ["SQLITE_HEADER", "Guarded", "check_file", "damaged_rows", "full_check", "translate"]

SQLITE_HEADER: Final = b"SQLite format 3\x00"
_DAMAGE_WORDS: Final = ("malformed", "not a database", "disk i/o error", "corrupt",
                        "no such table", "no such column")
# Rows an older hrvcoach may have stored with a wrong type (SQLite stores what it is given).
_TYPED_ROWS: Final = (
    ("phases", "typeof(idx) != 'integer' OR typeof(name) != 'text' OR typeof(kind) != 'text'"
     " OR typeof(start_s) NOT IN ('real', 'integer') OR typeof(end_s) NOT IN ('real', 'integer')"
     " OR typeof(breaths_per_min) NOT IN ('real', 'integer', 'null')"
     " OR typeof(ramp_to_breaths_per_min) NOT IN ('real', 'integer', 'null')"
     " OR typeof(pacing) != 'text'"),
    ("sessions", "typeof(started_at) != 'text' OR datetime(started_at) IS NULL"
     f" OR CAST(substr(started_at, 1, 4) AS INTEGER) NOT BETWEEN {SESSION_YEARS[0]}"
     f" AND {SESSION_YEARS[1]} OR typeof(protocol) != 'text'"
     " OR typeof(source) != 'text' OR typeof(device) != 'text'"
     " OR typeof(duration_s) NOT IN ('real', 'integer', 'null')"),
    ("annotations", "typeof(time_s) NOT IN ('real', 'integer') OR typeof(kind) != 'text'"
     " OR typeof(text) != 'text'"),
    ("phase_markers", "typeof(phase_idx) != 'integer' OR typeof(name) != 'text'"
     " OR typeof(value) NOT IN ('real', 'integer', 'null')"),
)
_TYPED_BEATS: Final = ("beats", "typeof(time_s) NOT IN ('real', 'integer')"
                       " OR typeof(rr_ms) NOT IN ('real', 'integer') OR typeof(seq) != 'integer'")


def _full(path: Path, text: str) -> StoreFullError:
    return StoreFullError(f"{path}: the disk is full ({text}); nothing stored so far is lost "
                          "(a session's newest beats wait in its recording): free some space")


def translate(exc: sqlite3.Error, path: Path) -> StoreError:
    """The StoreError for an error SQLite raised while using the store at `path`."""
    text = str(exc)
    lower = text.lower()
    if ("i/o error" in lower or "unable to open" in lower) and disk_is_full(path.parent):
        return _full(path, text)
    if "full" in lower:
        return _full(path, text)
    if "locked" in lower or "busy" in lower:
        return StoreBusyError(f"{path}: another hrvcoach keeps the store busy ({text}); try again")
    if any(word in lower for word in _DAMAGE_WORDS):
        return StoreDamagedError(f"{path}: the session store is damaged ({text}). "
                                 f"{restore_hint(path.parent, path.name)}")
    return StoreError(f"{path}: {text}")


class Guarded:
    """A sqlite3 connection whose errors are StoreErrors (see `translate`)."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.raw = connection
        self.path = path

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.raw.execute(sql, parameters)
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        try:
            return self.raw.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    def close(self) -> None:
        self.raw.close()


def check_file(path: Path) -> None:
    """Refuse a store file that is damaged or not an hrvcoach store (read-only; see above)."""
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the session store ({exc.strerror or exc})") from None
    if header != SQLITE_HEADER:
        raise StoreDamagedError(f"{path}: not a usable hrvcoach session store (it is not an "
                                f"SQLite file, or its first page is damaged). "
                                f"{restore_hint(path.parent, path.name)}")
    try:
        reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise translate(exc, path) from None
    try:
        try:
            problems = [row[0] for row in reader.execute("PRAGMA quick_check(5)").fetchall()]
        except sqlite3.OperationalError as exc:  # e.g. no room for the WAL index: not damage
            if disk_is_full(path.parent):
                raise _full(path, str(exc)) from None
            raise
        if problems != ["ok"]:
            raise StoreDamagedError(f"{path}: the session store is damaged ({problems[0]}); "
                                    f"nothing was written to it. {restore_hint(path.parent, path.name)}")
        _check_tables(reader, path)
    except sqlite3.DatabaseError as exc:
        raise StoreDamagedError(f"{path}: not a usable hrvcoach session store ({exc}); nothing "
                                f"was written to it. {restore_hint(path.parent, path.name)}") from None
    finally:
        reader.close()


def _check_tables(reader: sqlite3.Connection, path: Path) -> None:
    tables = {row[0] for row in reader.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    if "schema_version" not in tables:
        if tables:  # another program's database
            shown = ", ".join(sorted(tables)[:5])
            raise StoreError(f"{path}: not a usable hrvcoach session store: it holds the tables "
                             f"{shown}, not hrvcoach's. hrvcoach does not write into another "
                             "program's database: move the file away or use another --data-dir")
        return  # an empty SQLite file: hrvcoach makes it a store
    for table, columns in schema.TABLES.items():
        if table not in tables:
            raise StoreDamagedError(f"{path}: the session store is damaged (its table {table!r} is "
                                    f"missing); nothing was written to it. "
                                    f"{restore_hint(path.parent, path.name)}")
        have = {row[1] for row in reader.execute(f"PRAGMA table_info({table})")}
        missing = [column for column in columns if column not in have]
        if missing:
            raise StoreDamagedError(f"{path}: the session store is damaged (table {table!r} has no "
                                    f"column {missing[0]!r}); nothing was written to it. "
                                    f"{restore_hint(path.parent, path.name)}")


def damaged_rows(db: Guarded, *, with_beats: bool = False) -> dict[int, str]:
    """{session id: which table holds a value of the wrong type} (beats only when asked: a
    full scan)."""
    checks = [*_TYPED_ROWS, _TYPED_BEATS] if with_beats else list(_TYPED_ROWS)
    found: dict[int, str] = {}
    for table, condition in checks:
        column = "id" if table == "sessions" else "session_id"
        for (session_id,) in db.execute(f"SELECT DISTINCT {column} FROM {table} WHERE {condition}"):
            if isinstance(session_id, int):
                found.setdefault(session_id, f"a {table} row holds a value of the wrong type")
    return found


def full_check(db: Guarded) -> list[str]:
    """PRAGMA integrity_check (every page, index and constraint) and the foreign keys: the
    problems found (empty: none)."""
    problems = [row[0] for row in db.execute("PRAGMA integrity_check(20)").fetchall()]
    problems = [] if problems == ["ok"] else problems
    orphans = db.execute("PRAGMA foreign_key_check").fetchall()
    if orphans:
        problems.append(f"{len(orphans)} rows point to a session that does not exist")
    return problems
