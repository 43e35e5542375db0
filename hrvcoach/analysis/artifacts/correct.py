"""Artifact correction: one fix per event (plan_fixes), applied in the beat-time domain.

Corrections: an extra detection is removed (its interval merges with the next), a missed beat
is inserted half-way (the interval splits in two), a misplaced beat (ectopic, early or late) is
moved half-way between its neighbours: the same operations as Kubios and neurokit2, but one fix
per event and on the beat that is actually misplaced (neurokit2 moves the flagged one, which for
an ectopic beat is the beat after it). Intervals outside MIN_RR_MS..MAX_RR_MS cannot be
heartbeats at all; they are removed first and reported as long/short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np

from hrvcoach.analysis.artifacts.detect import (
    ARTIFACT_KINDS,
    ArtifactKind,
    FloatArray,
    IntArray,
    check_rr,
    classifier_series,
    classify,
)
from hrvcoach.core.constants import (
    ARTIFACT_ALPHA,
    ARTIFACT_C1,
    ARTIFACT_C2,
    ARTIFACT_MEDIAN_BEATS,
    ARTIFACT_THRESHOLD_BEATS,
    MAX_RR_MS,
    MIN_RR_MS,
)

REMOVED: Final = "removed (outside the physiological range)"

__all__ = ["FIX_KIND", "Artifact", "Correction", "Fix", "apply_corrections", "correct_artifacts",
           "plan_fixes"]


@dataclass(frozen=True, slots=True)
class Artifact:
    """A flagged interval of the input and what the correction did to it."""

    index: int  # position in the input RR list
    kind: ArtifactKind
    correction: str


@dataclass(frozen=True, slots=True)
class Correction:
    """The corrected RR series and how it relates to the input."""

    rr_ms: FloatArray  # corrected intervals
    source_index: IntArray  # for each corrected interval, the input interval it came from
    artifacts: tuple[Artifact, ...] = field(default=())

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
    for s in removed_or_added:
        indices = [u + step if u > s else u for u in indices]
    return sorted(set(indices))


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
        index = index[(index > 1) & (index < peaks.size)]
        added = peaks[index - 1] + (peaks[index] - peaks[index - 1]) / 2.0
        peaks = np.insert(peaks, index, added)
        sources = np.insert(sources, index, sources[index])
        ectopic = _shift(ectopic, missed, 1)
        long_short = _shift(long_short, missed, 1)
    for moved in (ectopic, long_short):
        if not moved:
            continue
        index = np.asarray(moved, dtype=np.int64)
        index = index[(index > 1) & (index < peaks.size - 1)]
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


def plan_fixes(flags: dict[int, ArtifactKind], rr: FloatArray, medrr: FloatArray,
               th2: FloatArray) -> tuple[dict[ArtifactKind, list[int]], dict[int, Fix]]:
    """One fix per cluster of flagged beats (peak indices; rr[j] ends at peak j).

    neurokit2 moves each flagged beat itself. For an ectopic beat the classifier flags the
    interval *after* the premature beat, so that moves the wrong beat (on mitdb_100 its RMSSD
    stays 16 % above the normal-to-normal value). Here a run of adjacent flags is one event,
    fixed once, by the first rule that fits (m: median RR there, t: the classifier's mRR
    threshold Th2):

    1. a beat classified extra: remove it (its interval merges with the next); the flags right
       beside it belong to the same event;
    2. a beat classified missed: insert a beat half-way (the same);
    then, for a run of other flags:
    3. two short intervals that add up to about one (|a + b - level| < t, level: the mean of
       their outer neighbours): an extra detection: remove the beat between them;
    4. one interval of about two (> 1.6 m, |r/2 - m| < t) between normal ones: insert a beat;
    5. a beat between a short and a long interval that add up to two normal ones: it is
       misplaced (ectopic, early or late detection): move it half-way between its neighbours;
    6. otherwise move the beat whose neighbouring intervals differ most, half-way.

    Returns the fixes in apply_corrections' form ({"extra": removals, "missed": insertions,
    "ectopic": moves}) and, per flagged beat, the fix of its event.
    """
    plan: dict[ArtifactKind, list[int]] = {kind: [] for kind in ARTIFACT_KINDS}
    by_beat: dict[int, Fix] = {}
    last_peak = rr.size - 1

    def record(fix: Fix, beats: list[int]) -> None:
        what, peak = fix
        plan[FIX_KIND[what]].append(peak)
        for j in beats:
            by_beat[j] = fix

    # 1-2: a classified extra or missed beat is one event with the flags right next to it
    rest = sorted(j for j in flags if j >= 1)
    for q in sorted(j for j in rest if flags[j] in ("extra", "missed")):
        if q in by_beat:
            continue
        record(("remove" if flags[q] == "extra" else "insert", q),
               [j for j in rest if abs(j - q) <= 1 and j not in by_beat])
    rest = [j for j in rest if j not in by_beat]
    events: list[list[int]] = []
    for j in rest:
        if events and j - events[-1][-1] <= 1:
            events[-1].append(j)
        else:
            events.append([j])
    for event in events:
        m, t = float(medrr[event[0]]), float(th2[event[0]])
        around = [p for p in range(event[0] - 1, event[-1] + 1) if 1 <= p < last_peak]
        if not around:
            continue

        def gap(p: int) -> float:
            return abs(float(rr[p + 1] - rr[p]))

        def level(p: int, m: float = m) -> float:
            """The local RR level around the pair (rr[p], rr[p + 1]): its outer neighbours."""
            if p - 1 >= 1 and p + 2 <= last_peak:
                return 0.5 * float(rr[p - 1] + rr[p + 2])
            return m

        split = [p for p in around if rr[p] < 0.8 * level(p) and rr[p + 1] < 0.8 * level(p)
                 and abs(rr[p] + rr[p + 1] - level(p)) < t]
        merged = [p for p in event if rr[p] > 1.6 * m and abs(rr[p] / 2.0 - m) < t
                  and rr[p - 1] > 0.8 * m and (p + 1 > last_peak or rr[p + 1] > 0.8 * m)]
        misplaced = [p for p in around if any(
            (rr[p] - ref) * (rr[p + 1] - ref) < 0 and abs(rr[p] + rr[p + 1] - 2.0 * ref) < t
            for ref in (level(p), m))]
        if split:
            fix: Fix = ("remove", split[0])
        elif merged:
            fix = ("insert", merged[0])
        elif misplaced:
            fix = ("move", max(misplaced, key=gap))
        else:
            fix = ("move", max(around, key=gap))
        record(fix, event)
    return plan, by_beat


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


def correct_artifacts(rr_ms: FloatArray, *, iterative: bool = True, c1: float = ARTIFACT_C1,
                      c2: float = ARTIFACT_C2, alpha: float = ARTIFACT_ALPHA,
                      window_beats: int = ARTIFACT_THRESHOLD_BEATS,
                      median_beats: int = ARTIFACT_MEDIAN_BEATS,
                      min_rr_ms: float = MIN_RR_MS, max_rr_ms: float = MAX_RR_MS) -> Correction:
    """Remove impossible intervals, then detect (as detect_artifacts) and correct (plan_fixes).

    iterative=True repeats detection on the corrected series while the number of flags keeps
    falling (neurokit2's rule). The classifier never judges the last two intervals (it needs two
    beats of look-ahead); here they are flagged as long/short when both their dRR and mRR are out
    of range, and fixed by the same rules. Every flagged interval of every pass is reported by
    input index, with its classifier kind and what was done about it.
    """
    rr = check_rr(rr_ms)
    found: dict[int, Artifact] = {}
    possible = (rr >= min_rr_ms) & (rr <= max_rr_ms)
    for index in np.flatnonzero(~possible).tolist():
        found[index] = Artifact(index, "long_short", REMOVED)
    kept = rr[possible]
    sources = np.concatenate(([-1], np.flatnonzero(possible))).astype(np.int64)
    peaks = np.concatenate(([0.0], np.cumsum(kept)))
    settings = {"alpha": alpha, "window": window_beats, "median_window": median_beats}
    reach = 2 * (window_beats // 2) + median_beats  # how far a change moves other flags
    dirty: list[tuple[int, int]] | None = None  # None: judge every beat
    previous_count: int | None = None
    while peaks.size >= 4:
        flags, series = _flags_in(np.diff(peaks), dirty, reach, settings, c1, c2)
        if not flags or (previous_count is not None and len(flags) >= previous_count):
            break
        plan, fixes = plan_fixes(flags, series.rr, series.medrr, series.th2)
        for j, kind in sorted(flags.items()):
            source = int(sources[j])
            if source >= 0 and source not in found:
                fix = fixes[j]
                found[source] = Artifact(source, kind, _describe(fix, int(sources[fix[1]])))
        before = peaks
        peaks, ids = apply_corrections(plan, peaks, np.arange(peaks.size, dtype=np.int64))
        sources = sources[ids]
        dirty = _changed_regions(before, peaks, ids, reach)
        previous_count = len(flags)
        if not iterative:
            break
    corrected = np.diff(peaks)
    artifacts = tuple(found[index] for index in sorted(found))
    return Correction(corrected, sources[1:].copy(), artifacts)


@dataclass(frozen=True, slots=True)
class _Judged:
    """The parts of a Series that plan_fixes needs, for the whole series (NaN where unjudged)."""

    rr: FloatArray
    medrr: FloatArray
    th2: FloatArray


def _flags_in(rr: FloatArray, regions: list[tuple[int, int]] | None, reach: int,
              settings: dict[str, float | int], c1: float,
              c2: float) -> tuple[dict[int, ArtifactKind], _Judged]:
    """Classifier flags (peak indices) over the whole series, or only within `regions` (peak
    index ranges) after a correction pass: there every flag, threshold and median equals the
    whole series' because each slice reaches `reach` beats beyond its region."""
    n = rr.size + 1
    spans = [(0, n)] if regions is None else regions
    flags: dict[int, ArtifactKind] = {}
    medrr = np.full(n, np.nan)
    th2 = np.full(n, np.nan)
    for low, high in spans:
        start, stop = max(low - reach, 0), min(high + reach, n)
        if start > 0:
            start += 1  # slice rr from interval `start`: peak `start` becomes the slice's peak 1
        part = classifier_series(rr[max(start - 1, 0): stop - 1], ends=(start == 0, stop == n),
                       **settings)  # type: ignore[arg-type]
        offset = max(start - 1, 0)
        classified, _ = classify(part, c1=c1, c2=c2)
        for kind in reversed(ARTIFACT_KINDS):
            for j in classified[kind]:
                if j >= 1 and low <= j + offset < high:
                    flags[j + offset] = kind
        inside = slice(max(low, offset + 1), min(high, offset + part.rr.size))
        medrr[inside] = part.medrr[inside.start - offset: inside.stop - offset]
        th2[inside] = part.th2[inside.start - offset: inside.stop - offset]
        if stop == n:  # the classifier never judges the last two intervals (no look-ahead)
            for j in (part.rr.size - 2, part.rr.size - 1):
                if (j >= 1 and j + offset not in flags and abs(part.drrs[j]) > 1
                        and abs(part.mrrs[j]) > 3):
                    flags[j + offset] = "long_short"
    full_rr = np.empty(n)
    full_rr[1:] = rr
    full_rr[0] = rr.mean()
    return flags, _Judged(full_rr, medrr, th2)


_MERGE_GAP_BEATS: Final = 1000  # slices closer than this are judged as one (per-call overhead)


def _changed_regions(before: FloatArray, after: FloatArray, ids: IntArray,
                     reach: int) -> list[tuple[int, int]]:
    """Peak index ranges of `after` within `reach` beats of a moved, inserted or removed beat."""
    moved = after != before[ids]
    inserted = np.zeros(after.size, dtype=bool)
    inserted[1:] = ids[1:] == ids[:-1]
    removed = np.zeros(after.size, dtype=bool)
    removed[1:] = ids[1:] - ids[:-1] > 1
    changed = np.flatnonzero(moved | inserted | removed)
    regions: list[tuple[int, int]] = []
    for index in changed.tolist():
        low, high = max(index - reach, 0), min(index + reach + 1, after.size)
        if regions and low <= regions[-1][1] + _MERGE_GAP_BEATS:  # fewer, longer slices
            regions[-1] = (regions[-1][0], max(regions[-1][1], high))
        else:
            regions.append((low, high))
    return regions


