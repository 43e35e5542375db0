"""What the coach window shows, folded from the session's events: no Qt here, so it is tested
without a window. The window (window.py) stores each event here and draws the state on a timer.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from hrvcoach.analysis.body import BodyState
from hrvcoach.analysis.coherence import coherence_level
from hrvcoach.analysis.ecg import stretch_start_s
from hrvcoach.analysis.spectral import Spectrum
from hrvcoach.core.beats import SourceStatus, StatusKind
from hrvcoach.core.markers import EMPTY_MARKERS, Markers
from hrvcoach.core.raw import RawChunk
from hrvcoach.protocols.protocol import Phase
from hrvcoach.session import (
    Marked,
    Paused,
    PhaseStarted,
    RecordingTrouble,
    Resumed,
    SessionEnded,
    SessionEvent,
    Snapshot,
    SourceSilent,
)
from hrvcoach.views.qt.series import TrendSeries
from hrvcoach.views.text import clock_text, safe_text

__all__ = ["COHERENCE_LEVELS", "CONNECTION_WORDS", "BeatPoint", "CoachState", "status_text"]

MAX_BEATS_PER_S: Final = 240 / 60  # bounds the beat buffer (240 bpm)
ECG_STRIP_S: Final = 4.0  # the ECG strip shows the last seconds received
MAX_COUNTED_GAP_S: Final = 5.0  # time between two snapshots counted in a coherence level, at most
# The coherence levels in plain words, lowest first (the thresholds are analysis.coherence's one
# definition, COHERENCE_LEVELS_RATIO: free breathing at 12/min stays below "high").
COHERENCE_LEVELS: Final = (("low", "low · no single rhythm"), ("medium", "medium · building"),
                           ("high", "high · one smooth wave"))
# connection state -> (words, colour role)
CONNECTION_WORDS: Final = {
    StatusKind.SCANNING: ("looking for the strap", "warn"),
    StatusKind.CONNECTING: ("connecting", "warn"),
    StatusKind.CONNECTED: ("connected", "good"),
    StatusKind.CONTACT_LOST: ("no skin contact", "bad"),
    StatusKind.CONTACT_BACK: ("connected", "good"),
    StatusKind.RECONNECTING: ("reconnecting", "warn"),
    StatusKind.ENDED: ("source ended", "muted"),
}


@dataclass(frozen=True, slots=True)
class BeatPoint:
    """One beat as the heart rhythm plot draws it."""

    time_s: float
    instant_hr_bpm: float
    flagged: bool  # after a gap, without skin contact, or left out of the markers
    usable: bool


_RECONNECTED: Final = "reconnected after "  # how a source's CONNECTED message starts after a gap


def status_text(status: SourceStatus) -> str:
    """A source's status event as the status line says it (safe to show: see safe_text)."""
    if status.kind is StatusKind.RAW_DATA:
        return status.message  # "raw data: ECG 130 Hz, ACC 50 Hz", "raw data late: waiting…"
    text = status.kind.value
    if status.kind is StatusKind.BATTERY and status.value is not None:
        text = f"battery {status.value:.0f} %"
    return safe_text(f"{text} — {status.message}" if status.message else text)


class CoachState:
    """The session as the window shows it: recent beats (the last `keep_s` seconds), artifact
    and mark times, the latest markers, baseline and spectrum, a trend series per shown marker,
    the phase, the connection and signal words, battery, pause and the end."""

    def __init__(self, *, keep_s: float, trend_names: Sequence[str], trend_points: int,
                 source_label: str = "") -> None:
        self.keep_s = keep_s
        self.beats: deque[BeatPoint] = deque(maxlen=int(keep_s * MAX_BEATS_PER_S) + 16)
        self.artifact_times: set[float] = set()
        self.marks: list[float] = []
        self.markers: Markers = EMPTY_MARKERS
        self.baseline: Markers | None = None
        self.spectrum: Spectrum | None = None
        self.trends = {name: TrendSeries(trend_points) for name in trend_names}
        self.phase: Phase | None = None
        self.phase_index = -1
        self.status = ""  # the last event worth a line (a status, a mark)
        self.connection: tuple[str, str] = ("waiting for the first beat", "muted")
        self.signal = "unknown"
        self.not_valid_because: tuple[str, ...] = ()  # the rhythm-quality gate's reasons, if it fails
        self.body: BodyState | None = None  # breath and movement from a strap's accelerometer
        self.battery_pct: float | None = None
        self.ecg: deque[RawChunk] = deque()  # the newest ECG chunks (about ECG_STRIP_S of them)
        self.paused = False
        self.ended: SessionEnded | None = None
        self.source_label = source_label
        self.silent_s: float | None = None  # no beat for this long (None: beats come)
        self.recording_problem: str | None = None  # the recording cannot be written (disk full)
        self.snapshots = 0  # snapshots folded so far
        self.coherence_s = {level: 0.0 for level, _ in COHERENCE_LEVELS}  # time in each level
        self.coherence_points = 0.0  # the 0-100 score summed over the session's seconds / 100
        self._last_snapshot_s: float | None = None

    def handle(self, event: SessionEvent) -> None:
        """Fold one session event in."""
        match event:
            case Snapshot() as snapshot:
                self._fold_snapshot(snapshot)
                if snapshot.phase_index != self.phase_index:
                    self.phase, self.phase_index = snapshot.phase, snapshot.phase_index
            case PhaseStarted(index=index, phase=phase):
                self.phase, self.phase_index = phase, index
            case SourceStatus() as status:
                if status.kind is StatusKind.BATTERY:
                    self.battery_pct = status.value  # the chip shows it
                elif status.kind is StatusKind.CONNECTED:
                    self.connection = CONNECTION_WORDS[status.kind]
                    # the status line no longer says "connecting" or "reconnecting": at most
                    # how long the gap was; the chip names the strap
                    note, _, described = (status.message.partition(": ")
                                          if status.message.startswith(_RECONNECTED)
                                          else ("", "", status.message))
                    self.status = safe_text(note)
                    if described:
                        self.source_label = safe_text(described)
                else:
                    self.status = status_text(status)
                    if status.kind in CONNECTION_WORDS:
                        self.connection = CONNECTION_WORDS[status.kind]
            case SourceSilent(silent_s=silent_s):
                self.silent_s = silent_s
                self.signal = "unknown"
            case RecordingTrouble(message=message, resolved=resolved):
                self.recording_problem = None if resolved else safe_text(message)
                self.status = safe_text(message)
            case Paused():
                self.paused = True
            case Resumed():
                self.paused = False
            case Marked(time_s=time_s):
                self.marks.append(time_s)
                self.status = f"marked at {clock_text(time_s)}"
            case SessionEnded() as ended:
                self.ended = ended
                self.paused = False
            case RawChunk(stream="ecg") as chunk:
                self.ecg.append(chunk)
                while self.ecg[0].end_s < chunk.end_s - ECG_STRIP_S - 1.0:
                    self.ecg.popleft()

    def source_state(self) -> tuple[str, str]:
        """The connection chip's words and colour role: the connection, and a silence on top."""
        words, role = self.connection
        if self.silent_s is None:
            return words, role
        silent = f"no beats for {self.silent_s:.0f} s"
        if role == "good":
            return f"{silent} · contact? strap?", "bad"
        return f"{words} · {silent}", "bad" if role == "bad" else "warn"

    def ecg_trace(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The newest ECG_STRIP_S of ECG received: session seconds and mV, each stretch laid
        sample after sample from its start (NaN between stretches: the line breaks there)."""
        stretches: list[list[RawChunk]] = []
        for chunk in self.ecg:
            if chunk.after_gap or not stretches or chunk.rate_hz != stretches[-1][0].rate_hz:
                stretches.append([])
            stretches[-1].append(chunk)
        times: list[NDArray[np.float64]] = []
        values: list[NDArray[np.float64]] = []
        for stretch in stretches:
            rate = stretch[0].rate_hz
            mv = np.concatenate([np.asarray(c.values, dtype=np.float64) for c in stretch]) / 1000
            times += [stretch_start_s(stretch) + np.arange(mv.size) / rate, np.array([np.nan])]
            values += [mv, np.array([np.nan])]
        if not times:
            return np.empty(0), np.empty(0)
        t, mv = np.concatenate(times[:-1]), np.concatenate(values[:-1])
        newest = float(np.nanmax(t))
        keep = ~(t < newest - ECG_STRIP_S)  # NaN breaks stay
        return t[keep], mv[keep]

    @property
    def moving_words(self) -> str:
        """"moving — markers paused" while the body moves; "" when still or unknown."""
        body = self.body
        if body is None or not body.movement.moving:
            return ""
        return "moving — markers paused"

    @property
    def body_words(self) -> str:
        """What the accelerometer says, for the status chips: moving, or the breath measured."""
        if self.moving_words:
            return self.moving_words
        body = self.body
        if body is None or not math.isfinite(body.breaths_per_min):
            return ""
        words = f"breath {body.breaths_per_min:.1f}/min"
        if math.isfinite(body.pacer_adherence):
            words += f", {body.pacer_adherence * 100:.0f} % with the pacer"
        return words

    def _fold_snapshot(self, snapshot: Snapshot) -> None:
        self.silent_s = None
        beat = snapshot.beat
        self.beats.append(BeatPoint(beat.time_s, snapshot.instant_hr_bpm,
                                    beat.after_gap or not beat.usable or snapshot.rejected,
                                    beat.usable))
        oldest_s = beat.time_s - self.keep_s
        while self.beats and self.beats[0].time_s < oldest_s:
            self.beats.popleft()
        if math.isfinite(snapshot.artifacts_since_s):
            since = snapshot.artifacts_since_s
            self.artifact_times = {t for t in self.artifact_times if oldest_s <= t < since}
            self.artifact_times.update(snapshot.artifacts)
        self.markers = snapshot.markers
        self.baseline = snapshot.baseline
        if snapshot.spectrum is not None:
            self.spectrum = snapshot.spectrum
        self.signal = snapshot.signal
        self.not_valid_because = snapshot.not_valid_because
        self.body = snapshot.body
        if self._last_snapshot_s is not None and not self.paused:
            level = coherence_level(snapshot.markers.coherence_ratio)
            step_s = min(max(beat.time_s - self._last_snapshot_s, 0.0), MAX_COUNTED_GAP_S)
            if level:
                self.coherence_s[level] += step_s
            score = snapshot.markers.coherence_score
            if math.isfinite(score):
                self.coherence_points += score / 100.0 * step_s
        self._last_snapshot_s = beat.time_s
        for name, series in self.trends.items():
            series.append(beat.time_s, getattr(snapshot.markers, name))
        self.snapshots += 1
