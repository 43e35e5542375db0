"""Sessions out of the store into files (hrvcoach.files.session_files writes them)."""

from __future__ import annotations

from pathlib import Path

from hrvcoach.files.session_files import ExportFormat, SessionDocument, SessionMeta, write_session_file
from hrvcoach.store import Store

__all__ = ["export_session"]


def export_session(store: Store, session_id: int, fmt: ExportFormat, path: Path) -> Path:
    """Write one stored session to `path` in the chosen format."""
    info = store.session(session_id)
    meta = SessionMeta(info.id, info.started_at, info.ended_at, info.protocol, info.source,
                       info.device, info.status, info.end_reason)
    document = SessionDocument(meta, store.phases(session_id), store.beats(session_id),
                               store.annotations(session_id), store.markers(session_id),
                               store.raw_chunks(session_id, "ecg"),
                               store.raw_chunks(session_id, "acc"), store.breaths(session_id),
                               store.movement(session_id))
    return write_session_file(document, fmt, path)
