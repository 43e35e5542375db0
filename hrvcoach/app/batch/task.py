"""One task of a batch: read one recording, analyse it, return its report or why it failed.

`analyse_recording` runs wherever the batch sends it (this process, a pool worker, a Dask
worker): it takes and returns plain picklable records, and a failure is an Outcome with its
one-line reason, never an exception that would stop the other recordings. The analysis (numpy,
scipy) is imported by the first task, so a process that only hands tasks out never loads it;
a pool's fork server preloads ANALYSIS_MODULES for its workers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hrvcoach.app.batch.settings import BatchSettings
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.files.recordings import read_rr_series, recording_format

if TYPE_CHECKING:
    from hrvcoach.analysis.batch import Analysis

__all__ = ["ANALYSIS_MODULES", "Outcome", "analyse_recording"]

# (the RR readers too: a worker's memory cap is set before its first task, and compiling a
# module whose bytecode is not cached, e.g. with PYTHONDONTWRITEBYTECODE, can fail under it)
ANALYSIS_MODULES: Final = ("hrvcoach.analysis.batch", "hrvcoach.app.batch.report",
                           "hrvcoach.files.recordings", "hrvcoach.files.rr_files")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one recording."""

    file: str  # as the batch named it
    format: str  # rr, wfdb, edf, bdf
    origin: str  # how the RR were obtained ("" when reading failed)
    n_beats: int  # RR intervals read (0 when reading failed)
    report: dict[str, Any] | None  # the JSON report (None when it failed)
    error: str | None = None  # the one-line reason it failed
    bad_input: bool = False  # it failed on its content (an InputError), not on a fault
    analysis: Analysis | None = None  # the analysis itself, only when asked for (text reports)

    @property
    def ok(self) -> bool:
        return self.error is None


def analyse_recording(file: str, settings: BatchSettings, *, keep_analysis: bool = False) -> Outcome:
    """Read and analyse one recording as `settings` say."""
    from hrvcoach.analysis.batch import analyze
    from hrvcoach.app.batch.report import analysis_json

    path = Path(file)
    kind = recording_format(path)
    origin, n_beats = "", 0
    try:
        series = read_rr_series(path, settings.read)
        origin, n_beats = series.origin, int(series.rr_ms.size)
        analysis = analyze(series.rr_ms, correct=settings.correct, window_s=settings.window_s,
                           input_unit=series.units_read)
    except InputError as exc:
        return Outcome(file, kind, origin, n_beats, None, str(exc), bad_input=True)
    except HrvcoachError as exc:
        return Outcome(file, kind, origin, n_beats, None, str(exc))
    except MemoryError:
        return Outcome(file, kind, origin, n_beats, None,
                       f"{file}: out of memory (the limit per job: --max-memory)")
    except Exception as exc:  # one recording must never stop the batch: its row says why
        log.exception("analysing %s failed", file)
        return Outcome(file, kind, origin, n_beats, None, f"{file}: {type(exc).__name__}: {exc}")
    return Outcome(file, kind, origin, n_beats, analysis_json(file, analysis),
                   analysis=analysis if keep_analysis else None)
