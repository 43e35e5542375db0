"""The session store: private files, WAL, schema migrations, beats committed as they arrive,
interrupted sessions recovered, two processes at once, and the profile kept in it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hrvcoach.core.beats import Beat
from hrvcoach.core.records import PhaseRecord, canonical_time_s
from hrvcoach.store import DB_FILE, SCHEMA_VERSION, Store, StoreError, StoreRecorder
from hrvcoach.store import schema as store_module
from tests.helpers import REPO
from tests.store_helpers import beats_of, record_simulated_session


def beats(n: int, *, start_s: float = 0.0) -> list[Beat]:
    """n beats of 800-899 ms (1/1024-s ticks), with some contact and gap flags."""
    out, t = [], start_s
    for i in range(n):
        rr = (820 + (i * 37) % 100) * 1000 / 1024
        t += rr / 1000
        contact = None if i % 11 == 0 else i % 7 != 3
        out.append(Beat(rr, t, contact, after_gap=i % 13 == 5))
    return out


def poll(condition, deadline_s: float = 20.0) -> bool:
    """Wait until condition() is true (a deadline, not a timing assertion)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_new_store_is_private_in_wal_mode_at_the_current_schema(tmp_path):
    home = tmp_path / "home"
    with Store.open(home) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.integrity_ok()
        _, lock = store.begin_session(protocol="demo", source="simulator")
        lock.release()
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / DB_FILE).stat().st_mode & 0o777 == 0o600
    assert (home / "locks").stat().st_mode & 0o777 == 0o700
    raw = sqlite3.connect(home / DB_FILE)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"schema_version", "sessions", "phases", "beats", "annotations", "phase_markers",
            "profile"} <= tables
    raw.close()


def test_the_wal_file_is_private_while_a_session_records(tmp_path):
    with Store.open(tmp_path) as store:
        recorder = StoreRecorder(store, protocol="demo", source="simulator", commit_every_s=0.0)
        recorder.record_beat(beats(1)[0])
        wal = tmp_path / f"{DB_FILE}-wal"
        assert wal.exists() and wal.stat().st_mode & 0o777 == 0o600
        recorder.close("completed", "duration reached")


def test_beats_come_back_exactly_as_they_arrived(tmp_path):
    sent = beats(500)
    with Store.open(tmp_path) as store:
        recorder = StoreRecorder(store, protocol="demo", source="simulator")
        for beat in sent:
            recorder.record_beat(beat)
        recorder.close("completed", "duration reached")
        session_id = recorder.session_id
    with Store.open(tmp_path) as store:
        info = store.session(session_id)
        got = beats_of(store, session_id)
    assert info.status == "completed" and info.n_beats == 500
    assert info.duration_s == canonical_time_s(sent[-1].time_s)
    assert [b.rr_ms for b in got] == [b.rr_ms for b in sent]  # exact floats
    assert [b.contact for b in got] == [b.contact for b in sent]
    assert [b.after_gap for b in got] == [b.after_gap for b in sent]
    assert [b.time_s for b in got] == [round(b.time_s, 4) for b in sent]


def test_a_beat_is_committed_without_waiting_for_the_next_one(tmp_path):
    with Store.open(tmp_path) as store:
        recorder = StoreRecorder(store, protocol="demo", source="simulator", commit_every_s=30.0)
        first, second = beats(2)
        recorder.record_beat(first)  # the first beat is committed at once
        with Store.open(tmp_path, recover=False) as reader:
            assert reader.session(recorder.session_id).n_beats == 1
        recorder.commit_every_s = 0.2
        recorder.record_beat(second)  # a commit was just made: buffered, the recorder's thread commits it

        def visible() -> bool:
            with Store.open(tmp_path, recover=False) as reader:
                return reader.session(recorder.session_id).n_beats == 2

        assert poll(visible)
        recorder.close("completed", "source ended")


_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from hrvcoach.core.beats import Beat
    from hrvcoach.core.records import PhaseRecord
    from hrvcoach.store import Store, StoreRecorder
    home, count = Path(sys.argv[1]), int(sys.argv[2])
    store = Store.open(home)
    recorder = StoreRecorder(store, protocol="qigong", source="simulator", commit_every_s=0.0)
    store.add_phase(recorder.session_id, PhaseRecord(0, "baseline", "baseline", 0.0, 300.0,
                                                  compare="before"))
    t = 0.0
    for i in range(count):
        t += 0.8 + (i % 5) / 100
        recorder.record_beat(Beat(800.0 + 10 * (i % 5), t, True))
    print(recorder.session_id, flush=True)
    if sys.argv[3] == "wait":
        sys.stdin.readline()
    recorder.close("completed", "source ended")
""")


def start_writer(home: Path, count: int, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _WRITER, str(home), str(count), mode],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)


def test_a_killed_session_is_found_marked_interrupted_and_keeps_its_beats(tmp_path):
    writer = start_writer(tmp_path, 120, "wait")
    session_id = int(writer.stdout.readline())
    with Store.open(tmp_path) as store:  # the writer is alive: its session is left alone
        assert store.recovered == []
        assert store.session(session_id).status == "running"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with Store.open(tmp_path) as store:
        assert store.recovered == [session_id]
        info = store.session(session_id)
        assert info.status == "interrupted" and info.n_beats == 120
        assert info.ended_at is not None and not info.markers_done
        assert store.sessions_without_markers() == [session_id]
        last = store.beats(session_id).time_s[-1]
        assert store.phases(session_id)[0].end_s == last  # the phase ends at the last beat
    assert list((tmp_path / "locks").iterdir()) == []
    with Store.open(tmp_path) as store:
        assert store.recovered == []  # found once


def test_two_processes_writing_at_once_lose_nothing_and_corrupt_nothing(tmp_path):
    Store.open(tmp_path).close()
    writers = [start_writer(tmp_path, 1500, "go") for _ in range(2)]
    with Store.open(tmp_path) as reader:  # a third process reads meanwhile
        while any(w.poll() is None for w in writers):
            reader.sessions()
    ids = [int(w.stdout.read().split()[0]) for w in writers]
    assert all(w.returncode == 0 for w in writers)
    with Store.open(tmp_path) as store:
        assert store.integrity_ok()
        assert sorted(ids) == [s.id for s in store.sessions()]
        assert [store.session(i).n_beats for i in ids] == [1500, 1500]
        assert all(store.session(i).status == "completed" for i in ids)


def test_migrations_run_once_in_order_and_back_up_the_file_first(tmp_path, monkeypatch):
    with Store.open(tmp_path) as store:
        recorder = StoreRecorder(store, protocol="demo", source="simulator", commit_every_s=0.0)
        for beat in beats(10):
            recorder.record_beat(beat)
        recorder.close("completed", "duration reached")
    newest = store_module.SCHEMA_VERSION
    later = "CREATE TABLE tags (session_id INTEGER NOT NULL, tag TEXT NOT NULL);"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, (newest + 1, later, None)])
    with Store.open(tmp_path) as store:
        assert store.schema_version() == newest + 1
        assert store.session(1).n_beats == 10  # the data survived
    backup = tmp_path / f"{DB_FILE}.bak-v{newest}"
    assert backup.stat().st_mode & 0o777 == 0o600
    old = sqlite3.connect(backup)
    assert old.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == newest
    assert old.execute("SELECT COUNT(*) FROM beats").fetchone()[0] == 10
    old.close()
    with Store.open(tmp_path) as store:  # nothing applied twice
        assert store.applied_versions() == list(range(1, newest + 2))


def test_a_store_from_a_newer_hrvcoach_is_refused_untouched(tmp_path):
    Store.open(tmp_path).close()
    raw = sqlite3.connect(tmp_path / DB_FILE)
    raw.execute("INSERT INTO schema_version VALUES (99, 'later')")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer hrvcoach"):
        Store.open(tmp_path)


def test_a_file_that_is_not_a_database_gives_a_clear_error(tmp_path):
    (tmp_path / DB_FILE).write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a usable hrvcoach session store"):
        Store.open(tmp_path)


def test_a_simulated_session_keeps_phases_markers_and_the_strap_name(tmp_path):
    with Store.open(tmp_path) as store:
        session_id = record_simulated_session(store, "demo", seed=4)
        phases = store.phases(session_id)
        markers = store.markers(session_id)
        info = store.session(session_id)
    assert [(p.kind, p.start_s, p.compare) for p in phases] == [
        ("baseline", 0.0, "before"), ("paced", 60.0, None), ("recovery", 240.0, "after")]
    assert phases[1].breaths_per_min == 6.0 and phases[1].pacing.startswith("6 breaths/min")
    assert info.device == "simulated strap" and info.markers_done
    assert set(markers) == {0, 1, 2}
    assert markers[1]["hf_valid"] == 0.0 and markers[0]["hf_valid"] == 1.0
    assert sum(m["n_beats"] for m in markers.values()) == info.n_beats


def test_the_profile_lives_in_the_store_and_an_old_profile_json_is_migrated(tmp_path):
    from hrvcoach.analysis.resonance import RateScore
    from hrvcoach.history.profile import Profile, load_profile, save_profile

    old = {"resonance_bpm": 5.5, "assessed_at": "2026-01-02T08:00:00+01:00", "session": "a.csv",
           "scores": [{"rate_bpm": 5.5, "p2t_bpm": 12.0, "lf_peak_ms2_per_hz": 1e4,
                       "power_at_rate_ms2": 900.0, "coherence": 3.0, "score": 1.0}]}
    (tmp_path / "profile.json").write_text(json.dumps(old))
    assert load_profile(tmp_path).resonance_breaths_per_min == 5.5  # no store yet: read, nothing created
    assert not (tmp_path / DB_FILE).exists()
    Store.open(tmp_path).close()
    migrated = load_profile(tmp_path)
    with Store.open(tmp_path) as store:
        assert store.profile().resonance_breaths_per_min == 5.5
    (tmp_path / "profile.json").unlink()
    assert load_profile(tmp_path) == migrated  # the store has it now
    score = RateScore(6.0, 10.0, 2e4, 800.0, 2.0, 1.0)
    save_profile(tmp_path, Profile(6.0, "2026-02-01T08:00:00+01:00", "b.csv", [score]))
    with Store.open(tmp_path) as store:
        assert store.profile().resonance_breaths_per_min == 6.0
    assert json.loads((tmp_path / "profile.json").read_text())["resonance_breaths_per_min"] == 6.0  # mirror
    assert load_profile(tmp_path).scores == [score]
    assert os.stat(tmp_path / "profile.json").st_mode & 0o077 == 0


def test_phases_of_a_stopped_session_end_at_its_last_beat(tmp_path):
    with Store.open(tmp_path) as store:
        recorder = StoreRecorder(store, protocol="demo", source="simulator", commit_every_s=0.0)
        store.add_phase(recorder.session_id, PhaseRecord(0, "settle", "baseline", 0.0, 60.0))
        store.add_phase(recorder.session_id, PhaseRecord(1, "slow", "paced", 60.0, 240.0, 6.0))
        sent = beats(100)
        for beat in sent:
            recorder.record_beat(beat)
        recorder.close("stopped", "stopped by the user")
        phases = store.phases(recorder.session_id)
        assert store.session(recorder.session_id).status == "stopped"
    assert phases[0].end_s == 60.0
    assert phases[1].end_s == canonical_time_s(sent[-1].time_s)


def test_a_session_killed_before_its_first_beat_still_opens_and_lists(tmp_path):
    from hrvcoach.history.phases import compute_markers

    with Store.open(tmp_path) as store:
        session_id, lock = store.begin_session(protocol="demo", source="ble")
        store.add_phase(session_id, PhaseRecord(0, "settle", "baseline", 0.0, 60.0, compare="before"))
        store.end_session(session_id, "interrupted", "killed", lock)
        markers = compute_markers(store, session_id)
        assert markers[0]["n_beats"] == 0 and markers[0]["rmssd_ms"] != markers[0]["rmssd_ms"]
        assert store.session(session_id).duration_s is None


def test_two_journals_started_in_the_same_second_get_their_own_private_files(tmp_path):
    from hrvcoach.files.journal import CsvJournal

    first, second = (CsvJournal.open_in(tmp_path / "rec", "demo"),
                     CsvJournal.open_in(tmp_path / "rec", "demo"))
    try:
        assert first.path != second.path
        if first.path.name[:15] == second.path.name[:15]:  # the same second (nearly always)
            assert second.path.name == f"{first.path.stem}-2.csv"
        assert {first.path.stat().st_mode & 0o777, second.path.stat().st_mode & 0o777} == {0o600}
        assert (tmp_path / "rec").stat().st_mode & 0o777 == 0o700
    finally:
        first.close()
        second.close()


def test_sessions_joined_as_a_class_share_its_id_and_keep_label_and_pseudonym(tmp_path):
    from hrvcoach.core.errors import InputError
    from hrvcoach.store import ClassMember

    with Store.open(tmp_path) as store:
        ids = [record_simulated_session(store, "demo", seed=seed, duration_s=30) for seed in (1, 2, 3)]
        alone = record_simulated_session(store, "demo", seed=4, duration_s=30)
        first = store.join_class([ClassMember(ids[0], "Anna", "P1"), ClassMember(ids[1], "Ben", "P2")])
        second = store.join_class([ClassMember(ids[2], "Cleo", "P1")])
        assert (first, second) == (1, 2)
        assert store.class_members(first) == [ClassMember(ids[0], "Anna", "P1"),
                                              ClassMember(ids[1], "Ben", "P2")]
        assert store.class_members(second) == [ClassMember(ids[2], "Cleo", "P1")]
        with pytest.raises(InputError, match="no class 3"):
            store.class_members(3)
        assert store.session(alone).n_beats > 20  # a session outside any class reads as before
