"""Bad input from the command line, as a user meets it: every file in tests/data/nasty (each a
case that once gave a traceback, a hang or a silent wrong result) and every number no one
means. hrvcoach answers in one line naming the file and the field, exits 2, and writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, TEST_DATA, cli_env, run_cli

NASTY = TEST_DATA / "nasty"


def assert_refused(result: subprocess.CompletedProcess[str], *fragments: str, code: int = 2) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hrvcoach: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    ("command", "name", "fragments"),
    [
        ("analyze", "polar_lone_comma.hrm", (":7: no RR value in ','",)),
        ("analyze", "kubios_header_last_line.txt", (":3: no RR values after the column names",)),
        ("analyze", "kubios_two_titles.txt", (":1: Kubios RR INTERVAL DATA without an 'RR interval'",)),
        ("import", "heart_rates_bpm.txt", ("the median RR is 65 ms", "heart rates in bpm")),
        ("replay", "rr_1e9_ms.txt", (":2: an RR of 1e+09 ms is longer than a strap can report",)),
        ("import", "session_header_list.csv", (":1: format: not an hrvcoach session export",)),
        ("import", "session_annotations_5.json", ("annotations: must be a list of annotations, got 5",)),
        ("import", "session_started_at_number.json", ("session.started_at: must be text, got 20261125",)),
        ("import", "session_phase_name_list.json", ("phases[0].name: must be text, got ['settle']",)),
        ("import", "session_phase_name_dict.json", ("phases[0].name: must be text, got {'a': 1}",)),
        ("import", "session_annotation_time_nan.json",
         ("annotations[0].time_s: must be a number, got 'nan'",)),
        ("import", "session_phase_types.json", ("phases[1].index: must be a whole number, got 1.5",)),
        ("import", "session_duplicate_phase_index.json", ("phase indices must be 0..1, once each",)),
        ("import", "session_escape_text.json", ("session.protocol: must not contain control characters",)),
        ("import", "session_400_digits.json", ("phases[0].start_s: must be a finite number",)),
        ("import", "session_nested_deep.json", ("nested too deeply",)),
        ("import", "session_phase_index_zero.csv",
         (":1: phases[0].index: must be a whole number, got 'zero'",)),
        ("protocols check", "protocol_minutes_1e308.toml", ("minutes: must be at most 720, got 1e+308",)),
        ("protocols check", "protocol_seconds_1e308.toml", ("seconds: must be at most 43200, got 1e+308",)),
        ("protocols check", "protocol_long_name.toml", ("name: must be at most 100 characters, got 240",)),
        ("protocols check", "protocol_nested_deep.toml", ("not valid TOML (nested too deeply)",)),
        ("protocols check", "protocol_escape_name.toml", ("name: must not contain control characters",)),
        ("demo --headless --protocol", "protocol_long_name.toml", ("must be at most 100 characters",)),
        ("demo --headless --protocol", "protocol_minutes_1e308.toml", ("must be at most 720",)),
    ],
)
def test_each_nasty_file_is_refused_in_one_line_and_nothing_is_written(tmp_path, command, name,
                                                                     fragments):
    home = tmp_path / "home"
    path = NASTY / name
    words = command.split()
    args = [*words, str(path)] if words[0] != "replay" else ["replay", str(path), "--headless"]
    result = run_cli(*args, home=home, timeout=60)
    assert_refused(result, f"{path}", *fragments)
    assert not home.exists()  # not even an empty store


def test_a_kubios_file_with_semicolons_is_read():
    result = run_cli("analyze", str(NASTY / "kubios_semicolons.txt"), "--json", home=Path("/nonexistent"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["n_beats"] == 30


def test_a_strap_profile_with_control_characters_is_refused(tmp_path):
    from hrvcoach.core.errors import InputError
    from hrvcoach.sources.ble.devices import load_device_profile_file

    with pytest.raises(InputError, match=r"notes: must not contain control characters, got '\\x1b'"):
        load_device_profile_file(NASTY / "device_escape_notes.toml")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["analyze", "FILE", "--window", "1e-300"], "argument --window: must be 10–86400 seconds"),
        (["analyze", "FILE", "--window", "0.0001"], "argument --window: must be 10–86400 seconds"),
        (["demo", "--speed", "1e-300"], "argument --speed: must be 0.01–10000"),
        (["demo", "--duration", "1e308"], "argument --duration: must be a positive number of seconds"),
        (["demo", "--seed", "-1"], "argument --seed: must be a whole number from 0"),
        (["demo", "--seed", "9" * 400], "argument --seed: must be a whole number from 0"),
        (["trends", "--days", "9" * 30], "argument --days: must be a whole number from 1 to 36500"),
        (["demo", "--sim-artifacts", "1e300"], "argument --sim-artifacts: must be a number from 0 to 30"),
        (["scan", "--timeout", "1e300"], "argument --timeout: must be a positive number of seconds"),
        (["export", "1" * 40, "--format", "json", "-o", "x.json"], "SESSION: expected a session id"),
    ],
)
def test_numbers_no_one_means_are_refused_at_once(tmp_path, args, fragment):
    rr = tmp_path / "rr.txt"
    rr.write_text("".join(f"{800 + i % 9}\n" for i in range(100)))
    home = tmp_path / "home"
    result = run_cli(*[str(rr) if a == "FILE" else a for a in args], home=home, timeout=30)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and fragment in result.stderr


def test_a_100_mb_rr_file_is_refused_with_the_limit_named_in_bounded_memory(tmp_path):
    big = tmp_path / "huge.txt"
    line = b"812.5\n"
    with big.open("wb") as file:
        chunk = line * 1_000_000
        while file.tell() < 100 * 2**20:
            file.write(chunk)
    # the child's peak memory, measured by a parent of its own (RUSAGE_CHILDREN is per process)
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output="
             "True, text=True); print(r.returncode); print(r.stderr.strip()); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    result = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "hrvcoach",
                             "analyze", str(big)], capture_output=True, text=True, timeout=300,
                            env=cli_env(tmp_path / "home"), check=False)
    code, message, peak_kb = result.stdout.strip().splitlines()
    assert code == "2", message
    assert f"{big}:300001: more than 300,000 beats (hrvcoach's limit" in message
    assert int(peak_kb) < 300_000  # 11.4 GB before: the file was read whole and analysed


def test_output_to_a_closed_pipe_ends_quietly(tmp_path):
    home = tmp_path / "home"
    assert run_cli("demo", "--headless", "--speed", "2000", "--duration", "60", home=home).returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already gone
    try:
        process = subprocess.run([sys.executable, "-m", "hrvcoach", "trends", "--json"],
                                 stdout=write_end, stderr=subprocess.PIPE, text=True,
                                 env=cli_env(home), timeout=60, check=False)
    finally:
        os.close(write_end)
    assert process.stderr == ""
    assert process.returncode == 141


def test_text_from_files_is_printed_without_control_characters(tmp_path):
    home = tmp_path / "home"
    journal = tmp_path / "20260101-070000-x.csv"
    journal.write_text("# hrvcoach recording morning-check started 2026-01-01T07:00:00+01:00\n"
                       "time_s,rr_ms,contact,after_gap\n" + "".join(
                           f"{0.8 * (i + 1):.4f},800.0,1,0\n" for i in range(20)))
    named = tmp_path / "\x1b]0;owned\x07\x1b[2J.csv"
    named.write_bytes(journal.read_bytes())
    result = run_cli("import", str(named), home=home)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "?]0;owned??[2J.csv" in result.stdout
    bad = run_cli("import", str(tmp_path / "\x1b[2Jmissing.txt"), home=home)
    assert bad.returncode == 2 and "\x1b" not in bad.stderr and "?[2Jmissing.txt" in bad.stderr


def test_help_stays_fast_to_start():
    """Not a timing assertion: the modules --help imports stay few (the budget is 0.1 s)."""
    code = ("import sys; from hrvcoach.views.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in ('numpy', 'sqlite3', 'pyedflib', 'PySide6', 'bleak', "
            "'pydantic', 'msgspec') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         check=True).stdout
    assert out.strip() == "[]"
