"""The batch progress bar: on a terminal only, with recordings done, beats per second and the
time left."""

from __future__ import annotations

import io

from hrvcoach.app.batch import Outcome
from hrvcoach.views.cli.progress import BatchProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def outcome(n_beats: int) -> Outcome:
    return Outcome("a.csv", "rr", "RR in ms", n_beats, {"file": "a.csv"})


def test_a_terminal_shows_recordings_done_beats_per_second_and_time_left():
    terminal = Terminal()
    with BatchProgress(3, terminal) as progress:
        for n_beats in (1000, 2000, 3000):
            progress.done(outcome(n_beats))
    shown = terminal.getvalue()
    assert "3/3" in shown and "beats/s" in shown and "0:00:00" in shown


def test_nothing_is_written_where_no_terminal_is():
    pipe = io.StringIO()
    with BatchProgress(2, pipe) as progress:
        progress.done(outcome(100))
    assert pipe.getvalue() == ""
