"""Reading fields of data files (TOML protocols and strap profiles, the JSON of session files)
with errors that name file and field, on one line.

`where` is the file (top-level fields read "file: key") or a table inside it such as
"file: phase[2] (rest)" (its fields read "file: phase[2] (rest).key").

Every value is checked for its type, its range and, for text, its length and characters: no
control characters (a name that clears the terminal or sets its title when printed) and no
bidirectional overrides (text that reads differently from what it is). The `as_*` functions
check one value; the others read a key of a table with them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Final

from hrvcoach.core.errors import InputError

__all__ = [
    "CONTROL_CHARACTERS",
    "MAX_DATA_FILE_BYTES",
    "MAX_NAME_CHARS",
    "MAX_TEXT_CHARS",
    "as_flag",
    "as_integer",
    "as_number",
    "as_text",
    "field_path",
    "flag",
    "non_negative",
    "number",
    "positive",
    "read_toml",
    "reject_unknown",
    "shown",
    "text",
    "texts",
]

MAX_DATA_FILE_BYTES: Final = 1_000_000  # a protocol or strap profile is a few hundred bytes
MAX_NAME_CHARS: Final = 100  # names: protocols, phases (a name ends up in file names and titles)
MAX_TEXT_CHARS: Final = 2_000  # descriptions, guidance, notes
# C0 and C1 control characters (ESC starts terminal commands), DEL, and the marks that reorder
# text (bidirectional overrides and isolates). Tabs and line breaks only where text may have lines.
CONTROL_CHARACTERS: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS: Final = frozenset("\n\t")
_SHOWN_CHARS: Final = 60


def shown(value: object) -> str:
    """A value as an error message shows it: its repr, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS - 5]}…{text[-4:]}"


def field_path(where: str, key: str) -> str:
    """The name of field `key` of the file or table `where`, for error messages."""
    return f"{where}.{key}" if ": " in where else f"{where}: {key}"


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The parsed file; InputError naming the file when it is missing, unreadable, too large,
    nested too deeply or not TOML."""
    import tomllib  # here, not at start-up: the command line imports this module for its checks

    try:
        with path.open("rb") as file:
            raw = file.read(MAX_DATA_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputError(str(path), f"no such {what} file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_DATA_FILE_BYTES:
        raise InputError(str(path), f"larger than {MAX_DATA_FILE_BYTES:,} bytes: not a {what} file")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), f"not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(str(path), "not valid TOML (nested too deeply)") from None


def reject_unknown(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(field_path(where, unknown[0][:_SHOWN_CHARS]),
                         f"unknown field (known: {', '.join(sorted(allowed))})")


# ---- one value ------------------------------------------------------------------------------


def as_text(value: Any, where: str, *, max_chars: int = MAX_NAME_CHARS,
            lines: bool = False) -> str:
    """Text of at most `max_chars` characters without control characters (tabs and line breaks
    only when `lines`)."""
    if not isinstance(value, str):
        raise InputError(where, f"must be text, got {shown(value)}")
    if len(value) > max_chars:
        raise InputError(where, f"must be at most {max_chars} characters, got {len(value)}")
    for match in CONTROL_CHARACTERS.finditer(value):
        if not (lines and match.group() in _LINE_BREAKS):
            raise InputError(where, f"must not contain control characters, got "
                             f"{match.group()!r} at character {match.start() + 1}")
    return value


def as_number(value: Any, where: str, *, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite number (not a boolean) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(where, f"must be a number, got {shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        number = math.inf
    if not math.isfinite(number):
        raise InputError(where, f"must be a finite number, got {shown(value)}")
    if not low <= number <= high:
        raise InputError(where, _range_problem(low, high, f"{number:g}"))
    return number


def _range_problem(low: float, high: float, got: str) -> str:
    if low == -math.inf:
        return f"must be at most {high:g}, got {got}"
    if high == math.inf:
        return f"must be at least {low:g}, got {got}"
    return f"must lie within {low:g}–{high:g}, got {got}"


def as_integer(value: Any, where: str, *, low: int, high: int) -> int:
    """A whole number (not a boolean, not 1.5) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(where, f"must be a whole number, got {shown(value)}")
    if not low <= value <= high:
        raise InputError(where, _range_problem(low, high, shown(value)))
    return value


def as_flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(where, f"must be true or false, got {shown(value)}")
    return value


# ---- a key of a table ---------------------------------------------------------------------


def text(table: dict[str, Any], key: str, where: str, *, default: str,
         max_chars: int = MAX_NAME_CHARS, lines: bool = False) -> str:
    return as_text(table.get(key, default), field_path(where, key), max_chars=max_chars,
                   lines=lines)


def texts(table: dict[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list):
        raise InputError(field_path(where, key), f"must be a list of text, got {shown(value)}")
    return [as_text(item, f"{field_path(where, key)}[{index}]") for index, item in enumerate(value)]


def flag(table: dict[str, Any], key: str, where: str) -> bool:
    return as_flag(table.get(key, False), field_path(where, key))


def number(table: dict[str, Any], key: str, where: str, *, high: float = math.inf) -> float:
    return as_number(table.get(key), field_path(where, key), high=high)


def positive(table: dict[str, Any], key: str, where: str, *, high: float = math.inf) -> float:
    value = number(table, key, where, high=high)
    if value <= 0:
        raise InputError(field_path(where, key), f"must be positive, got {value:g}")
    return value


def non_negative(table: dict[str, Any], key: str, where: str, *, high: float = math.inf) -> float:
    """The value, or 0 when the field is absent."""
    if key not in table:
        return 0.0
    value = number(table, key, where, high=high)
    if value < 0:
        raise InputError(field_path(where, key), f"must not be negative, got {value:g}")
    return value
