"""Result tables out: rows of named cells as CSV, JSON (a list of objects) or Parquet (pyarrow,
`pip install 'hrvcoach[parquet]'`).

Every row gets every column (a missing cell is empty in CSV, null in JSON and Parquet). Numbers
are written exactly (Python's shortest round-trip form), so a table read back gives the same
floats. A file is written beside its target and renamed over it when complete: an interrupted
run never leaves half a table. Parquet also keeps `metadata` (e.g. the settings) in its schema.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, Literal

from hrvcoach.core.errors import InputError
from hrvcoach.files.safe_write import atomic_output

__all__ = ["TABLE_FORMATS", "Cell", "TableFormat", "encode_result_table", "table_format_of",
           "write_result_table"]

TableFormat = Literal["json", "csv", "parquet"]
TABLE_FORMATS: Final[tuple[TableFormat, ...]] = ("json", "csv", "parquet")
Cell = str | int | float | bool | None


def table_format_of(path: Path) -> TableFormat | None:
    """The format a file name asks for (.csv, .json, .parquet/.pq), None if it asks for none."""
    suffix = path.suffix.lower()
    if suffix == ".pq":
        return "parquet"
    name = suffix.lstrip(".")
    return next((known for known in TABLE_FORMATS if known == name), None)


def _csv_text(rows: Sequence[Mapping[str, Cell]], columns: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(name) is None else row.get(name) for name in columns])
    return out.getvalue()


def _json_text(rows: Sequence[Mapping[str, Cell]], columns: Sequence[str]) -> str:
    records = [{name: row.get(name) for name in columns} for row in rows]
    return json.dumps(records, indent=1, allow_nan=False) + "\n"


def _parquet_bytes(rows: Sequence[Mapping[str, Cell]], columns: Sequence[str],
                   metadata: Mapping[str, str]) -> bytes:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("--format parquet", "needs pyarrow: pip install 'hrvcoach[parquet]'") from None
    table = pa.Table.from_pydict({name: [row.get(name) for row in rows] for name in columns})
    table = table.replace_schema_metadata(dict(metadata))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def encode_result_table(rows: Sequence[Mapping[str, Cell]], columns: Sequence[str],
                        table_format: TableFormat, *, metadata: Mapping[str, str]) -> bytes:
    """The table as the bytes of a file in `table_format` (CSV and JSON in UTF-8)."""
    if table_format == "parquet":
        return _parquet_bytes(rows, columns, metadata)
    text = _csv_text(rows, columns) if table_format == "csv" else _json_text(rows, columns)
    return text.encode("utf-8")


def write_result_table(path: Path, data: bytes) -> None:
    """Write an encoded table to `path`, all or nothing (files.safe_write)."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)
