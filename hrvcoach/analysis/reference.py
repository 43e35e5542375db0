"""neurokit2 as an engine: the only module of the package that imports it, and only when called.

For users who want neurokit2's exact numbers (`--engine neurokit2`) and for checking ours.
neurokit2 0.2.13 facts this module works with:

- hrv_frequency defaults to normalize=True (power divided by the PSD maximum, not ms²) and to
  interpolation_rate=100; we call it with normalize=False, interpolation_rate=4 (Kubios' rate).
  Its Welch segments are left-aligned, so in some windows the newest ~75 s are not used.
- its pNN50 divides by the number of intervals (ours: by the number of differences).
- SD1/SD2 come from hrv_nonlinear's Poincaré part (ddof=1, like ours).
- `import neurokit2` takes ~1.7 s, hence the lazy import.
"""

from __future__ import annotations

import math
import warnings
from types import ModuleType

import numpy as np
from numpy.typing import NDArray

from hrvcoach.analysis.artifacts import Detection
from hrvcoach.analysis.spectral import FloatArray, FrequencyDomain
from hrvcoach.analysis.time_domain import TimeDomain, baevsky_stress_index, mean_hr_bpm
from hrvcoach.core.constants import HF_MIN_WINDOW_S, LF_MIN_WINDOW_S, VLF_MIN_WINDOW_S

__all__ = [
    "neurokit_detect_artifacts",
    "neurokit_ecg_peaks",
    "neurokit_frequency_domain",
    "neurokit_time_domain",
]


def _neurokit() -> ModuleType:
    import neurokit2  # ~1.7 s: only here, only when asked for

    return neurokit2


def _rri(rr_ms: FloatArray) -> dict[str, FloatArray]:
    rr = np.asarray(rr_ms, dtype=np.float64)
    return {"RRI": rr, "RRI_Time": np.cumsum(rr) / 1000.0}


def neurokit_time_domain(rr_ms: FloatArray) -> TimeDomain:
    """neurokit2's time-domain numbers (pNN50 with its own denominator, see the module note);
    mean HR and the stress index, which neurokit2 does not give, are ours."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.size < 3:
        return TimeDomain(*([math.nan] * 9))
    nk = _neurokit()
    from neurokit2.hrv.hrv_nonlinear import _hrv_nonlinear_poincare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        time = nk.hrv_time(_rri(rr))
        poincare = _hrv_nonlinear_poincare(rr, out={})
    rmssd = float(time["HRV_RMSSD"].iloc[0])
    return TimeDomain(
        mean_rr_ms=float(time["HRV_MeanNN"].iloc[0]),
        mean_hr_bpm=mean_hr_bpm(rr),
        sdnn_ms=float(time["HRV_SDNN"].iloc[0]),
        rmssd_ms=rmssd,
        ln_rmssd=math.log(rmssd) if rmssd > 0 else math.nan,
        pnn50_pct=float(time["HRV_pNN50"].iloc[0]),
        sd1_ms=float(poincare["SD1"]),
        sd2_ms=float(poincare["SD2"]),
        stress_index=baevsky_stress_index(rr),
    )


def neurokit_frequency_domain(rr_ms: FloatArray) -> FrequencyDomain:
    """neurokit2's VLF/LF/HF in ms² (normalize=False, interpolation_rate=4), NaN where the window
    is too short for a band (as ours); neurokit2 reports no peak frequencies (NaN here)."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    duration = float(rr.sum()) / 1000.0
    if rr.size < 4 or duration < HF_MIN_WINDOW_S:
        return FrequencyDomain(*([math.nan] * 7))
    nk = _neurokit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = nk.hrv_frequency(_rri(rr), normalize=False, interpolation_rate=4)

    def band(name: str, min_s: float) -> float:
        value = float(out[f"HRV_{name}"].iloc[0])
        return value if duration >= min_s and math.isfinite(value) else math.nan

    vlf, lf, hf = band("VLF", VLF_MIN_WINDOW_S), band("LF", LF_MIN_WINDOW_S), band("HF", 0.0)
    return FrequencyDomain(vlf, lf, hf, lf / hf if hf > 0 else math.nan, vlf + lf + hf,
                           math.nan, math.nan)


def neurokit_detect_artifacts(rr_ms: FloatArray, *, iterative: bool = False) -> Detection:
    """neurokit2's signal_fixpeaks(method="Kubios") flags, as indices into the RR list (the
    flags of its last correction pass when iterative)."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    nk = _neurokit()
    peaks = nk.intervals_to_peaks(rr, sampling_rate=1000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info, _ = nk.signal_fixpeaks(peaks, sampling_rate=1000, iterative=iterative,
                                     method="Kubios")

    def indices(key: str) -> tuple[int, ...]:
        return tuple(sorted(int(j) - 1 for j in info[key] if int(j) >= 1))

    return Detection(indices("ectopic"), indices("missed"), indices("extra"),
                     indices("longshort"))


def neurokit_ecg_peaks(ecg: FloatArray, sampling_rate_hz: float) -> NDArray[np.int64]:
    """R-peak positions (sample indices) in an ECG: neurokit2's ecg_clean, then ecg_peaks with its
    default method and without its own artifact correction (ours runs on the RR afterwards).
    On mitdb 100's first 5 min (360 Hz): every annotated beat within 1 sample."""
    signal = np.asarray(ecg, dtype=np.float64)
    nk = _neurokit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = nk.ecg_clean(signal, sampling_rate=sampling_rate_hz)
        _, info = nk.ecg_peaks(cleaned, sampling_rate=sampling_rate_hz, correct_artifacts=False)
    return np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
