"""A full disk, simulated where no small real disk can be mounted (tests/integration/
test_full_disk.py has the real one): ENOSPC injected into the journal's writes, and SQLite's
own "database or disk is full" through PRAGMA max_page_count. The session goes on, the view is
told once, and once there is room again every beat is written, in order, nothing twice."""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

from hrvcoach.app.coach_run import CoachRun, CoachSettings
from hrvcoach.core.beats import Beat
from hrvcoach.files.journal import CsvJournal, read_journal
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.session import RecordingTrouble, Snapshot
from hrvcoach.sources.factory import ReplaySpec
from hrvcoach.store import Store, StoreFullError, StoreRecorder


class Disk:
    """os.write for the journal that fails with ENOSPC while `full`, after writing part of the
    line (as a real disk does when its last block fills)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        real = os.write

        def write(descriptor: int, data: bytes) -> int:
            if self.full:
                if len(data) > 3:
                    real(descriptor, data[:3])  # a part of the line made it
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(descriptor, data)

        monkeypatch.setattr("hrvcoach.files.journal.os.write", write)


def fill_store(store: Store, full: bool) -> None:
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages if full else 2**30}")


def beats(n: int) -> list[Beat]:
    return [Beat(800.0 + i, 0.8 * (i + 1), True) for i in range(n)]


def test_the_journal_keeps_whole_lines_and_writes_what_waited_once_there_is_room(tmp_path, monkeypatch):
    disk = Disk(monkeypatch)
    journal = CsvJournal.open_in(tmp_path, "demo")
    sent = beats(30)
    for index, beat in enumerate(sent):
        disk.full = 10 <= index < 20
        journal.record_beat(beat)
        if index == 15:
            assert journal.problem == "the disk is full" and journal.waiting == 6
            assert [b.rr_ms for b in read_journal(journal.path, tolerate_cut_end=False).beats] == \
                [b.rr_ms for b in sent[:10]]  # no half line on disk
    journal.close()
    assert journal.problem is None
    assert [b.rr_ms for b in read_journal(journal.path, tolerate_cut_end=False).beats] == \
        [b.rr_ms for b in sent]


def test_the_store_recorder_holds_beats_and_raises_only_if_the_end_finds_no_room(tmp_path):
    with Store.open(tmp_path) as store:
        recorder = StoreRecorder(store, protocol="demo", source="simulator", commit_every_s=0.0)
        sent = beats(2000)  # the pages the store has hold some; then it needs more
        for index, beat in enumerate(sent):
            if index == 10:
                fill_store(store, True)
            recorder.record_beat(beat)
        assert recorder.problem == "the disk is full"
        committed = store.session(recorder.session_id).n_beats
        assert 10 <= committed < 2000 and recorder.waiting == 2000 - committed
        with pytest.raises(StoreFullError, match=f"{2000 - committed} beats could not be stored"):
            recorder.close("completed", "duration reached")
        fill_store(store, False)
        recorder._lock.release()  # as the process ends
    with Store.open(tmp_path) as store:  # the next start: interrupted, the committed beats kept
        assert store.recovered == [1] and store.session(1).n_beats == committed
        assert list(store.beats(1).rr_ms) == [b.rr_ms for b in sent[:committed]]


def test_a_session_on_a_full_disk_goes_on_tells_once_and_saves_everything_once_there_is_room(
        tmp_path, monkeypatch):
    disk = Disk(monkeypatch)
    events: list[object] = []
    rr = [800.0 + (i % 7) * 10 for i in range(120)]
    with CoachRun(tmp_path, load_protocol("demo"), ReplaySpec(tuple(rr), "rr.txt"),
                  CoachSettings(speed=5000.0)) as run:
        def view(event: object) -> None:
            events.append(event)
            if isinstance(event, Snapshot):
                beat = sum(isinstance(e, Snapshot) for e in events)
                disk.full = 30 <= beat < 70
                fill_store(run.store, 30 <= beat < 70)

        ended = asyncio.run(run.session(view).run())
        saved = run.finish(ended)
    troubles = [e for e in events if isinstance(e, RecordingTrouble)]
    assert [t.resolved for t in troubles] == [False, True]
    assert "the disk is full" in troubles[0].message
    assert saved.n_beats == len(rr)
    with Store.open(tmp_path) as store:
        assert list(store.beats(saved.session_id).rr_ms) == rr  # in order, nothing twice
    assert [b.rr_ms for b in read_journal(run.journal.path, tolerate_cut_end=False).beats] == rr
