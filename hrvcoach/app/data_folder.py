"""Opening the user's data folder: the store, with what an earlier crash left behind mended."""

from __future__ import annotations

from pathlib import Path

from hrvcoach.history.phases import compute_markers
from hrvcoach.store import Store

__all__ = ["open_store"]


def open_store(home: Path) -> tuple[Store, list[str]]:
    """Open the store of a data folder. Sessions found interrupted are closed (their beats kept)
    and markers missing from any session (interrupted, or stopped before they were computed) are
    computed now. Returns the store and one line per thing the user should hear about."""
    store = Store.open(home)
    notices = []
    for session_id in store.recovered:
        info = store.session(session_id)
        notices.append(f"session {session_id} ({info.protocol}, started {info.started_at}) was "
                       f"interrupted; its {info.n_beats} beats are kept")
    for session_id in store.sessions_without_markers():
        try:
            compute_markers(store, session_id)
        except (ValueError, ArithmeticError) as exc:  # the beats stay; retried at the next start
            notices.append(f"markers of session {session_id} could not be computed ({exc})")
    return store, notices
