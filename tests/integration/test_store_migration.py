"""A store written by hrvcoach 0.1.0 opens, migrates (with a backup) and shows the same stored
numbers under the catalogue's names (tests/data/store_v1, made with that release)."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
from pathlib import Path

import pytest

from hrvcoach.core.markers import LEGACY_NAMES, MARKERS
from hrvcoach.store import DB_FILE, SCHEMA_VERSION
from tests.helpers import TEST_DATA, run_cli

OLD = TEST_DATA / "store_v1"


def old_json(name: str) -> object:
    return json.loads((OLD / name).read_text(encoding="utf-8"))


@pytest.fixture
def migrated(tmp_path: Path) -> Path:
    shutil.copy(OLD / DB_FILE, tmp_path / DB_FILE)
    shutil.copy(OLD / "profile.json", tmp_path / "profile.json")
    return tmp_path


def same(new: object, old: object) -> bool:
    if isinstance(old, float) and isinstance(new, float):
        return math.isclose(new, old, rel_tol=1e-12)
    return new == old


def test_an_old_store_is_migrated_once_with_its_backup_kept(migrated):
    original = (migrated / DB_FILE).read_bytes()
    listed = run_cli("sessions", "--json", home=migrated)
    assert listed.returncode == 0, listed.stderr
    backup = migrated / f"{DB_FILE}.bak-v1"
    assert backup.stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(backup) as old:  # the backup is the 0.1.0 file, untouched
        assert old.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
        assert old.execute("SELECT COUNT(*) FROM beats").fetchone()[0] == 2035
    with sqlite3.connect(migrated / DB_FILE) as new:
        assert new.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        names = {row[0] for row in new.execute("SELECT DISTINCT name FROM phase_markers")}
    assert names <= set(MARKERS) and not names & set(LEGACY_NAMES)
    assert original != (migrated / DB_FILE).read_bytes()


def test_sessions_show_the_same_numbers_as_the_old_release(migrated):
    listed = json.loads(run_cli("sessions", "--json", home=migrated).stdout)
    expected = old_json("sessions.json")
    assert isinstance(expected, list)
    assert [s["id"] for s in listed] == [s["id"] for s in expected]
    for new, old in zip(listed, expected, strict=True):
        for key in ("date", "started_at", "protocol", "duration_s", "status", "n_beats"):
            assert new[key] == old[key], key
        assert new["markers"] == old["markers"]  # stored numbers, same names (rmssd_ms, ...)


def test_stored_phase_markers_come_back_under_the_catalogue_names(migrated):
    out = migrated / "export.json"
    assert run_cli("export", "1", "--format", "json", "-o", str(out), home=migrated).returncode == 0
    markers = json.loads(out.read_text())["markers"]
    old_markers = old_json("export-1.json")["markers"]  # type: ignore[index]
    assert markers.keys() == old_markers.keys()
    for phase, values in old_markers.items():
        renamed = {LEGACY_NAMES.get(name, name): value for name, value in values.items()}
        assert set(markers[phase]) == set(renamed) <= set(MARKERS)
        for name, value in renamed.items():
            if MARKERS[name].kind == "flag":
                assert markers[phase][name] is bool(value), name  # a flag, not 1.0
            else:
                assert same(markers[phase][name], value), name
    assert markers["1"]["breathing_power_ms2"] == old_markers["1"]["power_at_breathing_ms2"]


def test_the_profile_keeps_its_rate_and_scores_under_the_new_names(migrated):
    profile = json.loads(run_cli("profile", "--json", home=migrated).stdout)
    old = old_json("profile.json")
    assert isinstance(old, dict)
    assert profile["resonance_breaths_per_min"] == old["resonance_bpm"] == 5.5
    assert profile["session"] == old["session"]
    body = {"pacer_adherence": None, "heart_breath_phase_deg": None, "pacer_followed": None}
    for new, before in zip(profile["scores"], old["scores"], strict=True):  # (0.1.0 had no
        # accelerometer: the body's evidence is "not measured")
        assert new == {LEGACY_NAMES.get(key, key): value for key, value in before.items()} | body


def test_compare_reads_the_migrated_session_with_the_catalogue_names(migrated):
    result = run_cli("compare", "1", "--json", home=migrated)
    assert result.returncode == 0, result.stderr
    new = json.loads(result.stdout)
    old = old_json("compare-1.json")
    assert isinstance(old, dict)
    assert new["markers"].keys() == old["markers"].keys() <= MARKERS.keys()
    assert new["before"]["n_beats"] == old["before"]["n_beats"] == 64
    assert new["after"]["phase_name"] == old["after"]["phase_name"] == "rest"
