"""A session runs a protocol against a source: it records every beat first, updates the live
markers and tells its listener (headless printer, coach window) what happened."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol as TypingProtocol

from hrvcoach.analysis.live import EMPTY_MARKERS, Engine, LiveMarkers, Markers
from hrvcoach.beats import Beat, SourceStatus, StatusKind
from hrvcoach.pacer import Pacer, PacerState
from hrvcoach.protocols import Phase, Protocol
from hrvcoach.sources.base import Source

log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class PhaseStarted:
    """A protocol phase began at session time `time_s`."""

    time_s: float
    index: int
    phase: Phase


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """The session finished (duration reached, source ended or stopped by the user)."""

    time_s: float
    reason: str
    beats: int
    first_phase_markers: Markers
    last_markers: Markers


SessionEvent = Snapshot | PhaseStarted | SourceStatus | SessionEnded


class BeatRecorder(TypingProtocol):
    """Where a session writes each beat before anything else touches it."""

    def append(self, beat: Beat) -> None: ...


@dataclass
class Session:
    """Runs `protocol` against `source` until `duration_s` of session time (default: protocol)."""

    protocol: Protocol
    source: Source
    on_event: Callable[[SessionEvent], None]
    recorder: BeatRecorder | None = None
    duration_s: float | None = None
    markers_engine: Engine = "hrvcoach"  # "neurokit2": its own numbers (slow; see LiveMarkers)
    pacer: Pacer = field(init=False)
    beats: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.pacer = Pacer.for_protocol(self.protocol)
        self._markers = LiveMarkers(correct_artifacts=True, engine=self.markers_engine)
        self._phase_index = -1
        self._phase_end_markers: dict[int, Markers] = {}

    @property
    def end_s(self) -> float:
        return self.duration_s if self.duration_s is not None else self.protocol.duration_s

    async def run(self) -> SessionEnded:
        """Consume the source until the end time; always emits SessionEnded, even when stopped."""
        reason, last_time_s = "source ended", 0.0
        try:
            async with self.source:
                async for item in self.source.beats():
                    if isinstance(item, SourceStatus):
                        self.on_event(item)
                        if item.kind is StatusKind.ENDED:
                            break
                        continue
                    if item.time_s > self.end_s:
                        reason = "duration reached"
                        break
                    last_time_s = item.time_s
                    self._on_beat(item)
        except BaseException:
            reason = "stopped"
            raise
        finally:
            ended = SessionEnded(last_time_s, reason, self.beats,
                                 self._phase_end_markers.get(0, EMPTY_MARKERS),
                                 self._markers.latest)
            self.on_event(ended)
        return ended

    def _on_beat(self, beat: Beat) -> None:
        if self.recorder is not None:
            self.recorder.append(beat)  # the record comes first
        self.beats += 1
        index, phase, start_s = self.protocol.phase_at(beat.time_s)
        if index != self._phase_index:
            if self._phase_index >= 0:
                self._phase_end_markers[self._phase_index] = self._markers.latest
            self._phase_index = index
            self.on_event(PhaseStarted(start_s, index, phase))
        pacer = self.pacer.state_at(beat.time_s)
        markers = self._markers.update(beat, pacer.breaths_per_min if pacer.paced else None)
        instant_hr = 60_000.0 / beat.rr_ms if beat.rr_ms > 0 else math.nan
        self.on_event(Snapshot(beat.time_s, beat, instant_hr, index, phase, pacer, markers))
