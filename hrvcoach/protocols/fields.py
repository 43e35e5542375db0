"""Reading TOML data files (protocols, strap profiles) with errors that name file and field.

`where` is the file (top-level fields read "file: key") or a table inside it such as
"file: phase[2] (rest)" (its fields read "file: phase[2] (rest).key").
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from hrvcoach.core.errors import InputError


def field_path(where: str, key: str) -> str:
    """The name of field `key` of the file or table `where`, for error messages."""
    return f"{where}.{key}" if ": " in where else f"{where}: {key}"


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The parsed file; InputError naming the file when it is missing, unreadable or not TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(path), f"no such {what} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), f"not valid TOML ({exc})") from None


def reject_unknown(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(field_path(where, unknown[0]),
                         f"unknown field (known: {', '.join(sorted(allowed))})")


def text(table: dict[str, Any], key: str, where: str, *, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise InputError(field_path(where, key), f"must be text, got {value!r}")
    return value


def texts(table: dict[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(field_path(where, key), f"must be a list of text, got {value!r}")
    return value


def flag(table: dict[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise InputError(field_path(where, key), f"must be true or false, got {value!r}")
    return value


def number(table: dict[str, Any], key: str, where: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(field_path(where, key), f"must be a number, got {value!r}")
    return float(value)


def positive(table: dict[str, Any], key: str, where: str) -> float:
    value = number(table, key, where)
    if value <= 0:
        raise InputError(field_path(where, key), f"must be positive, got {value:g}")
    return value


def non_negative(table: dict[str, Any], key: str, where: str) -> float:
    """The value, or 0 when the field is absent."""
    if key not in table:
        return 0.0
    value = number(table, key, where)
    if value < 0:
        raise InputError(field_path(where, key), f"must not be negative, got {value:g}")
    return value
