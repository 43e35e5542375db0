"""What the window and the headless printer say about the source: one consistent state (a
reconnection does not leave "connecting" beside "connected"), a quiet strap greys the numbers,
and text from the strap is shown without control characters."""

from __future__ import annotations

import io

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.markers import Markers
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import RecordingTrouble, Snapshot, SourceSilent
from hrvcoach.views.headless import HeadlessPrinter
from hrvcoach.views.qt.coach_state import CoachState

DEMO = load_protocol("demo")
PACER = Pacer.for_protocol(DEMO)


def snapshot(t_s: float) -> Snapshot:
    return Snapshot(t_s, Beat(1000.0, t_s, True), 60.0, 0, DEMO.phases[0], PACER.state_at(t_s),
                    Markers(60.0, 40.0, 10), signal="good")


def test_a_reconnection_leaves_one_state_on_the_status_line():
    state = CoachState(keep_s=90.0, trend_names=[], trend_points=60)
    state.handle(SourceStatus(StatusKind.RECONNECTING, 20.0, "link to Polar H10 lost; reconnecting"))
    state.handle(SourceStatus(StatusKind.CONNECTING, 21.0, "connecting to Polar H10 (E4:9E)"))
    assert state.connection == ("connecting", "warn") and state.status.startswith("connecting")
    state.handle(SourceStatus(StatusKind.CONNECTED, 21.1,
                              "reconnected after 0.1 s: Polar H10 (E4:9E), Polar Electro Oy"))
    assert state.connection == ("connected", "good")
    assert state.status == "reconnected after 0.1 s"  # not "connecting — ..." beside "connected"
    assert state.source_label == "Polar H10 (E4:9E), Polar Electro Oy"


def test_a_quiet_source_is_said_until_the_next_beat():
    state = CoachState(keep_s=90.0, trend_names=[], trend_points=60)
    state.handle(SourceStatus(StatusKind.CONNECTED, 0.5, "Polar H10"))
    state.handle(snapshot(10.0))
    assert state.source_state() == ("connected", "good") and state.signal == "good"
    state.handle(SourceSilent(15.2, 5.2))
    assert state.source_state() == ("no beats for 5 s · contact? strap?", "bad")
    assert state.signal == "unknown"
    state.handle(SourceStatus(StatusKind.RECONNECTING, 16.0, "link lost; reconnecting"))
    state.handle(SourceSilent(17.0, 7.0))
    assert state.source_state() == ("reconnecting · no beats for 7 s", "warn")
    state.handle(snapshot(18.0))
    assert state.silent_s is None


def test_headless_says_a_silence_once_then_every_10_s_and_when_beats_come_back():
    out = io.StringIO()
    printer = HeadlessPrinter(out)
    printer.handle(snapshot(10.0))
    for second in range(5, 31):
        printer.handle(SourceSilent(10.0 + second, float(second)))
    printer.handle(snapshot(41.0))
    lines = [line for line in out.getvalue().splitlines() if "beats" in line]
    assert lines == ["00:15  no beats for 5 s: is the strap on, with skin contact?",
                     "00:25  no beats for 15 s: is the strap on, with skin contact?",
                     "00:35  no beats for 25 s: is the strap on, with skin contact?",
                     "00:41  beats again, after 30 s without"]


def test_strap_text_and_recording_trouble_are_shown_safely():
    out = io.StringIO()
    printer = HeadlessPrinter(out)
    printer.handle(SourceStatus(StatusKind.CONNECTED, 1.0, "\x1b]0;owned\x07\x1b[2JPolar"))
    printer.handle(RecordingTrouble(2.0, "cannot write the recording (the disk is full)"))
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "?]0;owned??[2JPolar" in text
    assert "00:02  [RECORDING PROBLEM] cannot write the recording (the disk is full)" in text
    state = CoachState(keep_s=90.0, trend_names=[], trend_points=60)
    state.handle(SourceStatus(StatusKind.CONNECTED, 1.0, "\x1b[2J<b>Polar</b>"))
    assert state.source_label == "?[2J<b>Polar</b>"  # the window shows it as plain text
