"""A full disk during a session, on a real (small) disk: a tmpfs mounted in a private mount
namespace (`unshare`), so the test needs no root and leaves no mount behind. The session keeps
going, says so once, ends with one line and exit 1 if the disk stays full, loses no beat that was
already written, and the next start says what happened; with room again, everything is saved.

Where `unshare` cannot mount (a CI without user namespaces), these tests skip and say so; the
same behaviour is tested without a real disk in tests/unit/app/test_full_disk_recording.py
(ENOSPC injected into the journal's writes, SQLite's max_page_count for the store).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hrvcoach.files.journal import read_journal
from hrvcoach.store import Store
from tests.helpers import REPO, cli_env

FILL = ("import os, sys; path, keep = sys.argv[1], int(sys.argv[2]); s = os.statvfs(os.path.dirname(path)); "
        "free = s.f_bavail * s.f_frsize; open(path, 'wb').write(b'x' * max(free - keep, 0))")


def _can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c",
                            "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || "
                            "mount -t tmpfs -o size=64k tmpfs /tmp"], capture_output=True, check=False)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_mount(), reason="unshare cannot mount a tmpfs here (no "
                                "user or mount namespaces): the simulated full disk of "
                                "tests/unit/app/test_full_disk_recording.py covers this")


def on_a_small_disk(tmp_path: Path, steps: list[str], size_kb: int = 4096) -> Path:
    """Run shell `steps` with DISK a fresh tmpfs of `size_kb` KB and OUT a folder on the real
    disk (each step's stdout, stderr and exit code land in OUT/<n>.out, .err, .code; FILL PATH
    BYTES fills the disk but for BYTES); the data folder DISK/home is copied to OUT/home."""
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    hrvcoach = f"{sys.executable} -m hrvcoach"
    script = [f"mount -t tmpfs -o size={size_kb}k tmpfs {disk} || exit 99"]
    for number, step in enumerate(steps, start=1):
        command = step.replace("HRVCOACH", hrvcoach).replace("DISK", str(disk)).replace("FILL", (
            f"{sys.executable} -c \"{FILL}\"")).replace("OUT", str(out))
        script.append(f"( {command} ) > {out}/{number}.out 2> {out}/{number}.err; "
                      f"echo $? > {out}/{number}.code")
    script.append(f"cp -a {disk}/home {out}/home")
    env = {**cli_env(disk / "home"), "PYTHONPATH": str(REPO)}
    result = subprocess.run(["unshare", "--mount", "--map-root-user", "sh", "-c", "\n".join(script)],
                            env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return out


def step(out: Path, number: int) -> tuple[int, str, str]:
    return (int((out / f"{number}.code").read_text()), (out / f"{number}.out").read_text(),
            (out / f"{number}.err").read_text())


def second_journal(out: Path) -> Path:
    """The second session's journal: the one written last (two sessions started within one
    second share a name but for a "-2", which sorts first)."""
    return max((out / "home" / "recordings").glob("*.csv"), key=lambda path: path.stat().st_mtime)


def test_a_disk_that_fills_up_and_stays_full_loses_no_written_beat_and_ends_in_one_line(tmp_path):
    out = on_a_small_disk(tmp_path, [
        "HRVCOACH demo --headless --speed 2000 --duration 60",  # the store exists, with a session
        "FILL DISK/filler 102400",  # 100 KB left: the store fills first, then the journal
        "HRVCOACH demo --headless --speed 40 --duration 400 --seed 2",
        "HRVCOACH sessions --json",  # the next start, the disk still full
        "rm DISK/filler; HRVCOACH sessions --json",  # room again
    ])
    code, stdout, stderr = step(out, 3)
    assert code == 1 and "Traceback" not in stderr
    assert stdout.count("[RECORDING PROBLEM] cannot write the recording (") == 1
    assert "the session goes on and keeps its beats in memory" in stdout
    assert re.search(r"\d\d:\d\d  HR ", stdout.split("[RECORDING PROBLEM]")[1])  # it went on
    (error,) = [line for line in stderr.splitlines() if line.startswith("hrvcoach: error:")]
    assert "could not be saved completely" in error and "the next start recovers" in error
    code, stdout, stderr = step(out, 4)  # the next start, the disk still full: it says so
    assert code in (0, 1) and "Traceback" not in stderr and "damaged" not in stderr, stderr
    assert "the disk is full" in stderr
    if code == 1:  # no room even for the store's WAL index: one line
        (error,) = stderr.splitlines()
        assert "nothing stored so far is lost" in error
    code, stdout, stderr = step(out, 5)
    assert code == 0 and "Traceback" not in stderr, stderr
    assert "session 2" in step(out, 4)[2] + stderr and "was interrupted" in step(out, 4)[2] + stderr
    journal = read_journal(second_journal(out), tolerate_cut_end=False)  # whole lines only
    with Store.open(out / "home") as store:
        assert store.integrity_ok()
        stored = store.beats(2)
        info = store.session(2)
    assert info.status == "interrupted"
    assert list(stored.rr_ms) == [beat.rr_ms for beat in journal.beats]  # nothing written lost
    assert len(stored) > 100


def test_room_again_during_the_session_saves_every_beat(tmp_path):
    out = on_a_small_disk(tmp_path, [
        "HRVCOACH demo --headless --speed 2000 --duration 60",
        "FILL DISK/filler 102400",
        # room again once the session has said the disk is full (at most 60 s later)
        "(for i in $(seq 600); do grep -q 'RECORDING PROBLEM' OUT/3.out && break; sleep 0.1; done; "
        "sleep 0.5; rm DISK/filler) & HRVCOACH demo --headless --speed 40 --duration 400 --seed 2; "
        "wait",
    ])
    code, stdout, stderr = step(out, 3)
    assert code == 0 and "Traceback" not in stderr, stderr
    assert stdout.count("[RECORDING PROBLEM]") == 1
    assert "[recording] the recording is written again: no beat was lost" in stdout
    journal = read_journal(second_journal(out), tolerate_cut_end=False)
    with Store.open(out / "home") as store:
        info = store.session(2)
        stored = store.beats(2)
    assert info.status == "completed"
    assert list(stored.rr_ms) == [beat.rr_ms for beat in journal.beats]
    assert f"saved (completed, {info.n_beats} beats)" in stdout
