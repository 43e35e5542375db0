"""Speed of the foundation's hot paths; one command, prints a table naming the machine.

    .venv/bin/python benchmarks/run.py
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import machine_line, run_times  # noqa: E402  (benchmarks/, the script's own folder)

from hrvcoach.analysis.live import LiveMarkers  # noqa: E402
from hrvcoach.core.beats import Beat  # noqa: E402
from hrvcoach.files.rr_files import read_rr_file  # noqa: E402
from hrvcoach.protocols.pacer import Pacer  # noqa: E402
from hrvcoach.protocols.protocol import load_protocol  # noqa: E402

DAY_FILE = REPO.parent / "shared" / "data" / "physionet_rr_rhrvbook" / "nsr2db" / "nsr001_rr_secs.txt"


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(run_times(fn, repeat)) * 1000.0


def live_markers_per_beat(beats: list[Beat]) -> Callable[[], object]:
    def run() -> None:
        live = LiveMarkers()
        for beat in beats:
            live.update(beat)

    return run


def simulate(minutes: float) -> Callable[[], object]:
    from hrvcoach.sources.simulator import SimulatedPerson, simulate_beats

    pacer = Pacer.for_protocol(load_protocol("qigong"))

    def run() -> None:
        for item in simulate_beats(pacer, SimulatedPerson(), seed=1):
            if item.beat.time_s > minutes * 60:
                break

    return run


def main() -> None:
    rng = np.random.default_rng(0)
    rr = 850 + 40 * rng.standard_normal(3600)  # no artifacts: the plain live path
    beats = [Beat(float(r), float(t)) for r, t in zip(rr, np.cumsum(rr) / 1000, strict=True)]
    pacer = Pacer.for_protocol(load_protocol("qigong"))
    cases: list[tuple[str, Callable[[], object], int, int]] = [
        ("live markers (all), 3600 beats (per beat)", live_markers_per_beat(beats), 5, len(beats)),
        ("pacer.state_at (per call)", lambda: [pacer.state_at(t) for t in range(1000)], 20, 1000),
        ("simulate 30 min of beats", simulate(30), 5, 1),
    ]
    if DAY_FILE.exists():
        cases.append(("read 24-h RR file (~106k beats)", lambda: read_rr_file(DAY_FILE), 5, 1))
    else:
        print(f"# skipped the 24-h file: {DAY_FILE} missing")
    print(f"{machine_line()}, numpy {np.__version__}")
    print(f"{'case':<42}{'median':>14}")
    for name, fn, repeat, per in cases:
        total_ms = median_ms(fn, repeat)
        value = f"{total_ms * 1000 / per:.1f} µs" if per > 1 else f"{total_ms:.1f} ms"
        print(f"{name:<42}{value:>14}")


if __name__ == "__main__":
    main()
