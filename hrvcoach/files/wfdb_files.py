"""WFDB records (PhysioNet) -> RR intervals, from a beat annotation file.

A record is named by its header, RECORD.hea; its beats are in RECORD.<annotator> (mitdb's
reference labels are `atr`, nsr2db's and chf2db's `ecg`). Only the header and the annotations
are read: no signal file is needed. Beats are the annotations with a beat label (PhysioNet's:
N L R B A a J S V r F e j n E / f Q ?); rhythm, noise and comment annotations are skipped.
With nn_only, only the intervals between two consecutive normal beats (N) are kept: the
normal-to-normal intervals of PhysioNet's HRV toolkit.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Final

import numpy as np

from hrvcoach.core.errors import InputError
from hrvcoach.files.rr_series import RRSeries

__all__ = ["ANNOTATORS", "BEAT_LABELS", "NORMAL_LABELS", "read_wfdb_rr"]

BEAT_LABELS: Final = frozenset("NLRBAaJSVrFejnE/fQ?")
NORMAL_LABELS: Final = frozenset("N")
ANNOTATORS: Final = ("atr", "ecg", "qrs")  # looked for in this order when none is named
_ANNOTATOR_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,40}")  # a plain file extension
_DECIMAL: Final = re.compile(r"\d+\.?\d*|\.\d+")  # a WFDB number: digits, an optional point


def _annotator(header: Path, annotator: str | None) -> str:
    if annotator is not None:
        if not _ANNOTATOR_NAME.fullmatch(annotator):
            raise InputError("--annotator", "must be an annotation file's extension such as atr "
                             f"(letters, digits, _ or -), got {annotator[:40]!r}")
        return annotator
    found = next((name for name in ANNOTATORS if header.with_suffix(f".{name}").is_file()), None)
    if found is None:
        raise InputError(str(header), "no beat annotation file beside this WFDB header "
                         f"(looked for {', '.join(f'.{name}' for name in ANNOTATORS)}; "
                         "name another with --annotator)")
    return found


def _check_sampling_frequency(header: Path) -> None:
    """Refuse a record line (`name nsig [fs[/counter[(base)]] ...]`) whose sampling frequency is
    written but not a positive number: wfdb would silently read it as 250 Hz."""
    text = header.read_bytes().decode("ascii", errors="ignore")  # as wfdb reads it
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.strip().split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 3:
            return  # no sampling frequency: WFDB's default of 250 Hz
        written = re.split(r"[/(]", fields[2], maxsplit=1)[0]
        if not _DECIMAL.fullmatch(written) or not float(written) > 0:
            raise InputError(f"{header}:{number}", "the sampling frequency (3rd field of the record "
                             f"line) must be a positive number of Hz, got {fields[2][:40]!r}")
        return


def read_wfdb_rr(header: Path, *, annotator: str | None = None, nn_only: bool = False) -> RRSeries:
    """RR intervals between consecutive annotated beats (only normal-to-normal ones if nn_only)
    of the record whose header is `header` (RECORD.hea)."""
    extension = _annotator(header, annotator)
    record = str(header.with_suffix(""))
    where = f"{header.with_suffix('.' + extension)}"
    try:
        with warnings.catch_warnings():  # wfdb's pandas calls warn of deprecations, not of data
            warnings.simplefilter("ignore")
            _check_sampling_frequency(header)
            import wfdb  # ~0.5 s: only for WFDB records

            sampling_rate_hz = float(wfdb.rdheader(record).fs)
            annotation = wfdb.rdann(record, extension)
    except FileNotFoundError as exc:
        raise InputError(where, f"no such file ({exc.filename})") from None
    except (OSError, ValueError, IndexError, KeyError) as exc:
        raise InputError(where, f"not a readable WFDB record ({exc})") from None
    samples = np.asarray(annotation.sample, dtype=np.int64)
    labels = [str(symbol) for symbol in annotation.symbol]
    is_beat = np.fromiter((label in BEAT_LABELS for label in labels), dtype=bool, count=len(labels))
    beats = samples[is_beat]
    if beats.size < 2:
        raise InputError(where, f"{beats.size} beats annotated: no RR interval")
    if bool(np.any(np.diff(beats) <= 0)) or not sampling_rate_hz > 0:
        raise InputError(where, "beat times do not increase: not a WFDB beat annotation file")
    rr_ms = np.diff(beats) / sampling_rate_hz * 1000.0
    origin = f"WFDB {Path(record).name}.{extension}: {beats.size} beats at {sampling_rate_hz:g} Hz"
    if nn_only:
        normal = np.fromiter((label in NORMAL_LABELS for label, beat in zip(labels, is_beat, strict=True)
                              if beat), dtype=bool, count=beats.size)
        rr_ms = rr_ms[normal[1:] & normal[:-1]]
        origin += f", {rr_ms.size} normal-to-normal intervals"
        if rr_ms.size == 0:
            raise InputError(where, "no two consecutive normal (N) beats: no normal-to-normal interval")
    return RRSeries(rr_ms, header, "wfdb", origin)
