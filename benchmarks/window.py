"""Speed of the coach window: start-up to the first drawn frame, frame times with 1 and 60
minutes of session data, the CPU the window's own 30 frames a second take (normal and focus
view, 60 minutes of data) and the CPU the whole app uses while coaching a simulated session in
real time. One command, prints a table:

    .venv/bin/python benchmarks/window.py            # about 5 minutes
    .venv/bin/python benchmarks/window.py --quick    # shorter runs, rougher numbers

Start-up: `hrvcoach demo` (offscreen window) from the moment the process is spawned until it
logs that Qt painted the first frame (the moment session time starts), median of 5 runs.

Window CPU: a shown window holding 60 minutes of a session; its own frame timer draws at 30 fps
while the rest of the session's events arrive in real time; process CPU time (all threads) over
the stretch, in % of one core, at 1280x800 and 1920x1080, normal and focus view.

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
from PySide6 import QtCore, QtWidgets  # noqa: E402

from hrvcoach.core.clock import InstantClock  # noqa: E402
from hrvcoach.protocols.pacer import Pacer  # noqa: E402
from hrvcoach.protocols.protocol import Breath, Phase, Protocol  # noqa: E402
from hrvcoach.session import Session, SessionEnded, SessionEvent  # noqa: E402
from hrvcoach.sources.simulator import SimulatedPerson, SimulatedStrap  # noqa: E402
from hrvcoach.views.qt.window import CoachWindow  # noqa: E402

STARTUP_SCRIPT = ("import logging, sys; logging.basicConfig(level=logging.INFO, "
                  "format='%(name)s %(message)s'); from hrvcoach.views.cli.main import main; "
                  "sys.exit(main(sys.argv[1:]))")

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


def startup_s(runs: int) -> list[float]:
    """Seconds from spawning `hrvcoach demo` (offscreen) to its first drawn frame, per run."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "HRVCOACH_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
            begin = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-c", STARTUP_SCRIPT, "demo", "--speed", "1", "--duration", "30",
                 "--screenshot", f"{home}/shot.png"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                assert process.stderr is not None
                for line in process.stderr:
                    if "first frame drawn" in line:
                        times.append(time.perf_counter() - begin)
                        break
                else:
                    raise RuntimeError("hrvcoach demo never drew its first frame")
            finally:
                process.terminate()
                process.wait(timeout=30)
    return times


def window_cpu_pct(app: QtWidgets.QApplication, events: list[SessionEvent], *, focus: bool,
                   size: tuple[int, int], seconds: float) -> float:
    """CPU (% of one core) of a shown window drawing at 30 fps on its own timer, 60 minutes into
    a session whose beats keep arriving in real time."""
    clock = InstantClock()
    window = CoachWindow(HOUR, Pacer.for_protocol(HOUR), clock)
    window.resize(*size)
    start_s = 3600.0 - seconds - 5.0
    pending = iter(events)
    event = next(pending, None)
    while event is not None and getattr(event, "time_s", 0.0) <= start_s:
        window.handle(event)
        event = next(pending, None)
    clock.advance_to(start_s)
    window.show()
    if focus:
        window.toggle_focus()
    began = time.perf_counter()

    def arrive() -> None:  # the session's part: the clock runs, beats arrive
        nonlocal event
        clock.advance_to(start_s + time.perf_counter() - began)
        while event is not None and getattr(event, "time_s", 0.0) <= clock.now():
            window.handle(event)
            event = next(pending, None)

    feeder = QtCore.QTimer()
    feeder.timeout.connect(arrive)
    feeder.start(20)
    run_events(2.0)  # settle: first paints, caches
    frames0, cpu0, wall0 = window.frames_rendered, time.process_time(), time.perf_counter()
    run_events(seconds)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    fps = (window.frames_rendered - frames0) / (wall1 - wall0)
    feeder.stop()
    window.close()
    window.deleteLater()
    app.processEvents()
    assert fps > 25, f"the window drew only {fps:.1f} frames a second"
    return 100.0 * (cpu1 - cpu0) / (wall1 - wall0)


def run_events(seconds: float) -> None:
    """Let Qt's event loop run (timers fire, the window paints) for this long, idle between."""
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def app_cpu_pct(mode: str, settle_s: float, measure_s: float) -> float:
    """CPU of the whole `hrvcoach demo` process, in % of one core, over a steady stretch."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HRVCOACH_HOME": home, "QT_QPA_PLATFORM": "offscreen"}
        args = ["--headless"] if mode == "headless" else ["--screenshot", f"{home}/shot.png"]
        paced = Path(home) / "paced.toml"  # paced from the start: the pacer moves all along
        paced.write_text('[[phase]]\nkind = "paced"\nminutes = 10\nbreaths_per_min = 6\n')
        process = subprocess.Popen(
            [sys.executable, "-m", "hrvcoach", "demo", "--speed", "1", "--duration",
             str(settle_s + measure_s + 10), "--protocol", str(paced), *args],
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
    starts = startup_s(3 if args.quick else 5)
    print(f"{'start-up: spawn to first drawn frame':<44}{'median s':>10}{'max s':>9}")
    print(f"{'  hrvcoach demo (offscreen)':<44}{statistics.median(starts):>10.2f}"
          f"{max(starts):>9.2f}")
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
    window_s = 10.0 if args.quick else 30.0
    print(f"{'window at 30 fps, 60 min of data':<44}{'CPU % of one core':>28}")
    for size in ((1280, 800), (1920, 1080)):
        for focus in (False, True):
            label = f"  {'focus' if focus else 'normal'} view, {size[0]}x{size[1]}"
            pct_cpu = window_cpu_pct(app, events, focus=focus, size=size, seconds=window_s)
            print(f"{label:<44}{pct_cpu:>28.1f}")
    print(f"{'whole app, live demo at real time':<44}{'CPU % of one core':>28}")
    for mode in ("window", "headless"):
        print(f"{'  ' + mode + f' ({cpu_s:g} s after 15 s)':<44}"
              f"{app_cpu_pct(mode, 15.0, cpu_s):>28.1f}")


if __name__ == "__main__":
    main()
