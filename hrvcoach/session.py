"""A session runs a protocol against a source: it records every beat first, updates the live
markers and tells its listener (headless printer, coach window) what happened.

A source that goes quiet (no beat for SILENT_AFTER_S of session time: the strap is off, out of
range, or has no skin contact) is reported by a watchdog on the session's clock as SourceSilent,
once a session second while it lasts; views grey what they show. A recorder that cannot write
(a full disk) is reported by whoever runs the session as RecordingTrouble.

Besides beats, a session can be paused (its clock stands still; a strap's beats that arrive
meanwhile are not recorded, and the next one is marked as following a gap), and the user can
mark a moment (a `Marked` event, stored as a note). Each Snapshot carries everything a view
draws: the markers, the spectrum they came from, the baseline to compare with, which recent
beats the artifact detector flags, and a plain signal-quality word.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal
from typing import Protocol as TypingProtocol

from hrvcoach.analysis.body import BodyState, LiveBody
from hrvcoach.analysis.live import FIX_FINAL_AFTER_BEATS, Engine, LiveMarkers, in_use, markers_at
from hrvcoach.analysis.spectral import Spectrum
from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.clock import Clock, PausableClock
from hrvcoach.core.markers import EMPTY_MARKERS, Markers
from hrvcoach.core.raw import BreathRecord, MovementSegment, RawChunk
from hrvcoach.core.records import Annotation, PhaseRecord
from hrvcoach.protocols.pacer import Pacer, PacerState
from hrvcoach.protocols.protocol import Phase, Protocol
from hrvcoach.sources.base import Source

log = logging.getLogger(__name__)

SignalQuality = Literal["good", "fair", "poor", "no contact", "unknown"]
GOOD_SIGNAL_MAX_ARTIFACT_PCT: Final = 2.0  # corrected beats in the last minute, at most
FAIR_SIGNAL_MAX_ARTIFACT_PCT: Final = 5.0  # beyond this a phase's markers are unreliable too
SIGNAL_MIN_BEATS: Final = 10  # fewer beats in the window: quality "unknown"
# A snapshot lists the artifact flags among this many of the newest beats: the detector's
# decisions are final 51 beats after a beat (StreamingArtifactDetector.FINAL_AFTER_BEATS).
ARTIFACT_LOOKBACK_BEATS: Final = 64
SILENT_AFTER_S: Final = 5.0  # session seconds without a beat before the source counts as silent
_SILENCE_POLL_S: Final = 0.1  # real seconds between the watchdog's looks at the clock, at most
_SILENCE_STEP_S: Final = 0.25  # ... and session seconds between them, on a fast clock
# ... and a silence must last this long in real time too: at --speed 600 a busy event loop
# can let 5 session seconds pass between two beats that are already there.
_SILENCE_MIN_REAL_S: Final = 0.2
_QUIET_END_REAL_S: Final = 1.0  # a session quiet past its end ends after this much real time


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state after one beat: what views draw."""

    time_s: float
    beat: Beat
    instant_hr_bpm: float  # 60000 / this beat's RR
    phase_index: int
    phase: Phase
    pacer: PacerState  # at the beat's time
    markers: Markers
    spectrum: Spectrum | None = None  # the live spectrum behind `markers` (None: none computed)
    # markers at the end of the "before" phase, once its correction decisions are final (about a
    # minute after it ended: FIX_FINAL_AFTER_BEATS beats)
    baseline: Markers | None = None
    artifacts: tuple[float, ...] = ()  # times of the beats flagged as artifacts, among ...
    artifacts_since_s: float = math.nan  # ... the recent beats from this time on (the rest: final)
    rejected: bool = False  # this beat is left out of the markers (no contact, RR out of range)
    signal: SignalQuality = "unknown"
    not_valid_because: tuple[str, ...] = ()  # the rhythm-quality gate's reasons (markers.hrv_valid)
    body: BodyState | None = None  # breath and movement from the strap's accelerometer (if any)

    @property
    def moving(self) -> bool:
        """The body moves: vagal markers are paused (they are computed on still stretches)."""
        return self.body is not None and self.body.movement.moving


@dataclass(frozen=True, slots=True)
class PhaseStarted:
    """A protocol phase began at session time `time_s`."""

    time_s: float
    index: int
    phase: Phase


@dataclass(frozen=True, slots=True)
class Paused:
    """The user paused the session at session time `time_s` (the clock stands still)."""

    time_s: float


@dataclass(frozen=True, slots=True)
class Resumed:
    """The session runs on from session time `time_s`."""

    time_s: float


@dataclass(frozen=True, slots=True)
class Marked:
    """The user marked a moment (stored as a note annotation)."""

    time_s: float
    text: str = ""


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """The session finished (duration reached, source ended or stopped by the user)."""

    time_s: float
    reason: str
    beats: int
    first_phase_markers: Markers
    last_markers: Markers
    baseline_markers: Markers | None = None  # at the end of the "before" phase, if it ended


@dataclass(frozen=True, slots=True)
class SourceSilent:
    """No beat for `silent_s` session seconds (strap off or out of range, no skin contact)."""

    time_s: float
    silent_s: float


@dataclass(frozen=True, slots=True)
class RecordingTrouble:
    """The recording cannot be written (e.g. the disk is full): what was written stays, newer
    beats wait in memory and are written when possible; `resolved` once they are."""

    time_s: float
    message: str
    resolved: bool = False


SessionEvent = (Snapshot | PhaseStarted | SourceStatus | SessionEnded | Paused | Resumed | Marked
                | SourceSilent | RecordingTrouble
                | RawChunk | BreathRecord | MovementSegment)  # raw data and what the body did


class SessionRecorder(TypingProtocol):
    """Where a session writes what happens, as plain records, before anything else sees it: each
    beat first, then phases as they start, source status events and the user's annotations
    (marks, pauses). The store implements it; so does the CSV journal (beats only)."""

    def record_beat(self, beat: Beat) -> None: ...

    def record_phase(self, phase: PhaseRecord) -> None: ...

    def record_status(self, status: SourceStatus) -> None: ...

    def record_annotation(self, annotation: Annotation) -> None: ...

    def record_raw(self, chunk: RawChunk) -> None: ...

    def record_body(self, found: BreathRecord | MovementSegment) -> None: ...


class AllRecorders:
    """Several recorders as one, called in order (e.g. the CSV journal, then the store)."""

    def __init__(self, *recorders: SessionRecorder) -> None:
        self.recorders = recorders

    def record_beat(self, beat: Beat) -> None:
        for recorder in self.recorders:
            recorder.record_beat(beat)

    def record_phase(self, phase: PhaseRecord) -> None:
        for recorder in self.recorders:
            recorder.record_phase(phase)

    def record_status(self, status: SourceStatus) -> None:
        for recorder in self.recorders:
            recorder.record_status(status)

    def record_annotation(self, annotation: Annotation) -> None:
        for recorder in self.recorders:
            recorder.record_annotation(annotation)

    def record_raw(self, chunk: RawChunk) -> None:
        for recorder in self.recorders:
            recorder.record_raw(chunk)

    def record_body(self, found: BreathRecord | MovementSegment) -> None:
        for recorder in self.recorders:
            recorder.record_body(found)


def phase_record(index: int, phase: Phase, start_s: float) -> PhaseRecord:
    """What is recorded of a protocol phase starting at session time start_s."""
    return PhaseRecord(index, phase.name, phase.kind, start_s, start_s + phase.duration_s,
                       phase.breaths_per_min, phase.ramp_to_per_min, phase.pacing_text(),
                       phase.compare)


def signal_quality(beat: Beat, markers: Markers) -> SignalQuality:
    """A plain word for the signal: the share of corrected beats in the markers' last minute."""
    if not beat.usable:
        return "no contact"
    if markers.beats_in_window < SIGNAL_MIN_BEATS:
        return "unknown"
    pct = 100.0 * markers.artifacts_in_window / markers.beats_in_window
    if pct <= GOOD_SIGNAL_MAX_ARTIFACT_PCT:
        return "good"
    return "fair" if pct <= FAIR_SIGNAL_MAX_ARTIFACT_PCT else "poor"


@dataclass
class Session:
    """Runs `protocol` against `source` until `duration_s` of session time (default: protocol).

    `clock` is the clock the source runs on; `pause` needs one that can pause.
    """

    protocol: Protocol
    source: Source
    on_event: Callable[[SessionEvent], None]
    recorder: SessionRecorder | None = None
    duration_s: float | None = None
    markers_engine: Engine = "hrvcoach"  # "neurokit2": its own numbers (slow; see LiveMarkers)
    clock: Clock | None = None
    pacer: Pacer = field(init=False)
    beats: int = field(init=False, default=0)
    dropped_while_paused: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.pacer = Pacer.for_protocol(self.protocol)
        self._markers = LiveMarkers(correct_artifacts=True, engine=self.markers_engine)
        self._phase_index = -1
        self._phase_end_markers: dict[int, Markers] = {}  # final, or as final as the end allows
        self._ending: dict[int, tuple[float, float | None, int]] = {}  # phase: (end, pacer, beats)
        self._baseline: Markers | None = None
        self._recorded: list[Beat] = []  # every beat of the session, for final end markers
        self._last_end_s = 0.0  # the previous beat's time (where an ending phase ends)
        self._in_use = 0  # beats the markers used so far
        self._paused = False
        self._gap_after_pause = False
        self._last_time_s = 0.0
        self._body = LiveBody()  # breaths and movement from a strap's accelerometer
        self._raw_gap_after_pause = False
        self._ended_quiet = False  # the watchdog ended the session: silent past its end time

    @property
    def end_s(self) -> float:
        return self.duration_s if self.duration_s is not None else self.protocol.duration_s

    @property
    def can_pause(self) -> bool:
        return isinstance(self.clock, PausableClock)

    @property
    def paused(self) -> bool:
        return self._paused

    def _now(self) -> float:
        return self.clock.now() if self.clock is not None else self._last_time_s

    def pause(self) -> None:
        """Stop session time: the clock stands still and arriving beats are not recorded."""
        if self._paused:
            return
        if not isinstance(self.clock, PausableClock):
            raise RuntimeError("this session's clock cannot pause")
        self.clock.pause()
        self._paused = True
        self._annotate(Paused(self.clock.now()), "paused", "")

    def resume(self) -> None:
        """Let session time run on; the first beat after a pause that lost beats follows a gap."""
        if not self._paused or not isinstance(self.clock, PausableClock):
            return
        self._paused = False
        self.clock.resume()
        self._annotate(Resumed(self.clock.now()), "resumed", "")

    def mark(self, text: str = "") -> Marked:
        """Mark this moment of the session (e.g. a thought, a noise, a change of posture)."""
        marked = Marked(self._now(), text)
        self._annotate(marked, "note", text or "mark")
        return marked

    def _annotate(self, event: Paused | Resumed | Marked, kind: str, text: str) -> None:
        if self.recorder is not None:
            self.recorder.record_annotation(Annotation(event.time_s, kind, text))
        self.on_event(event)

    async def run(self) -> SessionEnded:
        """Consume the source until the end time; always emits SessionEnded, even when stopped.
        A source that is silent at the end time does not hold the session open: the watchdog
        ends it (its last beat stays its end)."""
        reason = "source ended"
        runner = asyncio.current_task()
        watchdog = asyncio.create_task(self._watch_silence(runner), name="hrvcoach silence watchdog")
        try:
            async with self.source:
                async for item in self.source.beats():
                    if isinstance(item, SourceStatus):
                        if self.recorder is not None and item.kind is not StatusKind.ENDED:
                            self.recorder.record_status(item)
                        self.on_event(item)
                        if item.kind is StatusKind.ENDED:
                            break
                        continue
                    if isinstance(item, RawChunk):
                        self._on_raw(item)
                        continue
                    if self._paused:  # a strap keeps sending while the session stands still
                        self.dropped_while_paused += 1
                        self._gap_after_pause = True
                        continue
                    if item.time_s > self.end_s:
                        reason = "duration reached"
                        break
                    if self._gap_after_pause:
                        item = dataclasses.replace(item, after_gap=True)
                        self._gap_after_pause = False
                    self._last_time_s = item.time_s
                    self._on_beat(item)
        except asyncio.CancelledError:
            if not self._ended_quiet or runner is None:
                reason = "stopped"
                raise
            runner.uncancel()  # the watchdog ended a quiet session at its end time
            reason = "duration reached"
        except BaseException:
            reason = "stopped"
            raise
        finally:
            for segment in self._body.close():
                self._found(segment)
            watchdog.cancel()
            self._settle_phase_ends(final=True)
            ended = SessionEnded(self._last_time_s, reason, self.beats,
                                 self._phase_end_markers.get(0, EMPTY_MARKERS),
                                 self._markers.latest, self._baseline)
            self.on_event(ended)
        return ended

    def _on_raw(self, chunk: RawChunk) -> None:
        """A strap's raw ECG/accelerometer chunk: recorded (not while paused), then analysed."""
        if self._paused or chunk.start_s > self.end_s:
            self._raw_gap_after_pause |= self._paused
            return
        if self._raw_gap_after_pause:  # the raw data of the pause is missing
            chunk = dataclasses.replace(chunk, after_gap=True)
            self._raw_gap_after_pause = False
        if self.recorder is not None:
            self.recorder.record_raw(chunk)
        self.on_event(chunk)
        for found in self._body.feed(chunk, self._pacer_at):
            self._found(found)

    def _found(self, found: BreathRecord | MovementSegment) -> None:
        if self.recorder is not None:
            self.recorder.record_body(found)
        self.on_event(found)

    def _pacer_at(self, time_s: float) -> tuple[float | None, float | None]:
        state = self.pacer.state_at(time_s)
        return (state.breaths_per_min, state.cycles % 1.0) if state.paced else (None, None)
    async def _watch_silence(self, runner: asyncio.Task[SessionEnded] | None) -> None:
        """Emit SourceSilent once a session second while no beat comes (see the module note),
        and end the session (`runner`) when it is silent past its end time: silent on two looks
        in a row and for _QUIET_END_REAL_S of real time, so that beats already due, which a busy
        event loop has not delivered yet, are never cut off."""
        beats, since_real_s, reported_s = self.beats, time.monotonic(), 0
        quiet_looks = 0
        poll_s, looked_real_s, looked_s = _SILENCE_POLL_S, time.monotonic(), self._now()
        while True:
            await asyncio.sleep(poll_s)
            # look about every _SILENCE_STEP_S of session time, however fast the clock runs
            real_s, now_s = time.monotonic(), self._now()
            rate = (now_s - looked_s) / (real_s - looked_real_s) if real_s > looked_real_s else 0.0
            poll_s = min(_SILENCE_POLL_S, max(0.01, _SILENCE_STEP_S / rate)) if rate > 0 else \
                _SILENCE_POLL_S
            looked_real_s, looked_s = real_s, now_s
            if self.beats != beats or self._paused:
                beats, since_real_s, reported_s, quiet_looks = self.beats, time.monotonic(), 0, 0
                continue
            silent_s = now_s - self._last_time_s
            quiet_real_s = real_s - since_real_s
            if silent_s < SILENT_AFTER_S or quiet_real_s < _SILENCE_MIN_REAL_S:
                continue
            quiet_looks += 1
            if now_s > self.end_s and runner is not None:
                if quiet_looks >= 2 and quiet_real_s >= _QUIET_END_REAL_S:
                    self._ended_quiet = True
                    runner.cancel()
                    return
                continue
            if int(silent_s) > reported_s:
                reported_s = int(silent_s)
                self.on_event(SourceSilent(now_s, silent_s))

    def _on_beat(self, beat: Beat) -> None:
        if self.recorder is not None:
            self.recorder.record_beat(beat)  # the record comes first
        self.beats += 1
        self._recorded.append(beat)
        index, phase, start_s = self.protocol.phase_at(beat.time_s)
        if index != self._phase_index:
            if self._phase_index >= 0:
                ended = self.protocol.phases[self._phase_index]
                rate = self.pacer.state_at(self._last_end_s).breaths_per_min if ended.kind == \
                    "paced" else None
                self._ending[self._phase_index] = (self._last_end_s, rate, self._in_use)
            self._phase_index = index
            if self.recorder is not None:
                self.recorder.record_phase(phase_record(index, phase, start_s))
            self.on_event(PhaseStarted(start_s, index, phase))
        self._last_end_s = beat.time_s
        pacer = self.pacer.state_at(beat.time_s)
        body = self._body.state(beat.time_s)
        # the breathing rate the markers rest on: measured where the accelerometer has it, else
        # the pacer's while it paces, else (None) the RSA peak of the RR spectrum
        breathing = body.breaths_per_min if body is not None and math.isfinite(
            body.breaths_per_min) else (pacer.breaths_per_min if pacer.paced else None)
        markers = self._markers.update(beat, breathing)
        used = in_use(beat)
        self._in_use += used
        self._settle_phase_ends(final=False)
        artifacts, since_s = self._markers.recent_artifacts(ARTIFACT_LOOKBACK_BEATS)
        instant_hr = 60_000.0 / beat.rr_ms if beat.rr_ms > 0 else math.nan
        self.on_event(Snapshot(beat.time_s, beat, instant_hr, index, phase, pacer, markers,
                               self._markers.latest_spectrum, self._baseline, artifacts, since_s,
                               not used, signal_quality(beat, markers),
                               self._markers.latest_quality.reasons, body))

    def _settle_phase_ends(self, *, final: bool) -> None:
        """The markers at the end of each ended phase, from every beat recorded, once enough
        beats have followed for the correction decisions there to be final (or at the session's
        end, `final`: as final as the beats allow). The "before" phase's become the baseline."""
        for index, (end_s, rate, in_use_then) in list(self._ending.items()):
            if not final and self._in_use - in_use_then < FIX_FINAL_AFTER_BEATS:
                continue
            del self._ending[index]
            settled = markers_at(self._recorded, end_s, pacer_breaths_per_min=rate)
            self._phase_end_markers[index] = settled
            if self.protocol.phases[index].compare == "before":
                self._baseline = settled
