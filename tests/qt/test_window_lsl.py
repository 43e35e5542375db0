"""The coach window's LSL checkbox opens and closes the session's Lab Streaming Layer streams."""

from __future__ import annotations

import pylsl

from hrvcoach.app.lsl_outlets import LslOutlets, StreamIdentity
from hrvcoach.core.clock import InstantClock
from hrvcoach.core.errors import HrvcoachError
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.views.qt.window import CoachWindow

DEMO = load_protocol("demo")


def coach(qtbot) -> CoachWindow:
    window = CoachWindow(DEMO, Pacer.for_protocol(DEMO), InstantClock())
    qtbot.addWidget(window)
    return window


def streams_of(source_id: str, timeout_s: float) -> set[str]:
    return {info.name() for info in pylsl.resolve_byprop("source_id", source_id, minimum=4,
                                                         timeout=timeout_s)}


def test_the_checkbox_is_hidden_without_streams_and_follows_them_with(qtbot):
    window = coach(qtbot)
    assert not window.lsl_box.isVisibleTo(window)
    outlets = LslOutlets(StreamIdentity("test-window-checkbox", "hrvcoach", "test"), InstantClock())
    window.set_lsl(outlets)
    assert window.lsl_box.isVisibleTo(window) and not window.lsl_box.isChecked()
    window.lsl_box.click()
    assert outlets.enabled
    assert streams_of("test-window-checkbox", 10.0) == set(outlets.stream_names)
    window.lsl_box.click()
    assert not outlets.enabled
    outlets.open()  # opened elsewhere (--lsl): a window given them shows the box checked
    window.set_lsl(outlets)
    assert window.lsl_box.isChecked()
    outlets.close()


def test_when_lsl_cannot_stream_the_box_unchecks_and_says_why(qtbot):
    class Broken:
        enabled = False

        def set_enabled(self, on: bool) -> None:
            raise HrvcoachError("Lab Streaming Layer is not available: no liblsl")

    window = coach(qtbot)
    window.set_lsl(Broken())
    window.lsl_box.click()
    window.render_frame(0.0)
    assert not window.lsl_box.isChecked()
    assert window.status_label.text() == "Lab Streaming Layer is not available: no liblsl"
