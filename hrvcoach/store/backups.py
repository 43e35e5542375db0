"""Backups of the session store: copies made with SQLite's online backup API (consistent while
other processes use the store), checked, and renamed into place only when complete.

- `DATA_DIR/backups/hrvcoach-<YYYYmmdd-HHMMSS>-<reason>.db`: `daily` (the first open of a day
  that has sessions; the newest KEEP_DAILY kept), `manual` (`hrvcoach store backup`), and
  `before-restore`; a migration's backup stays beside the store as `hrvcoach.db.bak-v<N>`.
- `restore_file` puts a backup back: the current file is moved aside (never deleted) and the
  backup is copied into its place, checked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from hrvcoach.store.errors import StoreDamagedError, StoreError, StoreFullError

__all__ = ["BACKUP_DIR", "KEEP_DAILY", "Backup", "copy_database", "disk_is_full", "latest_backup",
           "list_backups", "restore_file", "restore_hint"]

BACKUP_DIR: Final = "backups"
KEEP_DAILY: Final = 7
DAILY_EVERY: Final = dt.timedelta(hours=20)  # a "daily" backup is made when the last is older
PROBE_BYTES: Final = 64 * 1024  # what opening a store needs at least (its WAL index is 32 KB)
_NAME: Final = re.compile(r"^hrvcoach-(\d{8}-\d{6})-([a-z-]+)\.db$")
_MIGRATION: Final = re.compile(r"\.bak-v(\d+)$")


@dataclass(frozen=True, slots=True)
class Backup:
    """One backup file of a data folder's store."""

    path: Path
    taken_at: dt.datetime  # local time
    reason: str  # daily | manual | before-restore | before migration to v<N+1>


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def list_backups(data_dir: Path, db_name: str) -> list[Backup]:
    """Every backup of the store, newest first."""
    found = []
    folder = data_dir / BACKUP_DIR
    if folder.is_dir():
        for path in folder.iterdir():
            match = _NAME.match(path.name)
            if match and path.is_file() and not path.is_symlink():
                taken = dt.datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
                found.append(Backup(path, taken, match.group(2)))
    for path in data_dir.glob(f"{db_name}.bak-v*"):
        version = _MIGRATION.search(path.name)
        if version and path.is_file() and not path.is_symlink():
            taken = dt.datetime.fromtimestamp(path.stat().st_mtime)
            found.append(Backup(path, taken, f"before migration from v{version.group(1)}"))
    return sorted(found, key=lambda backup: backup.taken_at, reverse=True)


def latest_backup(data_dir: Path, db_name: str) -> Backup | None:
    backups = list_backups(data_dir, db_name)
    return backups[0] if backups else None


def restore_hint(data_dir: Path, db_name: str) -> str:
    """What a user whose store is damaged can do, in one sentence."""
    latest = latest_backup(data_dir, db_name)
    if latest is None:
        return ("There is no backup: `hrvcoach store restore` rebuilds the sessions from their "
                f"recordings in {data_dir / 'recordings'} (the damaged file is kept).")
    return (f"The latest backup is {latest.path} ({latest.taken_at:%Y-%m-%d %H:%M}): `hrvcoach "
            "store restore` puts it back and rebuilds later sessions from their recordings "
            "(the damaged file is kept).")


def disk_is_full(folder: Path) -> bool:
    """Whether a file of PROBE_BYTES cannot be written in `folder` for want of space (a full
    disk or quota: SQLite then says "disk I/O error" or "unable to open", not "full")."""
    probe = folder / f".hrvcoach-space-probe-{os.getpid()}"
    try:
        descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    try:
        os.write(descriptor, b"\0" * PROBE_BYTES)
        os.fsync(descriptor)
    except OSError as exc:
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    finally:
        os.close(descriptor)
        with contextlib.suppress(OSError):
            probe.unlink()
    return False


def copy_database(source: sqlite3.Connection, target: Path) -> None:
    """Copy a database (SQLite's online backup) into a new file at `target`, checked and synced;
    all or nothing: a failed copy leaves no file."""
    temporary = target.with_name(f".{target.name}.partial")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    try:
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        copy = sqlite3.connect(temporary)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # a backup is one file
            if copy.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise StoreDamagedError(f"{target}: the copy failed its check")
        finally:
            copy.close()
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    except sqlite3.Error as exc:
        full = "full" in str(exc) or disk_is_full(target.parent)
        kind = StoreFullError if full else StoreError
        raise kind(f"{target}: cannot make the backup ({exc})") from None
    except OSError as exc:
        kind = StoreFullError if exc.errno in (errno.ENOSPC, errno.EDQUOT) else StoreError
        raise kind(f"{target}: cannot make the backup ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def new_backup_path(data_dir: Path, reason: str) -> Path:
    folder = data_dir / BACKUP_DIR
    _private_dir(folder)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"hrvcoach-{stamp}-{reason}.db"
    counter = 1
    while path.exists():  # two in the same second
        counter += 1
        path = folder / f"hrvcoach-{stamp}-{reason}-{counter}.db"
    return path


def rotate(data_dir: Path, db_name: str, reason: str, keep: int) -> None:
    """Remove all but the newest `keep` backups made for `reason`."""
    same = [b for b in list_backups(data_dir, db_name) if b.reason == reason]
    for old in same[keep:]:
        with contextlib.suppress(OSError):
            old.path.unlink()


def restore_file(database: Path, backup: Path) -> Path:
    """Put `backup` in place of `database`: the current file (and its -wal and -shm) is moved
    aside as `<name>.replaced-<stamp>`; returns where it went. The backup itself stays."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = database.with_name(f"{database.name}.replaced-{stamp}")
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        if source.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise StoreDamagedError(f"{backup}: this backup is damaged too; choose another "
                                    "(`hrvcoach store restore --list`)")
        incoming = database.with_name(f".{database.name}.restoring")
        copy_database(source, incoming)
    except sqlite3.DatabaseError as exc:
        raise StoreDamagedError(f"{backup}: not a usable backup ({exc})") from None
    finally:
        source.close()
    if database.exists():
        os.replace(database, aside)
    for suffix in ("-wal", "-shm"):
        side = database.with_name(database.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    os.replace(incoming, database)
    return aside
