"""Physiological limits and bands; the unit is in every name."""

from typing import Final

MIN_RR_MS: Final = 60_000 / 240  # faster than 240 bpm is not a heartbeat
MAX_RR_MS: Final = 60_000 / 20  # slower than 20 bpm is not a heartbeat

RMSSD_WINDOW_S: Final = 60.0  # live RMSSD window (issue: RMSSD over the last 60 s)
HR_WINDOW_S: Final = 10.0  # live heart rate: mean over the last 10 s

SPONTANEOUS_BREATHS_PER_MIN: Final = 13.0  # a typical resting adult, unpaced
HF_VALID_MIN_BREATHS_PER_MIN: Final = 9.0  # below this, RSA moves from HF into LF
