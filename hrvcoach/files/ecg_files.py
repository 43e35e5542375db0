"""EDF+ and BDF recordings with an ECG channel -> RR intervals between detected R-peaks.

The ECG channel is the one named (ecg_channel: its label, any case), else the first whose label
says ECG or EKG. R-peaks are found by hrvcoach's detector (analysis.ecg.r_peaks, checked against
neurokit2's; the same one that checks a strap's RR against its ECG), between samples, one
CHUNK_S at a time: each chunk is read with OVERLAP_S more signal on both sides, so its filters
settle, and keeps only the peaks inside its own span. Memory is that of one chunk however long
the recording (a day at 1 kHz is 86 million samples).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np

from hrvcoach.core.constants import MIN_RR_MS
from hrvcoach.core.errors import InputError
from hrvcoach.files.rr_series import RecordingFormat, RRSeries

__all__ = ["CHUNK_S", "ECG_LABEL_WORDS", "OVERLAP_S", "read_ecg_rr"]

ECG_LABEL_WORDS: Final = ("ecg", "ekg")
CHUNK_S: Final = 600.0
OVERLAP_S: Final = 5.0


def _channel(labels: list[str], wanted: str | None, where: str) -> int:
    names = [label.strip().lower() for label in labels]
    if wanted is not None:
        if wanted.strip().lower() in names:
            return names.index(wanted.strip().lower())
        raise InputError(where, f"no channel {wanted!r} (channels: {', '.join(labels)})")
    found = next((i for i, name in enumerate(names) if any(w in name for w in ECG_LABEL_WORDS)), None)
    if found is None:
        raise InputError(where, f"no ECG channel among {', '.join(labels) or 'no channels'} "
                         "(name it with --ecg-channel)")
    return found


def read_ecg_rr(path: Path, *, ecg_channel: str | None = None) -> RRSeries:
    """RR intervals (ms) between the R-peaks of the file's ECG channel."""
    import pyedflib

    from hrvcoach.analysis.ecg import r_peaks

    where = str(path)
    try:
        reader = pyedflib.EdfReader(where)
    except OSError as exc:
        raise InputError(where, f"not a readable EDF+/BDF file ({exc})") from None
    try:
        index = _channel(list(reader.getSignalLabels()), ecg_channel, where)
        label = reader.getLabel(index).strip()
        rate_hz = float(reader.getSampleFrequency(index))
        n_samples = int(reader.getNSamples()[index])
        chunk, overlap = round(CHUNK_S * rate_hz), round(OVERLAP_S * rate_hz)
        closest = MIN_RR_MS / 1000.0 * rate_hz  # two peaks closer than this are one beat
        peaks: list[np.ndarray] = []
        last = -np.inf
        for start in range(0, n_samples, chunk):
            low, high = max(0, start - overlap), min(n_samples, start + chunk + overlap)
            if high - low < overlap:  # a stump shorter than OVERLAP_S: no beat to find
                continue
            found = low + r_peaks(reader.readSignal(index, low, high - low), rate_hz)
            own = found[(found >= start) & (found < start + chunk)]
            if own.size and own[0] - last < closest:  # the same beat seen from both chunks
                own = own[1:]
            if own.size:
                peaks.append(own)
                last = float(own[-1])
    finally:
        reader.close()
    samples = np.concatenate(peaks) if peaks else np.empty(0)
    if samples.size < 2:
        raise InputError(where, f"{samples.size} R-peaks found in ECG channel {label!r}: "
                         "no RR interval")
    kind: RecordingFormat = "bdf" if path.suffix.lower() == ".bdf" else "edf"
    return RRSeries(np.diff(samples) / rate_hz * 1000.0, path, kind,
                    f"ECG {label!r} at {rate_hz:g} Hz: {samples.size} R-peaks")
