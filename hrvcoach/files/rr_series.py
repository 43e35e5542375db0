"""An RR series read from any recording hrvcoach analyses, with the format it came in and one
line saying how the intervals were obtained (the readers of WFDB and ECG files return it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["RECORDING_FORMATS", "RRSeries", "RecordingFormat"]

RecordingFormat = Literal["rr", "wfdb", "edf", "bdf"]
RECORDING_FORMATS: Final[tuple[RecordingFormat, ...]] = ("rr", "wfdb", "edf", "bdf")


@dataclass(frozen=True, slots=True)
class RRSeries:
    """RR intervals in ms, in recording order."""

    rr_ms: NDArray[np.float64]
    path: Path
    format: RecordingFormat  # rr: RR text, CSV, Polar HRM or Kubios; wfdb; edf/bdf: an ECG
    origin: str  # e.g. "RR in s", "WFDB annotator atr, 2273 beats at 360 Hz"
    units_read: str = "ms"  # the unit the values were read in (the quality gate checks them)
