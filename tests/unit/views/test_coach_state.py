"""The coach window's state, folded from session events without Qt."""

from __future__ import annotations

import subprocess
import sys

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.markers import Markers
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import Marked, Paused, PhaseStarted, Resumed, SessionEnded, Snapshot
from hrvcoach.views.qt.coach_state import CoachState

DEMO = load_protocol("demo")
PACER = Pacer.for_protocol(DEMO)


def snapshot(t_s: float, *, rmssd: float = 40.0, artifacts: tuple[float, ...] = (),
             since_s: float = float("nan"), contact: bool = True) -> Snapshot:
    return Snapshot(t_s, Beat(1000.0, t_s, contact), 60.0, 0, DEMO.phases[0], PACER.state_at(t_s),
                    Markers(60.0, rmssd, 10), artifacts=artifacts, artifacts_since_s=since_s)


def test_beats_older_than_the_kept_span_are_dropped_and_artifacts_follow_the_detector():
    state = CoachState(keep_s=10.0, trend_names=["rmssd_ms"], trend_points=60)
    for t in range(1, 31):
        state.handle(snapshot(float(t), artifacts=(25.0,) if t >= 26 else (), since_s=float(t - 5)))
    assert [b.time_s for b in state.beats] == [float(t) for t in range(20, 31)]
    assert state.artifact_times == {25.0}
    state.handle(snapshot(31.0, artifacts=(), since_s=24.0))  # the detector dropped its flag
    assert state.artifact_times == set()
    times, values = state.trends["rmssd_ms"].data()
    assert times.size == 31 and values[-1] == 40.0 and state.snapshots == 31


def test_status_connection_battery_marks_pauses_and_the_end_are_kept():
    state = CoachState(keep_s=90.0, trend_names=[], trend_points=60)
    state.handle(PhaseStarted(0.0, 1, DEMO.phases[1]))
    assert state.phase_index == 1 and state.phase is DEMO.phases[1]
    state.handle(SourceStatus(StatusKind.CONNECTED, 0.5, "Polar H10 ABCD"))
    state.handle(SourceStatus(StatusKind.BATTERY, 0.6, "", 80.0))
    assert state.connection == ("connected", "good") and state.source_label == "Polar H10 ABCD"
    assert state.battery_pct == 80.0 and state.status == ""  # the chips show those two
    state.handle(SourceStatus(StatusKind.CONTACT_LOST, 3.0, "moisten the electrodes"))
    assert state.connection == ("no skin contact", "bad")
    assert state.status == "contact lost — moisten the electrodes"
    state.handle(Marked(12.0))
    state.handle(Paused(13.0))
    assert state.marks == [12.0] and state.paused and state.status == "marked at 00:12"
    state.handle(Resumed(14.0))
    ended = SessionEnded(20.0, "stopped", 10, Markers(60.0, 40.0, 10), Markers(61.0, 41.0, 10))
    state.handle(Paused(15.0))
    state.handle(ended)
    assert state.ended is ended and not state.paused


def test_the_state_module_loads_no_qt():
    code = ("import sys, hrvcoach.views.qt.coach_state; "
            "print([m for m in ('PySide6', 'pyqtgraph', 'qasync') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_time_in_each_coherence_level_and_the_accumulated_score_add_up_the_session():
    from dataclasses import replace

    state = CoachState(keep_s=90.0, trend_names=[], trend_points=60)
    # 10 s at a ratio of 0.5 (low), 20 s at 2 (medium: free breathing at 12/min reaches this),
    # 30 s at 4 (high), each second with a score of 50; then a pause of 20 s counts nothing
    ratios = [0.5] * 10 + [2.0] * 20 + [4.0] * 30
    for t, ratio in enumerate(ratios, start=1):
        shot = snapshot(float(t))
        state.handle(replace(shot, markers=replace(shot.markers, coherence_ratio=ratio,
                                                   coherence_score=50.0)))
    state.handle(Paused(60.0))
    state.handle(snapshot(80.0))  # a strap's beat while paused is not time practised
    assert state.coherence_s == {"low": 9.0, "medium": 20.0, "high": 30.0}
    assert state.coherence_points == 0.5 * 59.0
