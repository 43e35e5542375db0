"""Speed of the coach window: frame times with 1 and 60 minutes of session data, and the CPU the
whole app uses while coaching a simulated session in real time. One command, prints a table:

    .venv/bin/python benchmarks/window.py            # about 3 minutes
    .venv/bin/python benchmarks/window.py --quick    # shorter runs, rougher numbers

Frames: a real session (simulated strap, artifacts on) runs on an InstantClock for the session
length; its events are then fed to a shown (offscreen) 1280x800 window as they would arrive, and
the window's timer frames run at 30 per second of real time. A frame's time is the window's own
work (`tick`) plus Qt painting what changed (`processEvents`). "all panels" frames redraw every
panel (what the timer does at most a few times a second).

CPU: `hrvcoach demo --speed 1 --screenshot` (the real app, offscreen, 30 fps) and, for
comparison, `--headless`; process CPU time (user + system, from /proc) over a steady stretch.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from common import machine_line  # noqa: E402  (benchmarks/, the script's own folder)
from PySide6 import QtWidgets  # noqa: E402

from hrvcoach.core.clock import InstantClock  # noqa: E402
from hrvcoach.protocols.pacer import Pacer  # noqa: E402
from hrvcoach.protocols.protocol import Breath, Phase, Protocol  # noqa: E402
from hrvcoach.session import Session, SessionEnded, SessionEvent  # noqa: E402
from hrvcoach.sources.simulator import SimulatedPerson, SimulatedStrap  # noqa: E402
from hrvcoach.views.qt.window import CoachWindow  # noqa: E402

HOUR = Protocol("hour", "an hour of paced breathing", (
    Phase("settle", "baseline", 30.0, guidance="Breathe as usual."),
    Phase("slow breathing", "paced", 3600.0, 6.0, Breath(0.4, 0.0, 0.6, 0.0),
          "Follow the pacer."),
))  # paced at both measuring points, so the pacer disc moves in every frame
FPS = 30.0


def session_events(until_s: float) -> list[SessionEvent]:
    clock = InstantClock()
    events: list[SessionEvent] = []
    strap = SimulatedStrap(Pacer.for_protocol(HOUR), clock, SimulatedPerson(), seed=7,
                           artifacts_per_min=0.5)
    asyncio.run(Session(HOUR, strap, events.append, duration_s=until_s, clock=clock).run())
    return [e for e in events if not isinstance(e, SessionEnded)]


def frame_times_ms(app: QtWidgets.QApplication, events: list[SessionEvent], end_s: float,
                   frames: int, *, all_panels: bool, history_s: float = 1e9) -> list[float]:
    """Feed the session up to `end_s - frames / FPS` (only its last `history_s`), then time
    `frames` live frames."""
    clock = InstantClock()
    window = CoachWindow(HOUR, Pacer.for_protocol(HOUR), clock)
    window.show()
    window._timer.stop()  # this loop is the timer: one frame per 1/30 s, at a chosen time
    app.processEvents()
    start_s = end_s - frames / FPS
    pending = iter(events)
    event = next(pending, None)
    while event is not None and getattr(event, "time_s", 0.0) <= start_s:
        if getattr(event, "time_s", 0.0) >= start_s - history_s:
            window.handle(event)
        event = next(pending, None)
    window.render_frame(start_s)
    app.processEvents()
    times = []
    next_frame = time.perf_counter()
    for i in range(frames):
        t_s = start_s + i / FPS
        clock.advance_to(t_s)
        while event is not None and getattr(event, "time_s", 0.0) <= t_s:
            window.handle(event)  # beats arrive between frames
            event = next(pending, None)
        begin = time.perf_counter()
        if all_panels:
            window.render_frame(t_s)
        else:
            window.tick(t_s)
        app.processEvents()
        times.append((time.perf_counter() - begin) * 1000.0)
        next_frame += 1.0 / FPS  # real-time pacing: the throttles see real seconds
        time.sleep(max(next_frame - time.perf_counter(), 0.0))
    assert window.pacer_item.paints > 0, "the offscreen platform painted nothing"
    window.close()
    window.deleteLater()
    app.processEvents()
    return times


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def app_cpu_pct(mode: str, settle_s: float, measure_s: float) -> float:
    """CPU of the whole `hrvcoach demo` process, in % of one core, over a steady stretch."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HRVCOACH_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        args = ["--headless"] if mode == "headless" else ["--screenshot", f"{home}/shot.png"]
        process = subprocess.Popen(
            [sys.executable, "-m", "hrvcoach", "demo", "--speed", "1", "--duration",
             str(settle_s + measure_s + 10), *args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(settle_s)
            cpu0, wall0 = cpu_seconds(process.pid), time.monotonic()
            time.sleep(measure_s)
            cpu1, wall1 = cpu_seconds(process.pid), time.monotonic()
        finally:
            process.terminate()
            process.wait(timeout=30)
    return 100.0 * (cpu1 - cpu0) / (wall1 - wall0)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (rougher numbers)")
    args = parser.parse_args()
    frames = 300 if args.quick else 900
    cpu_s = 20.0 if args.quick else 60.0

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["benchmark"])
    print(f"{machine_line()}, Qt offscreen")
    events = session_events(3600.0)
    print(f"# {len(events)} session events for 60 min; {frames} frames per row at {FPS:g} fps")
    print(f"{'frames':<44}{'median ms':>10}{'p99 ms':>9}{'max ms':>9}")
    rows = [("timer frames (as live), 1 min of data", 60.0, False, 1e9),
            ("timer frames (as live), 60 min of data", 3600.0, False, 1e9),
            ("  same frames, only the last 2 min fed", 3600.0, False, 120.0),
            ("all panels redrawn, 1 min of data", 60.0, True, 1e9),
            ("all panels redrawn, 60 min of data", 3600.0, True, 1e9)]
    for what, end_s, all_panels, history_s in rows:
        times = frame_times_ms(app, events, end_s, frames if not all_panels else frames // 3,
                               all_panels=all_panels, history_s=history_s)
        print(f"{what:<44}{statistics.median(times):>10.2f}{pct(times, 99):>9.2f}"
              f"{max(times):>9.2f}")
    print(f"{'whole app, live demo at real time':<44}{'CPU % of one core':>28}")
    for mode in ("window", "headless"):
        print(f"{'  ' + mode + f' ({cpu_s:g} s after 15 s)':<44}"
              f"{app_cpu_pct(mode, 15.0, cpu_s):>28.1f}")


if __name__ == "__main__":
    main()
