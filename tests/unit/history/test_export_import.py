"""Export -> import gives the same beats and phases; the RR text is Kubios-shaped; bad files
give errors naming file and line, and write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrvcoach.core.beats import Beat
from hrvcoach.core.errors import InputError
from hrvcoach.core.records import PhaseRecord
from hrvcoach.files.session_files import read_recording_file
from hrvcoach.history.exporting import export_session
from hrvcoach.history.importing import import_recording, import_start
from hrvcoach.store import Store
from tests.store_helpers import beats_of, record_simulated_session


def awkward_beats() -> list[Beat]:
    """Flags of every kind and RR values that are not whole 1/1024-s ticks."""
    out, t = [], 3.21
    for i in range(240):
        rr = 812.3000000000001 + (i % 17) * 3.1 if i % 3 else (700 + i) * 1000 / 1024
        t += rr / 1000 + (2.5 if i == 120 else 0.0)
        contact = None if i % 5 == 0 else i % 9 != 4
        out.append(Beat(rr, round(t, 4), contact, after_gap=i in (120, 121)))
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[Path, int, int]:
    """A store with a simulated Qigong session and a session of awkward beats."""
    home = tmp_path_factory.mktemp("source")
    with Store.open(home) as store:
        qigong = record_simulated_session(store, "qigong", seed=3, artifacts_per_min=1.0)
        beats = awkward_beats()
        phases = [PhaseRecord(0, "sitting, quietly", "baseline", 0.0, 100.0, compare="before"),
                  PhaseRecord(1, "slow", "paced", 100.0, 200.0, 5.5, 4.5, "5.5→4.5 breaths/min"),
                  PhaseRecord(2, "rest", "recovery", 200.0, beats[-1].time_s, compare="after")]
        awkward = store.import_session(started_at="2026-04-05T06:07:08+02:00", protocol="mine",
                                       origin="test", content_sha256="x", phases=phases,
                                       beats=beats)
    return home, qigong, awkward


def round_trip(source_home: Path, session_id: int, fmt: str, tmp_path: Path) -> tuple[Store, int]:
    out = tmp_path / f"export.{fmt}"
    with Store.open(source_home) as store:
        export_session(store, session_id, fmt, out)  # type: ignore[arg-type]
    recording = read_recording_file(out)
    target = Store.open(tmp_path / "target")
    return target, import_recording(target, recording, started_at=import_start(recording, None))


@pytest.mark.parametrize("fmt", ["csv", "json", "edf"])
@pytest.mark.parametrize("which", [1, 2])
def test_export_then_import_gives_the_same_beats_and_phases(source, tmp_path, fmt, which):
    home, *ids = source
    session_id = ids[which - 1]
    target, copy = round_trip(home, session_id, fmt, tmp_path)
    with Store.open(home) as store, target:
        assert beats_of(target, copy) == beats_of(store, session_id)  # every float, every flag
        original, imported = store.phases(session_id), target.phases(copy)
        assert [(p.index, p.kind, p.start_s, p.end_s, p.breaths_per_min, p.compare)
                for p in imported] == [(p.index, p.kind, p.start_s, p.end_s, p.breaths_per_min,
                                        p.compare) for p in original]
        if fmt != "edf":  # EDF+ annotations hold 40 characters: names and pacing text may be cut
            assert imported == original
        assert target.session(copy).started_at == store.session(session_id).started_at
        assert target.session(copy).protocol == store.session(session_id).protocol


def test_the_rr_export_is_kubios_text_and_imports_to_the_same_intervals(source, tmp_path):
    home, qigong, awkward = source
    for session_id in (qigong, awkward):
        out = tmp_path / f"{session_id}.txt"
        with Store.open(home) as store:
            export_session(store, session_id, "rr", out)
            expected = list(store.beats(session_id).rr_ms)
        lines = out.read_text().splitlines()
        assert len(lines) == len(expected) and all(float(line) > 250 for line in lines)
        assert [float(line) for line in lines] == expected  # one RR in ms per line, exact
        recording = read_recording_file(out)
        assert [b.rr_ms for b in recording.beats] == expected


def test_the_csv_export_has_one_line_per_beat_with_flags_and_phase(source, tmp_path):
    home, _, awkward = source
    out = tmp_path / "a.csv"
    with Store.open(home) as store:
        export_session(store, awkward, "csv", out)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# hrvcoach session {")
    assert json.loads(lines[0][len("# hrvcoach session "):])["session"]["protocol"] == "mine"
    assert lines[1] == "time_s,rr_ms,contact,after_gap,artifact,phase"
    assert len(lines) == 2 + 240
    assert lines[2].split(",")[2:4] == ["", "0"]  # contact unknown, no gap
    assert lines[2].endswith(",sitting  quietly")  # the comma in the name cannot split a field
    assert lines[2 + 121].split(",")[3] == "1"  # the beat after the gap


def test_importing_the_csv_journal_keeps_its_times_and_contact(tmp_path):
    journal = tmp_path / "20260101-070000-morning-check.csv"
    journal.write_text("# hrvcoach recording morning-check started 2026-01-01T07:00:00+01:00\n"
                       "time_s,rr_ms,contact,after_gap\n0.8125,812.5,1,0\n1.6,787.5,0,0\n"
                       "2.4,800.0,,1\n")
    recording = read_recording_file(journal)
    assert recording.beats == [Beat(812.5, 0.8125, True, False), Beat(787.5, 1.6, False, False),
                               Beat(800.0, 2.4, None, True)]
    assert (recording.protocol, recording.started_at) == ("morning-check",
                                                          "2026-01-01T07:00:00+01:00")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("rr.txt", "812\n815\nabc\n", "rr.txt:3: RR is not a number: 'abc'"),
        ("rr.txt", "812\n\n0\n", "rr.txt:3: RR must be a number > 0 ms, got 0.0"),
        ("rr.txt", "812\n99999\n", "rr.txt:2: an RR of 99999 ms is longer than a strap can report"),
        ("rr.txt", "812\n", "a recording needs at least 2 beats"),
        ("rr.txt", "", "no RR values in file"),
        ("j.csv", "time_s,rr_ms,contact,after_gap\n0.8,800,1,0\n0.7,810,1,0\n",
         "j.csv:3: beat time 0.7 s does not follow the previous beat's (0.8 s)"),
        ("j.csv", "time_s,rr_ms,contact,after_gap\n0.8,800,1,0\n1.6,810,yes,0\n",
         "j.csv:3: contact must be 0 or 1 or empty, got 'yes'"),
        ("j.csv", "time_s,rr_ms,contact,after_gap\n0.8,800,1,0\n1.6,810,1\n",
         "j.csv:3: expected 4 comma-separated fields, got 3"),
        ("s.json", '{"format": "hrvcoach-session", "version": 1, "beats": {"time_s": [1, 2], '
         '"rr_ms": [800, "x"], "contact": [true, true], "after_gap": [false, false]}}',
         's.json: beats.rr_ms[1]: must be a number, got \'x\''),
        ("s.json", '{"format": "hrvcoach-session", "version": 1,\n "beats": [', "s.json:2: not valid JSON"),
        ("s.json", '{"format": "other"}', "not an hrvcoach session export"),
        ("x.edf", "0       not really an EDF file", "x.edf: not a readable EDF+ file"),
    ],
)
def test_bad_import_files_name_file_and_line_and_write_nothing(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as caught:
        read_recording_file(path)
    assert message in str(caught.value)


def test_an_import_that_fails_half_way_leaves_the_store_as_it_was(tmp_path):
    path = tmp_path / "rr.txt"
    path.write_text("".join(f"{800 + i % 7}\n" for i in range(50)))
    recording = read_recording_file(path)
    with Store.open(tmp_path / "home") as store:
        first = import_recording(store, recording, started_at="2026-01-01T07:00:00+01:00")
        with pytest.raises(InputError, match=f"already imported as session {first}"):
            import_recording(store, recording, started_at="2026-01-02T07:00:00+01:00")
        bad_phase = [PhaseRecord(0, "x", "baseline", 0.0, 1.0), PhaseRecord(1, "y", "walking", 1.0, 2.0)]
        with pytest.raises(Exception, match="CHECK constraint failed"):  # after the session row
            store.import_session(started_at="2026-01-03T07:00:00+01:00", protocol="p", origin="o",
                                 content_sha256="other", phases=bad_phase,
                                 beats=recording.beats[:-1])  # other beats: not a duplicate
        assert [s.id for s in store.sessions()] == [first]  # the failed import left nothing
        assert store.integrity_ok()


def test_import_date_and_protocol_lay_out_the_session(tmp_path):
    path = tmp_path / "rr.txt"
    path.write_text("".join(f"{1000 + (i % 5) * 10}\n" for i in range(400)))  # ~6.7 min
    recording = read_recording_file(path)
    with Store.open(tmp_path / "home") as store:
        session = import_recording(store, recording, started_at=import_start(recording, "2026-02-03"),
                                   protocol="demo")
        phases = store.phases(session)
        info = store.session(session)
    assert info.started_at.startswith("2026-02-03T00:00:00") and info.status == "imported"
    assert [(p.name, p.start_s, p.end_s) for p in phases] == [
        ("settle", 0.0, 60.0), ("slow breathing", 60.0, 240.0),
        ("rest", 240.0, recording.beats[-1].time_s)]  # the last phase keeps the rest
    with pytest.raises(InputError, match="--date: expected an ISO date"):
        import_start(recording, "03/02/2026")
