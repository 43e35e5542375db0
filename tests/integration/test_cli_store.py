"""The store from the command line: demo sessions land in it, kill -9 loses at most the last
second, compare/sessions/trends/report/import/export behave and keep their JSON shapes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hrvcoach.files.journal import read_recording
from hrvcoach.store import DB_FILE, Store
from hrvcoach.views.cli.main import main
from tests.helpers import real_recording, run_cli

MARKER_KEYS = {"before", "after", "delta", "ci_low", "ci_high"}


@pytest.fixture(scope="module")
def qigong_home(tmp_path_factory) -> Path:
    """A data folder holding one simulated Qigong session, run as a user would run it."""
    home = tmp_path_factory.mktemp("qigong")
    result = run_cli("demo", "--headless", "--speed", "600", "--protocol", "qigong", home=home)
    assert result.returncode == 0, result.stderr
    assert "session 1 saved (completed" in result.stdout
    return home


def test_a_demo_session_ends_up_in_the_store_with_all_beats_phases_and_markers(qigong_home):
    journal = read_recording(next((qigong_home / "recordings").glob("*.csv")))
    with Store.open(qigong_home) as store:
        info = store.resolve("last")
        stored = store.beats(info.id)
        phases = store.phases(info.id)
        markers = store.markers(info.id)
    assert (info.status, info.source, info.protocol) == ("completed", "simulator", "qigong")
    assert info.n_beats == len(journal.rr_ms) > 1400
    assert list(stored.rr_ms) == journal.rr_ms  # every beat, the same floats as the journal
    assert list(stored.time_s) == journal.time_s
    assert [(p.name, p.kind, p.start_s) for p in phases] == [
        ("baseline", "baseline", 0.0), ("slow breathing", "paced", 300.0),
        ("recovery", "recovery", 1200.0)]
    assert phases[-1].end_s == stored.time_s[-1]
    assert set(markers) == {0, 1, 2}
    assert sum(m["n_beats"] for m in markers.values()) == info.n_beats
    assert markers[1]["breaths_per_min"] == 6.0 and markers[1]["hf_valid"] == 0.0
    assert (qigong_home / DB_FILE).stat().st_mode & 0o777 == 0o600


def test_compare_on_a_simulated_qigong_session_shows_the_increase(qigong_home):
    result = run_cli("compare", "last", "--json", home=qigong_home)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["markers"]) == {"ln_rmssd", "rmssd_ms", "mean_hr_bpm", "sdnn_ms", "hf_ms2",
                                      "stress_index"}
    assert all(set(values) == MARKER_KEYS for values in report["markers"].values())
    rmssd = report["markers"]["rmssd_ms"]
    assert rmssd["after"] > 1.3 * rmssd["before"]  # the simulated person's vagal tone rose
    assert rmssd["delta"] == pytest.approx(rmssd["after"] - rmssd["before"])
    assert 0 < rmssd["ci_low"] < rmssd["delta"] < rmssd["ci_high"]
    assert report["markers"]["ln_rmssd"]["ci_low"] > 0
    assert report["markers"]["mean_hr_bpm"]["ci_high"] < 0  # and heart rate fell
    assert report["verdict"].startswith("calmer: RMSSD +")
    assert (report["before"]["phase_name"], report["after"]["phase_name"]) == ("baseline", "recovery")
    text = run_cli("compare", "1", home=qigong_home).stdout
    assert "verdict: calmer: RMSSD +" in text and "(95 % CI +" in text


def test_sessions_lists_the_session_with_its_headline_markers(qigong_home):
    listed = json.loads(run_cli("sessions", "--json", home=qigong_home).stdout)
    assert len(listed) == 1
    row = listed[0]
    assert {"id", "date", "protocol", "duration_s", "status", "n_beats", "markers"} <= set(row)
    assert row["markers"]["after"]["rmssd_ms"] > row["markers"]["before"]["rmssd_ms"]
    text = run_cli("sessions", home=qigong_home).stdout
    assert "qigong" in text and "completed" in text


def test_kill_9_during_a_real_time_demo_loses_at_most_the_last_second(tmp_path):
    env = {**os.environ, "HRVCOACH_HOME": str(tmp_path)}
    demo = subprocess.Popen([sys.executable, "-m", "hrvcoach", "demo", "--headless", "--speed", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        journal = None
        while time.monotonic() < deadline:  # until ~6 s of beats are in the journal
            folder = tmp_path / "recordings"
            found = list(folder.glob("*.csv")) if folder.exists() else []
            if found and len(read_recording(found[0]).rr_ms) >= 6:
                journal = found[0]
                break
            time.sleep(0.05)
        assert journal is not None, "the demo did not start"
        time.sleep(0.45)  # kill somewhere between two beats
        demo.send_signal(signal.SIGKILL)
    finally:
        demo.kill()
        demo.wait()
    written = read_recording(journal)  # flushed beat by beat: every beat before the kill
    listed = run_cli("sessions", "--json", home=tmp_path)
    assert "was interrupted; its" in listed.stderr
    row = json.loads(listed.stdout)[0]
    assert row["status"] == "interrupted"
    with Store.open(tmp_path) as store:
        stored = store.beats(row["id"])
        assert store.session(row["id"]).markers_done  # computed on the next start
        assert store.phases(row["id"])[0].kind == "baseline"
    assert list(stored.rr_ms) == written.rr_ms[: len(stored)]
    lost = written.time_s[len(stored):]
    assert all(t > written.time_s[-1] - 1.0 for t in lost)  # only the last second may be lost
    assert len(stored) >= len(written.rr_ms) - 1  # at most the beat in flight


def test_two_demos_at_once_share_the_store_without_harm(tmp_path):
    env = {**os.environ, "HRVCOACH_HOME": str(tmp_path)}
    demos = [subprocess.Popen([sys.executable, "-m", "hrvcoach", "demo", "--headless", "--speed",
                               "300", "--duration", "180", "--seed", str(seed)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for seed in (1, 2)]
    outputs = [demo.communicate(timeout=120) for demo in demos]
    assert [demo.returncode for demo in demos] == [0, 0], outputs
    with Store.open(tmp_path) as store:
        assert store.integrity_ok()
        sessions = store.sessions()
        assert [s.status for s in sessions] == ["completed", "completed"]
        journals = sorted(len(read_recording(p).rr_ms) for p in (tmp_path / "recordings").glob("*.csv"))
        assert sorted(s.n_beats for s in sessions) == journals


def test_compare_of_a_session_without_an_after_phase_says_what_to_do(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "demo", "--headless", "--speed", "2000",
                 "--protocol", "morning-check"]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path), "compare", "last"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no phase marked 'after'" in err
    assert main(["--data-dir", str(tmp_path), "compare", "7"]) == 2
    assert "no session 7" in capsys.readouterr().err


def test_a_bad_import_names_file_and_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "rr.txt"
    bad.write_text("812\n815\n-3\n820\n")
    home = tmp_path / "home"
    assert main(["--data-dir", str(home), "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}:3: RR must be a finite number >= 0" in err
    assert not home.exists()  # not even an empty store
    zero = tmp_path / "zero.txt"
    zero.write_text("812\n0\n")
    assert main(["--data-dir", str(home), "import", str(zero)]) == 2
    assert f"{zero}:2: RR must be a number > 0 ms" in capsys.readouterr().err
    assert main(["--data-dir", str(home), "import", str(bad), "--date", "yesterday"]) == 2
    assert not home.exists()


def test_import_then_export_from_the_command_line(tmp_path, capsys):
    rr = tmp_path / "kubios.txt"
    rr.write_text("".join(f"{800 + (i % 9) * 7}\n" for i in range(400)))
    assert main(["--data-dir", str(tmp_path), "import", str(rr), "--date", "2026-03-04T07:10",
                 "--protocol", "morning-check"]) == 0
    assert "as session 1: 400 beats, morning-check, started 2026-03-04T07:10" in capsys.readouterr().out
    assert main(["--data-dir", str(tmp_path), "import", str(rr)]) == 2
    assert "already imported as session 1" in capsys.readouterr().err
    out = tmp_path / "out.txt"
    assert main(["--data-dir", str(tmp_path), "export", "last", "--format", "rr", "-o", str(out)]) == 0
    assert out.read_text() == "".join(f"{800 + (i % 9) * 7}.0\n" for i in range(400))


def test_report_and_trends_commands_write_their_files(qigong_home, tmp_path):
    pdf = tmp_path / "r.pdf"
    result = run_cli("report", "last", "-o", str(pdf), home=qigong_home)
    assert result.returncode == 0, result.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    chart = tmp_path / "t.png"
    result = run_cli("trends", "--json", "--include", "demos", "-o", str(chart), home=qigong_home)
    assert result.returncode == 0, result.stderr
    trends = json.loads(result.stdout)
    assert [set(day) for day in trends["days"]] == [
        {"date", "ln_rmssd", "baseline_7d", "band_low", "band_high", "flag"}]
    assert trends["weeks"][0]["practice_min"] == pytest.approx(15.0, abs=0.2)
    assert chart.read_bytes().startswith(b"\x89PNG")
    bad = run_cli("report", "last", "-o", str(tmp_path / "r.jpg"), home=qigong_home)
    assert bad.returncode == 2 and "name it *.pdf or *.png" in bad.stderr


async def test_a_ble_session_ends_up_in_the_store_with_the_strap_named(ble_world, tmp_path):
    from tests.ble_fixtures import RECORDING, SPEED, quantized, read_rr_ms, run_hrvcoach
    from tests.helpers import real_recording

    recording = read_rr_ms(real_recording(RECORDING))
    process = asyncio.create_task(run_hrvcoach(
        "coach", "--headless", "--device", "Polar H10 2B3C4D5E", "--duration", "90",
        "--speed", str(SPEED), home=tmp_path))
    await ble_world.strap.wait_subscribed(timeout=30)
    replay = ble_world.strap.start_replay(recording, speed=SPEED)
    code, _out, err = await process
    replay.cancel()
    assert code == 0, err
    journal = read_recording(next((tmp_path / "recordings").glob("*.csv")))
    with Store.open(tmp_path) as store:
        info = store.resolve("last")
        stored = store.beats(info.id)
        phases = store.phases(info.id)
        markers = store.markers(info.id)
        notes = [note.kind for note in store.annotations(info.id)]
    assert (info.source, info.status) == ("ble", "completed")
    assert info.device.startswith("Polar H10 2B3C4D5E (E4:9E:1A:2B:3C:4D)")
    assert list(stored.rr_ms) == journal.rr_ms == quantized(recording[: len(journal.rr_ms)])
    assert [p.kind for p in phases] == ["baseline", "paced"]  # 90 s of the demo protocol
    assert set(markers) == {0, 1} and "connected" in notes and "battery" in notes


def test_demos_and_replays_leave_the_users_profile_and_trends_empty_and_sessions_name_them(
        tmp_path):
    assessed = run_cli("demo", "--headless", "--speed", "2000", "--protocol",
                       "resonance-assessment", home=tmp_path)
    assert assessed.returncode == 0, assessed.stderr
    assert "Assessed rate: 5.5 breaths/min — a demo" in assessed.stdout
    for args in (("demo", "--protocol", "morning-check"),
                 ("replay", str(real_recording("polar_h10_breathing_10min/rr.csv")),
                  "--protocol", "morning-check")):
        done = run_cli(*args, "--headless", "--speed", "2000", home=tmp_path)
        assert done.returncode == 0, done.stderr

    profile = json.loads(run_cli("profile", "--json", home=tmp_path).stdout)
    assert (profile["resonance_breaths_per_min"], profile["scores"]) == (None, [])
    said = run_cli("profile", home=tmp_path).stdout
    assert "`hrvcoach coach --protocol resonance-assessment` finds yours" in said
    assert "hrvcoach demo" not in said  # no advice to run what cannot set the rate

    trends = json.loads(run_cli("trends", "--json", home=tmp_path).stdout)
    assert (trends["days"], trends["weeks"]) == ([], [])
    assert trends["left_out"] == {"simulator": 2, "replay": 1}
    text = run_cli("trends", home=tmp_path).stdout
    assert "No baseline measurements of you yet" in text
    assert "Left out (not measured on your strap): 1 replay, 2 demos." in text
    assert "`hrvcoach trends --include replays --include demos` counts them" in text
    shown = run_cli("trends", "--include", "demos", home=tmp_path).stdout
    assert shown.startswith("DEMO: these trends include simulated or replayed sessions")

    listed = json.loads(run_cli("sessions", "--json", home=tmp_path).stdout)
    assert [row["source"] for row in listed] == ["simulator", "simulator", "replay"]
    lines = run_cli("sessions", home=tmp_path).stdout.splitlines()
    assert "source" in lines[0]
    assert [line.split()[4] for line in lines[1:]] == ["demo", "demo", "replay"]
    assert "replay rr.csv" in lines[3]


def test_an_import_laid_over_a_protocol_reports_the_breathing_it_measured(tmp_path, capsys):
    import numpy as np

    from hrvcoach.store import Store

    times, rr = [0.0], []
    while times[-1] < 300.0:  # breathing at 15/min (0.25 Hz) throughout, e.g. while exercising
        hr = 72.0 + 6.0 * np.sin(2 * np.pi * 0.25 * times[-1])
        rr.append(60_000.0 / hr)
        times.append(times[-1] + rr[-1] / 1000.0)
    path = tmp_path / "exercise.txt"
    path.write_text("".join(f"{value:.1f}\n" for value in rr))
    assert main(["--data-dir", str(tmp_path / "home"), "import", str(path), "--date",
                 "2026-03-04T18:00", "--protocol", "demo"]) == 0
    with Store.open(tmp_path / "home") as store:
        paced = store.markers(1)[1]  # the demo's "slow breathing" phase: 6/min in the plan
    assert paced["breaths_per_min"] == pytest.approx(15.0, abs=0.5)  # what was breathed
    assert paced["hf_valid"] is True
