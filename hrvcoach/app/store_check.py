"""`hrvcoach store check`: the store read through once, and compared with the recordings."""

from __future__ import annotations

from pathlib import Path

from hrvcoach.app.data_folder import RECORDINGS
from hrvcoach.core.errors import InputError
from hrvcoach.files.journal import read_journal
from hrvcoach.store import DB_FILE, Store, StoreError

__all__ = ["check_store"]


def check_store(home: Path) -> tuple[list[str], str]:
    """(the problems found, a one-line summary). Nothing is written: no recovery, no markers."""
    database = home / DB_FILE
    if not database.exists():
        return [], f"{database}: no session store yet"
    try:
        store = Store.open(home, recover=False)
    except StoreError as exc:
        return [str(exc)], f"{database}: not checked further; nothing was changed"
    with store:
        problems = store.problems()
        sessions = store.sessions()
        known = store.origins()
        for info in sessions:
            journal = home / RECORDINGS / Path(info.origin).name if info.origin else None
            if journal is None or not journal.is_file() or info.status == "imported":
                continue
            try:
                count = len(read_journal(journal).beats)
            except InputError as exc:
                problems.append(f"session {info.id}: its recording cannot be read ({exc})")
                continue
            if count > info.n_beats and info.status != "running":
                problems.append(f"session {info.id}: its recording {journal.name} holds {count} "
                                f"beats, the store {info.n_beats}")
        stray = [p.name for p in sorted((home / RECORDINGS).glob("*.csv")) if p.name not in known] \
            if (home / RECORDINGS).is_dir() else []
        backups = store.backups()
        beats = sum(info.n_beats for info in sessions)
    latest = f", the latest {backups[0].taken_at:%Y-%m-%d %H:%M}" if backups else ""
    summary = (f"{database}: {'problems found' if problems else 'ok'}: {len(sessions)} sessions, "
               f"{beats} beats, {len(backups)} backups{latest}")
    if stray:
        summary += (f"; {len(stray)} recordings are not in the store (`hrvcoach import FILE` "
                    f"brings one in: {', '.join(stray[:3])})")
    return problems, summary
