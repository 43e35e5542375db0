"""The analysis core: pure numpy/scipy functions and small per-beat accumulators (no Qt, bleak,
SQLite; neurokit2 only inside analysis.reference, imported when called).

Batch: `analyze` a whole recording; live: `LiveMarkers.update` per beat; both make the same
correction decisions and use the same window functions, so they agree on the same beats
(`markers_at`: the live markers of a moment from recorded beats). `rhythm_quality` is the gate
that says when HRV is not valid; `coherence_summary` the one coherence summary of a phase.
"""

from hrvcoach.analysis.artifacts import (
    ARTIFACT_KINDS,
    Artifact,
    ArtifactKind,
    Correction,
    Detection,
    StreamingArtifactDetector,
    correct_artifacts,
    detect_artifacts,
)
from hrvcoach.analysis.batch import Analysis, WindowAnalysis, WindowMarkers, analyze, window_markers
from hrvcoach.analysis.breathing import (
    Breathing,
    breathing_markers,
    breathing_rate_per_min,
    hf_is_valid,
)
from hrvcoach.analysis.coherence import (
    Coherence,
    CoherenceSummary,
    coherence_markers,
    coherence_summary,
)
from hrvcoach.analysis.live import LiveMarkers, markers_at
from hrvcoach.analysis.quality import Quality, rhythm_quality
from hrvcoach.analysis.spectral import (
    FrequencyDomain,
    Resampled,
    Spectrum,
    band_power_ms2,
    frequency_markers,
    peak_frequency_hz,
    resample_rr,
    rr_spectrum,
    spectrum_of,
    welch_psd,
)
from hrvcoach.analysis.time_domain import (
    TimeDomain,
    baevsky_stress_index,
    ln_rmssd,
    mean_hr_bpm,
    mean_rr_ms,
    pnn50_pct,
    poincare_sd_ms,
    rmssd_ms,
    sdnn_ms,
    successive_differences_ms,
    time_markers,
)

__all__ = [
    "ARTIFACT_KINDS",
    "Analysis",
    "Artifact",
    "ArtifactKind",
    "Breathing",
    "Coherence",
    "CoherenceSummary",
    "Correction",
    "Detection",
    "FrequencyDomain",
    "LiveMarkers",
    "Quality",
    "Resampled",
    "Spectrum",
    "StreamingArtifactDetector",
    "TimeDomain",
    "WindowAnalysis",
    "WindowMarkers",
    "analyze",
    "baevsky_stress_index",
    "band_power_ms2",
    "breathing_markers",
    "breathing_rate_per_min",
    "coherence_markers",
    "coherence_summary",
    "correct_artifacts",
    "detect_artifacts",
    "frequency_markers",
    "hf_is_valid",
    "ln_rmssd",
    "markers_at",
    "mean_hr_bpm",
    "mean_rr_ms",
    "peak_frequency_hz",
    "pnn50_pct",
    "poincare_sd_ms",
    "resample_rr",
    "rhythm_quality",
    "rmssd_ms",
    "rr_spectrum",
    "sdnn_ms",
    "spectrum_of",
    "successive_differences_ms",
    "time_markers",
    "welch_psd",
    "window_markers",
]
