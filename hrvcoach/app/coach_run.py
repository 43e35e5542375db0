"""One coach session from start to finish, the same for the command line, headless and the window.

`CoachRun` opens the data folder's store, a CSV journal and the store's recorder, builds the
source (`open_source`) and the session, and at the end closes the session in the store with its
status, computes its markers, compares before with after, and runs the resonance assessment when
the protocol asks for one (saving the rate in the profile only from a real measurement: a
strap; a demo or a replay shows its assessment without touching the user's profile). Views only
show what it returns.

    with CoachRun(home, protocol, SimulatorSpec(seed=3)) as run:
        ended = asyncio.run(run.session(printer.handle).run())
        saved = run.finish(ended)

A full disk does not stop a session: the journal and the store hold what they cannot write in
memory and write it when there is room (see CsvJournal, StoreRecorder); the run tells the view
once (RecordingTrouble) and again when all is written. If the end comes before there is room,
`finish` raises a StoreError saying what is kept where; the next start recovers the session
from its journal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self

from hrvcoach.analysis.body import prepare_in_background
from hrvcoach.analysis.live import Engine
from hrvcoach.app.lsl_outlets import LslOutlets, stream_identity
from hrvcoach.core.clock import ScaledClock
from hrvcoach.core.errors import InputError
from hrvcoach.files.journal import CsvJournal
from hrvcoach.history.assessment import Assessment, assess_session, store_assessment
from hrvcoach.history.compare import Comparison, compare
from hrvcoach.history.phases import compute_markers
from hrvcoach.protocols.protocol import Protocol
from hrvcoach.session import (
    AllRecorders,
    RecordingTrouble,
    Session,
    SessionEnded,
    SessionEvent,
    Snapshot,
    SourceSilent,
)
from hrvcoach.sources.factory import BleSpec, SourceSpec, open_source
from hrvcoach.store import SessionStatus, StoreError, StoreRecorder

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CoachRun", "CoachSettings", "ResonanceResult", "SessionSaved"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CoachSettings:
    """How to run a session: clock speed, length, and which engine computes live markers."""

    speed: float = 1.0  # session seconds per real second
    duration_s: float | None = None  # None: the protocol's length
    engine: Engine = "hrvcoach"
    lsl: bool = False  # stream to Lab Streaming Layer from the start (app.lsl_outlets)


MEASURED_SOURCES: Final = frozenset({"ble"})  # sources whose sessions are the user's own heart


@dataclass(frozen=True, slots=True)
class ResonanceResult:
    """The assessment of a resonance-assessment session, and where the chosen rate was saved."""

    assessment: Assessment
    saved_to: Path | None  # None: not saved (see `not_saved`); the profile is unchanged
    not_saved: str = ""  # why a chosen rate was not saved (a demo, a replay)


@dataclass(frozen=True, slots=True)
class SessionSaved:
    """What the end of a session left in the data folder."""

    session_id: int
    status: SessionStatus
    n_beats: int
    journal: Path
    comparison: Comparison | None
    comparison_note: str  # why there is no comparison
    resonance: ResonanceResult | None  # only for protocols that assess the resonance rate


class CoachRun:
    """The composition root of one coach session (see the module note).

    The store and the journal are opened at once; the source is opened by the session when it
    runs. Use as a context manager: leaving it early (an error, Ctrl+C) still closes the session
    in the store as stopped and keeps every beat recorded so far. The session's events also feed
    its Lab Streaming Layer outlets (`lsl`), open from the start with `settings.lsl`.

    A class (app.class_run) runs one CoachRun per participant on one shared `clock`;
    `participant` is the pseudonym that names the recording and the LSL streams.
    """

    def __init__(self, home: Path, protocol: Protocol, spec: SourceSpec,
                 settings: CoachSettings = CoachSettings(), *, clock: ScaledClock | None = None,
                 participant: str = "") -> None:
        from hrvcoach.app.data_folder import open_store

        self.home = home
        self.protocol = protocol
        self.spec = spec
        self.settings = settings
        self.clock = clock if clock is not None else ScaledClock(settings.speed)
        self.store, self.notices = open_store(home)  # creates the data folder user-only
        try:
            self.journal = CsvJournal.open_in(home / "recordings", "-".join(
                part for part in (protocol.name, participant) if part))
            try:
                self.recorder = StoreRecorder(self.store, protocol=protocol.name, source=spec.kind,
                                              device=spec.label if spec.kind != "ble" else "",
                                              origin=str(self.journal.path))
            except BaseException:
                self.journal.close()
                raise
        except BaseException:
            self.store.close()
            raise
        self.session_id = self.recorder.session_id
        self.saved: SessionSaved | None = None
        self._session: Session | None = None
        self._view: Callable[[SessionEvent], None] | None = None
        self._told_trouble = False  # the view was told the recording cannot be written
        self._closed_recording = False
        self.lsl = LslOutlets(stream_identity(spec, participant), self.clock, speed=settings.speed,
                              about={"session": str(self.session_id), "protocol": protocol.name})
        if settings.lsl:
            try:
                self.lsl.open()
            except BaseException as exc:
                self.__exit__(type(exc), exc, None)
                raise

    @property
    def source_label(self) -> str:
        return self.spec.label

    def session(self, on_event: Callable[[SessionEvent], None]) -> Session:
        """The session (built once): each beat goes to the journal, then the store, before the
        session or any view does anything else with it."""
        if self._session is None:
            from hrvcoach.protocols.pacer import Pacer

            self.clock.restart()  # session time 0 is now, not when the store was opened
            if isinstance(self.spec, BleSpec) and self.spec.raw:  # a strap's accelerometer may come
                prepare_in_background()
            pacer = Pacer.for_protocol(self.protocol)
            source = open_source(self.spec, self.clock, pacer)
            lsl = self.lsl

            def to_lsl_then_view(event: SessionEvent) -> None:
                lsl.handle(event)
                on_event(event)

            self._view = to_lsl_then_view
            self._session = Session(self.protocol, source, self._on_event,
                                    AllRecorders(self.journal, self.recorder),
                                    self.settings.duration_s,
                                    markers_engine=self.settings.engine, clock=self.clock)
            self._session.pacer = pacer  # one pacer: a pacing change reaches the source too
        return self._session

    def _on_event(self, event: SessionEvent) -> None:
        """Pass the session's events on, telling the view first when the recording stops (or
        starts again) being written."""
        assert self._view is not None
        if isinstance(event, Snapshot | SourceSilent):
            if self.journal.problem is not None:
                self.journal.retry()  # a beat retries too; a silence would not
            problem = self.journal.problem or self.recorder.problem
            if problem is not None and not self._told_trouble:
                self._told_trouble = True
                self._view(RecordingTrouble(event.time_s, f"cannot write the recording ({problem}"
                                            f"): the session goes on and keeps its beats in memory "
                                            f"until there is room; free some space on the disk "
                                            f"of {self.home}"))
            elif problem is None and self._told_trouble:
                self._told_trouble = False
                self._view(RecordingTrouble(event.time_s, "the recording is written again: no "
                                            "beat was lost", resolved=True))
        self._view(event)

    def finish(self, ended: SessionEnded | None, *, stopped: bool = False,
               reason: str = "") -> SessionSaved:
        """Close the session in the store (completed or stopped), compute its markers, compare
        before with after, and assess the resonance rate if the protocol asks for it. Once."""
        if self.saved is not None:
            return self.saved
        if stopped or ended is None or ended.reason == "stopped":
            status: SessionStatus = "stopped"
            why = reason or "stopped by the user"
        else:
            status, why = "completed", ended.reason
        self._close_recording(status, why)
        comparison: Comparison | None = None
        try:
            compute_markers(self.store, self.session_id)
            comparison, note = compare(self.store, self.session_id), ""
        except InputError as exc:
            note = exc.problem
        except (ValueError, ArithmeticError, StoreError) as exc:  # the beats are saved (or in
            # the journal, on a full disk): the next start computes the markers
            log.info("session %d: markers could not be computed (%s)", self.session_id, exc)
            note = f"markers could not be computed ({exc}); they are retried at the next start"
        resonance = None
        if self.protocol.assess_resonance and status == "completed":
            assessment = assess_session(self.store, self.session_id, self.protocol)
            if self.spec.kind in MEASURED_SOURCES:
                try:
                    saved_to = store_assessment(self.home, assessment, f"session {self.session_id}")
                except StoreError as exc:
                    log.warning("the resonance rate could not be saved: %s", exc)
                    saved_to = None
                resonance = ResonanceResult(assessment, saved_to)
            else:
                whose = "the simulated person's" if self.spec.kind == "simulator" else \
                    "a replayed recording's"
                resonance = ResonanceResult(assessment, None, f"a demo: this is {whose} rate, "
                                            "not a measurement of you, so your profile is "
                                            "unchanged")
        info = self.store.session(self.session_id)
        self.saved = SessionSaved(self.session_id, status, info.n_beats, self.journal.path,
                                  comparison, note, resonance)
        return self.saved

    def _close_recording(self, status: SessionStatus, why: str) -> None:
        """Close the store's session and the journal, once; a store that cannot take the rest
        (a full disk) raises StoreError after the journal has written what it could."""
        if self._closed_recording:
            return
        self._closed_recording = True
        try:
            self.recorder.close(status, why)
        finally:
            self.journal.close()

    def close(self) -> None:
        self.lsl.close()
        self.journal.close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self.saved is None:
                reason = "stopped by the user" if exc_type in (None, KeyboardInterrupt) else \
                    f"stopped by an error: {exc}"
                self.finish(None, stopped=True, reason=reason)
        finally:
            self.close()
