"""Batch analysis of many recordings: one task per recording (task), run on a local process pool
(pool) or an existing Dask cluster (cluster), chosen by run_batch (run); the recordings found from
files, folders and globs (discover); the settings every task gets and their hash (settings); the
JSON report of a recording (report) and the result table rows flattened from it (rows).
"""

from hrvcoach.app.batch.discover import find_recordings
from hrvcoach.app.batch.rows import Row, error_row, provenance, report_rows, table_columns, table_rows
from hrvcoach.app.batch.run import run_batch
from hrvcoach.app.batch.settings import BatchSettings
from hrvcoach.app.batch.task import Outcome, analyse_recording

__all__ = [
    "BatchSettings",
    "Outcome",
    "Row",
    "analyse_recording",
    "error_row",
    "find_recordings",
    "provenance",
    "report_rows",
    "run_batch",
    "table_columns",
    "table_rows",
]
