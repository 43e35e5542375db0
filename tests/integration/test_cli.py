"""The command line: fast help, version, exit codes and one-line errors on bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hrvcoach import __version__
from hrvcoach.views.cli.main import main
from tests.helpers import real_recording, run_cli

HEAVY_MODULES = ("numpy", "neurokit2", "PySide6", "matplotlib", "pyqtgraph", "bleak", "scipy")


def test_help_imports_no_heavy_module():
    code = ("import sys\nfrom hrvcoach.views.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "demo" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"hrvcoach {__version__}"


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: hrvcoach" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--speed", "0"], "argument --speed: must be 0.01–10000 (session seconds per"),
        (["demo", "--speed", "fast"], "argument --speed: not a number: 'fast'"),
        (["demo", "--duration", "-3"], "argument --duration: must be a positive number"),
        (["demo", "--sim-resonance", "12"], "resonance rates lie within 3–10 breaths/min"),
        (["demo", "--sim-artifacts", "-1"], "must be a number from 0 to 30"),
        (["demo", "--screenshot", "out.jpg"], "name it *.png"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["demo", "--size", "800x500"], "the window is at least 960x600, got '800x500'"),
        (["demo", "--size", "big"], "a window size is WIDTHxHEIGHT in pixels"),
        (["demo", "--sound", "loud"], "invalid choice: 'loud'"),
        (["demo", "--volume", "120"], "the volume is 0-100 (%)"),
        (["demo", "--sound-file", "cues.mp3"], "name it *.wav"),
    ],
)
def test_bad_arguments_exit_2_with_the_argument_named(capsys, args, message):
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_protocol_exits_2_with_one_line(capsys, tmp_path):
    assert main(["--data-dir", str(tmp_path), "demo", "--protocol", "nope", "--headless"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown protocol 'nope'" in err
    assert not (tmp_path / "recordings").exists()  # nothing half-written


def test_bad_protocol_file_names_file_and_field(capsys, tmp_path):
    bad = tmp_path / "mine.toml"
    bad.write_text('[[phase]]\nkind = "paced"\nminutes = 5\nbreaths_per_min = -6\n')
    assert main(["--data-dir", str(tmp_path), "demo", "--protocol", str(bad), "--headless"]) == 2
    expected = f"{bad}: phase[0] (paced).breaths_per_min: must lie within 1–30 breaths/min, got -6"
    assert expected in capsys.readouterr().err


def test_bad_replay_file_names_file_and_line(capsys, tmp_path):
    bad = tmp_path / "rr.txt"
    bad.write_text("800\n810\n8x0\n")
    assert main(["--data-dir", str(tmp_path), "replay", str(bad), "--headless"]) == 2
    assert f"{bad}:3: RR is not a number: '8x0'" in capsys.readouterr().err


def test_screenshot_and_headless_together_is_a_usage_error(capsys, tmp_path):
    args = ["--data-dir", str(tmp_path), "demo", "--headless", "--screenshot", "x.png"]
    assert main(args) == 2
    assert "--screenshot: cannot be combined with --headless" in capsys.readouterr().err


def test_replay_headless_records_every_beat_it_played(tmp_path):
    source = real_recording("polar_h10_breathing_10min/rr.csv")
    result = run_cli("replay", str(source), "--headless", "--speed", "500", "--duration", "120",
                     home=tmp_path)
    assert result.returncode == 0, result.stderr
    recordings = list((tmp_path / "recordings").glob("*.csv"))
    assert len(recordings) == 1 and f"recording saved: {recordings[0]}" in result.stdout
    from hrvcoach.files.rr_files import read_rr_file

    played = read_rr_file(recordings[0]).rr_ms
    original = read_rr_file(source).rr_ms
    assert played.size > 100
    assert played.tolist() == original[: played.size].tolist()


def rmssd_by_time(stdout: str) -> dict[int, float]:
    """{seconds: RMSSD} from the headless progress lines ("01:10  HR  65.4 bpm  RMSSD  23.1 ms ...")."""
    values = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) > 5 and parts[1] == "HR" and parts[4] == "RMSSD" and parts[5] != "—":
            minutes, seconds = parts[0].split(":")
            values[int(minutes) * 60 + int(seconds)] = float(parts[5])
    return values


def test_headless_demo_shows_rmssd_rising_once_paced_breathing_starts(tmp_path):
    # the simulated beats are the same on any machine (seed 3: 1.28x, also at 600x under load)
    result = run_cli("demo", "--headless", "--speed", "600", "--duration", "300", "--seed", "3",
                     home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "phase 2: slow breathing (paced" in result.stdout
    assert "session ended (duration reached)" in result.stdout
    rmssd = rmssd_by_time(result.stdout)
    baseline = [v for t, v in rmssd.items() if 20 <= t < 60]
    late_paced = [v for t, v in rmssd.items() if 180 <= t < 240]
    assert len(baseline) >= 3 and len(late_paced) >= 5
    assert sum(late_paced) / len(late_paced) > 1.25 * sum(baseline) / len(baseline)


def test_demo_without_a_display_runs_headless_and_says_so(tmp_path):
    result = run_cli("demo", "--speed", "600", "--duration", "30", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no display found, running headless" in result.stderr
    assert "Aborted" not in result.stderr and "qt.qpa" not in result.stderr
    assert "session ended" in result.stdout


def test_demo_screenshot_writes_a_non_blank_png_of_the_window(tmp_path):
    png = tmp_path / "shots" / "coach.png"
    result = run_cli("demo", "--screenshot", str(png), "--speed", "60", "--duration", "75",
                     home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"screenshot saved: {png}" in result.stdout
    from PySide6.QtGui import QImage

    from hrvcoach.views.qt.window import WINDOW_SIZE

    image = QImage(str(png))
    assert (image.width(), image.height()) == WINDOW_SIZE == (1280, 800)
    colours = {image.pixel(x, y) for x in range(0, 1280, 7) for y in range(0, 800, 7)}
    assert len(colours) > 100


def test_the_focus_view_and_the_summary_are_screenshots_at_any_size(tmp_path):
    from PySide6.QtGui import QImage

    focus = tmp_path / "focus.png"
    result = run_cli("demo", "--focus", "--size", "1920x1080", "--screenshot", str(focus),
                     "--speed", "60", "--duration", "75", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (QImage(str(focus)).width(), QImage(str(focus)).height()) == (1920, 1080)
    summary = tmp_path / "summary.png"
    result = run_cli("demo", "--screenshot", str(summary), "--screenshot-summary", "--size",
                     "960x600", "--speed", "300", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (QImage(str(summary)).width(), QImage(str(summary)).height()) == (960, 600)
    setup = tmp_path / "setup.png"
    result = run_cli("window", "--screenshot", str(setup), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"screenshot saved: {setup}" in result.stdout and QImage(str(setup)).width() == 1280


def test_headless_sound_without_a_sound_card_goes_on_silently_and_the_wav_has_the_cues(tmp_path):
    import wave

    cues = tmp_path / "cues.wav"
    result = run_cli("demo", "--headless", "--speed", "1000", "--sound", "on", "--sound-file",
                     str(cues), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hrvcoach: no sound: " in result.stderr  # --speed 1000: sound plays in real time only
    assert f"sound saved: {cues}" in result.stdout
    with wave.open(str(cues)) as file:  # the demo's 5 minutes and the last chime's ring
        assert file.getnframes() / file.getframerate() == pytest.approx(300.0 + 5.0, abs=0.01)


def test_ctrl_c_stops_the_session_keeps_the_recording_and_exits_130(tmp_path):
    import signal

    from hrvcoach.files.rr_files import read_rr_file

    env = {**os.environ, "HRVCOACH_HOME": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "hrvcoach", "demo", "--headless", "--speed", "20"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    for line in process.stdout:  # wait until beats flow
        if " HR " in line:
            break
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "session ended (stopped)" in out
    recording = next((tmp_path / "recordings").glob("*.csv"))
    assert f"stopped; recording saved: {recording}" in out
    assert read_rr_file(recording).rr_ms.size >= 10
