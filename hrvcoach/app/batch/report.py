"""The JSON report of one analysed recording: `analyze --json` prints it, and the result tables'
rows are flattened from it (rows.py), so both always carry the same numbers under the same names.
Its shape is documented in the README ("Command line").
"""

from __future__ import annotations

import math
from typing import Any

from hrvcoach.analysis.batch import Analysis, WindowAnalysis

__all__ = ["analysis_json"]


def _number(value: float) -> float | None:
    """JSON has no NaN: a marker that could not be computed is null."""
    return float(value) if math.isfinite(value) else None


def _blocks(stretch: WindowAnalysis) -> dict[str, Any]:
    markers = stretch.markers
    time, frequency = markers.time, markers.frequency
    breathing, coherence, summary = markers.breathing, markers.coherence, markers.coherence_summary
    counts = dict.fromkeys(("ectopic", "missed", "extra", "long_short"), 0)
    for artifact in stretch.artifacts:
        counts[artifact.kind] += 1
    return {
        "quality": stretch.quality.as_json(),
        "artifacts": {"count": len(stretch.artifacts), **counts,
                      "indices": sorted(artifact.index for artifact in stretch.artifacts)},
        "time": {
            "mean_rr_ms": _number(time.mean_rr_ms),
            "mean_hr_bpm": _number(time.mean_hr_bpm),
            "sdnn_ms": _number(time.sdnn_ms),
            "rmssd_ms": _number(time.rmssd_ms),
            "ln_rmssd": _number(time.ln_rmssd),
            "pnn50_pct": _number(time.pnn50_pct),
            "sd1_ms": _number(time.sd1_ms),
            "sd2_ms": _number(time.sd2_ms),
            "stress_index": _number(time.stress_index),
        },
        "frequency": {
            "vlf_ms2": _number(frequency.vlf_ms2),
            "lf_ms2": _number(frequency.lf_ms2),
            "hf_ms2": _number(frequency.hf_ms2),
            "lf_hf": _number(frequency.lf_hf),
            "total_ms2": _number(frequency.total_ms2),
            "lf_peak_hz": _number(frequency.lf_peak_hz),
            "hf_peak_hz": _number(frequency.hf_peak_hz),
            "hf_valid": breathing.hf_valid,
        },
        "breathing": {
            "breaths_per_min": _number(breathing.breaths_per_min),
            "breathing_power_ms2": _number(breathing.breathing_power_ms2),
            "p2t_ms": _number(breathing.p2t_ms),
            "p2t_bpm": _number(breathing.p2t_bpm),
        },
        "coherence": {"coherence_ratio": _number(coherence.coherence_ratio),
                      "coherence_peak_hz": _number(coherence.coherence_peak_hz),
                      "coherence_score": _number(coherence.coherence_score),
                      "low_coherence_pct": _number(summary.low_coherence_pct),
                      "medium_coherence_pct": _number(summary.medium_coherence_pct),
                      "high_coherence_pct": _number(summary.high_coherence_pct)},
    }


def analysis_json(file: str, analysis: Analysis) -> dict[str, Any]:
    """The documented JSON object of one file (see README, "Command line")."""
    out: dict[str, Any] = {"file": file, "n_beats": analysis.n_beats,
                           "duration_s": analysis.duration_s, **_blocks(analysis.whole)}
    if analysis.windows:
        out["windows"] = [
            {"start_s": window.start_s, "end_s": window.end_s, "n_beats": window.n_beats,
             **_blocks(window)}
            for window in analysis.windows
        ]
    return out
