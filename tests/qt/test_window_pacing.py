"""Pacing from the window: the controls retune the pacer phase-continuously (the disc never
jumps), the change is recorded once the controls rest, Save as protocol writes a file the command
line runs; the setup page shapes the protocol before Start; New session goes back to it; the
sound button and the volume drive the session's sound."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from hrvcoach.core.clock import InstantClock, ScaledClock
from hrvcoach.protocols.custom import Pacing, read_user_protocols
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import list_protocols, load_protocol
from hrvcoach.session import Session, SessionEnded
from hrvcoach.sources.simulator import SimulatedStrap
from hrvcoach.views.qt.loop import StartedSession, run_setup_window
from hrvcoach.views.qt.setup import SetupChoice, SetupPanel
from hrvcoach.views.qt.window import CoachWindow
from hrvcoach.views.sound import CueRenderer, LiveSound, SessionSound

DEMO = load_protocol("demo")  # settle 0-60 s, slow breathing 6/min (4 s in, 6 s out) 60-240 s
Key = QtCore.Qt.Key


@pytest.fixture
def paced_window(qtbot) -> tuple[CoachWindow, InstantClock]:
    """A window in the demo's paced phase, 73 s in (3 s into the second breath's out-breath)."""
    clock = InstantClock(73.0)
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), clock)
    qtbot.addWidget(window)
    from hrvcoach.session import PhaseStarted

    window.handle(PhaseStarted(60.0, 1, DEMO.phases[1]))
    window.render_frame(73.0)
    return window, clock


def test_the_rate_control_retunes_the_pacer_without_a_jump(paced_window, qtbot):
    window, _ = paced_window
    window.toggle_pacing_bar()
    window.render_frame(73.0)
    bar = window.pacing_bar
    assert not bar.isHidden() and bar.rate_spin.value() == 6.0 and bar.exhale_spin.value() == 1.5
    before = [window.pacer.state_at(t).lung for t in np.arange(60.0, 73.0, 0.05)]
    lung_now = window.pacer.state_at(73.0).lung
    with qtbot.waitSignal(window.pacing_changed, timeout=3000) as recorded:
        bar.rate_spin.setValue(4.5)  # as the user sets it
        assert window.pacer.state_at(73.0).lung == pytest.approx(lung_now)  # no jump
        assert window.pacer.state_at(80.0).breaths_per_min == 4.5
    assert recorded.args == [73.0, "pacing: 4.5 breaths/min (5.33 s in, 8 s out)"]
    # the past is as it was; from now on the breath goes on at the new pace, smoothly
    assert [window.pacer.state_at(t).lung for t in np.arange(60.0, 73.0, 0.05)] == before
    lung = np.array([window.pacer.state_at(t).lung for t in np.arange(60.0, 120.0, 0.01)])
    assert np.abs(np.diff(lung)).max() < 0.01
    assert window.pacer.state_at(250.0).breaths_per_min is None  # the recovery stays unpaced
    window.render_frame(74.0)
    assert window.pacer_rate_label.text() == "4.5 breaths/min (5.33 s in, 8 s out)"
    assert window.phase_step_label.text().endswith("4.5 breaths/min (set now)")
    wave_t, wave = window.breath_curve.xData, window.breath_curve.yData
    assert wave_t.max() >= 77.9  # the breath wave ahead is drawn at the new pace too
    newly = np.array([window.pacer.state_at(t).lung for t in wave_t])
    np.testing.assert_allclose((wave - wave.min()) / np.ptp(wave), newly, atol=0.02)


def test_holds_that_leave_no_time_to_breathe_are_refused_and_the_pacer_stays(paced_window):
    window, _ = paced_window
    window.toggle_pacing_bar()
    window.render_frame(73.0)
    revision = window.pacer.revision
    window.pacing_bar.hold_in_spin.setValue(6.0)
    window.pacing_bar.hold_out_spin.setValue(5.0)  # 11 s of holds in a 10-s breath
    assert "no time to breathe" in window.pacing_bar.note_label.text()
    assert window.pacer.revision == revision + 1  # the 6-s hold alone fitted; 11 s did not


def test_there_is_nothing_to_retune_in_an_unpaced_phase(qtbot):
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), InstantClock(20.0))
    qtbot.addWidget(window)
    from hrvcoach.session import PhaseStarted

    window.handle(PhaseStarted(0.0, 0, DEMO.phases[0]))
    window.toggle_pacing_bar()
    window.render_frame(20.0)
    assert not window.pacing_bar.rate_spin.isEnabled()
    assert window.pacing_bar.note_label.text() == "no pacer in this phase"
    assert window.change_pacing(Pacing(5.0)) is False


def test_save_as_protocol_writes_the_pacing_of_now_as_a_file_the_cli_runs(paced_window, tmp_path):
    window, _ = paced_window
    window.protocol_dir = tmp_path / "protocols"
    window.ask_protocol_path = lambda suggested: suggested.with_name("evening.toml")
    window.toggle_pacing_bar()
    window.render_frame(73.0)
    window.pacing_bar.rate_spin.setValue(5.5)
    window.pacing_bar.exhale_spin.setValue(2.0)
    path = window.save_pacing_as_protocol()
    assert path == tmp_path / "protocols" / "evening.toml"
    saved = load_protocol("evening", user_dir=tmp_path / "protocols")  # as --protocol finds it
    assert [p.name for p in saved.phases] == [p.name for p in DEMO.phases]
    assert saved.phases[1].pacing_text() == Pacing(5.5, 0.5).text()
    assert "saved as “evening”" in window.pacing_bar.note_label.text()


def test_the_setup_page_shapes_the_protocol_with_its_pacing_and_length(qtbot, tmp_path):
    folder = tmp_path / "protocols"
    folder.mkdir()
    (folder / "broken.toml").write_text("[[phase]]\nkind = 'paced'\n")
    yours = read_user_protocols(folder)
    setup = SetupPanel(list_protocols(), default_protocol="qigong",
                       user_protocols=yours.protocols, protocol_problems=yours.problems,
                       protocol_dir=folder)
    qtbot.addWidget(setup)
    assert "broken.toml" in setup.problems_label.text() and "[Errno" not in setup.problems_label.text()
    assert setup.choice().protocol == load_protocol("qigong")  # untouched: as the file says
    setup.pacing_bar.rate_spin.setValue(5.5)
    setup.pacing_bar.length_spin.setValue(20.0)
    chosen = setup.choice().protocol
    assert [p.duration_s for p in chosen.phases] == [300.0, 600.0, 300.0]  # the paced part shrank
    assert chosen.phases[1].breaths_per_min == 5.5
    assert "your pacing and length" in setup.protocol_label.text()
    setup.ask_protocol_path = lambda suggested: folder / "short qigong.toml"
    assert setup.save_as_protocol() == folder / "short qigong.toml"
    assert setup.default_protocol().name == "short qigong"  # chosen, and listed as yours
    assert setup.protocol_combo.currentText() == "short qigong · 20:00 · yours"
    again = read_user_protocols(folder)
    assert [p.name for p in again.protocols] == ["short qigong"]


def test_new_session_after_the_end_goes_back_to_the_setup_page(qapp):
    chosen: list[SetupChoice] = []

    def start(choice: SetupChoice, on_event) -> StartedSession:
        chosen.append(choice)
        clock = ScaledClock(speed=120.0)
        source = SimulatedStrap(Pacer.for_protocol(choice.protocol), clock)
        session = Session(choice.protocol, source, on_event, duration_s=8.0, clock=clock)
        return StartedSession(session, choice.protocol, clock)

    seen: list[str] = []

    def drive() -> None:
        window = next((w for w in qapp.topLevelWidgets() if isinstance(w, CoachWindow)
                       and w.isVisible()), None)
        if window is None or window.setup is None:
            return
        if window.pages.currentWidget() is window.setup and len(seen) == len(chosen):
            seen.append("setup")
            window.setup.start_button.click()
        elif window.ended is not None and window.summary_page.isVisible():
            button = window.summary_page.new_session_button
            if len(chosen) == 1 and button.isVisible():
                button.click()
            elif len(chosen) == 2:
                window.close()

    poll = QtCore.QTimer()
    poll.timeout.connect(drive)
    poll.start(40)
    try:
        ended = run_setup_window(list_protocols(), start)
    finally:
        poll.stop()
    assert seen == ["setup", "setup"] and len(chosen) == 2
    assert isinstance(ended, SessionEnded) and ended.reason == "duration reached"


def test_the_sound_button_the_s_key_and_the_volume_drive_the_sessions_sound(qtbot, monkeypatch):
    started: list[LiveSound] = []
    monkeypatch.setattr(LiveSound, "start", lambda self: started.append(self))  # no sound card
    monkeypatch.setattr(LiveSound, "stop", lambda self: None)
    clock = InstantClock(70.0)
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), clock)
    qtbot.addWidget(window)
    sound = SessionSound(CueRenderer.for_protocol(window.pacer, DEMO), clock, real_time=True)
    window.attach_sound(sound)
    assert window.sound_button.text() == "Sound on" and not sound.on
    qtbot.keyClick(window, Key.Key_S)
    assert sound.on and len(started) == 1 and window.sound_button.text() == "Sound off"
    window.volume_slider.setValue(25)
    assert sound.renderer.volume == 0.25
    window.sound_button.click()
    assert not sound.on and sound.renderer.muted
    window.sound_button.click()
    assert sound.on and len(started) == 1  # the same output, unmuted


def test_sound_at_another_speed_than_real_time_is_offered_but_disabled(qtbot):
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), InstantClock())
    qtbot.addWidget(window)
    sound = SessionSound(CueRenderer.for_protocol(window.pacer, DEMO), InstantClock(),
                         real_time=False)
    window.attach_sound(sound)
    assert not window.sound_button.isEnabled()
    assert "real time only" in window.sound_button.toolTip()


def test_a_retune_in_the_window_reaches_the_sound_of_the_session(paced_window):
    window, _ = paced_window
    renderer = CueRenderer.for_protocol(window.pacer, DEMO, sample_hz=8000)
    window.change_pacing(Pacing(4.0))
    starts = [c.time_s for c in renderer.pacer.changes_between(73.0, 100.0) if c.part == "in"]
    assert len(starts) == 2 and np.diff(starts) == pytest.approx([15.0])  # 4 breaths a minute
