"""A class: several participants, each on their own strap, one protocol and one shared pacer.

Each participant's beats are recorded as their own session (a CoachRun each, all on one session
clock), and the sessions are linked in the store by a class id, with the teacher's label for each
participant and a pseudonym (P1, P2, ...). Each strap reconnects by itself (its BleSource); a
strap that fails or stays away ends only its own session. At the end, each session is saved
as a coach session is, and the class summary lists per participant before → after with 95 %
intervals (history.compare) and the group's medians. Exports carry pseudonyms only.

    with ClassRun(home, protocol, participants, settings) as run:
        ended = asyncio.run(run.run(on_event))       # on_event(participant index, event)
        summary = run.finish(ended)

Bluetooth: BlueZ keeps about 5 LE connections per adapter reliably (plan ~5 straps per
adapter); failures are reported from 6 on (MAX_STRAPS_PER_ADAPTER).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from hrvcoach.app.coach_run import CoachRun, CoachSettings, SessionSaved
from hrvcoach.core.beats import SourceStatus, StatusKind
from hrvcoach.core.clock import ScaledClock
from hrvcoach.core.errors import DeviceError, HrvcoachError, InputError
from hrvcoach.core.records import Annotation
from hrvcoach.files.session_files import ExportFormat, SessionDocument, SessionMeta, write_session_file
from hrvcoach.history.compare import COMPARED_MARKERS, Comparison, MarkerChange, compare
from hrvcoach.protocols.protocol import Protocol
from hrvcoach.session import Session, SessionEnded, SessionEvent
from hrvcoach.sources.factory import BleSpec, SourceSpec
from hrvcoach.store import ClassMember, Store

__all__ = [
    "MAX_STRAPS_PER_ADAPTER",
    "ClassRun",
    "ClassSummary",
    "GroupChange",
    "Participant",
    "ParticipantRow",
    "class_summary",
    "export_class",
    "pseudonym",
    "resolve_straps",
    "shown_name",
]

MAX_STRAPS_PER_ADAPTER: Final = 5  # BlueZ: a safe plan per adapter; failures reported at 6+
STRAGGLER_GRACE_S: Final = 5.0  # session seconds a strap may be late at the class's end
STRAGGLER_GRACE_REAL_S: Final = 2.0  # ... and real seconds the machine may lag (a sped-up class)
SUMMARY_MARKERS: Final = ("rmssd_ms", "mean_hr_bpm")  # the class summary's columns


def pseudonym(index: int) -> str:
    """P1, P2, ...: what exports and LSL streams call participant `index` (0-based)."""
    return f"P{index + 1}"


def shown_name(index: int, label: str) -> str:
    """What the teacher's screen calls participant `index`: "P2 Ben" (or "P2" when unlabelled)."""
    return pseudonym(index) if label == pseudonym(index) else f"{pseudonym(index)} {label}"


@dataclass(frozen=True, slots=True)
class Participant:
    """Who is in the class (the teacher's label, kept in the data folder) and their source."""

    label: str
    spec: SourceSpec


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    """One participant's line of the class summary."""

    pseudonym: str
    label: str  # "" in exported summaries
    session_id: int
    n_beats: int
    comparison: Comparison | None
    note: str = ""  # why there is no comparison (too short, strap failed, ...)

    def change(self, name: str) -> MarkerChange | None:
        return None if self.comparison is None else self.comparison.change(name)


@dataclass(frozen=True, slots=True)
class GroupChange:
    """The group's medians for one marker: before, after and the participants' changes."""

    name: str
    n: int  # participants with both values
    before: float
    after: float
    change: float  # median of the changes: % for relative markers (RMSSD), else in the unit
    clearly_calmer: int  # participants whose interval shows a calmer change


@dataclass(frozen=True, slots=True)
class ClassSummary:
    class_id: int
    protocol: str
    rows: list[ParticipantRow]
    group: list[GroupChange]

    def as_dict(self, *, labels: bool) -> dict[str, Any]:
        """JSON-ready; without `labels` it names participants by pseudonym only."""
        def number(value: float) -> float | None:
            return value if math.isfinite(value) else None

        def change(row: ParticipantRow, name: str) -> dict[str, Any] | None:
            found = row.change(name)
            if found is None:
                return None
            return {"before": number(found.before), "after": number(found.after),
                    "delta": number(found.delta), "ci_low": number(found.ci_low),
                    "ci_high": number(found.ci_high), "pct": number(found.pct),
                    "verdict": found.verdict()}

        rows = [{"participant": row.pseudonym, **({"label": row.label} if labels else {}),
                 "beats": row.n_beats, "note": row.note,
                 **({"session": row.session_id} if labels else {}),
                 **{name: change(row, name) for name in SUMMARY_MARKERS}} for row in self.rows]
        group = {g.name: {"n": g.n, "before": number(g.before), "after": number(g.after),
                          "median_change": number(g.change), "clearly_calmer": g.clearly_calmer}
                 for g in self.group}
        return {"class": self.class_id, "protocol": self.protocol, "participants": rows,
                "group_median": group}


def _group(rows: Sequence[ParticipantRow]) -> list[GroupChange]:
    found = []
    for spec in COMPARED_MARKERS:
        if spec.name not in SUMMARY_MARKERS:
            continue
        changes = [c for row in rows if (c := row.change(spec.name)) is not None
                   and math.isfinite(c.before) and math.isfinite(c.after)]
        if not changes:
            found.append(GroupChange(spec.name, 0, math.nan, math.nan, math.nan, 0))
            continue
        calmer = sum(1 for c in changes if c.clear and (c.delta > 0) == (spec.calmer == "up"))
        found.append(GroupChange(
            spec.name, len(changes), statistics.median(c.before for c in changes),
            statistics.median(c.after for c in changes),
            statistics.median(c.pct if spec.relative else c.delta for c in changes), calmer))
    return found


def _row(member: ClassMember, n_beats: int, comparison: Comparison | None, note: str) -> ParticipantRow:
    return ParticipantRow(member.pseudonym, member.participant, member.session_id, n_beats,
                          comparison, note)


def class_summary(store: Store, class_id: int) -> ClassSummary:
    """The summary of a stored class (its sessions' comparisons, computed again)."""
    members = store.class_members(class_id)
    rows = []
    for member in members:
        try:
            comparison, note = compare(store, member.session_id), ""
        except InputError as exc:
            comparison, note = None, exc.problem
        rows.append(_row(member, store.session(member.session_id).n_beats, comparison, note))
    return ClassSummary(class_id, store.session(members[0].session_id).protocol, rows, _group(rows))


def export_class(store: Store, class_id: int, folder: Path, fmt: ExportFormat = "csv") -> list[Path]:
    """The class with pseudonyms only: its summary (JSON) and each participant's session as
    `class-<id>-P1.<fmt>`, without labels, strap names or addresses, or annotation texts."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = class_summary(store, class_id)
    written = [folder / f"class-{class_id}-summary.json"]
    written[0].write_text(json.dumps(summary.as_dict(labels=False), indent=2, ensure_ascii=False)
                          + "\n", encoding="utf-8")
    for member in store.class_members(class_id):
        info = store.session(member.session_id)
        if info.n_beats == 0:
            continue
        meta = SessionMeta(info.id, info.started_at, info.ended_at, info.protocol, info.source,
                           "", info.status, "")
        annotations = [Annotation(a.time_s, a.kind, "") for a in store.annotations(member.session_id)]
        document = SessionDocument(meta, store.phases(member.session_id),
                                   store.beats(member.session_id), annotations,
                                   store.markers(member.session_id))
        written.append(write_session_file(
            document, fmt, folder / f"class-{class_id}-{member.pseudonym}.{fmt}"))
    return written


async def resolve_straps(wanted: Sequence[str], timeout_s: float) -> list[tuple[str, str | None]]:
    """(address, advertised name) of the strap each NAME_OR_ADDRESS names, from one scan of
    `timeout_s`: each must name exactly one strap, and no two the same."""
    from hrvcoach.sources.ble.scan import match_rank, scan

    straps = await scan(timeout_s)
    chosen: list[tuple[str, str | None]] = []
    for text in wanted:
        ranked = [(rank, strap) for strap in straps
                  if (rank := match_rank(text, strap.name, strap.address)) is not None]
        if not ranked:
            raise DeviceError(f"no strap matching {text!r} found in {timeout_s:g} s (straps sleep "
                              "off the skin; 'hrvcoach scan' lists those in range)")
        best = min(rank for rank, _strap in ranked)
        matches = [strap for rank, strap in ranked if rank == best]
        if len(matches) > 1:
            listed = "; ".join(f"{s.name} ({s.address})" for s in matches)
            raise InputError("--devices", f"{text!r} matches {len(matches)} straps: {listed}")
        chosen.append((matches[0].address, matches[0].name))
    addresses = [address for address, _name in chosen]
    for index, address in enumerate(addresses):
        if address in addresses[:index]:
            raise InputError("--devices", f"{wanted[addresses.index(address)]!r} and "
                             f"{wanted[index]!r} name the same strap ({address})")
    return chosen


class ClassRun:
    """The composition root of a class (see the module note): one CoachRun per participant on
    one ScaledClock, linked in the store as one class. Use as a context manager."""

    def __init__(self, home: Path, protocol: Protocol, participants: Sequence[Participant],
                 settings: CoachSettings) -> None:
        if not participants:
            raise InputError("--devices", "a class needs at least one participant")
        labels = [p.label for p in participants]
        if len(set(labels)) != len(labels) or not all(label.strip() for label in labels):
            raise InputError("--labels", f"each participant needs a label of their own, got {labels}")
        if protocol.assess_resonance:
            raise InputError("--protocol", f"{protocol.name} assesses one person's resonance "
                             "rate: run it with `hrvcoach coach` or `demo`, not in a class")
        straps = [p.spec.device for p in participants if isinstance(p.spec, BleSpec)]
        if len(set(straps)) != len(straps):
            raise InputError("--devices", "two participants cannot share one strap")
        self.home = home
        self.protocol = protocol
        self.settings = settings
        self.participants = tuple(participants)
        self.pseudonyms = [pseudonym(i) for i in range(len(participants))]
        self.clock = ScaledClock(settings.speed)
        self.notices: list[str] = []
        if len(straps) > MAX_STRAPS_PER_ADAPTER:
            self.notices.append(
                f"{len(straps)} straps: BlueZ keeps about {MAX_STRAPS_PER_ADAPTER} LE connections "
                "per adapter reliably (failures are known from 6 on); use a second adapter "
                "for more")
        self.runs: list[CoachRun] = []
        self._stack = contextlib.ExitStack()
        try:
            for who, name in zip(participants, self.pseudonyms, strict=True):
                run = self._stack.enter_context(CoachRun(home, protocol, who.spec, settings,
                                                         clock=self.clock, participant=name))
                self.notices += run.notices
                self.runs.append(run)
            self.members = [ClassMember(run.session_id, who.label, name) for run, who, name in
                            zip(self.runs, participants, self.pseudonyms, strict=True)]
            self.class_id = self.store.join_class(self.members)
        except BaseException:
            self._stack.close()
            raise
        self.errors: list[str] = [""] * len(self.runs)  # a participant's source failure
        self._sessions: list[Session] | None = None
        self.summary: ClassSummary | None = None

    @property
    def store(self) -> Store:
        return self.runs[0].store

    def sessions(self, on_event: Callable[[int, SessionEvent], None]) -> list[Session]:
        """The participants' sessions (built once; session time 0 is now)."""
        if self._sessions is None:
            self._sessions = [run.session(partial(on_event, index))
                              for index, run in enumerate(self.runs)]
            self.clock.restart()
        return self._sessions

    async def run(self, on_event: Callable[[int, SessionEvent], None]) -> list[SessionEnded | None]:
        """Run every participant's session to its end. A participant whose strap fails ends
        alone (why is kept in `errors`); the others go on. A session still waiting for its strap
        STRAGGLER_GRACE_S after the class's end (and STRAGGLER_GRACE_REAL_S of real time) is
        stopped. Cancelled (Stop, Ctrl+C): every
        session stops, and the cancellation goes on to the caller."""
        sessions = self.sessions(on_event)
        tasks = [asyncio.ensure_future(session.run()) for session in sessions]
        end_s = max(session.end_s for session in sessions)

        def tell_failure(index: int, task: asyncio.Future[SessionEnded]) -> None:
            error = None if task.cancelled() else task.exception()
            if isinstance(error, HrvcoachError):  # the views hear it now, not at the end
                on_event(index, SourceStatus(StatusKind.ENDED, self.clock.now(), str(error)))

        for index, task in enumerate(tasks):
            task.add_done_callback(partial(tell_failure, index))

        # at 600x a machine busy for 30 ms is 18 session seconds late: the grace is real time too
        grace_s = max(STRAGGLER_GRACE_S, STRAGGLER_GRACE_REAL_S * self.clock.speed)

        async def stop_stragglers() -> None:
            await self.clock.sleep_until(end_s + grace_s)
            for index, task in enumerate(tasks):
                if not task.done():
                    self.errors[index] = "its strap was away when the class ended"
                    task.cancel()

        watchdog = asyncio.ensure_future(stop_stragglers())
        try:
            await asyncio.wait(tasks)
        finally:
            watchdog.cancel()
            for still in tasks:
                still.cancel()
            await asyncio.wait({*tasks, watchdog})
        ended: list[SessionEnded | None] = []
        for index, task in enumerate(tasks):
            error = None if task.cancelled() else task.exception()
            if isinstance(error, HrvcoachError):
                self.errors[index] = f"stopped by an error: {error}"
            elif error is not None:
                raise error
            ended.append(None if task.cancelled() or error is not None else task.result())
        return ended

    def pause(self) -> None:
        """Pause every session (one clock: the pacer stands still for all)."""
        for session in self._sessions or ():
            session.pause()

    def resume(self) -> None:
        for session in self._sessions or ():
            session.resume()

    def finish(self, ended: Sequence[SessionEnded | None] | None = None, *,
               stopped: bool = False) -> ClassSummary:
        """Save every participant's session (as a coach session) and summarize the class. Once."""
        if self.summary is not None:
            return self.summary
        ended = list(ended) if ended is not None else [None] * len(self.runs)
        rows = []
        for index, (run, member) in enumerate(zip(self.runs, self.members, strict=True)):
            error = self.errors[index]
            saved: SessionSaved = run.finish(ended[index], stopped=stopped or bool(error),
                                             reason=error)
            note = error or saved.comparison_note
            rows.append(_row(member, saved.n_beats, saved.comparison, note))
        self.summary = ClassSummary(self.class_id, self.protocol.name, rows, _group(rows))
        return self.summary

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stack.__exit__(exc_type, exc, tb)  # each run saves its session if not yet saved
