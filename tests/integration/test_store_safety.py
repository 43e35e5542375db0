"""The store protects itself, as a user meets it from the command line: a damaged or foreign
file is never written to and the message names the latest backup and how to restore it; a lost
store comes back from its backup and its journals; sessions can be deleted; the data folder is
private; the same recording is never imported twice, whatever file it comes in."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hrvcoach.store import DB_FILE, Store
from tests.helpers import REPO, run_cli

DEMO = ("demo", "--headless", "--speed", "2000", "--duration", "120")


@pytest.fixture(scope="module")
def two_sessions(tmp_path_factory) -> Path:
    """A data folder with two demo sessions and today's backup, made at the second demo's start
    (the first open of the day that found a session): it holds the first session only."""
    home = tmp_path_factory.mktemp("two")
    for seed in ("1", "2"):
        result = run_cli(*DEMO, "--seed", seed, home=home)
        assert result.returncode == 0, result.stderr
    assert run_cli("sessions", home=home).returncode == 0
    return home


def copy_of(home: Path, tmp_path: Path) -> Path:
    target = tmp_path / "home"
    subprocess.run(["cp", "-a", str(home), str(target)], check=True)
    return target


def one_line(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("hrvcoach: error")]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def flip_bytes(path: Path, count: int = 64) -> None:
    """Damage `count` bytes at the start of b-tree pages (page type, free-block pointers)."""
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    offsets = [page * 4096 + byte for page in range(1, pages) for byte in range(8)][:count]
    for offset in offsets:
        data[offset] ^= 0xA5
    path.write_bytes(bytes(data))


def test_daily_backups_are_made_and_checked(two_sessions):
    backups = sorted((two_sessions / "backups").glob("hrvcoach-*-daily.db"))
    assert len(backups) == 1
    assert (two_sessions / "backups").stat().st_mode & 0o777 == 0o700
    assert backups[0].stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(backups[0]) as copy:
        assert copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1
    check = run_cli("store", "check", home=two_sessions)
    assert check.returncode == 0, check.stdout + check.stderr
    assert ": ok: 2 sessions," in check.stdout and "1 backups" in check.stdout


def test_a_store_with_flipped_bytes_is_never_written_and_names_its_backup(two_sessions, tmp_path):
    home = copy_of(two_sessions, tmp_path)
    flip_bytes(home / DB_FILE)
    damaged = (home / DB_FILE).read_bytes()
    for args in (("sessions",), DEMO, ("export", "1", "--format", "json", "-o", str(tmp_path / "x.json"))):
        line = one_line(run_cli(*args, home=home), 1, "the session store is damaged",
                        "The latest backup is", "hrvcoach store restore")
        assert "nothing was written to it" in line
    assert (home / DB_FILE).read_bytes() == damaged  # not one byte written
    assert not (tmp_path / "x.json").exists()
    assert run_cli("store", "check", home=home).returncode == 1
    restored = run_cli("store", "restore", home=home)
    assert restored.returncode == 0, restored.stderr
    assert "1 sessions rebuilt from their recordings" in restored.stderr
    assert "the store holds 2 sessions" in restored.stderr
    listed = json.loads(run_cli("sessions", "--json", home=home).stdout)
    assert [s["status"] for s in listed] == ["completed", "recovered"]  # the 2nd: after the backup
    (aside,) = [p for p in home.glob(f"{DB_FILE}.replaced-*") if p.name[-4:].isdigit()]
    assert aside.read_bytes() == damaged  # kept aside


def test_a_dropped_table_is_named_and_nothing_is_written(two_sessions, tmp_path):
    home = copy_of(two_sessions, tmp_path)
    with sqlite3.connect(home / DB_FILE) as raw:
        raw.execute("PRAGMA foreign_keys = OFF")
        raw.execute("DROP TABLE annotations")
    before = (home / DB_FILE).read_bytes()
    one_line(run_cli("sessions", home=home), 1, "its table 'annotations' is missing",
             "The latest backup is")
    one_line(run_cli(*DEMO, home=home), 1, "its table 'annotations' is missing")
    assert (home / DB_FILE).read_bytes() == before


@pytest.mark.parametrize("backup", [True, False], ids=["with-backup", "journals-only"])
def test_a_store_truncated_to_nothing_comes_back(two_sessions, tmp_path, backup):
    home = copy_of(two_sessions, tmp_path)
    if not backup:
        for path in (home / "backups").iterdir():
            path.unlink()
    (home / DB_FILE).write_bytes(b"")
    result = run_cli("sessions", "--json", home=home)
    assert result.returncode == 0, result.stderr
    assert f"{home / DB_FILE} was empty" in result.stderr
    listed = json.loads(result.stdout)
    assert len(listed) == 2
    if backup:
        assert "the latest backup" in result.stderr and "1 sessions rebuilt" in result.stderr
        assert [s["status"] for s in listed] == ["completed", "recovered"]
    else:
        assert "2 sessions rebuilt from their recordings" in result.stderr
        assert [s["status"] for s in listed] == ["recovered", "recovered"]
        assert all(s["markers"]["before"]["mean_hr_bpm"] > 0 for s in listed)
    with Store.open(home) as store:
        journals = sorted((home / "recordings").glob("*.csv"))
        assert sorted(s.n_beats for s in store.sessions()) == sorted(
            sum(1 for line in p.read_text().splitlines()[2:] if line) for p in journals)


def test_another_programs_database_is_refused_untouched(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with sqlite3.connect(home / DB_FILE) as other:
        other.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        other.execute("INSERT INTO contacts VALUES ('Ann', '123')")
    before = (home / DB_FILE).read_bytes()
    one_line(run_cli("sessions", home=home), 1, "not a usable hrvcoach session store",
             "it holds the tables contacts")
    one_line(run_cli(*DEMO, home=home), 1, "does not write into another program's database")
    assert (home / DB_FILE).read_bytes() == before


def test_a_planted_symbolic_link_is_not_followed(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    target = tmp_path / "someone-elses.db"
    target.write_text("precious")
    target.chmod(0o644)
    (home / DB_FILE).symlink_to(target)
    one_line(run_cli(*DEMO, home=home), 1, "is a symbolic link")
    assert target.read_text() == "precious" and target.stat().st_mode & 0o777 == 0o644


def test_an_open_data_folder_and_its_files_are_made_private(two_sessions, tmp_path):
    home = copy_of(two_sessions, tmp_path)
    for path in [home, *home.rglob("*")]:
        path.chmod(0o777 if path.is_dir() else 0o666)
    result = run_cli("sessions", home=home)
    assert result.returncode == 0
    assert "were readable by others; they are private now" in result.stderr
    assert all(path.stat().st_mode & 0o077 == 0 for path in [home, *home.rglob("*")])
    exported, report = tmp_path / "out" / "s.json", tmp_path / "out" / "r.png"
    assert run_cli("export", "1", "--format", "json", "-o", str(exported), home=home).returncode == 0
    assert run_cli("report", "1", "-o", str(report), home=home).returncode == 0
    assert exported.stat().st_mode & 0o777 == 0o600 and report.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o700


def test_a_session_damaged_by_an_old_import_is_left_out_and_can_be_deleted(two_sessions, tmp_path):
    home = copy_of(two_sessions, tmp_path)
    with sqlite3.connect(home / DB_FILE) as raw:  # what 0.1's import let in
        raw.execute("UPDATE phases SET idx = 'zero' WHERE session_id = 2 AND idx = 0")
    listed = run_cli("sessions", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    assert [s["id"] for s in json.loads(listed.stdout)] == [1]
    assert "session 2 is damaged" in listed.stderr and "sessions delete 2" in listed.stderr
    for args in (("trends", "--json"), ("export", "1", "--format", "json", "-o", str(tmp_path / "e.json")),
                 ("report", "1", "-o", str(tmp_path / "r.png"))):
        assert run_cli(*args, home=home).returncode == 0, args
    one_line(run_cli("export", "2", "--format", "json", "-o", str(tmp_path / "f.json"), home=home), 2,
             "session 2 is damaged")
    one_line(run_cli("sessions", "delete", "2", home=home), 2, "add --yes")
    deleted = run_cli("sessions", "delete", "2", "--yes", home=home)
    assert deleted.returncode == 0 and "session 2 deleted" in deleted.stdout
    again = run_cli("sessions", "--json", home=home)
    assert "damaged" not in again.stderr and len(json.loads(again.stdout)) == 1
    assert len(list((home / "recordings" / "deleted").glob("*.csv"))) == 1


def test_the_same_recording_is_recognised_whatever_file_it_comes_in(two_sessions, tmp_path):
    home = copy_of(two_sessions, tmp_path)
    # session 1's journal: the older one (two demos started within one second share a name
    # but for the second's "-2", which sorts first)
    journal = min((home / "recordings").glob("*.csv"), key=lambda path: path.stat().st_mtime)
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(journal.read_bytes().replace(b"\n", b"\r\n"))
    exports = {fmt: tmp_path / f"s.{fmt}" for fmt in ("rr", "csv", "json", "edf")}
    for fmt, path in exports.items():
        assert run_cli("export", "1", "--format", fmt, "-o", str(path), home=home).returncode == 0
    for path in (journal, crlf, *exports.values()):
        one_line(run_cli("import", str(path), home=home), 2, "already in the store as session 1")
    fresh = tmp_path / "fresh"
    assert run_cli("import", str(exports["json"]), home=fresh).returncode == 0
    for path in (journal, crlf, exports["csv"], exports["edf"], exports["rr"]):
        one_line(run_cli("import", str(path), home=fresh), 2, "already imported as session 1")


_CRASH = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from hrvcoach.core.beats import Beat
    from hrvcoach.files.journal import CsvJournal
    from hrvcoach.store import Store, StoreRecorder
    home = Path(sys.argv[1])
    store = Store.open(home)
    journal = CsvJournal.open_in(home / "recordings", "demo")
    recorder = StoreRecorder(store, protocol="demo", source="simulator", commit_every_s=0.0,
                             origin=str(journal.path))
    for i in range(40):
        beat = Beat(800.0 + i, 0.8 * (i + 1), True)
        journal.record_beat(beat)
        if i < 25:  # the store is behind the journal when the power goes
            recorder.record_beat(beat)
    os._exit(9)
""")


def test_beats_the_journal_has_and_the_store_lost_are_recovered_at_the_next_start(tmp_path):
    home = tmp_path / "home"
    subprocess.run([sys.executable, "-c", _CRASH, str(home)], cwd=REPO, check=False)
    result = run_cli("sessions", "--json", home=home)
    assert result.returncode == 0, result.stderr
    assert "its 40 beats are kept (15 of them recovered from its recording)" in result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["status"], row["n_beats"]) == ("interrupted", 40)
    with Store.open(home) as store:
        assert list(store.beats(1).rr_ms) == [800.0 + i for i in range(40)]
