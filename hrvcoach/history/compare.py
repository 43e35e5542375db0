"""Before/after comparisons of stored sessions, with 95 % confidence intervals.

"Before" is a session's last phase marked `compare = "before"` (by default its baseline), "after"
its first phase marked "after" (its recovery); any two phases of one or two sessions can be named
instead. Each compared marker (COMPARED_MARKERS, from the catalogue) gets its difference and a
95 % interval from a block bootstrap (analysis.bootstrap). A phase that is short or
artifact-heavy is flagged unreliable (history.phases); its numbers are still shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np

from hrvcoach.analysis import (
    baevsky_stress_index,
    band_power_ms2,
    breathing_markers,
    resample_rr,
    rr_spectrum,
    spectrum_of,
    time_markers,
)
from hrvcoach.analysis.bootstrap import BOOTSTRAP_MARKERS, block_replicates
from hrvcoach.core.constants import HF_BAND_HZ, HF_MIN_WINDOW_S
from hrvcoach.core.errors import InputError
from hrvcoach.core.markers import MarkerSpec, marker
from hrvcoach.history.phases import PhaseData, session_phase_data
from hrvcoach.store import SessionInfo, Store

__all__ = ["COMPARED_MARKERS", "Comparison", "MarkerChange", "Side", "compare"]

BOOTSTRAP_REPLICATES: Final = 2000
BOOTSTRAP_SEED: Final = 20_240_601  # fixed: the same session always gives the same interval
CONFIDENCE: Final = 0.95
COMPARED_MARKERS: Final[tuple[MarkerSpec, ...]] = tuple(marker(name) for name in BOOTSTRAP_MARKERS)




@dataclass(frozen=True, slots=True)
class MarkerChange:
    """One marker before and after, the difference (after - before) and its 95 % interval."""

    spec: MarkerSpec
    before: float
    after: float
    delta: float
    ci_low: float
    ci_high: float
    pct: float  # 100 (after / before - 1)
    pct_low: float
    pct_high: float
    note: str = ""  # why there is no value (e.g. HF not valid at slow breathing)

    @property
    def clear(self) -> bool:
        """The interval excludes zero."""
        return (math.isfinite(self.ci_low) and math.isfinite(self.ci_high)
                and (self.ci_low > 0 or self.ci_high < 0))

    def verdict(self) -> str:
        """e.g. 'calmer: RMSSD +24 % (95 % CI +10 … +38 %)', 'no clear change: HR -0.4 bpm (…)'."""
        if self.note:
            return f"{self.spec.label}: {self.note}"
        if not (math.isfinite(self.before) and math.isfinite(self.after)):
            return f"{self.spec.label}: not computable"
        if self.spec.relative:
            value, low, high, unit = self.pct, self.pct_low, self.pct_high, " %"
            digits = 0
        else:
            value, low, high, unit = self.delta, self.ci_low, self.ci_high, (
                f" {self.spec.unit}" if self.spec.unit else "")
            digits = self.spec.digits
        change = f"{self.spec.label} {_signed(value, digits)}{unit}"
        if not (math.isfinite(low) and math.isfinite(high)):
            return f"unclear (no interval): {change}"
        interval = f"(95 % CI {_signed(low, digits)} … {_signed(high, digits)}{unit})"
        if not self.clear:
            word = "no clear change"
        else:
            calmer = (self.delta > 0) == (self.spec.calmer == "up")
            word = "calmer" if calmer else "less calm"
        return f"{word}: {change} {interval}"


@dataclass(frozen=True, slots=True)
class Side:
    """What one side of a comparison is: a phase of a session, and why it may be unreliable."""

    session_id: int
    started_at: str
    protocol: str
    phase_index: int
    phase_name: str
    phase_kind: str
    duration_s: float
    n_beats: int
    flagged_pct: float
    unreliable: list[str] = field(default_factory=list)
    hrv_valid: bool = True  # the rhythm-quality gate (analysis.quality)
    not_valid_because: list[str] = field(default_factory=list)
    moving_s: float = 0.0  # time the body moved in the phase: left out of the markers


@dataclass(frozen=True, slots=True)
class Comparison:
    before: Side
    after: Side
    changes: list[MarkerChange]

    def change(self, name: str) -> MarkerChange:
        return next(change for change in self.changes if change.spec.name == name)

    def verdict(self) -> str:
        """The headline: the RMSSD verdict (or why HRV is not valid), with a warning when a side
        is unreliable."""
        text = self.change("rmssd_ms").verdict()
        moved = [f"{side.moving_s:.0f} s {name}" for name, side in (("before", self.before),
                                                                     ("after", self.after))
                 if side.moving_s > 0]
        if moved:
            text += f" (still stretches only: movement left out, {' and '.join(moved)})"
        shaky = [name for name, side in (("before", self.before), ("after", self.after))
                 if side.unreliable and not all(r.startswith("moving") for r in side.unreliable)]
        if shaky:
            text += f" — unreliable: {' and '.join(shaky)} phase ({'; '.join(self._reasons())})"
        return text

    def _reasons(self) -> list[str]:
        return [*self.before.unreliable, *self.after.unreliable]


def _signed(value: float, digits: int) -> str:
    text = f"{value:+.{digits}f}"
    return text.replace("-", "−")


def _side(data: PhaseData) -> Side:
    return Side(data.session.id, data.session.started_at, data.session.protocol,
                data.phase.index, data.phase.name, data.phase.kind, data.duration_s, data.n_beats,
                data.flagged_pct, data.unreliable(), data.quality.valid,
                list(data.quality.reasons), data.moving_s)


def _pick(phases: list[PhaseData], wanted: str | None, role: Literal["before", "after"],
          session: SessionInfo, *, default_role: Literal["before", "after"]) -> PhaseData:
    if wanted is not None:
        text = wanted.strip()
        for data in phases:
            if (text.isdigit() and int(text) == data.phase.index + 1) or \
                    text.lower() == data.phase.name.lower():
                return data
        names = ", ".join(f"{d.phase.index + 1} ({d.phase.name})" for d in phases) or "none"
        raise InputError(f"--{role}", f"session {session.id} has no phase {wanted!r} "
                         f"(phases: {names})")
    marked = [data for data in phases if data.phase.compare == default_role]
    if not marked:
        raise InputError("SESSION", f"session {session.id} ({session.protocol}) has no phase "
                         f"marked {default_role!r}: name phases with --before/--after, or "
                         "compare two sessions")
    return marked[-1] if default_role == "before" else marked[0]


def compare(store: Store, session_id: int, other_id: int | None = None, *,
            before_phase: str | None = None, after_phase: str | None = None,
            replicates: int = BOOTSTRAP_REPLICATES, seed: int = BOOTSTRAP_SEED) -> Comparison:
    """Before vs after: within one session (its "before" and "after" phases), or between two
    sessions (the first's and the second's "before" phase, e.g. two morning checks)."""
    first = session_phase_data(store, session_id).phases
    session = store.session(session_id)
    before = _pick(first, before_phase, "before", session, default_role="before")
    if other_id is None:
        after = _pick(first, after_phase, "after", session, default_role="after")
    else:
        other = store.session(other_id)
        second = session_phase_data(store, other_id).phases
        after = _pick(second, after_phase, "after", other, default_role="before")
    if before.rr_ms.size < 3 or after.rr_ms.size < 3:
        empty = before if before.rr_ms.size < 3 else after
        raise InputError("SESSION", f"{empty.label} has too few beats to compare")
    rng = np.random.default_rng(seed)
    changes = [_change(spec, before, after, rng, replicates) for spec in COMPARED_MARKERS]
    return Comparison(_side(before), _side(after), changes)


def _point(name: str, data: PhaseData) -> float:
    if name == "hf_ms2":
        if data.duration_s < HF_MIN_WINDOW_S:
            return math.nan
        return band_power_ms2(rr_spectrum(data.rr_ms), *HF_BAND_HZ)
    if name == "stress_index":
        return baevsky_stress_index(data.rr_ms)
    return float(getattr(time_markers(data.rr_ms, data.after_gap), name))


def _hf_valid(data: PhaseData) -> bool:
    """Whether the breathing peak lies wholly in HF for this phase's window (analysis.breathing)."""
    if data.rr_ms.size < 4:
        return True
    resampled = resample_rr(data.rr_ms)
    spectrum = spectrum_of(resampled)
    return breathing_markers(spectrum, resampled,
                             paced_breaths_per_min=data.breaths_per_min).hf_valid


def _not_valid(before: PhaseData, after: PhaseData) -> str:
    """Why HRV is not valid on either side ("" when both rhythms pass the gate)."""
    reasons = [f"{role} phase: {reason}" for role, data in (("before", before), ("after", after))
               for reason in data.quality.reasons]
    return "; ".join(reasons)


def _change(spec: MarkerSpec, before: PhaseData, after: PhaseData, rng: np.random.Generator,
            replicates: int) -> MarkerChange:
    nan = math.nan
    not_valid = _not_valid(before, after)
    if not_valid and (spec.valid_if == "hrv_valid" or spec.name == "hf_ms2"):
        return MarkerChange(spec, nan, nan, nan, nan, nan, nan, nan, nan,
                            f"not valid: {not_valid}")
    b, a = _point(spec.name, before), _point(spec.name, after)
    if spec.name == "hf_ms2":
        invalid = [d for d in (before, after) if not _hf_valid(d)]
        if invalid:
            return MarkerChange(spec, nan, nan, nan, nan, nan, nan, nan, nan,
                                "not valid: the breathing rhythm is not wholly inside HF (slow "
                                "breathing moves it into LF; see RMSSD and power at the "
                                "breathing rate)")
        if not (math.isfinite(b) and math.isfinite(a)):
            return MarkerChange(spec, b, a, a - b, nan, nan, nan, nan, nan,
                                f"needs ≥ {HF_MIN_WINDOW_S:g} s of beats in each phase")
    rep_b = block_replicates(spec.name, before.rr_ms, before.after_gap, b, rng, replicates)
    rep_a = block_replicates(spec.name, after.rr_ms, after.after_gap, a, rng, replicates)
    tail = (1.0 - CONFIDENCE) / 2.0 * 100.0
    delta_low = delta_high = pct_low = pct_high = nan
    if rep_b is not None and rep_a is not None:
        ok = np.isfinite(rep_a) & np.isfinite(rep_b)
        if ok.sum() >= replicates // 2:
            diffs = rep_a[ok] - rep_b[ok]
            delta_low, delta_high = (float(v) for v in np.percentile(diffs, [tail, 100 - tail]))
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = 100.0 * (rep_a[ok] / rep_b[ok] - 1.0)
            ratios = ratios[np.isfinite(ratios)]
            if ratios.size:
                pct_low, pct_high = (float(v) for v in np.percentile(ratios, [tail, 100 - tail]))
    pct = 100.0 * (a / b - 1.0) if b else nan
    return MarkerChange(spec, b, a, a - b, delta_low, delta_high, pct, pct_low, pct_high)


