"""The window never shows HRV of a rhythm that is not sinus-like as numbers that look fine."""

from __future__ import annotations

from hrvcoach.core.clock import InstantClock
from hrvcoach.files.rr_files import read_rr_file
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import Session
from hrvcoach.sources.replay import ReplaySource
from hrvcoach.views.qt.window import CoachWindow
from hrvcoach.views.text import NO_VALUE
from tests.helpers import real_recording

DEMO = load_protocol("demo")


async def test_a_replayed_pvc_recording_shows_its_vagal_markers_as_not_valid_with_the_reason(qtbot):
    rr = read_rr_file(real_recording("polar_h10_pvc_10min/polar_h10_device_rr.csv"),
                      column="rr_ms").rr_ms
    clock = InstantClock()
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), clock)
    qtbot.addWidget(window)
    session = Session(DEMO, ReplaySource(rr[:300], clock, name="pvc"), window.handle,
                      duration_s=240.0, clock=clock)
    await session.run()
    window.render_frame(clock.now())
    assert window.state.not_valid_because  # the gate failed, and says why
    rmssd = window.cards["rmssd_ms"]
    assert rmssd.value_label.text() == NO_VALUE
    detail = rmssd.detail_label.text()
    assert "HRV not valid" in detail and ("premature" in detail or "geminy" in detail)
    assert window.cards["mean_hr_bpm"].value_label.text() != NO_VALUE  # heart rate still counts
