"""The analysis core: pure numpy functions and small per-beat accumulators (no Qt, bleak, SQLite)."""

from hrvcoach.analysis.live import LiveMarkers, Markers
from hrvcoach.analysis.time_domain import mean_hr_bpm, rmssd_ms, successive_differences_ms

__all__ = ["LiveMarkers", "Markers", "mean_hr_bpm", "rmssd_ms", "successive_differences_ms"]
