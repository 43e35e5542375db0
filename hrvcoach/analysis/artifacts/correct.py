"""Artifact correction: one detection pass, one fix per event, applied in the beat-time domain.

The steps, the same in batch (`correct_artifacts`) and live (LiveMarkers with the streaming
detector), so that both faces make the same decisions:

1. **Impossible values.** An interval longer than MAX_RR_MS is a gap (lost contact): it is left
   out and starts a new stretch. One shorter than MIN_RR_MS is the fragment of an extra
   detection: it is merged with a neighbour, never deleted, so no time is lost (`merge_fragments`;
   999, 151, 867 -> 999, 1018: deleting the fragment gave 933, 933). Short values in a row that
   add up to MIN_RR_MS or more are no beat's fragments (heart rates read as RR, say): left out,
   like a gap.
2. **Detection**, per stretch: one pass of the classifier (detect.py, with hrvcoach's threshold
   bounds). There is no second pass: a second pass judges the beats its own fixes made (on
   pyhrv's NSRDB NN series passes grew 83 flags into 131 and took 10.6 % off RMSSD).
3. **Planning** (`plan_fixes`): each run of adjacent flags is one event, fixed once. Candidate
   fixes are: move a beat half-way between its neighbours (an ectopic beat or a misplaced
   detection), remove a beat (an extra detection: its two intervals merge), insert a beat
   half-way (a missed beat: the interval splits). The event gets the candidate that leaves the
   smoothest local series (the least mean squared successive difference over four intervals each
   side, other events' intervals left out). It needs no threshold: the classifier's tolerances
   sent a premature beat in a large breathing swing to "extra" or "missed", and moved a normal
   beat next to a missed one (GUDB, 60-s windows off by up to 166 %).
4. **The newest beats.** The classifier needs two beats of look-ahead. When one of the last two
   intervals of a stretch may be an artifact (`may_be_artifact`: it exceeds its dRR threshold,
   or it is a sudden short one within it, as a premature beat during slow breathing is), it,
   the interval before it (a fix may move the beat between them) and all after it are held back
   (live: until judged; batch: left out at a stretch's end); so are the interval before any
   flag among them, and a flag just before them with its own event (`hold_with_flags`). Live,
   a premature beat 27-29 % short then no longer shows in RMSSD for a beat (+36 %, +73 %).

Time-domain markers leave out the successive differences that touch a *moved* beat
(`Correction.skip_difference`), as normal-to-normal analysis leaves out the differences of an
ectopic beat; an inserted beat (a missed detection) and a merged interval (an extra one) are kept:
the first stands for a sinus beat that was there, the second is the true interval. Measured over
60-s windows (benchmarks/accuracy.py): mitdb_100 against its annotated NN intervals, mean error
3.2 % if interpolated -> 1.0 %; the simulator at 4 artifacts/min worst window +132 % -> +9 %.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from hrvcoach.analysis.artifacts.detect import (
    ARTIFACT_KINDS,
    ArtifactKind,
    FloatArray,
    IntArray,
    Series,
    check_rr,
    classifier_series,
    classify,
)
from hrvcoach.core.constants import (
    ARTIFACT_ALPHA,
    ARTIFACT_C1,
    ARTIFACT_C2,
    ARTIFACT_HOLD_BEATS,
    ARTIFACT_HOLD_SHORT_DRRS,
    ARTIFACT_MEDIAN_BEATS,
    ARTIFACT_THRESHOLD_BEATS,
    MAX_RR_MS,
    MIN_RR_MS,
)

BoolArray = NDArray[np.bool_]

GAP: Final = "left out: longer than 3 s (a gap), a new stretch starts"
HELD: Final = "left out: too close to the end of a stretch to be judged"
FRAGMENTS: Final = "left out: short values adding up to a beat or more (a new stretch starts)"
FRAGMENT_LEVEL_BEATS: Final = 5  # a fragment's merge compares with the median of this many beats
PLAN_REACH_BEATS: Final = 4  # planning judges a fix on this many intervals each side

__all__ = ["FIX_KIND", "Artifact", "Correction", "Fix", "apply_corrections", "correct_artifacts",
           "fix_of_event", "fragment_goes_back", "held_from", "hold_with_flags", "judge_stretch",
           "merge_fragments", "moved_mask", "nearby_flags", "plan_fixes"]


@dataclass(frozen=True, slots=True)
class Artifact:
    """A flagged interval of the input and what the correction did to it."""

    index: int  # position in the input RR list
    kind: ArtifactKind
    correction: str
    classified: bool = True  # False: an impossible value, a fragment or a held-back end


@dataclass(frozen=True, slots=True)
class Correction:
    """The corrected RR series and how it relates to the input."""

    rr_ms: FloatArray  # corrected intervals
    source_index: IntArray  # for each corrected interval, the input interval it came from
    artifacts: tuple[Artifact, ...] = field(default=())
    # per corrected interval: True where its difference to the previous one is left out of the
    # time domain (after a gap, or touching a moved beat); pass it as `after_gap`
    skip_difference: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    stretch_start: BoolArray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # after a gap
    # corrected beat time minus the source beat's time (a moved or inserted beat), in ms
    shift_ms: FloatArray = field(default_factory=lambda: np.zeros(0))
    # input intervals whose ending beat was moved, removed or split, or that took a fragment
    # (an interval is known by the input interval its beat ends)
    fixed_index: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    plan_index: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # of them:
    # the beats moved, removed or split (the planned fixes; no fragments)

    @property
    def corrected_beats(self) -> int:
        """Beats moved, inserted or removed, and fragments merged."""
        return int(self.fixed_index.size)

    def counts(self) -> dict[ArtifactKind, int]:
        totals: dict[ArtifactKind, int] = dict.fromkeys(ARTIFACT_KINDS, 0)
        for artifact in self.artifacts:
            totals[artifact.kind] += 1
        return totals

    @property
    def indices(self) -> tuple[int, ...]:
        return tuple(sorted(artifact.index for artifact in self.artifacts))


# --------------------------------------------------------------------------------------------
# Correction in the beat-time domain, as neurokit2 does it, carrying each beat's input index.


def _shift(indices: list[int], removed_or_added: list[int], step: int) -> list[int]:
    """Peak indices after removing (step -1) or inserting before (step +1) the peaks
    `removed_or_added` (original indices). neurokit2's _update_indices shifts one change at a
    time against indices already shifted, which misplaces a fix after two removals before it."""
    changes = np.sort(np.asarray(removed_or_added, dtype=np.int64))
    index = np.asarray(indices, dtype=np.int64)
    # removal: count the changes below u; insertion: at or below u
    below = np.searchsorted(changes, index, side="left" if step < 0 else "right")
    shifted = index + step * below
    return sorted(set(shifted.tolist()))


def apply_corrections(flags: dict[ArtifactKind, list[int]], peaks: FloatArray,
                      sources: IntArray) -> tuple[FloatArray, IntArray]:
    """Correct flagged beats (peak indices: peaks[0] is the beat before the first interval), as
    neurokit2's _correct_artifacts but on float beat times; `sources` rides along."""
    extra, missed = sorted(flags["extra"]), sorted(flags["missed"])
    ectopic, long_short = sorted(flags["ectopic"]), sorted(flags["long_short"])
    if extra:
        keep = np.ones(peaks.size, dtype=bool)
        keep[extra] = False
        peaks, sources = peaks[keep], sources[keep]
        missed = _shift(missed, extra, -1)
        ectopic = _shift(ectopic, extra, -1)
        long_short = _shift(long_short, extra, -1)
    if missed:
        index = np.asarray(missed, dtype=np.int64)
        index = index[(index >= 1) & (index < peaks.size)]
        added = peaks[index - 1] + (peaks[index] - peaks[index - 1]) / 2.0
        peaks = np.insert(peaks, index, added)
        sources = np.insert(sources, index, sources[index])
        ectopic = _shift(ectopic, missed, 1)
        long_short = _shift(long_short, missed, 1)
    for moved in (ectopic, long_short):
        if not moved:
            continue
        index = np.asarray(moved, dtype=np.int64)
        index = index[(index >= 1) & (index < peaks.size - 1)]
        halfway = peaks[index - 1] + (peaks[index + 1] - peaks[index - 1]) / 2.0
        moved_sources = sources[index]
        keep = np.ones(peaks.size, dtype=bool)
        keep[index] = False
        peaks = np.concatenate((peaks[keep], halfway))
        sources = np.concatenate((sources[keep], moved_sources))
        order = np.argsort(peaks, kind="mergesort")
        peaks, sources = peaks[order], sources[order]
    return peaks, sources


Fix = tuple[Literal["remove", "insert", "move"], int]  # (what, peak index)
FIX_KIND: Final[dict[str, ArtifactKind]] = {"remove": "extra", "insert": "missed",
                                              "move": "ectopic"}


def _events(flagged: list[int]) -> list[list[int]]:
    """Runs of adjacent flagged beats."""
    events: list[list[int]] = []
    for j in sorted(flagged):
        if events and j - events[-1][-1] <= 1:
            events[-1].append(j)
        else:
            events.append([j])
    return events


def plan_fixes(flags: dict[int, ArtifactKind],
               rr: FloatArray) -> tuple[dict[ArtifactKind, list[int]], dict[int, Fix]]:
    """One fix per event: the candidate leaving the smoothest local series (module note, 3).

    `flags` and the returned fixes use peak indices: rr[j] ends at peak j (rr[0], the made-up
    interval before the first, is never changed). Returns the fixes in apply_corrections' form
    ({"extra": removals, "missed": insertions, "ectopic": moves}) and, per flagged beat, the fix
    of its event.
    """
    plan: dict[ArtifactKind, list[int]] = {kind: [] for kind in ARTIFACT_KINDS}
    by_beat: dict[int, Fix] = {}
    flagged = sorted(j for j in flags if 1 <= j <= rr.size - 1)
    for event in _events(flagged):
        fix = fix_of_event(event, rr, nearby_flags(event, flagged))
        if fix is None:
            continue
        plan[FIX_KIND[fix[0]]].append(fix[1])
        for j in event:
            by_beat[j] = fix
    return plan, by_beat


def nearby_flags(event: list[int], flagged: list[int]) -> list[int]:
    """The flags of other events that can touch this event's plan."""
    reach = PLAN_REACH_BEATS + 1
    return [j for j in flagged if event[0] - reach <= j <= event[-1] + reach and j not in event]


def fix_of_event(event: list[int], rr: FloatArray, others: list[int]) -> Fix | None:
    """The fix of one event (adjacent flagged peaks) given the other flags nearby (plan_fixes);
    None when no candidate leaves plausible intervals."""
    last = rr.size - 1
    low = max(event[0] - PLAN_REACH_BEATS, 1)
    high = min(event[-1] + PLAN_REACH_BEATS, last)
    local = rr[low:high + 1]
    other = np.zeros(local.size, dtype=bool)
    for j in others:
        other[max(j - 1 - low, 0): max(j + 2 - low, 0)] = True

    def roughness(values: FloatArray, first: int, stop: int, added: int) -> float:
        """Mean squared successive difference of `values`: local with intervals first..stop-1
        replaced by `added` new ones; differences touching another event are left out."""
        mask = np.concatenate((other[:first], np.zeros(added, dtype=bool), other[stop:]))
        steps = np.diff(values)[~(mask[1:] | mask[:-1])]
        if steps.size == 0 or values.min() < MIN_RR_MS or values.max() > MAX_RR_MS:
            return math.inf
        return float(np.dot(steps, steps)) / steps.size

    best: tuple[float, Fix] | None = None
    for p in range(max(event[0] - 1, 1), min(event[-1] + 1, last)):  # the beat ending rr[p]
        k = p - low
        if not 0 <= k < local.size - 1:
            continue
        pair = local[k] + local[k + 1]
        moved = local.copy()
        moved[k] = moved[k + 1] = pair / 2.0
        merged = np.concatenate((local[:k], [pair], local[k + 2:]))
        for fix, values, added in ((("move", p), moved, 2), (("remove", p), merged, 1)):
            score = roughness(values, k, k + 2, added)
            if best is None or score < best[0]:
                best = (score, fix)  # type: ignore[assignment]
    for j in range(max(event[0] - 1, 1), min(event[-1] + 1, last) + 1):  # split rr[j]
        k = j - low
        if not 0 <= k < local.size:
            continue
        split = np.concatenate((local[:k], [local[k] / 2.0] * 2, local[k + 1:]))
        score = roughness(split, k, k + 1, 2)
        if best is None or score < best[0]:
            best = (score, ("insert", j))
    if best is None or not math.isfinite(best[0]):
        return None
    return best[1]


def _describe(fix: Fix, source: int) -> str:
    """What a fix did, naming input intervals (source: the input interval ending at the beat)."""
    what, _ = fix
    if source < 0:
        return "left as it is (at the start of the recording)"
    if what == "remove":
        return f"extra beat removed: intervals {source} and {source + 1} merged"
    if what == "insert":
        return f"missed beat inserted: interval {source} split in two"
    return f"misplaced beat moved half-way: intervals {source} and {source + 1} evened out"


# --------------------------------------------------------------------------------------------
# Judging one stretch (shared with the streaming detector) and the whole correction.


def held_from(series: Series) -> int | None:
    """Where the held-back end starts (peak index; the caller keeps it >= 1): the beat before
    the first of the last ARTIFACT_HOLD_BEATS beats that may be an artifact (`may_be_artifact`;
    a fix there may move the beat before it). None when none may be."""
    n = series.rr.size
    for j in range(max(n - ARTIFACT_HOLD_BEATS, 1), n):
        if may_be_artifact(float(series.drrs[j]), float(series.mrrs[j])):
            return j - 1
    return None


def may_be_artifact(drrs: float, mrrs: float) -> bool:
    """Whether a newest beat must wait for the next one to be judged (normalised dRR and mRR):
    it exceeds its dRR threshold, or it fell by more than ARTIFACT_HOLD_SHORT_DRRS of it and
    is short of the median (a premature beat within its threshold: the pause after it tells)."""
    return not abs(drrs) <= 1.0 or (drrs < -ARTIFACT_HOLD_SHORT_DRRS and mrrs < -1.0)


def judge_stretch(rr_ms: FloatArray, *, c1: float = ARTIFACT_C1, c2: float = ARTIFACT_C2,
                  alpha: float = ARTIFACT_ALPHA, window_beats: int = ARTIFACT_THRESHOLD_BEATS,
                  median_beats: int = ARTIFACT_MEDIAN_BEATS,
                  bounded: bool = True) -> tuple[dict[int, ArtifactKind], int | None]:
    """Flags (peak indices) of one stretch and where its held-back end starts (held_from)."""
    if rr_ms.size < 3:
        return {}, None
    series = classifier_series(rr_ms, alpha=alpha, window=window_beats,
                               median_window=median_beats, bounded=bounded)
    classified, _ = classify(series, c1=c1, c2=c2)
    flags: dict[int, ArtifactKind] = {}
    for kind in reversed(ARTIFACT_KINDS):  # an index in two lists keeps the first kind
        for j in classified[kind]:
            if j >= 1:
                flags[j] = kind
    return flags, hold_with_flags(held_from(series), flags)


def hold_with_flags(held: int | None, flags: dict[int, ArtifactKind]) -> int | None:
    """The held-back end, grown to keep a flag's event whole (peak indices, >= 1): a fix of a
    flag at j may move the beat ending interval j - 1, so that interval waits too; and a flag
    just before the held end waits with it, since its fix may need the interval after it (an
    extra beat merges into the interval before or after it: the better of the two is known
    only once both are in)."""
    if held is None:
        return None
    while True:
        grown = max(min([held, *(j - 1 for j in flags if j >= held - 1)]), 1)
        if grown == held:
            return held
        held = grown


def fragment_goes_back(previous_ms: float | None, fragment_ms: float, next_ms: float | None,
                       level_ms: float) -> bool:
    """Whether a fragment (< MIN_RR_MS) joins the interval before it rather than the one after:
    the merge that lands nearer the level (the median of the last FRAGMENT_LEVEL_BEATS kept
    intervals). Without a previous interval it goes forward; without a next one, back."""
    if previous_ms is None:
        return False
    if next_ms is None:
        return True
    return abs(previous_ms + fragment_ms - level_ms) <= abs(fragment_ms + next_ms - level_ms)


def merge_fragments(rr: FloatArray, gap: BoolArray) -> tuple[FloatArray, list[list[int]], BoolArray,
                                                              list[Artifact]]:
    """Step 1 of the module note: the intervals left, the input intervals each is made of,
    whether each starts a stretch, and the artifacts reported for the impossible values."""
    if rr.size and bool(np.all((rr >= MIN_RR_MS) & (rr <= MAX_RR_MS))):  # no fragment, none
        starts_at = np.array(gap, dtype=bool)  # impossible (NaN fails the test): nothing merges
        starts_at[0] = True
        return rr.astype(np.float64), [[i] for i in range(rr.size)], starts_at, []
    values: list[float] = []
    parts: list[list[int]] = []
    starts: list[bool] = []
    reported: list[Artifact] = []
    pending: list[int] = []  # fragments waiting for the next interval
    new_stretch = True
    stretch_first = 0  # position in `values` of the current stretch's first interval

    def settle(next_ms: float | None) -> None:
        """Merge the pending fragments back into the last interval, or leave them for the next
        one; with neither (a stretch of fragments only) they are dropped."""
        fragment = float(sum(rr[i] for i in pending))
        previous = values[-1] if len(values) > stretch_first else None
        recent = values[max(stretch_first, len(values) - FRAGMENT_LEVEL_BEATS):]
        level = float(np.median(recent)) if recent else math.nan
        if previous is None and next_ms is None:
            for i in pending:
                reported.append(Artifact(i, "extra", "fragment left out: no interval beside it",
                                         classified=False))
            pending.clear()
            return
        back = fragment_goes_back(previous, fragment, next_ms, level)
        where = "before" if back else "after"
        for i in pending:
            reported.append(Artifact(i, "extra", f"fragment shorter than {MIN_RR_MS:.0f} ms "
                                     f"merged with the interval {where} it", classified=False))
        if back:
            values[-1] += fragment
            parts[-1].extend(pending)
            pending.clear()

    gaps = np.asarray(gap, dtype=bool).tolist()  # (Python values: ~100 k beats a day)
    for i, value in enumerate(rr.tolist()):
        impossible = not (math.isfinite(value) and 0.0 <= value <= MAX_RR_MS)
        if gaps[i] or impossible:
            if pending:
                settle(None)
            new_stretch = True
            stretch_first = len(values)
            if impossible:
                reported.append(Artifact(i, "long_short", GAP, classified=False))
                continue
        if value < MIN_RR_MS:
            pending.append(i)
            if float(sum(rr[j] for j in pending)) >= MIN_RR_MS:  # no single beat's fragments
                reported.extend(Artifact(j, "long_short", FRAGMENTS, classified=False)
                                for j in pending)
                pending.clear()
                new_stretch = True
                stretch_first = len(values)
            continue
        if pending:
            settle(value)
        if pending:  # fragments carried forward into this interval
            values.append(value + float(sum(rr[j] for j in pending)))
            parts.append([*pending, i])
            pending.clear()
        else:
            values.append(value)
            parts.append([i])
        starts.append(new_stretch)
        new_stretch = False
    if pending:
        settle(None)
    return (np.asarray(values, dtype=np.float64), parts, np.asarray(starts, dtype=bool),
            reported)


def correct_artifacts(rr_ms: FloatArray, *, after_gap: BoolArray | None = None,
                      c1: float = ARTIFACT_C1, c2: float = ARTIFACT_C2,
                      alpha: float = ARTIFACT_ALPHA, window_beats: int = ARTIFACT_THRESHOLD_BEATS,
                      median_beats: int = ARTIFACT_MEDIAN_BEATS, bounded: bool = True) -> Correction:
    """Correct a recording as the module note says; after_gap[i] True: interval i follows a gap
    (lost contact, a reconnect) and starts a new stretch, like an interval over MAX_RR_MS.

    Every flagged interval is reported by input index, with its classifier kind and what was
    done about it; the markers should use `rr_ms` with `skip_difference` as their after_gap.
    """
    rr = check_rr(rr_ms)
    gap = np.zeros(rr.size, dtype=bool) if after_gap is None else np.asarray(after_gap, dtype=bool)
    if gap.shape != rr.shape:
        raise ValueError(f"after_gap shape {gap.shape} differs from rr_ms shape {rr.shape}")
    values, parts, starts, reported = merge_fragments(rr, gap)
    found = {artifact.index: artifact for artifact in reported}
    fixed = [part[-1] for part in parts if len(part) > 1]  # intervals that took fragments
    plan_index: list[int] = []
    out_rr: list[FloatArray] = []
    out_source: list[IntArray] = []
    out_skip: list[BoolArray] = []
    out_shift: list[FloatArray] = []
    first_input = np.asarray([part[-1] for part in parts], dtype=np.int64)  # the beat's input
    bounds = [*np.flatnonzero(starts).tolist(), values.size]
    for a, b in itertools.pairwise(bounds):
        stretch = values[a:b]
        flags, held = judge_stretch(stretch, c1=c1, c2=c2, alpha=alpha,
                                    window_beats=window_beats, median_beats=median_beats,
                                    bounded=bounded)
        keep_peaks = stretch.size + 1 if held is None else held  # peaks 0..keep_peaks-1
        for j in range(keep_peaks, stretch.size + 1):
            index = int(first_input[a + j - 1])
            found.setdefault(index, Artifact(index, "long_short", HELD, classified=False))
        flags = {j: kind for j, kind in flags.items() if j < keep_peaks}
        kept = stretch[:keep_peaks - 1]
        peak_rr = np.concatenate((kept[:1], kept))
        plan, fixes = plan_fixes(flags, peak_rr)
        planned = [int(first_input[a + peak - 1]) for _, peak in set(fixes.values())]
        fixed += planned
        plan_index += planned
        for j, kind in sorted(flags.items()):
            index = int(first_input[a + j - 1])
            fix = fixes.get(j)
            text = "left as it is" if fix is None else _describe(
                fix, int(first_input[a + fix[1] - 1]) if fix[1] >= 1 else -1)
            if index not in found or found[index].correction != HELD:
                found[index] = Artifact(index, kind, text)  # over a fragment merged into it
        peaks = np.concatenate(([0.0], np.cumsum(kept)))
        new_peaks, ids = apply_corrections(plan, peaks, np.arange(peaks.size, dtype=np.int64))
        origin = np.maximum(ids[1:], 1)
        out_rr.append(np.diff(new_peaks) if any(plan.values()) else kept.copy())  # exact if none
        out_source.append(first_input[a + origin - 1])
        out_shift.append(new_peaks[1:] - peaks[origin])
        skip = moved_mask(plan["ectopic"], ids)
        if skip.size:
            skip[0] = True  # a stretch's first interval follows a gap (or the start)
        out_skip.append(skip)
    artifacts = tuple(found[i] for i in sorted(found))
    fixed_index = np.asarray(sorted(set(fixed)), dtype=np.int64)
    planned_index = np.asarray(sorted(set(plan_index)), dtype=np.int64)
    if not out_rr:
        empty = np.zeros(0)
        nothing = np.zeros(0, dtype=bool)
        return Correction(empty, np.zeros(0, dtype=np.int64), artifacts, nothing, nothing, empty,
                          fixed_index, planned_index)
    skip_all = np.concatenate(out_skip)
    start_all = np.zeros(skip_all.size, dtype=bool)
    first_of_part = np.cumsum([0, *(part.size for part in out_skip[:-1])])
    start_all[first_of_part[first_of_part < start_all.size]] = True
    skip_all[0] = start_all[0] = False  # nothing before the first interval: nothing to leave out
    return Correction(np.concatenate(out_rr), np.concatenate(out_source), artifacts, skip_all,
                      start_all, np.concatenate(out_shift), fixed_index, planned_index)


def moved_mask(moved_peaks: list[int], ids: IntArray) -> BoolArray:
    """Per corrected interval (ids: the peak each corrected peak came from, ids[0] the made-up
    beat): True where its difference to the previous interval touches a moved beat."""
    skip = np.zeros(max(ids.size - 1, 0), dtype=bool)
    if not moved_peaks or skip.size == 0:
        return skip
    is_moved = np.isin(ids[1:], np.asarray(moved_peaks, dtype=np.int64))
    for q in np.flatnonzero(is_moved).tolist():  # interval q ends at the moved beat
        skip[q: q + 3] = True  # differences (q-1, q), (q, q+1), (q+1, q+2)
    return skip
