"""What can go wrong with the session store, each with what the user can do about it.

StoreError (CLI: one line, exit 1)
 ├── StoreDamagedError  the file is damaged: never written to; a backup names the way back
 ├── StoreFullError     the disk (or the quota) is full: nothing written is lost, retry later
 └── StoreBusyError     another process holds the store's write lock for too long
"""

from __future__ import annotations

from hrvcoach.core.errors import HrvcoachError

__all__ = ["StoreBusyError", "StoreDamagedError", "StoreError", "StoreFullError"]


class StoreError(HrvcoachError):
    """The session store cannot be opened or written (CLI: one line, exit 1)."""


class StoreDamagedError(StoreError):
    """The store file is damaged (or truncated, or a table is gone): it is not written to."""


class StoreFullError(StoreError):
    """The disk holding the store is full."""


class StoreBusyError(StoreError):
    """Another process kept the store locked longer than the busy timeout."""
