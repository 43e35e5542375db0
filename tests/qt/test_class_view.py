"""The class window (offscreen Qt): a tile per participant drawing what that participant's
session sent, one shared pacer, and a class run from start to summary."""

from __future__ import annotations

import asyncio

import pytest

from hrvcoach.app.class_run import ClassRun, Participant
from hrvcoach.app.coach_run import CoachSettings
from hrvcoach.core.beats import SourceStatus, StatusKind
from hrvcoach.core.clock import InstantClock
from hrvcoach.core.markers import EMPTY_MARKERS
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import Session, SessionEnded, SessionEvent, Snapshot
from hrvcoach.sources.factory import SimulatorSpec
from hrvcoach.sources.simulator import SimulatedPerson, SimulatedStrap
from hrvcoach.views.qt.class_view import ClassWindow, grid_columns, run_class_window
from hrvcoach.views.qt.window import WINDOW_SIZE

DEMO = load_protocol("demo")
NAMES = ["P1 Anna", "P2 Ben", "P3 Cleo", "P4 Dario", "P5 Eun-ji", "P6 Farah", "P7 Gustav",
         "P8 Maximiliane-Huberta"]


def run_participant(window: ClassWindow, index: int, until_s: float, seed: int) -> list[Snapshot]:
    """A simulated participant's session into the window (without its end)."""
    clock = InstantClock()
    snapshots: list[Snapshot] = []

    def on_event(event: SessionEvent) -> None:
        if isinstance(event, Snapshot):
            snapshots.append(event)
        if not isinstance(event, SessionEnded):
            window.handle(index, event)

    strap = SimulatedStrap(Pacer.for_protocol(DEMO), clock, SimulatedPerson(), seed=seed)
    asyncio.run(Session(DEMO, strap, on_event, duration_s=until_s, clock=clock).run())
    return snapshots


@pytest.mark.parametrize(("tiles", "columns"), [(1, 1), (3, 3), (4, 2), (6, 3), (8, 4), (12, 4)])
def test_tiles_fill_rows_of_at_most_four(tiles, columns):
    assert grid_columns(tiles) == columns


def test_each_tile_draws_its_own_participant_and_eight_fit_the_window(qtbot):
    clock = InstantClock(150.0)
    window = ClassWindow(DEMO, NAMES, clock)
    qtbot.addWidget(window)
    window.show()
    last = {index: run_participant(window, index, 150.0, seed=index + 1)[-1] for index in (0, 7)}
    window.handle(3, SourceStatus(StatusKind.RECONNECTING, 120.0, "link lost"))
    window.render_frame(tiles=True)
    for index, snapshot in last.items():
        tile = window.tiles[index]
        assert tile.hr_label.text() == f"{snapshot.markers.mean_hr_bpm:.0f}"
        assert tile.rmssd_label.text() == f"RMSSD {snapshot.markers.rmssd_ms:.0f} ms"
        assert tile.swing_label.text() == f"breath swing {snapshot.markers.p2t_bpm:.1f} bpm"
        assert tile.coherence_label.text().startswith(
            f"coherence {snapshot.markers.coherence_ratio:.1f}")
        assert tile.connection_label.text() == "● connected"
        assert tile.trend.values.size > 10  # the RMSSD trend over the session
    assert window.tiles[1].hr_label.text() == "—"  # no beats yet
    assert window.tiles[3].connection_label.text() == "● reconnecting"
    assert window.tiles[3].connection_label.property("role") == "warn"
    assert window.tiles[3].signal_label.text() == "signal —"  # unknown while the link is down
    assert window.pacer_label.text() in ("breathe in", "breathe out")  # 150 s: paced
    assert window.phase_label.text() == "slow breathing"
    assert (window.width(), window.height()) == WINDOW_SIZE  # long labels never widen it


def test_a_strap_given_up_on_shows_as_lost(qtbot):
    window = ClassWindow(DEMO, NAMES[:3], InstantClock(30.0))
    qtbot.addWidget(window)
    window.handle(2, SourceStatus(StatusKind.ENDED, 30.0, "gone for 300 s; gave up"))
    window.handle(2, SessionEnded(30.0, "source ended", 0, EMPTY_MARKERS, EMPTY_MARKERS))
    window.render_frame(tiles=True)
    assert window.tiles[2].connection_label.text() == "● strap lost"
    assert window.tiles[2].connection_label.property("role") == "bad"


def test_a_simulated_class_runs_in_the_window_and_saves_a_screenshot(qapp, tmp_path):
    settings = CoachSettings(speed=120.0, duration_s=40.0)
    participants = [Participant(name, SimulatorSpec(seed=i + 1)) for i, name in
                    enumerate(("Anna", "Ben", "Cleo"))]
    png = tmp_path / "class.png"
    with ClassRun(tmp_path / "home", DEMO, participants, settings) as run:
        ended = run_class_window(run, ["P1 Anna", "P2 Ben", "P3 Cleo"], screenshot=png)
        summary = run.finish(ended)
    assert ended is not None and all(e is not None and e.beats > 25 for e in ended)
    assert [row.pseudonym for row in summary.rows] == ["P1", "P2", "P3"]
    assert png.stat().st_size > 20_000
