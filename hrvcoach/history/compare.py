"""Per-phase markers of a stored session, and before/after comparisons with confidence intervals.

Markers. Beats without skin contact are left out (the difference across them is not used), the
rest are artifact-corrected over the whole session (Lipponen & Tarvainen, analysis.artifacts),
and each phase's markers come from its corrected beats (a beat belongs to the phase in which it
ends): time domain, Welch spectrum (LF, HF), breathing-aware markers (HF is valid only above
9 breaths/min) and coherence, including the time spent at high coherence (64-s blocks with a
coherence ratio of at least HIGH_COHERENCE_RATIO).

Comparisons. "Before" is a session's last phase marked `compare = "before"` (by default its
baseline), "after" its first phase marked "after" (its recovery); any two phases of one or two
sessions can be named instead. Each marker gets its difference and a 95 % confidence interval
from a block bootstrap: each phase is cut into BOOTSTRAP_BLOCK_S blocks of consecutive beats
(long enough to hold two slow breaths, so the breathing rhythm stays inside a block), blocks are
drawn with replacement, and the marker is recomputed from the drawn blocks' sums (successive
differences never span two blocks). HF uses 60-s blocks (the shortest window HF needs). A phase
that is short or artifact-heavy is flagged unreliable; its numbers are still shown.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from hrvcoach.analysis import (
    Resampled,
    baevsky_stress_index,
    band_power_ms2,
    breathing_markers,
    coherence_markers,
    correct_artifacts,
    resample_rr,
    rr_spectrum,
    spectrum_of,
    time_markers,
    window_markers,
)
from hrvcoach.core.constants import (
    COHERENCE_BLOCK_S,
    HF_BAND_HZ,
    HF_MIN_WINDOW_S,
    STRESS_INDEX_BIN_MS,
)
from hrvcoach.core.errors import InputError
from hrvcoach.store.db import SessionInfo, Store, StoredPhase

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

__all__ = [
    "COMPARED_MARKERS",
    "Comparison",
    "MarkerChange",
    "PhaseData",
    "Side",
    "compare",
    "compute_markers",
    "phase_markers",
    "session_phase_data",
]

HIGH_COHERENCE_RATIO: Final = 1.0  # the 0.03-Hz peak holds at least half the 0.0033-0.4 Hz power
MIN_RELIABLE_S: Final = 120.0  # shorter phases are flagged (LF needs 2 min; 5 min is standard)
MAX_RELIABLE_ARTIFACT_PCT: Final = 5.0  # more corrected or contact-less beats than this: flagged
BOOTSTRAP_BLOCK_S: Final = 20.0
BOOTSTRAP_REPLICATES: Final = 2000
BOOTSTRAP_SEED: Final = 20_240_601  # fixed: the same session always gives the same interval
CONFIDENCE: Final = 0.95

Direction = Literal["up", "down"]  # which way is "calmer"


@dataclass(frozen=True, slots=True)
class MarkerSpec:
    name: str
    label: str
    unit: str
    calmer: Direction
    relative: bool  # verdict as a % change (True) or as a difference in the unit


COMPARED_MARKERS: Final[tuple[MarkerSpec, ...]] = (
    MarkerSpec("ln_rmssd", "ln RMSSD", "", "up", False),
    MarkerSpec("rmssd_ms", "RMSSD", "ms", "up", True),
    MarkerSpec("mean_hr_bpm", "HR", "bpm", "down", False),
    MarkerSpec("sdnn_ms", "SDNN", "ms", "up", True),
    MarkerSpec("hf_ms2", "HF", "ms²", "up", True),
    MarkerSpec("stress_index", "stress index", "", "down", True),
)


# ---------------------------------------------------------------------------------------------
# Markers of stored phases


@dataclass(frozen=True, slots=True)
class PhaseData:
    """One stored phase with its artifact-corrected beats."""

    session: SessionInfo
    phase: StoredPhase
    rr_ms: FloatArray  # corrected intervals ending in this phase
    after_gap: BoolArray  # True where the difference to the previous interval is not used
    time_s: FloatArray  # session time of the beat that ends each corrected interval
    n_beats: int  # beats recorded in the phase (before correction)
    n_flagged: int  # of them: artifacts or without skin contact
    breaths_per_min: float | None  # the pacer's rate, None for spontaneous breathing

    @property
    def label(self) -> str:
        return f"session {self.session.id} phase {self.phase.index + 1} ({self.phase.name})"

    @property
    def duration_s(self) -> float:
        return float(self.rr_ms.sum()) / 1000.0

    @property
    def flagged_pct(self) -> float:
        return 100.0 * self.n_flagged / self.n_beats if self.n_beats else math.nan

    def unreliable(self) -> list[str]:
        """Why this phase's markers should not be trusted much (empty: no reason)."""
        reasons = []
        if self.duration_s < MIN_RELIABLE_S:
            reasons.append(f"short: {self.duration_s / 60:.1f} min (< {MIN_RELIABLE_S / 60:g} min)")
        if self.flagged_pct > MAX_RELIABLE_ARTIFACT_PCT:
            reasons.append(f"artifact-heavy: {self.flagged_pct:.0f} % of beats corrected or "
                           f"contact-less (> {MAX_RELIABLE_ARTIFACT_PCT:g} %)")
        return reasons


@dataclass(frozen=True, slots=True)
class SessionAnalysis:
    phases: list[PhaseData]
    artifacts: Mapping[int, str]  # beat seq -> artifact kind


def session_phase_data(store: Store, session_id: int) -> SessionAnalysis:
    """Every phase of a stored session with its corrected beats, and the session's artifacts."""
    session = store.session(session_id)
    beats = store.beats(session_id)
    phases = store.phases(session_id)
    time_s = np.asarray(beats.time_s, dtype=np.float64)
    rr = np.asarray(beats.rr_ms, dtype=np.float64)
    usable = np.asarray(beats.usable, dtype=bool)
    gaps = np.asarray(beats.after_gap, dtype=bool)
    # A usable beat after a contact-less one (or a reported gap) starts a new run of differences.
    follows_unusable = np.concatenate(([False], ~usable[:-1])) if rr.size else usable
    starts_run = gaps | follows_unusable
    kept = np.flatnonzero(usable)
    correction = correct_artifacts(rr[kept])
    artifacts = {int(kept[a.index]): a.kind for a in correction.artifacts}
    source = kept[correction.source_index] if kept.size else np.empty(0, dtype=np.int64)
    corrected = correction.rr_ms
    corrected_gap = starts_run[source] if source.size else np.empty(0, dtype=bool)
    if corrected_gap.size:  # a beat inserted by the correction shares its source; not a gap twice
        corrected_gap = corrected_gap & np.concatenate(([True], np.diff(source) != 0))
    corrected_time = time_s[source] if source.size else np.empty(0)
    flagged = ~usable
    flagged[list(artifacts)] = True
    data = []
    for phase in phases:
        in_beats = (time_s >= phase.start_s) & (time_s < phase.end_s)
        if phase is phases[-1]:
            in_beats |= time_s >= phase.end_s  # the last phase keeps any beat after its end
        in_corrected = np.isin(source, np.flatnonzero(in_beats))
        phase_gap = corrected_gap[in_corrected].copy()
        if phase_gap.size:
            phase_gap[0] = False
        paced = phase.breaths_per_min if phase.kind == "paced" else None
        data.append(PhaseData(session, phase, corrected[in_corrected], phase_gap,
                              corrected_time[in_corrected], int(in_beats.sum()),
                              int((flagged & in_beats).sum()), paced))
    return SessionAnalysis(data, artifacts)


def phase_markers(data: PhaseData) -> dict[str, float]:
    """Every marker the store keeps for one phase (NaN where it cannot be computed), from the
    analysis engine's window_markers on the phase's corrected beats."""
    rr, gaps = data.rr_ms, data.after_gap
    markers: dict[str, float] = {
        "n_beats": float(data.n_beats),
        "duration_s": data.duration_s,
        "artifact_pct": data.flagged_pct,
    }
    found = window_markers(rr, after_gap=gaps, paced_breaths_per_min=data.breaths_per_min)
    td, fd, breath = found.time, found.frequency, found.breathing
    markers.update(mean_rr_ms=td.mean_rr_ms, mean_hr_bpm=td.mean_hr_bpm, sdnn_ms=td.sdnn_ms,
                   rmssd_ms=td.rmssd_ms, ln_rmssd=td.ln_rmssd, pnn50_pct=td.pnn50_pct,
                   sd1_ms=td.sd1_ms, sd2_ms=td.sd2_ms, stress_index=td.stress_index,
                   vlf_ms2=fd.vlf_ms2, lf_ms2=fd.lf_ms2, hf_ms2=fd.hf_ms2, lf_hf=fd.lf_hf,
                   breaths_per_min=breath.breaths_per_min, hf_valid=float(breath.hf_valid),
                   breathing_power_ms2=breath.breathing_power_ms2, p2t_bpm=breath.p2t_bpm,
                   coherence_ratio=found.coherence.coherence_ratio,
                   high_coherence_s=high_coherence_s(resample_rr(rr)) if rr.size >= 4 else 0.0)
    return markers


def high_coherence_s(resampled: Resampled) -> float:
    """Seconds in whole 64-s blocks (laid back from the end) whose coherence ratio is high."""
    length = round(COHERENCE_BLOCK_S * resampled.sample_hz)
    blocks = resampled.rr_ms.size // length
    high = 0
    for k in range(blocks):
        end = resampled.rr_ms.size - k * length
        block = Resampled(resampled.time_s[end - length:end], resampled.rr_ms[end - length:end],
                          resampled.sample_hz, COHERENCE_BLOCK_S)
        if coherence_markers(block, max_blocks=1).coherence_ratio >= HIGH_COHERENCE_RATIO:
            high += 1
    return high * COHERENCE_BLOCK_S


def compute_markers(store: Store, session_id: int) -> dict[int, dict[str, float]]:
    """Compute and store the markers of every phase of a session, and flag its artifacts."""
    analysis = session_phase_data(store, session_id)
    markers = {data.phase.index: phase_markers(data) for data in analysis.phases}
    store.save_markers(session_id, markers, analysis.artifacts)
    return markers


# ---------------------------------------------------------------------------------------------
# Before/after


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
            digits = 2 if self.spec.name == "ln_rmssd" else 1
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


@dataclass(frozen=True, slots=True)
class Comparison:
    before: Side
    after: Side
    changes: list[MarkerChange]

    def change(self, name: str) -> MarkerChange:
        return next(change for change in self.changes if change.spec.name == name)

    def verdict(self) -> str:
        """The headline: the RMSSD verdict, with a warning when a side is unreliable."""
        text = self.change("rmssd_ms").verdict()
        shaky = [name for name, side in (("before", self.before), ("after", self.after))
                 if side.unreliable]
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
                data.flagged_pct, data.unreliable())


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
    if data.breaths_per_min is not None:
        return data.breaths_per_min > 9.0
    if data.rr_ms.size < 4:
        return True
    resampled = resample_rr(data.rr_ms)
    spectrum = spectrum_of(resampled)
    return breathing_markers(spectrum, resampled).hf_valid


def _change(spec: MarkerSpec, before: PhaseData, after: PhaseData, rng: np.random.Generator,
            replicates: int) -> MarkerChange:
    b, a = _point(spec.name, before), _point(spec.name, after)
    nan = math.nan
    if spec.name == "hf_ms2":
        invalid = [d for d in (before, after) if not _hf_valid(d)]
        if invalid:
            return MarkerChange(spec, nan, nan, nan, nan, nan, nan, nan, nan,
                                "not valid: breathing at or below 9/min moves RSA out of HF "
                                "(see RMSSD and power at the breathing rate)")
        if not (math.isfinite(b) and math.isfinite(a)):
            return MarkerChange(spec, b, a, a - b, nan, nan, nan, nan, nan,
                                f"needs ≥ {HF_MIN_WINDOW_S:g} s of beats in each phase")
    rep_b = _replicates(spec.name, before, b, rng, replicates)
    rep_a = _replicates(spec.name, after, a, rng, replicates)
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


def _blocks(data: PhaseData, block_s: float) -> list[slice]:
    """Consecutive stretches of about block_s seconds of beats (the last one may be longer)."""
    elapsed = np.cumsum(data.rr_ms) / 1000.0
    count = max(int(elapsed[-1] // block_s), 1) if elapsed.size else 0
    edges = [0, *[int(np.searchsorted(elapsed, k * block_s)) for k in range(1, count)],
             data.rr_ms.size]
    return [slice(lo, hi) for lo, hi in itertools.pairwise(edges) if hi > lo]


def _replicates(name: str, data: PhaseData, point: float, rng: np.random.Generator,
                replicates: int) -> FloatArray | None:
    """Bootstrap replicates of one marker of one phase (None: too few blocks for an interval)."""
    if name == "hf_ms2":
        blocks = _blocks(data, HF_MIN_WINDOW_S)
        powers = np.array([band_power_ms2(rr_spectrum(data.rr_ms[s]), *HF_BAND_HZ)
                           for s in blocks])
        if powers.size < 2 or not np.all(np.isfinite(powers)) or powers.mean() <= 0:
            return None
        draws = rng.integers(0, powers.size, size=(replicates, powers.size))
        return point * powers[draws].mean(axis=1) / powers.mean()
    blocks = _blocks(data, BOOTSTRAP_BLOCK_S)
    if len(blocks) < 2:
        return None
    rr = data.rr_ms
    pairs = np.ones(rr.size, dtype=bool)  # pairs[i]: the difference rr[i] - rr[i-1] counts
    pairs[0] = False
    pairs &= ~data.after_gap
    stats = []
    for s in blocks:
        chunk = rr[s]
        usable = pairs[s].copy()
        usable[0] = False  # never a difference across two blocks
        diffs = np.diff(chunk)[usable[1:]]
        stats.append((chunk.size, chunk.sum(), np.dot(chunk, chunk), (60_000.0 / chunk).sum(),
                      diffs.size, np.dot(diffs, diffs), chunk.min(), chunk.max()))
    table = np.array(stats)
    draws = rng.integers(0, len(blocks), size=(replicates, len(blocks)))
    n, total, squares, hr, n_d, d2 = (table[:, k][draws].sum(axis=1) for k in range(6))
    with np.errstate(divide="ignore", invalid="ignore"):
        if name in ("rmssd_ms", "ln_rmssd"):
            rmssd = np.sqrt(d2 / n_d)
            return np.log(rmssd) if name == "ln_rmssd" else rmssd
        if name == "mean_hr_bpm":
            return hr / n
        if name == "sdnn_ms":
            return np.sqrt(np.maximum(squares - total * total / n, 0.0) / (n - 1))
    if name == "stress_index":
        bins = np.floor(rr / STRESS_INDEX_BIN_MS).astype(np.int64)
        bins -= bins.min()
        counts = np.array([np.bincount(bins[s], minlength=bins.max() + 1) for s in blocks])
        drawn = counts[draws].sum(axis=1)  # replicates x bins
        fullest = np.argmax(drawn, axis=1)
        mode_s = ((fullest + int(np.floor(rr.min() / STRESS_INDEX_BIN_MS))) + 0.5) \
            * STRESS_INDEX_BIN_MS / 1000.0
        amplitude = 100.0 * drawn[np.arange(replicates), fullest] / n
        spread_s = (table[:, 7][draws].max(axis=1) - table[:, 6][draws].min(axis=1)) / 1000.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(amplitude / (2.0 * mode_s * spread_s))
    raise ValueError(f"no bootstrap for marker {name!r}")
