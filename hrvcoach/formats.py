"""RR recordings on disk -> arrays of RR in ms: one value per line, or a CSV/TSV with a header.

Units (ms or s) are detected from the values and can be forced. Every error names file and line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from hrvcoach.errors import InputError

RRUnits = Literal["ms", "s"]
RR_COLUMN_NAMES = ("rr_ms", "rr", "rri", "ibi", "ibi_ms", "rr_interval", "nn", "nni", "rr (ms)")
_SECONDS_IF_MEDIAN_BELOW = 10.0  # no heart beats 10 ms apart, and no RR lasts 10 s


@dataclass(frozen=True, slots=True)
class RRRecording:
    """RR intervals read from a file, in ms, with the file line each came from."""

    rr_ms: NDArray[np.float64]
    line_numbers: NDArray[np.int64]
    path: Path
    units_read: RRUnits


def _delimiter(line: str) -> str | None:
    """The table's delimiter, judged from its first line (None: runs of whitespace)."""
    return next((mark for mark in (",", "\t", ";") if mark in line), None)


def _cells(line: str, delimiter: str | None) -> list[str]:
    return [cell.strip() for cell in line.strip().split(delimiter)]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_rr_file(path: Path, *, units: RRUnits | None = None, column: str | None = None) -> RRRecording:
    """Read RR intervals; blank lines and lines starting with '#' are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read ({exc})") from None
    lines = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InputError(str(path), "no RR values in file")
    delimiter = _delimiter(lines[0][1])
    rows = [(number, _cells(line, delimiter)) for number, line in lines]
    header_line, header = rows[0]
    if any(not _is_number(cell) for cell in header):
        index = _rr_column(header, column, f"{path}:{header_line}")
        rows = rows[1:]
    elif column is not None:
        raise InputError(f"{path}:{header_line}", f"--column {column!r} given, but the file has no header")
    elif len(header) > 1:
        raise InputError(f"{path}:{header_line}",
                         f"{len(header)} columns and no header: cannot tell which is RR")
    else:
        index = 0
    values: list[float] = []
    line_numbers: list[int] = []
    for number, cells in rows:
        if index >= len(cells):
            raise InputError(f"{path}:{number}", f"missing RR column {index + 1}")
        cell = cells[index]
        if not cell and len(cells) > 1:
            continue  # an empty cell in a table (e.g. the first beat has no RR)
        try:
            value = float(cell)
        except ValueError:
            raise InputError(f"{path}:{number}", f"RR is not a number: {cell!r}") from None
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{path}:{number}", f"RR must be a finite number >= 0, got {cell!r}")
        values.append(value)
        line_numbers.append(number)
    if not values:
        raise InputError(str(path), "no RR values in file")
    rr = np.asarray(values, dtype=np.float64)
    found: RRUnits = units or ("s" if float(np.median(rr)) < _SECONDS_IF_MEDIAN_BELOW else "ms")
    if found == "s":
        rr = rr * 1000.0
    return RRRecording(rr, np.asarray(line_numbers, dtype=np.int64), path, found)


def _rr_column(header: list[str], column: str | None, where: str) -> int:
    names = [name.strip().strip('"').lower() for name in header]
    if column is not None:
        if column.lower() in names:
            return names.index(column.lower())
        if column.isdigit() and 1 <= int(column) <= len(names):
            return int(column) - 1
        raise InputError(where, f"no column {column!r} (columns: {', '.join(header)})")
    for candidate in RR_COLUMN_NAMES:
        if candidate in names:
            return names.index(candidate)
    raise InputError(where, f"no RR column among {', '.join(header)} (use --column NAME)")
