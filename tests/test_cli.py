"""The command line: fast help, version, exit codes and one-line errors on bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hrvcoach import __version__
from hrvcoach.views.cli import main
from tests.helpers import shared_recording

HEAVY_MODULES = ("numpy", "neurokit2", "PySide6", "matplotlib", "pyqtgraph", "bleak", "scipy")


def run_cli(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HRVCOACH_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "hrvcoach", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def test_help_imports_no_heavy_module():
    code = ("import sys\nfrom hrvcoach.views.cli import main\n"
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
        (["demo", "--speed", "0"], "argument --speed: must be a positive number, got '0'"),
        (["demo", "--speed", "fast"], "argument --speed: not a number: 'fast'"),
        (["demo", "--duration", "-3"], "argument --duration: must be a positive number"),
        (["demo", "--sim-resonance", "12"], "resonance rates lie within 3–10 breaths/min"),
        (["demo", "--sim-artifacts", "-1"], "must be a number >= 0"),
        (["demo", "--screenshot", "out.jpg"], "name it *.png"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
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
    assert f"{bad}: phase[0] (paced).breaths_per_min: must be positive" in capsys.readouterr().err


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
    source = shared_recording("polar_h10_breathing_10min/rr.csv")
    result = run_cli("replay", str(source), "--headless", "--speed", "500", "--duration", "120",
                     home=tmp_path)
    assert result.returncode == 0, result.stderr
    recordings = list((tmp_path / "recordings").glob("*.csv"))
    assert len(recordings) == 1 and f"recording saved: {recordings[0]}" in result.stdout
    from hrvcoach.formats import read_rr_file

    played = read_rr_file(recordings[0]).rr_ms
    original = read_rr_file(source).rr_ms
    assert played.size > 100
    assert played.tolist() == original[: played.size].tolist()
