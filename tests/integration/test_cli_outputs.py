"""Issue 13, nothing lost: an -o file never replaces a recording being read, the store, its
journals or backups, or a device; an existing folder given as --data-dir keeps the user's other
files as they were; an empty --data-dir is refused."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hrvcoach.store import DB_FILE
from tests.helpers import assert_refused, cli_env, real_recording, run_cli


@pytest.fixture(scope="module")
def one_session(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("one")
    result = run_cli("demo", "--headless", "--speed", "2000", "--duration", "30", home=home)
    assert result.returncode == 0, result.stderr
    return home


@pytest.fixture
def home(one_session, tmp_path) -> Path:
    target = tmp_path / "home"
    subprocess.run(["cp", "-a", str(one_session), str(target)], check=True)
    return target


@pytest.mark.parametrize("target", [DB_FILE, f"{DB_FILE}-wal", "recordings/x.csv", "backups/b.db"])
def test_export_never_writes_over_the_store_or_its_journals(home, target):
    before = {path: path.read_bytes() for path in home.rglob("*") if path.is_file()}
    assert_refused(run_cli("export", "1", "--format", "rr", "-o", str(home / target), home=home),
            "is part of hrvcoach's data folder")
    assert {path: path.read_bytes() for path in home.rglob("*") if path.is_file()} == before
    assert run_cli("sessions", home=home).returncode == 0


def test_report_and_trends_into_the_data_folder_are_refused_but_reports_is_fine(home):
    assert_refused(run_cli("trends", "-o", str(home / "backups" / "t.png"), home=home), "-o")
    assert_refused(run_cli("report", "1", "-o", str(home / "recordings" / "r.png"), home=home), "-o")
    result = run_cli("report", "1", "-o", str(home / "reports" / "r.png"), home=home)
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr  # a 30-s session has no spectrum: said on the page


def test_analyze_never_writes_over_a_recording_it_reads(tmp_path):
    recording = tmp_path / "rec.csv"
    shutil.copy(real_recording("polar_h10_breathing_10min/rr.csv"), recording)
    before = recording.read_bytes()
    assert_refused(run_cli("analyze", str(recording), "-o", str(recording), home=tmp_path / "h"),
            "is a recording being read")
    assert recording.read_bytes() == before


def test_analyze_leaves_its_own_earlier_table_out_of_a_folder_it_reads(tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    shutil.copy(real_recording("polar_h10_breathing_10min/rr.csv"), study / "rec.csv")
    table = study / "results.csv"
    for _ in range(2):  # the second run finds results.csv in the folder
        result = run_cli("analyze", str(study), "-o", str(table), home=tmp_path / "h")
        assert result.returncode == 0, result.stderr
        rows = [line for line in table.read_text().splitlines() if not line.startswith("#")]
        assert len(rows) == 2 and "rec.csv" in rows[1]  # the header and one recording


def test_a_device_or_a_pipe_as_output_is_refused_and_kept(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    assert_refused(run_cli("analyze", str(real_recording("polar_h10_breathing_10min/rr.csv")),
                    "--format", "csv", "-o", str(pipe), home=tmp_path / "h"),
            "not a regular file")
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)


def test_an_existing_folder_as_data_dir_keeps_the_users_other_files(tmp_path):
    folder = tmp_path / "mine"
    (folder / "scripts").mkdir(parents=True)
    script = folder / "scripts" / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    folder.chmod(0o755)
    result = run_cli("--data-dir", str(folder), "demo", "--headless", "--speed", "2000",
                     "--duration", "20", home=tmp_path / "unused")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "scripts").stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / DB_FILE).stat().st_mode) == 0o600
    (folder / DB_FILE).chmod(0o644)  # hrvcoach's own files are made private again
    result = run_cli("--data-dir", str(folder), "sessions", home=tmp_path / "unused")
    assert result.returncode == 0 and "private now" in result.stderr
    assert stat.S_IMODE((folder / DB_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(script.stat().st_mode) == 0o755


def test_an_empty_data_dir_is_refused_before_anything_is_written(tmp_path):
    # `--data-dir "$DIR"` with DIR unset would make the current folder the data folder
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    result = subprocess.run([sys.executable, "-m", "hrvcoach", "--data-dir", "", "sessions"],
                            capture_output=True, text=True, cwd=workdir,
                            env=cli_env(tmp_path / "h"), check=False)
    assert_refused(result, "--data-dir", "empty")
    assert list(workdir.iterdir()) == []


def test_store_restore_names_the_sessions_it_cannot_bring_back(home):
    recording = real_recording("polar_h10_breathing_10min/rr.csv")
    assert run_cli("import", str(recording), home=home).returncode == 0  # no journal: session 2
    result = run_cli("store", "restore", home=home)
    assert result.returncode == 0, result.stderr
    said = result.stdout + result.stderr
    assert "the store holds 1 sessions" in said
    assert "1 sessions of the replaced store are in neither the backup nor a recording" in said
    assert "ids there: 2" in said
    aside = next(home.glob(f"{DB_FILE}.replaced-*"), None) or next(home.glob(f"{DB_FILE}.*"))
    assert aside.name in said


@pytest.mark.parametrize("started_at", ["garbage", "", "9999-12-31T00:00:00+00:00"])
def test_a_hand_edited_start_hides_the_session_instead_of_breaking_trends(home, started_at):
    import sqlite3

    with sqlite3.connect(home / DB_FILE) as raw:
        raw.execute("UPDATE sessions SET started_at = ? WHERE id = 1", (started_at,))
    for command in (["trends", "--include", "demos"], ["sessions"]):
        result = run_cli(*command, home=home)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    check = run_cli("store", "check", home=home)
    assert "session 1" in check.stdout + check.stderr
    assert run_cli("sessions", "delete", "1", "--yes", home=home).returncode == 0
