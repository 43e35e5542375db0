"""Any recording `hrvcoach analyze` reads -> its RR series, the reader chosen by the file:

- RECORD.hea (or RECORD without extension): a WFDB record's beat annotations (wfdb_files);
- *.edf, *.bdf: the R-peaks of an ECG channel (ecg_files);
- anything else: RR text, CSV, Polar HRM or Kubios (rr_files, recognised from the content).

Each reader (and numpy, wfdb, pyedflib, neurokit2) is imported only when a file needs it: a
process that only hands recordings to workers stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hrvcoach.core.errors import InputError

if TYPE_CHECKING:
    from hrvcoach.files.rr_files import RRUnits
    from hrvcoach.files.rr_series import RecordingFormat, RRSeries

__all__ = ["ECG_SUFFIXES", "FOLDER_SUFFIXES", "ReadOptions", "read_rr_series", "recording_format",
           "wfdb_header"]

ECG_SUFFIXES: Final = (".edf", ".bdf")
RR_SUFFIXES: Final = (".txt", ".csv", ".tsv", ".rr", ".hrm")
FOLDER_SUFFIXES: Final = (*RR_SUFFIXES, ".hea", *ECG_SUFFIXES)  # what a folder search takes


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read recordings; each option applies to the formats it names."""

    units: RRUnits | None = None  # RR files: None = detected
    column: str | None = None  # RR tables: the RR column (name or 1-based number)
    nn_only: bool = False  # WFDB: only intervals between two normal (N) beats
    annotator: str | None = None  # WFDB: the annotation file's extension (None: atr, ecg, qrs)
    ecg_channel: str | None = None  # EDF+/BDF: the ECG channel's label (None: the first ECG/EKG)


def recording_format(path: Path) -> RecordingFormat:
    """The format `path` is read as (RR files are told apart later, from their content)."""
    suffix = path.suffix.lower()
    if suffix in ECG_SUFFIXES:
        return "bdf" if suffix == ".bdf" else "edf"
    return "wfdb" if wfdb_header(path) is not None else "rr"


def wfdb_header(path: Path) -> Path | None:
    """The header of the WFDB record `path` names (RECORD.hea, or RECORD given without its
    extension); None when it names none."""
    if path.suffix.lower() == ".hea":
        return path
    header = path.with_name(path.name + ".hea")
    return header if not path.exists() and header.is_file() else None


def read_rr_series(path: Path, options: ReadOptions) -> RRSeries:
    """The RR series of one recording; InputError naming the file (and line) when it cannot."""
    kind = recording_format(path)
    if options.nn_only and kind != "wfdb":
        raise InputError(str(path), "--nn-only needs beat labels, which only WFDB annotations "
                         "carry: analyse this file without it")
    if kind == "wfdb":
        from hrvcoach.files.wfdb_files import read_wfdb_rr

        return read_wfdb_rr(wfdb_header(path) or path, annotator=options.annotator,
                            nn_only=options.nn_only)
    if kind in ("edf", "bdf"):
        from hrvcoach.files.ecg_files import read_ecg_rr

        return read_ecg_rr(path, ecg_channel=options.ecg_channel)
    from hrvcoach.files.rr_files import read_rr_file
    from hrvcoach.files.rr_series import RRSeries

    recording = read_rr_file(path, units=options.units, column=options.column, heartbeats=False)
    return RRSeries(recording.rr_ms, path, "rr", f"RR in {recording.units_read}",
                    recording.units_read)
