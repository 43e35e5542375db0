"""Where a command may write its -o file: never over a recording it reads, nor over the data
folder's store, journals or backups (the write would replace them: the sessions would be lost).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hrvcoach.core.errors import InputError

__all__ = ["check_output", "same_path"]


def check_output(path: Path, *, reading: Sequence[Path] = (), home: Path | None = None,
                 option: str = "-o") -> None:
    """Raise InputError(option) when `path` is one of the files being read or one of
    hrvcoach's own files in the data folder `home`."""
    target = _resolved(path)
    if any(same_path(path, source) for source in reading):
        raise InputError(option, f"{path}: is a recording being read; name another file")
    if home is not None and _in_data_folder(target, _resolved(home)):
        raise InputError(option, f"{path}: is part of hrvcoach's data folder (the store, its "
                         "recordings or backups); name a place elsewhere")


def _in_data_folder(target: Path, home: Path) -> bool:
    """Whether `target` is the store (with its side files), the profile, or lies among the
    journals, backups or locks."""
    if home not in target.parents:
        return False  # (and the store's modules, with sqlite3, stay unloaded)
    from hrvcoach.app.data_folder import RECORDINGS
    from hrvcoach.history.profile import PROFILE_FILE
    from hrvcoach.store import DB_FILE, LOCK_DIR
    from hrvcoach.store.backups import BACKUP_DIR

    kept = (RECORDINGS, BACKUP_DIR, LOCK_DIR)
    if target.parent == home and (target.name.startswith((DB_FILE, PROFILE_FILE))
                                  or target.name in kept):
        return True
    return any(home / folder in target.parents for folder in kept)


def same_path(one: Path, other: Path) -> bool:
    """Whether two paths name the same file (links resolved where they can be)."""
    return _resolved(one) == _resolved(other)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of links: compare as given
        return path.absolute()
