"""Reading a user's file within limits: a regular file, read in bounded memory, line by line or
whole, with every refusal one InputError naming the file (and line) and the limit.

The limits say what a recording can be; they are the same for every reader (RR files, session
files, journals), and the longest RR agrees with what a strap can send, so every recording
hrvcoach makes reads back.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from hrvcoach.core.beats import rr_ms_from_1024
from hrvcoach.core.errors import InputError

__all__ = [
    "HEAD_BYTES",
    "MAX_FILE_BYTES",
    "MAX_LINE_CHARS",
    "MAX_RR_INTERVALS",
    "MAX_RR_MS",
    "TOO_MANY_BEATS",
    "numbered_lines",
    "read_bytes",
    "read_head",
]

# The longest interval a Heart Rate Measurement can carry (uint16 in 1/1024 s, ~64 s): a strap
# reports one after a gap, so it is recorded, exported and imported alike.
MAX_RR_MS: Final = rr_ms_from_1024(0xFFFF)
# About 3 days of beats at 75 bpm (a 48-h Holter recording fits); `analyze` needs ~4 KB per
# interval (~1.3 GB at the limit; a 100 MB file of a million more would need many GB).
MAX_RR_INTERVALS: Final = 300_000
TOO_MANY_BEATS: Final = (f"more than {MAX_RR_INTERVALS:,} beats (hrvcoach's limit, about 3 days "
                         "at 75 bpm): split the recording")
MAX_LINE_CHARS: Final = 1_000_000  # a session CSV's first line holds its phases as JSON
MAX_FILE_BYTES: Final = 256 * 2**20  # files read whole (JSON, EDF+): a day's session is ~10 MB
HEAD_BYTES: Final = 2**20  # how much of a file is looked at to tell its format


def _regular_file(path: Path) -> int:
    """The file's size; InputError unless it is a regular file (not a folder, FIFO or device)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot read ({_reason(exc)})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(str(path), "not a regular file")
    return info.st_size


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))[:200]


def read_bytes(path: Path, *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The whole file, if it holds at most `limit` bytes."""
    size = _regular_file(path)
    if size > limit:
        raise InputError(str(path), f"{size:,} bytes: larger than the {limit:,} bytes hrvcoach "
                         "reads as one recording")
    try:
        with path.open("rb") as file:
            content = file.read(limit + 1)
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({_reason(exc)})") from None
    if len(content) > limit:  # it grew meanwhile
        raise InputError(str(path), f"larger than the {limit:,} bytes hrvcoach reads as one recording")
    return content


def read_head(path: Path) -> str:
    """The file's first HEAD_BYTES as text (undecodable bytes replaced), to tell its format."""
    _regular_file(path)
    try:
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({_reason(exc)})") from None
    return head.decode("utf-8-sig", errors="replace")


def numbered_lines(path: Path, *, max_chars: int = MAX_LINE_CHARS) -> Iterator[tuple[int, str]]:
    """(line number from 1, line without its line break) for each line, read as UTF-8 text
    (a BOM, CRLF and CR line ends are fine); a line longer than `max_chars` is refused."""
    _regular_file(path)
    number = 0
    try:
        with path.open(encoding="utf-8-sig", newline=None) as file:
            while True:
                line = file.readline(max_chars + 1)
                if not line:
                    return
                number += 1
                if len(line) > max_chars and not line.endswith("\n"):
                    raise InputError(f"{path}:{number}", f"longer than {max_chars:,} characters: "
                                     "not a recording")
                yield number, line.rstrip("\n")
    except UnicodeDecodeError:
        raise InputError(f"{path}:{number + 1}", "not UTF-8 text (at or near this line)") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({_reason(exc)})") from None
