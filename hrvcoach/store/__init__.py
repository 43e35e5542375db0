"""The session store: one SQLite file per data folder (the only package that imports sqlite3).

schema (SQL, migrations) -> db (open, WAL, locks, backups) -> repository (Store: reads and
writes) -> recorder (StoreRecorder: a live session's SessionRecorder).
"""

from hrvcoach.store.backups import Backup
from hrvcoach.store.db import DB_FILE, LOCK_DIR, SessionStatus
from hrvcoach.store.errors import StoreBusyError, StoreDamagedError, StoreError, StoreFullError
from hrvcoach.store.recorder import COMMIT_EVERY_S, StoreRecorder
from hrvcoach.store.repository import ClassMember, SessionInfo, Store, StoredProfile
from hrvcoach.store.schema import SCHEMA_VERSION

__all__ = [
    "COMMIT_EVERY_S",
    "DB_FILE",
    "LOCK_DIR",
    "SCHEMA_VERSION",
    "Backup",
    "ClassMember",
    "SessionInfo",
    "SessionStatus",
    "Store",
    "StoreBusyError",
    "StoreDamagedError",
    "StoreError",
    "StoreFullError",
    "StoreRecorder",
    "StoredProfile",
]
