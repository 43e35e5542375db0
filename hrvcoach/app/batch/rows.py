"""Result table rows, flattened from the JSON report (report.py): one row per recording, and one
per window after it with --window. A failed recording is one row with its `error`.

Columns: a marker keeps its catalogue name (`rmssd_ms`, `hf_valid`); any other value of a block
is `<block>_<key>` (`artifacts_count`, `quality_valid`, `quality_reasons`) unless RENAMED says
otherwise; lists become "; "-joined text. So a block the report gains (the rhythm-quality gate's
`quality`) becomes columns with no change here. Every row ends with the hrvcoach version, the
settings (canonical JSON) and their hash, so a table can be traced and reproduced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from hrvcoach import __version__
from hrvcoach.app.batch.settings import BatchSettings
from hrvcoach.app.batch.task import Outcome
from hrvcoach.core.markers import MARKERS
from hrvcoach.files.result_tables import Cell

__all__ = ["DROPPED", "LEADING_COLUMNS", "RENAMED", "TRAILING_COLUMNS", "Cell", "Row",
           "column_name", "error_row", "provenance", "report_rows", "table_columns", "table_rows"]

Row = dict[str, Cell]

LEADING_COLUMNS: Final = ("file", "format", "origin", "window", "start_s", "end_s", "n_beats",
                          "duration_s", "error")
TRAILING_COLUMNS: Final = ("hrvcoach_version", "settings", "settings_hash")
RENAMED: Final[dict[tuple[str, str], str]] = {("quality", "corrected_pct"): "corrected_pct"}
DROPPED: Final = frozenset({("artifacts", "indices")})  # one per flagged beat: --json lists them


def column_name(block: str, key: str) -> str | None:
    """The table column of `key` in the report's `block`; None for what tables leave out."""
    if (block, key) in DROPPED:
        return None
    if key in MARKERS:
        return key
    return RENAMED.get((block, key), f"{block}_{key}")


def _cell(value: Any) -> Cell:
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return value  # type: ignore[no-any-return]  # the report holds only JSON scalars here


def _flat(report: Mapping[str, Any], row: Row) -> Row:
    for key, value in report.items():
        if key == "windows":
            continue
        if isinstance(value, Mapping):
            for inner, item in value.items():
                name = column_name(key, inner)
                if name is not None:
                    row[name] = _cell(item)
        else:
            row[key] = _cell(value)
    return row


def provenance(settings: BatchSettings) -> dict[str, str]:
    """The TRAILING_COLUMNS of every row (and a Parquet file's metadata)."""
    return {"hrvcoach_version": __version__, "settings": settings.canonical_json(),
            "settings_hash": settings.settings_hash()}


def report_rows(report: Mapping[str, Any], *, format: str, origin: str,
                settings: BatchSettings) -> list[Row]:
    """The whole recording's row, then one row per window (numbered from 1)."""
    trailer: Row = {**provenance(settings)}
    head: Row = {"file": report["file"], "format": format, "origin": origin}
    rows = [_flat(report, {**head, "window": None, "start_s": 0.0,
                           "end_s": report["duration_s"]}) | trailer]
    for number, window in enumerate(report.get("windows", ()), start=1):
        rows.append(_flat(window, {**head, "window": number}) | trailer)
    return rows


def error_row(file: str, *, format: str, error: str, settings: BatchSettings) -> Row:
    """The row of a recording that could not be analysed."""
    return {"file": file, "format": format, "error": error, **provenance(settings)}


def table_columns(rows: Iterable[Row]) -> list[str]:
    """LEADING_COLUMNS, the rows' other columns in the order they first appear, TRAILING_COLUMNS."""
    fixed = set(LEADING_COLUMNS) | set(TRAILING_COLUMNS)
    middle: dict[str, None] = {}
    for row in rows:
        middle.update((name, None) for name in row if name not in fixed)
    return [*LEADING_COLUMNS, *middle, *TRAILING_COLUMNS]



def table_rows(outcomes: Iterable[Outcome], settings: BatchSettings) -> list[Row]:
    """The rows of a batch, recording by recording in the order given."""
    rows: list[Row] = []
    for outcome in outcomes:
        if outcome.report is not None:
            rows += report_rows(outcome.report, format=outcome.format, origin=outcome.origin,
                                settings=settings)
        else:
            rows.append(error_row(outcome.file, format=outcome.format, error=str(outcome.error),
                                  settings=settings))
    return rows
