"""Bad input from the command line: a one-line error naming what was wrong and exit 2, never a
traceback or an internal error, and nothing half done."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import assert_refused, real_recording, run_cli

RR_FILE = "polar_h10_breathing_10min/rr.csv"


def mitdb_record(folder: Path) -> Path:
    """A copy of mitdb record 100 (header and beat annotations) in `folder`; its header."""
    for name in ("100.hea", "100.atr"):
        shutil.copyfile(real_recording(f"mitdb_100/{name}"), folder / name)
    return folder / "100.hea"


def with_sampling_frequency(header: Path, written: str) -> int:
    """Write `written` as the header's sampling frequency; the record line's number."""
    lines = header.read_bytes().decode("ascii").split("\n")
    number = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    fields = lines[number].split(" ")
    fields[2] = written
    lines[number] = " ".join(fields)
    header.write_bytes("\n".join(lines).encode("ascii"))
    return number + 1


def session_ids(home: Path) -> list[int]:
    """The ids `hrvcoach sessions --json` lists."""
    listed = run_cli("sessions", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    return [session["id"] for session in json.loads(listed.stdout)]


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    """A data folder holding one short demo session, exported as CSV and JSON beside it."""
    home = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--headless", "--speed", "600", "--duration", "20", home=home)
    assert result.returncode == 0, result.stderr
    for kind in ("csv", "json"):
        exported = run_cli("export", "1", "--format", kind, "-o", str(home / f"x.{kind}"), home=home)
        assert exported.returncode == 0, exported.stderr
    return home


@pytest.mark.parametrize("annotator", ["../x", "", "a/b"])
def test_an_annotator_that_is_not_a_plain_extension_is_refused(tmp_path, annotator):
    header = mitdb_record(tmp_path)
    result = run_cli("analyze", str(header), "--annotator", annotator, home=tmp_path / "home")
    assert_refused(result, "--annotator", repr(annotator))


@pytest.mark.parametrize("written", ["nan", "-360", "abc", "0", "1e3", "-360/1"])
def test_a_header_whose_sampling_frequency_is_not_a_positive_number_is_refused(tmp_path, written):
    header = mitdb_record(tmp_path)
    number = with_sampling_frequency(header, written)
    result = run_cli("analyze", str(header), home=tmp_path / "home")
    assert_refused(result, f"{header}:{number}", "sampling frequency", repr(written))


@pytest.mark.parametrize("written", ["360/1", "360/360(0)", "360.0"])
def test_a_sampling_frequency_with_its_counter_frequency_is_read(tmp_path, written):
    header = mitdb_record(tmp_path)
    with_sampling_frequency(header, written)
    result = run_cli("analyze", str(header), home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "2273 beats at 360 Hz" in result.stdout


def test_more_simulated_artifacts_than_the_simulator_makes_are_refused(tmp_path):
    result = run_cli("demo", "--headless", "--speed", "600", "--duration", "20",
                     "--sim-artifacts", "31", home=tmp_path)
    assert_refused(result, "--sim-artifacts", "must be a number from 0 to 30")
    allowed = run_cli("demo", "--headless", "--speed", "600", "--duration", "20",
                      "--sim-artifacts", "30", home=tmp_path)
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.parametrize("date", ["0001-01-01", "9999-12-31T23:59:59", "1899-12-31T23:59"])
def test_an_import_date_outside_the_sane_years_is_refused(tmp_path, date):
    result = run_cli("import", str(real_recording(RR_FILE)), "--date", date, home=tmp_path)
    assert_refused(result, "--date", "1900–2200", date)
    assert session_ids(tmp_path) == []


@pytest.mark.parametrize("date", ["1900-01-01", "2200-12-31T23:59:59"])
def test_an_import_date_at_the_ends_of_the_sane_years_is_kept_and_trends_work(tmp_path, date):
    result = run_cli("import", str(real_recording(RR_FILE)), "--date", date, home=tmp_path)
    assert result.returncode == 0, result.stderr
    trends = run_cli("trends", "--include", "imports", home=tmp_path)
    assert trends.returncode == 0, trends.stderr


@pytest.mark.parametrize("started", ["9999-12-31T23:59:59+00:00", "9999-12-31T00:00:00+00:00",
                                     "0001-01-01T00:00:00+00:00"])
def test_a_json_export_starting_outside_the_sane_years_is_refused(demo_home, tmp_path, started):
    document = json.loads((demo_home / "x.json").read_text(encoding="utf-8"))
    document["session"]["started_at"] = started
    path = tmp_path / "far.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli("import", str(path), home=tmp_path / "home")
    assert_refused(result, f"{path}: session.started_at", "1900–2200", started)
    trends = run_cli("trends", "--include", "imports", home=tmp_path / "home")
    assert trends.returncode == 0, trends.stderr


def test_a_csv_export_starting_outside_the_sane_years_is_refused(demo_home, tmp_path):
    first, rest = (demo_home / "x.csv").read_text(encoding="utf-8").split("\n", 1)
    mark, document = first.split("{", 1)
    meta = json.loads("{" + document)
    meta["session"]["started_at"] = "9999-12-31T23:59:59+00:00"
    path = tmp_path / "far.csv"
    path.write_text(f"{mark}{json.dumps(meta)}\n{rest}", encoding="utf-8")
    result = run_cli("import", str(path), home=tmp_path / "home")
    assert_refused(result, f"{path}:1: session.started_at", "1900–2200")


@pytest.mark.parametrize("kept_lines", [1, 2])
def test_a_csv_export_without_beats_is_refused(demo_home, tmp_path, kept_lines):
    lines = (demo_home / "x.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[1].startswith("time_s,rr_ms,")  # the session line, then the column header
    path = tmp_path / "cut.csv"
    path.write_text("".join(lines[:kept_lines]), encoding="utf-8")
    result = run_cli("import", str(path), home=tmp_path / "home")
    assert_refused(result, str(path), "no beats" if kept_lines == 2 else "no header line")


def test_a_json_export_without_beats_is_refused(demo_home, tmp_path):
    document = json.loads((demo_home / "x.json").read_text(encoding="utf-8"))
    document["beats"] = {name: [] for name in document["beats"]}
    path = tmp_path / "empty.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli("import", str(path), home=tmp_path / "home")
    assert_refused(result, f"{path}: beats", "no beats")


def test_a_session_given_twice_to_delete_is_refused_and_nothing_is_deleted(tmp_path):
    made = run_cli("demo", "--headless", "--speed", "600", "--duration", "20", home=tmp_path)
    assert made.returncode == 0, made.stderr
    result = run_cli("sessions", "delete", "1", "1", "--yes", home=tmp_path)
    assert_refused(result, "SESSION: session 1 given twice")
    assert session_ids(tmp_path) == [1]
