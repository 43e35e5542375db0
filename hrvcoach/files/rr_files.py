"""RR recordings on disk -> arrays of RR in ms.

Formats, recognised from the content:

- one RR per line, in ms or s (Kubios' own RR text export is this, with '#' header lines);
- a CSV/TSV/semicolon table with a header naming the RR column (rr_ms, rr, rri, ibi, ...);
- a Kubios HRV results text file: the "RR interval" column of its RR INTERVAL DATA section;
- a Polar HRM file: the [HRData] section of an R-R recording ([Params] Interval=238).

Units (ms or s) are detected from the values and can be forced. Every error names file and line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.errors import InputError

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


def _rr_value(cell: str, where: str) -> float:
    """One RR cell as a number >= 0; InputError naming file and line otherwise."""
    try:
        value = float(cell)
    except ValueError:
        raise InputError(where, f"RR is not a number: {cell!r}") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(where, f"RR must be a finite number >= 0, got {cell!r}")
    return value


def read_rr_file(path: Path, *, units: RRUnits | None = None, column: str | None = None) -> RRRecording:
    """Read RR intervals; blank lines and lines starting with '#' are skipped."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read ({exc})") from None
    head = text[:4096]
    if _POLAR_HRM_SECTION in head or "\n[HRData]" in text or text.startswith("[HRData]"):
        return _read_polar_hrm(path, text, units)
    if _KUBIOS_RR_SECTION in text.upper():
        return _read_kubios_report(path, text, units)
    if column is None:
        plain = _plain_column(path, text, units)
        if plain is not None:
            return plain
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
        values.append(_rr_value(cell, f"{path}:{number}"))
        line_numbers.append(number)
    if not values:
        raise InputError(str(path), "no RR values in file")
    rr = np.asarray(values, dtype=np.float64)
    found: RRUnits = units or ("s" if float(np.median(rr)) < _SECONDS_IF_MEDIAN_BELOW else "ms")
    if found == "s":
        rr = rr * 1000.0
    return RRRecording(rr, np.asarray(line_numbers, dtype=np.int64), path, found)


def _plain_column(path: Path, text: str, units: RRUnits | None) -> RRRecording | None:
    """The fast path for one number per line (a day holds ~100k): None unless every non-blank
    line is exactly one finite number >= 0 (then the general reader says what is wrong)."""
    if "#" in text:
        return None
    rows = text.splitlines()
    tokens = text.split()
    numbered = [i for i, row in enumerate(rows, start=1) if row.strip()]
    if len(tokens) != len(numbered) or not tokens:
        return None
    try:
        rr = np.array(tokens, dtype=np.float64)
    except ValueError:
        return None
    if not np.all(np.isfinite(rr)) or bool(np.any(rr < 0)):
        return None
    found: RRUnits = units or ("s" if float(np.median(rr)) < _SECONDS_IF_MEDIAN_BELOW else "ms")
    if found == "s":
        rr = rr * 1000.0
    return RRRecording(rr, np.asarray(numbered, dtype=np.int64), path, found)


_POLAR_HRM_SECTION = "[Params]"
_POLAR_RR_INTERVAL = 238  # [Params] Interval=238: [HRData] holds R-R intervals in ms
_KUBIOS_RR_SECTION = "RR INTERVAL DATA"


def _finish(path: Path, values: list[float], line_numbers: list[int], units: RRUnits | None,
            default: RRUnits, where: str) -> RRRecording:
    if not values:
        raise InputError(where, "no RR values in file")
    rr = np.asarray(values, dtype=np.float64)
    found: RRUnits = units or default
    if found == "s":
        rr = rr * 1000.0
    return RRRecording(rr, np.asarray(line_numbers, dtype=np.int64), path, found)


def _read_polar_hrm(path: Path, text: str, units: RRUnits | None) -> RRRecording:
    """Polar HRM: [Params] must say Interval=238 (R-R data); [HRData] holds one RR in ms per
    line (further columns, e.g. speed or cadence, are ignored)."""
    section = ""
    interval: tuple[int, str] | None = None
    values: list[float] = []
    line_numbers: list[int] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            if section == "hrdata" and (interval is None or interval[1] != str(_POLAR_RR_INTERVAL)):
                where = f"{path}:{interval[0]}" if interval else f"{path}:{number}"
                found = f"Interval={interval[1]}" if interval else "no Interval in [Params]"
                raise InputError(where, f"{found}: this Polar HRM file holds heart rate samples, "
                                 f"not R-R intervals (Interval={_POLAR_RR_INTERVAL})")
            continue
        if section == "params" and line.lower().startswith("interval="):
            interval = (number, line.split("=", 1)[1].strip())
        elif section == "hrdata":
            cell = line.replace(",", "\t").split()[0]
            values.append(_rr_value(cell, f"{path}:{number}"))
            line_numbers.append(number)
    if not values:
        raise InputError(str(path), "no RR values in the [HRData] section")
    return _finish(path, values, line_numbers, units, "ms", str(path))


def _read_kubios_report(path: Path, text: str, units: RRUnits | None) -> RRRecording:
    """A Kubios HRV results text file: the "RR interval" column under "RR INTERVAL DATA", with its
    unit from the line below the column names ("(s)" or "(ms)")."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if _KUBIOS_RR_SECTION in line.upper())
    header = next((i for i in range(start + 1, min(start + 8, len(lines)))
                   if "rr interval" in lines[i].lower()), None)
    if header is None:
        raise InputError(f"{path}:{start + 1}", "Kubios RR INTERVAL DATA without an "
                         "'RR interval' column")
    names = [cell.strip().lower() for cell in lines[header].split(",")]
    index = next(i for i, name in enumerate(names) if name.startswith("rr interval"))
    unit_cells = [cell.strip().lower() for cell in lines[header + 1].split(",")]
    unit_cell = unit_cells[index] if index < len(unit_cells) else ""
    default: RRUnits = "ms" if unit_cell == "(ms)" else "s"
    values: list[float] = []
    line_numbers: list[int] = []
    for number in range(header + 3, len(lines) + 1):
        line = lines[number - 1]
        if not line.strip():
            break
        cells = line.split(",")
        cell = cells[index].strip() if index < len(cells) else ""
        if not cell:
            continue  # past the end of the RR data (the spectrum columns run on)
        values.append(_rr_value(cell, f"{path}:{number}"))
        line_numbers.append(number)
    return _finish(path, values, line_numbers, units, default, f"{path}:{header + 1}")


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
