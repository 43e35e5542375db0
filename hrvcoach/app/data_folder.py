"""Opening the user's data folder: the store, with what an earlier crash, a full disk or a lost
store left behind mended, and told in one line each.

- hrvcoach's files and folders in it are made user-only (0700 folders, 0600 files), existing
  ones too; the user's other files there are left alone.
- A store that is missing or empty (0 bytes) while recordings or backups exist is never silently
  replaced by an empty one: the latest backup is put back, and sessions whose journals it does
  not know are rebuilt from their journals (status `recovered`).
- A session whose process died is closed as `interrupted`, and beats its journal holds but the
  store lost (the last second before a kill, or everything after the disk filled up) are added.
- Markers missing from any session are computed; the store is backed up once a day.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import stat
from pathlib import Path
from typing import Final

from hrvcoach.app.paths import REPORTS
from hrvcoach.core.errors import InputError
from hrvcoach.files.journal import JournalRecording, read_journal
from hrvcoach.history.importing import is_builtin, laid_phases
from hrvcoach.history.phases import compute_markers
from hrvcoach.history.profile import PROFILE_FILE
from hrvcoach.protocols.custom import USER_PROTOCOL_FOLDER
from hrvcoach.store import DB_FILE, LOCK_DIR, Store, StoreDamagedError, StoreError, StoreFullError
from hrvcoach.store.backups import BACKUP_DIR, DAILY_EVERY, latest_backup, restore_file

__all__ = ["DELETED", "RECORDINGS", "delete_sessions", "make_private", "open_store", "restore_store"]

log = logging.getLogger(__name__)

RECORDINGS: Final = "recordings"
DELETED: Final = "deleted"  # recordings/deleted/: journals of deleted sessions (not rebuilt)
LOW_DISK_BYTES: Final = 50 * 2**20  # below this much free space, say so before recording
# The folders hrvcoach keeps in a data folder (with the store's files and the profile)
OWN_FOLDERS: Final = (RECORDINGS, BACKUP_DIR, LOCK_DIR, USER_PROTOCOL_FOLDER, REPORTS)


def make_private(home: Path) -> list[str]:
    """Make hrvcoach's own files and folders in the data folder user-only, and the folder itself
    once it holds the store; a notice when something was not. Anything else in the folder (a
    data folder given as `--data-dir` may hold the user's other files) is left alone, and
    symbolic links are neither followed nor changed."""
    own = [home / name for name in OWN_FOLDERS] + sorted(home.glob(f"{DB_FILE}*")) + sorted(
        home.glob(f"{PROFILE_FILE}*"))
    widened = sum(_make_private_tree(path) for path in own if os.path.lexists(path))
    if home.is_dir() and ((home / DB_FILE).exists() or not any(home.iterdir())):
        widened += _make_private_entry(str(home), 0o700)
    if not widened:
        return []
    return [f"{home}: {widened} of hrvcoach's files or folders were readable by others; they "
            "are private now (folders 0700, files 0600)"]


def _make_private_tree(top: Path) -> int:
    """Make `top` and, if it is a folder, everything under it user-only; how many changed."""
    if not top.is_dir() or top.is_symlink():
        return _make_private_entry(str(top), 0o600)
    changed = 0
    for folder, dirs, files in os.walk(top, followlinks=False):
        for name, mode in ((folder, 0o700), *((os.path.join(folder, f), 0o600) for f in files),
                           *((os.path.join(folder, d), 0o700) for d in dirs)):
            changed += _make_private_entry(name, mode)
    return changed


def _make_private_entry(name: str, mode: int) -> int:
    """Take group and other permissions off one file or folder (1 if it had any, else 0)."""
    try:
        info = os.lstat(name)
        if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) & 0o077 == 0:
            return 0
        os.chmod(name, stat.S_IMODE(info.st_mode) & mode)
        return 1
    except OSError:
        return 0


def _journals(home: Path) -> list[Path]:
    folder = home / RECORDINGS
    return sorted(folder.glob("*.csv")) if folder.is_dir() else []


def open_store(home: Path) -> tuple[Store, list[str]]:
    """Open the store of a data folder, mended (see the module note). Returns the store and one
    line per thing the user should hear about."""
    notices = make_private(home) if home.exists() else []
    database = home / DB_FILE
    lost = not database.is_symlink() and (not database.exists() or database.stat().st_size == 0)
    if lost and (_journals(home) or latest_backup(home, DB_FILE) is not None):
        notices += _bring_back(home, database)
        store = Store.open(home)
        notices += _rebuild_from_journals(store, home)
    else:
        store = Store.open(home)
    try:
        notices += _mend(store, home)
    except BaseException:
        store.close()
        raise
    return store, notices


def _bring_back(home: Path, database: Path) -> list[str]:
    """A missing or empty store: the latest backup in its place (an empty file is kept aside)."""
    what = "was empty" if database.exists() else "was missing"
    backup = latest_backup(home, DB_FILE)
    if backup is None:
        if database.exists():
            os.replace(database, database.with_name(f"{database.name}.empty-{_stamp()}"))
        return [f"{database} {what}: the sessions are rebuilt from the recordings in "
                f"{home / RECORDINGS}"]
    restore_file(database, backup.path)
    return [f"{database} {what}: the latest backup ({backup.path.name}) is back in its place"]


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _mend(store: Store, home: Path) -> list[str]:
    notices = []
    for session_id in store.recovered:
        added = _recover_from_journal(store, home, session_id)
        info = store.session(session_id)
        extra = f" ({added} of them recovered from its recording)" if added else ""
        notices.append(f"session {session_id} ({info.protocol}, started {info.started_at}) was "
                       f"interrupted; its {info.n_beats} beats are kept{extra}")
    for session_id in store.deferred:
        notices.append(f"session {session_id} was interrupted, and the disk is full: it is "
                       "recovered from its recording at a start with room on the disk")
    for session_id, why in store.damaged.items():
        notices.append(f"session {session_id} is damaged ({why}) and left out: `hrvcoach "
                       f"sessions delete {session_id}` removes it")
    for session_id in store.sessions_without_markers():
        try:
            compute_markers(store, session_id)
        except (ValueError, ArithmeticError, StoreError) as exc:  # the beats stay; retried later
            notices.append(f"markers of session {session_id} could not be computed ({exc})")
    notices += _daily_backup(store)
    free = shutil.disk_usage(home).free
    if free < LOW_DISK_BYTES:
        notices.append(f"the disk holding {home} has only {free / 2**20:.0f} MB free: when it "
                       "is full, a session holds its beats in memory until there is room")
    return notices


def _daily_backup(store: Store) -> list[str]:
    latest = next((b for b in store.backups() if b.reason == "daily"), None)
    if latest is not None and dt.datetime.now() - latest.taken_at < DAILY_EVERY:
        return []
    if not store.sessions():
        return []
    try:
        store.backup("daily")
    except StoreFullError:
        return ["the disk is full: today's backup of the session store is not made"]
    except StoreError as exc:
        return [f"today's backup of the session store failed ({exc})"]
    return []


def _journal_of(home: Path, origin: str) -> Path | None:
    if not origin:
        return None
    named = Path(origin)
    for candidate in (home / RECORDINGS / named.name, named):  # the folder may have moved
        if candidate.is_file():
            return candidate
    return None


def _recover_from_journal(store: Store, home: Path, session_id: int) -> int:
    """Beats the session's journal holds beyond the store's (the store commits a little later
    than the journal, and not at all on a full disk); how many were added."""
    journal = _journal_of(home, store.origin(session_id))
    if journal is None:
        return 0
    try:
        beats = read_journal(journal).beats
    except InputError as exc:
        log.warning("cannot read %s to recover session %d: %s", journal, session_id, exc)
        return 0
    stored = store.beats(session_id)
    kept = len(stored)
    if len(beats) <= kept or [b.rr_ms for b in beats[:kept]] != list(stored.rr_ms):
        return 0  # nothing more, or not the same recording
    store.append_beats(session_id, kept, beats[kept:])
    return len(beats) - kept


def _rebuild_from_journals(store: Store, home: Path) -> list[str]:
    """A session for every journal the store does not know (status `recovered`)."""
    known = store.origins()
    rebuilt, failed = [], []
    for path in _journals(home):
        if path.name in known:
            continue
        try:
            journal = read_journal(path)
            if len(journal.beats) < 2:
                continue
            rebuilt.append(_recovered_session(store, journal))
        except (InputError, StoreError) as exc:
            failed.append(f"{path.name} ({exc})")
    notices = []
    if rebuilt:
        notices.append(f"{len(rebuilt)} sessions rebuilt from their recordings (status "
                       f"'recovered': their phases are the protocol's, their notes are lost)")
    if failed:
        notices.append(f"recordings that could not be rebuilt: {'; '.join(failed)[:300]}")
    return notices


def _recovered_session(store: Store, journal: JournalRecording) -> int:
    beats = journal.beats
    protocol, phases = laid_phases(journal.protocol if is_builtin(journal.protocol) else None,
                                   beats[-1].time_s)
    started = journal.started_at or dt.datetime.fromtimestamp(
        journal.path.stat().st_mtime).astimezone().isoformat(timespec="seconds")
    try:
        dt.datetime.fromisoformat(started)
    except ValueError:
        started = "1970-01-01T00:00:00+00:00"
    session_id = store.import_session(
        started_at=started, protocol=protocol, origin=str(journal.path), content_sha256=None,
        phases=phases, beats=beats, source="journal", device="", status="recovered",
        end_reason="rebuilt from its recording: the session store had lost it")
    compute_markers(store, session_id)
    return session_id


def restore_store(home: Path, backup: Path | None) -> list[str]:
    """`hrvcoach store restore`: put a backup (the latest by default) in place of the store,
    keeping the current file aside, then rebuild the sessions recorded since from their journals.
    With no backup at all, the sessions are rebuilt from the journals alone."""
    database = home / DB_FILE
    if _recording_now(home):
        raise InputError("store restore", "a session is recording in this data folder: end it first")
    if backup is not None and not backup.is_file():
        raise InputError(str(backup), "no such backup file (`hrvcoach store restore --list`)")
    chosen = backup or (found.path if (found := latest_backup(home, DB_FILE)) else None)
    replaced = _session_starts(home)
    notices = []
    aside: Path | None = None
    if chosen is not None:
        try:
            aside = restore_file(database, chosen)
        except StoreDamagedError as exc:
            if backup is None:
                raise
            raise InputError(str(backup), "not a usable backup of the session store (damaged, or "
                             "not an SQLite file)") from exc
        notices.append(f"restored {chosen}; the file it replaced is kept as {aside.name}")
    elif database.exists():
        aside = database.with_name(f"{database.name}.replaced-{_stamp()}")
        os.replace(database, aside)
        for suffix in ("-wal", "-shm"):
            side = database.with_name(database.name + suffix)
            if side.exists():
                os.replace(side, aside.with_name(aside.name + suffix))
        notices.append(f"no backup exists: the store is rebuilt from the recordings; the old file "
                       f"is kept as {aside.name}")
    with Store.open(home) as store:
        notices += _rebuild_from_journals(store, home)
        sessions = store.sessions()
    notices.append(f"the store holds {len(sessions)} sessions")
    kept = {info.started_at for info in sessions}
    gone = sorted(session_id for started, session_id in replaced.items() if started not in kept)
    if gone and aside is not None:
        notices.append(f"{len(gone)} sessions of the replaced store are in neither the backup nor "
                       f"a recording (imports have none; ids there: {', '.join(map(str, gone))})"
                       f": they are still in {aside.name} (`hrvcoach store restore "
                       f"{aside}` puts it back)")
    return notices


def _session_starts(home: Path) -> dict[str, int]:
    """{start time: id} of the store's sessions ({} when there is none or it is unreadable)."""
    if not (home / DB_FILE).is_file():
        return {}
    try:
        with Store.open(home, recover=False) as store:
            return {info.started_at: info.id for info in store.sessions()}
    except (StoreError, OSError):
        return {}


def _recording_now(home: Path) -> bool:
    from hrvcoach.store.db import SessionLock

    folder = home / LOCK_DIR
    if not folder.is_dir():
        return False
    return any(SessionLock.is_held(folder, lock.stem, None) for lock in folder.glob("*.lock"))


def delete_sessions(store: Store, home: Path, session_ids: list[int]) -> list[str]:
    """Remove sessions from the store; their journals move to recordings/deleted/ (kept, but
    not rebuilt into sessions again). One line per session."""
    done = []
    for session_id in session_ids:
        origin = _journal_of(home, store.origin(session_id))
        store.delete_session(session_id)
        moved = ""
        if origin is not None and origin.parent == home / RECORDINGS:
            target = origin.parent / DELETED / origin.name
            target.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(origin, target)
            moved = f"; its recording is kept in {target.parent}"
        done.append(f"session {session_id} deleted{moved}")
    return done

