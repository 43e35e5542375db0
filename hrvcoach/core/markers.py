"""THE marker catalogue: one name per quantity, with its label, unit, digits, which way is "calmer"
and what its validity depends on. Live markers, batch analysis, the store, every JSON output, the
window's cards and the reports use these names and take labels and units from here.

Units are in the names (`_ms`, `_ms2`, `_hz`, `_pct`, `_s`); `_bpm` is always *beats* per minute
(heart rate), breathing rates are `breaths_per_min`.

`Markers` is the live record of one moment (after one beat): every field is a catalogue name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal

__all__ = [
    "CATALOGUE",
    "EMPTY_MARKERS",
    "LEGACY_NAMES",
    "MARKERS",
    "Calmer",
    "MarkerKind",
    "MarkerSpec",
    "MarkerValue",
    "Markers",
    "current_names",
    "decode_stored",
    "format_marker",
    "marker",
]

MarkerValue = float | bool | None  # a flag is a bool, a count an int, a missing value None
Calmer = Literal["up", "down"]  # the direction a parasympathetic (calming) shift moves it
MarkerKind = Literal["value", "flag", "count"]


@dataclass(frozen=True, slots=True)
class MarkerSpec:
    """How to name, show and judge one marker."""

    name: str  # the one name: field, JSON key, stored key
    label: str  # in sentences and tables: "RMSSD", "heart rate"
    unit: str  # "" when unitless
    digits: int  # decimals shown
    calmer: Calmer | None = None  # None: neither direction means calmer
    kind: MarkerKind = "value"
    relative: bool = False  # a change reads best in % (RMSSD) rather than in the unit (HR)
    valid_if: str | None = None  # the flag marker that must be true for the value to mean it
    about: str = ""  # one line: what it is
    title: str = ""  # a longer label for cards and summaries ("heart rate"); "" = the label
    glance_digits: int | None = None  # on the window's big numbers; None: `digits`

    @property
    def heading(self) -> str:
        """The card and summary heading: the title, else the label."""
        return self.title or self.label

    @property
    def card_digits(self) -> int:
        """Decimals on the window's big numbers (steadier to read than the tables' `digits`)."""
        return self.digits if self.glance_digits is None else self.glance_digits

    def with_unit(self) -> str:
        """e.g. "RMSSD (ms)", "ln RMSSD"."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def from_stored(self, value: float | None) -> float | bool | None:
        """A stored number as its kind: a flag as bool, a count as int, NaN/None as None."""
        if value is None or not math.isfinite(value):
            return None
        if self.kind == "flag":
            return bool(value)
        if self.kind == "count":
            return int(value)
        return float(value)


def _spec(name: str, label: str, unit: str, digits: int, calmer: Calmer | None = None, *,
          kind: MarkerKind = "value", relative: bool = False, valid_if: str | None = None,
          about: str = "", title: str = "", glance_digits: int | None = None) -> MarkerSpec:
    return MarkerSpec(name, label, unit, digits, calmer, kind, relative, valid_if, about, title,
                      glance_digits)


CATALOGUE: Final[tuple[MarkerSpec, ...]] = (
    # time domain
    _spec("mean_rr_ms", "mean RR", "ms", 0, "up", about="mean interval between beats"),
    _spec("mean_hr_bpm", "HR", "bpm", 1, "down", about="mean heart rate", title="heart rate",
          glance_digits=0),
    _spec("sdnn_ms", "SDNN", "ms", 1, "up", relative=True, valid_if="hrv_valid",
          about="standard deviation of the intervals"),
    _spec("rmssd_ms", "RMSSD", "ms", 1, "up", relative=True, valid_if="hrv_valid", glance_digits=0,
          about="root mean square of successive differences (vagal); differences touching a "
          "moved (ectopic) beat are left out"),
    _spec("ln_rmssd", "ln RMSSD", "", 2, "up", valid_if="hrv_valid",
          about="natural log of RMSSD in ms"),
    _spec("pnn50_pct", "pNN50", "%", 1, "up", valid_if="hrv_valid",
          about="successive differences over 50 ms, in % of the differences"),
    _spec("sd1_ms", "SD1", "ms", 1, "up", valid_if="hrv_valid",
          about="Poincaré plot width (short-term, vagal)"),
    _spec("sd2_ms", "SD2", "ms", 1, about="Poincaré plot length"),
    _spec("stress_index", "stress index", "", 1, "down", relative=True,
          about="square root of Baevsky's stress index, as Kubios reports it"),
    # frequency domain (Task Force 1996 bands; Welch spectrum of the 4 Hz cubic-spline series)
    _spec("vlf_ms2", "VLF", "ms²", 0, about="power 0.0033-0.04 Hz (from 4-min windows)"),
    _spec("lf_ms2", "LF", "ms²", 0, about="power 0.04-0.15 Hz (from 2-min windows)"),
    _spec("hf_ms2", "HF", "ms²", 0, "up", relative=True, valid_if="hf_valid", title="HF power",
          about="power 0.15-0.4 Hz (from 1-min windows); not valid at slow breathing"),
    _spec("lf_hf", "LF/HF", "", 2, about="LF over HF"),
    _spec("total_ms2", "total power", "ms²", 0, about="power 0.0033-0.4 Hz"),
    _spec("lf_peak_hz", "LF peak", "Hz", 3, about="frequency of the largest LF density"),
    _spec("hf_peak_hz", "HF peak", "Hz", 3, about="frequency of the largest HF density"),
    _spec("hf_valid", "HF valid", "", 0, kind="flag",
          about="false unless the breathing peak's main lobe (±2/segment length for the Hann "
          "taper) lies wholly inside 0.15-0.4 Hz: at 2-min windows breathing of 11-22/min"),
    # breathing (respiratory sinus arrhythmia)
    _spec("breaths_per_min", "breathing", "/min", 1,
          about="breathing rate: measured by the accelerometer where a strap has one, else the "
          "pacer's while it paces, else the RSA peak"),
    _spec("breathing_power_ms2", "power at breath", "ms²", 0, "up", relative=True,
          valid_if="hrv_valid", about="RR power within ±0.015 Hz of the breathing frequency, or "
          "within the taper's main lobe where that is wider (the same for any window length)"),
    _spec("p2t_ms", "breath swing", "ms", 1, "up", about="mean per-breath peak-to-trough RR"),
    _spec("p2t_bpm", "breath swing", "bpm", 1, "up",
          about="mean per-breath peak-to-trough heart rate"),
    # the real breath, from a chest strap's accelerometer (analysis.accel_breathing)
    _spec("breathing_rate_measured", "breathing (measured)", "/min", 1,
          about="breaths per minute measured from the chest's movement (still breaths only)"),
    _spec("inhale_exhale_ratio", "in:out", "", 2,
          about="in-breath over out-breath time of the measured still breaths"),
    _spec("pacer_adherence", "pacer adherence", "", 2, "up",
          about="share of the measured still paced breaths within ±10 % of the pacer's rate "
          "(1: every breath followed it)"),
    _spec("pacer_followed", "pacer followed", "", 0, kind="flag",
          about="a resonance-assessment block: pacer adherence of at least 0.6 (a block not "
          "followed is not trusted: its heart rate answered another breathing rate)"),
    _spec("pacer_lag_s", "lag to the pacer", "s", 1,
          about="how long after the pacer's in-breath the measured one starts (circular mean; "
          "negative: ahead)"),
    _spec("heart_breath_phase_deg", "heart-breath phase", "°", 0,
          about="phase of heart rate against the measured breath at the breathing frequency "
          "(0: heart rate peaks with full inhalation; negative: it follows later)"),
    _spec("heart_breath_coherence", "heart-breath coherence", "", 2, "up",
          about="magnitude-squared coherence of heart rate and the measured breath at the "
          "breathing frequency (1: the heart follows every breath)"),
    # movement (analysis.movement)
    _spec("still_fraction", "still", "", 2,
          about="share of the time the body was still (no movement found by the accelerometer)"),
    _spec("moving_s", "moving", "s", 0, about="time the body moved"),
    _spec("hr_rise_bpm", "HR rise", "bpm", 1,
          about="a movement phase: its highest 30-s heart rate minus the minute before it"),
    _spec("hr_recovery_bpm", "HR recovery", "bpm", 1,
          about="a movement phase: how far the heart rate fell in the minute after it"),
    # the ECG against the strap's RR (analysis.ecg)
    _spec("ecg_missed_beats", "beats the RR missed", "", 0, kind="count",
          about="beats in the ECG that the strap's RR stream left out"),
    _spec("ecg_extra_beats", "extra beats in the RR", "", 0, kind="count",
          about="beats in the strap's RR stream that the ECG does not have"),
    _spec("ecg_disagreements", "RR differs from ECG", "", 0, kind="count",
          about="strap RR intervals more than 2 ECG samples (15 ms) off the ECG's"),
    _spec("lf_peak_ms2_per_hz", "LF spectral peak", "ms²/Hz", 0,
          about="largest spectral density in the LF band"),
    # coherence (McCraty/HeartMath)
    _spec("coherence_ratio", "coherence", "ratio", 2, "up", glance_digits=1,
          about="(peak power / rest of 0.0033-0.4 Hz)², 0.030 Hz peak window, 64-s blocks; "
          "over a longer window the median of its blocks"),
    _spec("coherence_peak_hz", "coherence peak", "Hz", 3,
          about="the dominant 0.04-0.26 Hz frequency"),
    _spec("coherence_score", "coherence score", "", 0, "up",
          about="hrvcoach's own 0-100 score: % of the 0.0033-0.4 Hz power of a 64-s block within "
          "the taper's main lobe around its peak; 100 for one pure rhythm"),
    _spec("high_coherence_s", "time at high coherence", "s", 0, "up",
          about="time whose 64-s block (ending every second) has a coherence ratio of at least "
          "3 (coherence_summary; free breathing at 12/min never reaches it)"),
    _spec("low_coherence_pct", "time at low coherence", "%", 0, "down",
          about="share of the time whose 64-s coherence ratio is below 1 (see coherence.py)"),
    _spec("medium_coherence_pct", "time at medium coherence", "%", 0,
          about="share of the time whose 64-s coherence ratio is 1 to 3"),
    _spec("high_coherence_pct", "time at high coherence", "%", 0, "up",
          about="share of the time whose 64-s coherence ratio is at least 3"),
    # resonance assessment
    _spec("resonance_score", "score", "", 2, about="mean of the resonance signs, each scaled "
          "by its best block (1 = best in all)"),
    # bookkeeping of a window or phase
    _spec("n_beats", "beats", "", 0, kind="count", about="intervals analysed"),
    _spec("duration_s", "length", "s", 0, about="sum of the intervals"),
    _spec("artifact_pct", "corrected beats", "%", 1,
          about="beats corrected or without skin contact, in %"),
    _spec("beats_in_window", "beats", "", 0, kind="count", about="usable beats in the window"),
    _spec("artifacts_in_window", "corrected", "", 0, kind="count",
          about="corrected or held-back beats in the window"),
    # the rhythm-quality gate (analysis/quality.py) and live bookkeeping
    _spec("corrected_pct", "corrected beats", "%", 1,
          about="beats the correction moved, inserted, removed or merged, in % of the beats"),
    _spec("hrv_valid", "HRV valid", "", 0, kind="flag",
          about="false when the rhythm or the input cannot carry vagal markers (irregular "
          "rhythm, too many corrections, not RR intervals); the reasons come with it"),
    _spec("provisional", "provisional", "", 0, kind="flag",
          about="a live value depends on a correction that is not final yet (~51 beats)"),
)

MARKERS: Final[dict[str, MarkerSpec]] = {spec.name: spec for spec in CATALOGUE}


# Names hrvcoach 0.1 stored (phase markers, the profile and its scores) -> catalogue names.
# The store's migration to schema 2 and the reader of an old profile.json use this one map.
LEGACY_NAMES: Final[dict[str, str]] = {
    "power_at_breathing_ms2": "breathing_power_ms2",
    "resonance_bpm": "resonance_breaths_per_min",
    "rate_bpm": "breaths_per_min",
    "power_at_rate_ms2": "breathing_power_ms2",
    "coherence": "coherence_ratio",
    "score": "resonance_score",
}


def current_names(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record (JSON object) with any 0.1 names replaced by catalogue names."""
    return {LEGACY_NAMES.get(key, key): value for key, value in record.items()}


def marker(name: str) -> MarkerSpec:
    """The catalogue entry of `name` (a KeyError names the unknown marker)."""
    try:
        return MARKERS[name]
    except KeyError:
        raise KeyError(f"{name!r} is not in the marker catalogue (hrvcoach.core.markers)") from None


def decode_stored(name: str, value: float | None) -> MarkerValue:
    """A stored number as its catalogue kind (names not in the catalogue stay numbers)."""
    spec = MARKERS.get(name)
    if spec is None:
        return None if value is None or not math.isfinite(value) else float(value)
    return spec.from_stored(value)


def format_marker(name: str, value: float | bool | None, *, unit: bool = False) -> str:
    """The value with the catalogue's digits ("—" when missing), optionally with its unit.
    Never "-0": a value that rounds to zero is shown as 0."""
    spec = marker(name)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if spec.kind == "flag":
        return "yes" if value else "no"
    rounded = round(float(value), spec.digits)
    text = f"{rounded + 0.0:.{spec.digits}f}"  # + 0.0 turns -0.0 into 0.0
    return f"{text} {spec.unit}" if unit and spec.unit else text


NAN = math.nan


@dataclass(frozen=True, slots=True)
class Markers:
    """Live markers after one beat (NaN until there is enough data). Windows: heart rate over the
    last 10 s; the time domain over the last 60 s; the spectrum (LF, HF, breathing) over the last
    120 s; coherence over the last 64 s of it."""

    mean_hr_bpm: float
    rmssd_ms: float
    beats_in_window: int  # usable beats in the RMSSD window
    ln_rmssd: float = NAN
    sdnn_ms: float = NAN
    pnn50_pct: float = NAN
    sd1_ms: float = NAN
    sd2_ms: float = NAN
    stress_index: float = NAN
    lf_ms2: float = NAN
    hf_ms2: float = NAN
    lf_hf: float = NAN
    lf_peak_hz: float = NAN
    hf_peak_hz: float = NAN
    hf_valid: bool = True
    breaths_per_min: float = NAN
    breathing_power_ms2: float = NAN
    p2t_ms: float = NAN
    p2t_bpm: float = NAN
    coherence_ratio: float = NAN
    coherence_peak_hz: float = NAN
    artifacts_in_window: int = 0
    coherence_score: float = NAN
    corrected_pct: float = NAN  # in the spectrum window (the longest)
    hrv_valid: bool = True  # the rhythm-quality gate over the spectrum window
    provisional: bool = False  # a value depends on a correction not final yet


EMPTY_MARKERS: Final = Markers(NAN, NAN, 0)
