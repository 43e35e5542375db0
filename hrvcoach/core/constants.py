"""Physiological limits and bands; the unit is in every name."""

from typing import Final

MIN_RR_MS: Final = 60_000 / 240  # faster than 240 bpm is not a heartbeat
MAX_RR_MS: Final = 60_000 / 20  # slower than 20 bpm is not a heartbeat

RMSSD_WINDOW_S: Final = 60.0  # live RMSSD window (issue: RMSSD over the last 60 s)
HR_WINDOW_S: Final = 10.0  # live heart rate: mean over the last 10 s

SPONTANEOUS_BREATHS_PER_MIN: Final = 13.0  # a typical resting adult, unpaced

# Frequency domain (Task Force 1996): bands in Hz, and the shortest window each band needs.
RESAMPLE_HZ: Final = 4.0  # RR series resampled (cubic spline) at this rate before the spectrum
VLF_BAND_HZ: Final = (0.0033, 0.04)
LF_BAND_HZ: Final = (0.04, 0.15)
HF_BAND_HZ: Final = (0.15, 0.40)
VLF_MIN_WINDOW_S: Final = 240.0  # VLF is reported from 4-min windows on (5 min is the standard)
LF_MIN_WINDOW_S: Final = 120.0  # Task Force: >= 2 min for LF
HF_MIN_WINDOW_S: Final = 60.0  # Task Force: >= 1 min for HF
WELCH_SEGMENT_MAX_S: Final = 150.0  # Welch segments: half the window, at most this long
WELCH_MIN_FFT_POINTS: Final = 512  # zero padding: at 4 Hz, bins of <= 0.008 Hz (a 2-min window: 2x)

# Time domain
PNN_THRESHOLD_MS: Final = 50.0
STRESS_INDEX_BIN_MS: Final = 50.0  # Baevsky's histogram bin width

# Breathing: the respiratory sinus arrhythmia (RSA) peak of the RR spectrum
BREATHING_BAND_HZ: Final = (0.05, 0.40)  # 3-24 breaths/min
BREATHING_POWER_HALF_WIDTH_HZ: Final = 0.015  # power at the breathing frequency: +-0.015 Hz ...
# ... or the Hann taper's main lobe, +-2/segment length, where that is wider (analysis/breathing.py);
# HF is valid only when the breathing peak's main lobe lies inside the HF band
TAPER_MAIN_LOBE_HALF_WIDTH_PER_S: Final = 2.0
# A peak below the HF band counts as slow breathing (not a Mayer wave) only when it holds at least
# this share of the 0.04-0.4 Hz power within +-BREATHING_POWER_HALF_WIDTH_HZ (see breathing.py).
SLOW_BREATHING_MIN_PEAK_SHARE: Final = 0.5

# Coherence (McCraty/HeartMath): peak in 0.04-0.26 Hz, 0.030 Hz wide, against 0.0033-0.4 Hz
COHERENCE_BLOCK_S: Final = 64.0
COHERENCE_PEAK_BAND_HZ: Final = (0.04, 0.26)
COHERENCE_PEAK_WIDTH_HZ: Final = 0.030
COHERENCE_TOTAL_BAND_HZ: Final = (0.0033, 0.40)
COHERENCE_FFT_POINTS: Final = 1024  # 64 s at 4 Hz (256 samples) zero-padded to 1024
# Coherence levels: a block ratio from the first is "medium", from the second "high" (measured
# in analysis/coherence.py: free breathing at 12/min stays below "high")
COHERENCE_LEVELS_RATIO: Final = (1.0, 3.0)

# Live markers: window lengths a live display needs
LIVE_SPECTRUM_WINDOW_S: Final = 120.0  # LF needs >= 2 min; HF (>= 1 min) comes from the same window

# Artifact detection (Lipponen & Tarvainen 2019), their published constants
ARTIFACT_C1: Final = 0.13
ARTIFACT_C2: Final = 0.17
ARTIFACT_ALPHA: Final = 5.2
ARTIFACT_THRESHOLD_BEATS: Final = 91  # window of the quartile-deviation thresholds
ARTIFACT_MEDIAN_BEATS: Final = 11  # window of the median RR
# hrvcoach's bounds on both thresholds (analysis/artifacts/detect.py says why): never below
# ARTIFACT_FLOOR_OF_RR of the local median RR (Malik's 20 % rule: smaller changes are sinus
# rhythm) nor below ARTIFACT_FLOOR_OF_TYPICAL x the typical |dRR| (median over the threshold
# window), never above the larger of ARTIFACT_CEILING_OF_RR x the median RR and a multiple
# of the typical |dRR| (ARTIFACT_DRR_CEILING_OF_TYPICAL for dRR, _MRR_ for mRR).
ARTIFACT_FLOOR_OF_RR: Final = 0.20
ARTIFACT_CEILING_OF_RR: Final = 0.30
ARTIFACT_FLOOR_OF_TYPICAL: Final = 2.0
ARTIFACT_DRR_CEILING_OF_TYPICAL: Final = 4.5
ARTIFACT_MRR_CEILING_OF_TYPICAL: Final = 6.0
# The newest beats wait until they can be judged: the classifier needs this many beats of
# look-ahead (see analysis/artifacts/correct.py, step 4).
ARTIFACT_HOLD_BEATS: Final = 2
# Among them, one that exceeds its dRR threshold waits; so does one that fell by more than this
# share of it and is short of the local median (normalised mRR below -1): a premature beat
# within its threshold (slow breathing raises it) shows only with the pause after it.
ARTIFACT_HOLD_SHORT_DRRS: Final = 0.5

# The simulated strap's artifacts (sources/simulator.py checks the same bound)
SIM_MAX_ARTIFACTS_PER_MIN: Final = 30.0  # ectopic, missed and extra beats per minute

# Session start dates hrvcoach accepts (--date, a file's started_at): far from datetime's limits,
# so that adding a session's length or a time zone never overflows
SESSION_YEARS: Final = (1900, 2200)  # first and last year, both included
