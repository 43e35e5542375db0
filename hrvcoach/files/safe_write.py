"""Writing a file so that a failure leaves nothing behind: the content goes to a user-only
temporary file beside the target, which replaces the target only once it is complete and on
disk. A disk that fills up half-way, or a writer that fails, leaves the old file (or none) and no
empty or half-written one; a symbolic link at the target is replaced, never followed. A target
that is not a regular file (a device such as /dev/null, a pipe, a folder) is refused: renaming
over it would replace it."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from hrvcoach.core.errors import InputError

__all__ = ["atomic_output", "write_file_atomically"]


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """A temporary path (same folder and suffix as `path`, mode 0600) to write the whole file
    to; it becomes `path` when the block ends without an error and is removed otherwise."""
    _refuse_non_regular(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{path.name[:80]}.{secrets.token_hex(4)}.tmp{path.suffix}"
        os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except OSError as exc:
        raise InputError(str(path), f"cannot write ({exc.strerror or exc})") from None
    try:
        yield temporary
        with open(temporary, "rb+") as written:  # an fsync needs the descriptor
            os.fsync(written.fileno())
        os.replace(temporary, path)
        _sync_folder(folder)
    except OSError as exc:
        raise InputError(str(path), f"cannot write ({exc.strerror or exc}); nothing was "
                         "written") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def _refuse_non_regular(path: Path) -> None:
    """Refuse an existing target that is not a regular file (or a link, which is replaced)."""
    try:
        info = os.lstat(path)
    except OSError:
        return  # not there yet (or not reachable: writing says why)
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device or a pipe)"
        raise InputError(str(path), f"is {kind}: give a file name to write to")


def write_file_atomically(path: Path, content: str) -> Path:
    """Write text (UTF-8) to `path` through `atomic_output`."""
    with atomic_output(path) as temporary:
        temporary.write_text(content, encoding="utf-8")
    return path


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
