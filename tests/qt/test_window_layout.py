"""The window holds from its minimum size to 4K: nothing is cut or overlaps, the pacer grows with
the window, a window taller than wide puts the pacer above, the focus view fills the room, and
the summary of a qigong session shows every label whole at 1280×800.

A real qigong session (simulated strap, the store, the comparison) runs once for the module;
each test feeds its events to a window of a given size and inspects the laid-out widgets.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from hrvcoach.app.coach_run import CoachRun, CoachSettings
from hrvcoach.core.clock import InstantClock
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import list_protocols, load_protocol
from hrvcoach.session import SessionEnded, SessionEvent
from hrvcoach.sources.factory import SimulatorSpec
from hrvcoach.views.qt.labels import ElidedLabel
from hrvcoach.views.qt.setup import SetupPanel
from hrvcoach.views.qt.summary import EndOfSession
from hrvcoach.views.qt.window import MINIMUM_SIZE, CoachWindow

QIGONG = load_protocol("qigong")  # baseline 5 min, slow breathing 15 min at 6/min, recovery 5 min
SIZES = [(960, 600), (1280, 800), (1600, 1000), (1920, 1080), (960, 1040), (3840, 2160)]


@pytest.fixture(scope="module")
def qigong_run(tmp_path_factory, qapp) -> tuple[list[SessionEvent], EndOfSession]:
    """Every event of a whole qigong session and its stored comparison."""
    home = tmp_path_factory.mktemp("home")
    events: list[SessionEvent] = []
    with CoachRun(home, QIGONG, SimulatorSpec(seed=5, artifacts_per_min=0.5),
                  CoachSettings(speed=4000.0)) as run:
        ended = asyncio.run(run.session(events.append).run())
        saved = run.finish(ended)
    assert saved.comparison is not None
    return events, EndOfSession(saved.comparison, "")


def window_at(qapp, size: tuple[int, int], events: list[SessionEvent], until_s: float,
              *, end: EndOfSession | None = None) -> CoachWindow:
    """A shown window of `size` that has seen the session up to `until_s` (and its end)."""
    window = CoachWindow(QIGONG, Pacer.for_protocol(QIGONG), InstantClock(until_s))
    window.resize(*size)
    window.show()
    for event in events:
        if isinstance(event, SessionEnded):
            if end is not None:
                window.handle(event)
        elif getattr(event, "time_s", 0.0) <= until_s:
            window.handle(event)
    window.render_frame(until_s)
    if end is not None:
        window.show_end(end)
        window.render_frame(until_s)
    for _ in range(3):
        qapp.processEvents()
    return window


def cut_labels(root: QtWidgets.QWidget) -> list[str]:
    """The visible labels whose text does not fit them: a wrapped label shorter than its text
    needs, a plain one narrower or lower than its text, an elided one lower than a line."""
    cut = []
    for label in root.findChildren(QtWidgets.QLabel):
        if not label.isVisibleTo(root) or not label.text():
            continue
        if isinstance(label, ElidedLabel):
            fits = label.contentsRect().height() + 1 >= label.fontMetrics().height()
        elif label.wordWrap():
            fits = label.heightForWidth(label.width()) <= label.height() + 1
        else:
            hint = label.sizeHint()
            fits = hint.width() <= label.width() + 1 and hint.height() <= label.height() + 1
        if not fits:
            cut.append(f"{label.text()[:40]!r} {label.width()}x{label.height()} needs "
                       f"{label.sizeHint().width()}x{label.sizeHint().height()}")
    return cut


def overlaps(window: CoachWindow, widgets: list[QtWidgets.QWidget]) -> list[str]:
    """Pairs of the visible widgets whose rectangles in the window intersect, or that stick out
    of the window."""
    shown = [w for w in widgets if w.isVisibleTo(window)]
    rects = {w: QtCore.QRect(w.mapTo(window, QtCore.QPoint(0, 0)), w.size()) for w in shown}
    found = [f"{w.objectName() or type(w).__name__} outside" for w, r in rects.items()
             if not window.rect().contains(r)]
    for a, b in itertools.combinations(shown, 2):
        if rects[a].intersects(rects[b]):
            found.append(f"{type(a).__name__} {rects[a]} ∩ {type(b).__name__} {rects[b]}")
    return found


def panels(window: CoachWindow) -> list[QtWidgets.QWidget]:
    return [window.timeline, window.pacer_card, window.body_stack, *window.cards.values(),
            window.pacing_bar, window.pause_button, window.stop_button, window.mark_button,
            window.pacing_button, window.focus_button, window.sound_button, window.volume_slider,
            window.fullscreen_button, window.theme_button]


LONG_STRAP = "Polar H10 2B3C4D5E (E4:9E:1A:2B:3C:4D), Polar Electro Oy H10, firmware 3.0.35"


@pytest.mark.parametrize("size", [(960, 600), (1280, 800)])
def test_a_long_strap_name_is_elided_and_never_squeezes_the_title(qapp, qigong_run, size):
    events, _ = qigong_run
    window = window_at(qapp, size, events, 400.0)
    window.state.source_label = LONG_STRAP
    window.render_frame(400.0)
    qapp.processEvents()
    assert not window.phase_label.elided, window.phase_label.shown_text()
    assert window.phase_label.width() >= 0.3 * size[0]
    assert window.connection_label.elided and LONG_STRAP in window.connection_label.toolTip()
    assert cut_labels(window) == []
    window.close()


def test_the_window_cannot_be_made_smaller_than_its_minimum(qtbot):
    window = CoachWindow(QIGONG, Pacer.for_protocol(QIGONG), InstantClock())
    qtbot.addWidget(window)
    window.show()
    window.resize(700, 450)
    assert (window.minimumWidth(), window.minimumHeight()) == MINIMUM_SIZE == (960, 600)
    assert window.width() >= 960 and window.height() >= 600


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_nothing_is_cut_or_overlaps_in_the_paced_phase(qapp, qigong_run, size):
    events, _ = qigong_run
    window = window_at(qapp, size, events, 9 * 60.0)  # 4 minutes into slow breathing
    window.toggle_pacing_bar()  # the pacing controls too
    window.render_frame(9 * 60.0)
    qapp.processEvents()
    try:
        assert cut_labels(window.coach_page) == []
        assert overlaps(window, panels(window)) == []
    finally:
        window.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_nothing_is_cut_in_the_focus_view_and_its_pacer_fills_the_room(qapp, qigong_run, size):
    events, _ = qigong_run
    window = window_at(qapp, size, events, 9 * 60.0)
    window.toggle_focus()
    window.render_frame(9 * 60.0 + 3.9)  # near the top of an in-breath
    qapp.processEvents()
    try:
        assert window.focused
        assert cut_labels(window.focus_page) == []
        disc = window.focus_page.disc
        assert 2 * disc.max_radius_px() >= 0.5 * min(size)
        assert [t.value_label.text() for t in window.focus_page.tiles] != ["—", "—"]
    finally:
        window.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_nothing_is_cut_on_the_summary_of_a_qigong_session(qapp, qigong_run, size):
    events, end = qigong_run
    window = window_at(qapp, size, events, 25 * 60.0, end=end)
    try:
        assert window.body_stack.currentWidget() is window.summary_page
        assert cut_labels(window.summary_page) == []
        assert overlaps(window, [window.timeline, window.body_stack, window.theme_button]) == []
        page = window.summary_page
        assert overlaps(window, [page.table.itemAt(i).widget() for i in range(page.table.count())]
                        + [page.verdict_label, page.report_button]) == []
    finally:
        window.close()


def test_no_label_of_the_qigong_summary_is_elided_at_1280_by_800(qapp, qigong_run):
    events, end = qigong_run
    window = window_at(qapp, (1280, 800), events, 25 * 60.0, end=end)
    try:
        labels = window.summary_page.findChildren(ElidedLabel)
        shown = [label for label in labels if label.isVisibleTo(window) and label.text()]
        assert len(shown) >= 6 * 6  # six markers: name, before, after, change, interval, verdict
        assert [label.text() for label in shown if label.elided] == []
        cells = {label.text() for label in shown}
        assert {"baseline (before)", "recovery (after)", "change", "95 % interval"} <= cells
        assert "RMSSD" in cells and "rmssd" not in cells
    finally:
        window.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_nothing_is_cut_on_the_setup_page(qapp, size, tmp_path: Path):
    window = CoachWindow(QIGONG, Pacer.for_protocol(QIGONG), InstantClock())
    setup = SetupPanel(list_protocols(), protocol_problems=[
        f"{tmp_path}/broken.toml: phase[0].minutes: must be a number, got 'ten'"])
    window.setup = setup
    window.pages.insertWidget(0, setup)
    window.pages.setCurrentWidget(setup)
    window.resize(*size)
    window.show()
    window._arrange(force=True)
    setup.protocol_combo.setCurrentIndex([p.name for p in setup.protocols].index(
        "resonance-assessment"))  # the longest description
    for _ in range(3):
        qapp.processEvents()
    try:
        assert cut_labels(setup) == []
    finally:
        window.close()


def test_the_pacer_grows_with_the_window(qapp, qigong_run):
    events, _ = qigong_run
    radii = {}
    for size in [(1280, 800), (1600, 1000), (3840, 2160)]:
        window = window_at(qapp, size, events, 9 * 60.0)
        radii[size] = window.pacer_item.max_radius_px()
        assert window.pacer_card.width() >= 0.3 * size[0]
        window.close()
    assert radii[(1600, 1000)] > 1.2 * radii[(1280, 800)]
    assert 2 * radii[(1600, 1000)] >= 400  # was 238 px at most, whatever the window
    assert radii[(3840, 2160)] > 2.5 * radii[(1280, 800)]


def test_a_window_taller_than_wide_puts_the_pacer_above_and_the_cards_in_two_rows(qapp, qigong_run):
    events, _ = qigong_run
    window = window_at(qapp, (960, 1040), events, 9 * 60.0)
    try:
        assert window.arrangement == "narrow"
        pacer = window.pacer_card.geometry()
        cards = [window.cards[key].mapTo(window, QtCore.QPoint(0, 0)) for key in window.cards]
        assert len({point.y() for point in cards}) == 2  # two rows of three
        assert min(point.y() for point in cards) > pacer.bottom()
        assert window.body_stack.mapTo(window, QtCore.QPoint(0, 0)).y() > max(
            point.y() for point in cards)
    finally:
        window.close()


def test_time_labels_never_pile_up_in_the_first_seconds(qapp, qigong_run):
    events, _ = qigong_run
    window = window_at(qapp, (1280, 800), events, 6.0)
    try:
        axis = window.heart.time_axis
        x0, x1 = 6.0 - window.history_s, 6.0 + 4.0
        width = axis.geometry().width()
        (spacing, values), = axis.tickValues(x0, x1, width)
        assert all(v >= 0 for v in values)
        assert spacing * width / (x1 - x0) >= axis.min_gap_px  # labels stand apart
    finally:
        window.close()
