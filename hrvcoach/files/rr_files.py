"""RR recordings on disk -> arrays of RR in ms.

Formats, recognised from the content:

- one RR per line, in ms or s (Kubios' own RR text export is this, with '#' header lines);
- a CSV/TSV/semicolon table with a header naming the RR column (rr_ms, rr, rri, ibi, ...);
- a Kubios HRV results text file: the "RR interval" column of its RR INTERVAL DATA section;
- a Polar HRM file: the [HRData] section of an R-R recording ([Params] Interval=238).

Units (ms or s) are detected from the values and can be forced. Files are read line by line, in
bounded memory (at most MAX_RR_INTERVALS intervals), and checked completely: every RR is a
finite number >= 0 and, for a recording to replay or import, at most MAX_RR_MS, with a median
at which a heart beats (a file of heart rates in bpm is refused, not read as beats of 64 ms).
Every error names file and line.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.constants import MAX_RR_MS as SLOWEST_HEARTBEAT_MS
from hrvcoach.core.constants import MIN_RR_MS as FASTEST_HEARTBEAT_MS
from hrvcoach.core.errors import InputError
from hrvcoach.files.reading import MAX_RR_INTERVALS, MAX_RR_MS, TOO_MANY_BEATS, numbered_lines, read_head
from hrvcoach.protocols.fields import shown

RRUnits = Literal["ms", "s"]
RR_COLUMN_NAMES = ("rr_ms", "rr", "rri", "ibi", "ibi_ms", "rr_interval", "nn", "nni", "rr (ms)")
_SECONDS_IF_MEDIAN_BELOW: Final = 10.0  # no heart beats 10 ms apart, and no RR lasts 10 s
_POLAR_HRM_SECTIONS: Final = ("[Params]", "[HRData]")
_POLAR_RR_INTERVAL: Final = 238  # [Params] Interval=238: [HRData] holds R-R intervals in ms
_KUBIOS_RR_SECTION: Final = "RR INTERVAL DATA"
_HEART_RATES_BPM: Final = (20.0, 240.0)  # a median in this range of "ms" is a heart rate
_KUBIOS_HEADER_WITHIN: Final = 7  # lines after the section title that may hold its column names


@dataclass(frozen=True, slots=True)
class RRRecording:
    """RR intervals read from a file, in ms, with the file line each came from."""

    rr_ms: NDArray[np.float64]
    line_numbers: NDArray[np.int64]
    path: Path
    units_read: RRUnits


_BATCH_LINES: Final = 65_536  # RR cells parsed at once


class _Values:
    """RR values as they are read (compact arrays), refused past MAX_RR_INTERVALS."""

    def __init__(self, path: Path, heartbeats: bool) -> None:
        self.path = path
        self.heartbeats = heartbeats  # refuse what cannot be a recording of heartbeats
        self.rr = array("d")
        self.lines = array("q")

    def add(self, cell: str, number: int) -> None:
        if len(self.rr) >= MAX_RR_INTERVALS:
            raise InputError(f"{self.path}:{number}", TOO_MANY_BEATS)
        self.rr.append(_rr_value(cell, f"{self.path}:{number}"))
        self.lines.append(number)

    def add_many(self, cells: list[str], numbers: list[int]) -> None:
        """Many cells at once: numpy parses them; the first bad one is named as `add` would."""
        room = MAX_RR_INTERVALS - len(self.rr)
        if len(cells) > room:
            raise InputError(f"{self.path}:{numbers[max(room, 0)]}", TOO_MANY_BEATS)
        try:
            parsed = np.array(cells, dtype=np.float64)
        except ValueError:
            parsed = None
        if parsed is None or not bool(np.all(parsed >= 0)) or not bool(np.all(np.isfinite(parsed))):
            for cell, number in zip(cells, numbers, strict=True):  # the first bad one, named
                _rr_value(cell, f"{self.path}:{number}")
            raise AssertionError("a cell numpy refused was read")  # pragma: no cover
        self.rr.extend(parsed.tolist())
        self.lines.extend(numbers)

    def finish(self, units: RRUnits | None, default: RRUnits | None, where: str) -> RRRecording:
        """The recording in ms: units forced, else `default`, else detected from the median."""
        if not self.rr:
            raise InputError(where, "no RR values in file")
        rr = np.frombuffer(self.rr, dtype=np.float64).copy()
        median = float(np.median(rr))
        found: RRUnits = units or default or ("s" if median < _SECONDS_IF_MEDIAN_BELOW else "ms")
        if found == "s":
            rr *= 1000.0
            median *= 1000.0
        lines = np.frombuffer(self.lines, dtype=np.int64).copy()
        if not self.heartbeats:
            return RRRecording(rr, lines, self.path, found)
        too_long = np.flatnonzero(rr > MAX_RR_MS)
        if too_long.size:
            first = int(too_long[0])
            raise InputError(f"{self.path}:{lines[first]}", f"an RR of {rr[first]:.6g} ms is longer "
                             f"than a strap can report ({MAX_RR_MS / 1000:.0f} s): wrong units? "
                             "(--units ms|s)")
        if not FASTEST_HEARTBEAT_MS <= median <= SLOWEST_HEARTBEAT_MS:
            hint = ("these look like heart rates in bpm, not RR intervals"
                    if _HEART_RATES_BPM[0] <= median < FASTEST_HEARTBEAT_MS else
                    "wrong units? (--units ms|s)")
            raise InputError(str(self.path), f"the median RR is {median:.4g} ms, not a heartbeat "
                             f"({FASTEST_HEARTBEAT_MS:.0f}–{SLOWEST_HEARTBEAT_MS:.0f} ms): {hint}")
        return RRRecording(rr, lines, self.path, found)


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
        raise InputError(where, f"RR is not a number: {shown(cell)}") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(where, f"RR must be a finite number >= 0, got {shown(cell)}")
    return value


def read_rr_file(path: Path, *, units: RRUnits | None = None, column: str | None = None,
                 heartbeats: bool = True) -> RRRecording:
    """Read RR intervals; blank lines and lines starting with '#' are skipped. With `heartbeats`
    (anything replayed or imported) a file that cannot be a recording of heartbeats is refused:
    an RR longer than a strap can report, or a median RR no heart beats at (heart rates in bpm,
    R-peak sample indices, wrong units). `analyze` reads any numbers: its artifact correction
    and quality gate judge them."""
    head = read_head(path)
    values = _Values(path, heartbeats)
    if any(section in head for section in _POLAR_HRM_SECTIONS):
        return _read_polar_hrm(values, numbered_lines(path), units)
    if _KUBIOS_RR_SECTION in head.upper():
        return _read_kubios_report(values, numbered_lines(path), units)
    return _read_table(values, numbered_lines(path), units, column)


def _read_table(values: _Values, lines: Iterable[tuple[int, str]], units: RRUnits | None,
                column: str | None) -> RRRecording:
    """One RR per line, or a table with a header naming its RR column."""
    path = values.path
    rows = ((number, line) for number, line in lines
            if line.strip() and not line.lstrip().startswith("#"))
    first = next(rows, None)
    if first is None:
        raise InputError(str(path), "no RR values in file")
    header_line, line = first
    delimiter = _delimiter(line)
    header = _cells(line, delimiter)
    if any(not _is_number(cell) for cell in header):
        index = _rr_column(header, column, f"{path}:{header_line}")
    elif column is not None:
        raise InputError(f"{path}:{header_line}", f"--column {shown(column)} given, but the file "
                         "has no header")
    elif len(header) > 1:
        raise InputError(f"{path}:{header_line}",
                         f"{len(header)} columns and no header: cannot tell which is RR")
    else:
        index = 0
        values.add(header[0], header_line)
    batch: list[str] = []
    numbers: list[int] = []
    for number, line in rows:
        cells = _cells(line, delimiter)
        if index >= len(cells):
            raise InputError(f"{path}:{number}", f"missing RR column {index + 1}")
        cell = cells[index]
        if not cell and len(cells) > 1:
            continue  # an empty cell in a table (e.g. the first beat has no RR)
        batch.append(cell)
        numbers.append(number)
        if len(batch) == _BATCH_LINES:  # parsed a batch at a time: bounded memory, numpy speed
            values.add_many(batch, numbers)
            batch, numbers = [], []
    if batch:
        values.add_many(batch, numbers)
    return values.finish(units, None, str(path))


def _read_polar_hrm(values: _Values, lines: Iterable[tuple[int, str]],
                    units: RRUnits | None) -> RRRecording:
    """Polar HRM: [Params] must say Interval=238 (R-R data); [HRData] holds one RR in ms per
    line (further columns, e.g. speed or cadence, are ignored)."""
    path = values.path
    section = ""
    interval: tuple[int, str] | None = None
    for number, raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip().lower()
            if section == "hrdata" and (interval is None or interval[1] != str(_POLAR_RR_INTERVAL)):
                where = f"{path}:{interval[0]}" if interval else f"{path}:{number}"
                found = f"Interval={shown(interval[1])[1:-1]}" if interval else "no Interval in [Params]"
                raise InputError(where, f"{found}: this Polar HRM file holds heart rate samples, "
                                 f"not R-R intervals (Interval={_POLAR_RR_INTERVAL})")
            continue
        if section == "params" and line.lower().startswith("interval="):
            interval = (number, line.split("=", 1)[1].strip())
        elif section == "hrdata":
            cells = line.replace(",", "\t").split()
            if not cells:
                raise InputError(f"{path}:{number}", f"no RR value in {shown(line)}")
            values.add(cells[0], number)
    if not values.rr:
        raise InputError(str(path), "no RR values in the [HRData] section")
    return values.finish(units, "ms", str(path))


def _read_kubios_report(values: _Values, lines: Iterable[tuple[int, str]],
                        units: RRUnits | None) -> RRRecording:
    """A Kubios HRV results text file: the "RR interval" column under "RR INTERVAL DATA", with its
    unit from the line below the column names ("(s)" or "(ms)")."""
    path = values.path
    rows: Iterator[tuple[int, str]] = iter(lines)
    start = next((number for number, line in rows if _KUBIOS_RR_SECTION in line.upper()), None)
    if start is None:
        raise InputError(str(path), f"no {_KUBIOS_RR_SECTION} section")
    header: tuple[int, str] | None = None
    for number, line in rows:
        if "rr interval" in line.lower():
            header = (number, line)
            break
        if number >= start + _KUBIOS_HEADER_WITHIN:
            break
    delimiter = _delimiter(header[1]) if header else None
    names = [cell.lower() for cell in _cells(header[1], delimiter)] if header else []
    index = next((i for i, name in enumerate(names) if name.startswith("rr interval")), None)
    if header is None or index is None:
        raise InputError(f"{path}:{start}", "Kubios RR INTERVAL DATA without an 'RR interval' "
                         "column")
    unit_line = next(rows, None)
    if unit_line is None:
        raise InputError(f"{path}:{header[0]}", "no RR values after the column names")
    unit_cells = [cell.lower() for cell in _cells(unit_line[1], delimiter)]
    default: RRUnits = "ms" if index < len(unit_cells) and unit_cells[index] == "(ms)" else "s"
    for number, line in rows:
        if not line.strip():
            break
        cells = _cells(line, delimiter)
        cell = cells[index] if index < len(cells) else ""
        if cell:  # an empty cell: past the end of the RR data (the spectrum columns run on)
            values.add(cell, number)
    return values.finish(units, default, f"{path}:{header[0]}")


def _rr_column(header: list[str], column: str | None, where: str) -> int:
    names = [name.strip().strip('"').lower() for name in header]
    if column is not None:
        if column.lower() in names:
            return names.index(column.lower())
        if column.isdigit() and len(column) < 6 and 1 <= int(column) <= len(names):
            return int(column) - 1
        raise InputError(where, f"no column {shown(column)} (columns: {shown(', '.join(header))})")
    for candidate in RR_COLUMN_NAMES:
        if candidate in names:
            return names.index(candidate)
    raise InputError(where, f"no RR column among {shown(', '.join(header))[1:-1]} (use --column NAME)")
