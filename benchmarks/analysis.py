"""Speed of the analysis engine against neurokit2; one command, prints a table naming the machine.

    .venv/bin/python benchmarks/analysis.py                     # about 5 minutes on 2 cores
    .venv/bin/python benchmarks/analysis.py --processes-only    # the whole-process part only

Whole processes (issue 15): benchmarks/processes.py's docstring says what runs; goals: one
24-h recording >= 20x faster than neurokit2 as a whole process; 16 x 24 h with --jobs 2 on 2
cores >= 1.7x the throughput of --jobs 1; the same through a local Dask cluster within 15 % of
--jobs 2.

Goals (issue 4): the live per-beat update >= 50x cheaper than neurokit2 recomputing the same
windows and <= 240 us (>= 5x cheaper than the 1.2 ms of the best other library); the 24-h
analysis >= 20x faster than the neurokit2 loop and under 2 s; `hrvcoach --help` under 0.3 s.

Live, per beat, on the first 1200 beats of each recording (the first WARM beats only fill the
windows and are not timed). Every window ends at a beat of the recording and holds the beats
whose cumulative time t satisfies now - W < t <= now (what LiveMarkers takes). Except inside
LiveMarkers (which keeps its own windows: part of its work), the windows are cut out beforehand
with boolean masks, for both sides alike, so only the calls are timed. hrvcoach, best of 3 over
every beat after WARM (470 in the 10-min recording, 1050 in the other):

- all markers: one `LiveMarkers.update` (HR over 10 s; RMSSD, SDNN, pNN50, SD1/SD2, stress
  index over 60 s; LF, HF, LF/HF, peaks, breathing rate, power at the breathing rate,
  peak-to-trough over 120 s; coherence over 64 s), beats as recorded or corrected as they arrive
  (the streaming artifact detector, and re-applying the corrections while flagged beats are in
  the windows);
- neurokit2's markers only: `time_markers(rr_60s)` + `frequency_markers(spectrum_of(
  resample_rr(rr_120s)))`, the batch functions LiveMarkers calls, i.e. exactly what neurokit2
  computes in (a) and nothing else.

neurokit2, best of 3 over every k-th of the same beats (~200, evenly spread; each takes ms):

- (a) `hrv_time` on the 60-s window + `hrv_frequency` on the 120-s window with
  `normalize=False, interpolation_rate=4` (its fastest setting; our numbers are checked
  against it);
- (b) the same with `normalize=False` only (neurokit2's default interpolation_rate=100): what a
  neurokit2 user runs;
- (c) for the corrected rows, in the (a) column: the 120-s window corrected first
  (`signal_fixpeaks(intervals_to_peaks(rr, sampling_rate=1000), sampling_rate=1000,
  method="Kubios")`, then `np.diff` of the cleaned peaks), then (a) on the cleaned beats (the
  60-s window is the cleaned beats of the last 60 s); in the (b) column the same with the default
  interpolation. The Kubios correction has no streaming form: it is rerun on each window.

24 h, on a ~106k-beat file: `read_rr_file` + `analyze(rr, window_s=300)` (Lipponen & Tarvainen
detection with iterative correction, then every marker on the whole record and on each 5-min
window; best of 3) against neurokit2 doing the reading, `signal_fixpeaks(method="Kubios")`,
`hrv_time` on the whole record and `hrv_time` + `hrv_frequency` per 5-min window, with
(a) interpolation_rate=4 and (b) the default (best of 2 each).

Start-up: the median of 7 runs of `python -m hrvcoach --help`.

Recordings from ../shared/data are used when present; a missing one is skipped with a message.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import scipy

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from common import machine_line, run_times  # noqa: E402  (benchmarks/, the script's own folder)
from processes import print_whole_process_table  # noqa: E402

from hrvcoach.analysis import (  # noqa: E402
    LiveMarkers,
    analyze,
    frequency_markers,
    resample_rr,
    spectrum_of,
    time_markers,
)
from hrvcoach.core.beats import Beat  # noqa: E402
from hrvcoach.files.rr_files import read_rr_file  # noqa: E402

DATA = REPO.parent / "shared" / "data"
DAY_FILE = DATA / "physionet_rr_rhrvbook" / "nsr2db" / "nsr001_rr_secs.txt"
LIVE_FILES = {
    "clean (Polar H10, 10 min)": DATA / "polar_h10_breathing_10min" / "rr.csv",
    "many flags (NSRDB 60 min, 20 min)": DATA / "pyhrv_samples" / "nsrdb_nni_60min_rr.csv",
}
LIVE_BEATS = 1200  # beats of each recording used
WARM = 150  # beats that fill the windows before timing starts (> 120 s at any usual heart rate)
NK_BEATS = 200  # about this many of the timed beats for neurokit2 (evenly spread)
SHORT_S = 60.0  # LiveMarkers' time-domain window
LONG_S = 120.0  # LiveMarkers' spectrum window
FAST: dict[str, Any] = {"normalize": False, "interpolation_rate": 4}  # (a)
DEFAULT: dict[str, Any] = {"normalize": False}  # (b)

Timing = float | None  # None: not measured (neurokit2 missing)


@dataclass(frozen=True, slots=True)
class Windows:
    """The 60-s and 120-s windows ending at each of some beats of a recording."""

    short: list[np.ndarray]
    long: list[np.ndarray]


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Seconds: the best of `repeat` runs (the least disturbed by other processes)."""
    return min(run_times(fn, repeat))


def beats_of(rr: np.ndarray) -> list[Beat]:
    times = np.cumsum(rr) / 1000.0
    return [Beat(float(r), float(t)) for r, t in zip(rr, times, strict=True)]


def windows_of(rr: np.ndarray, ends: range) -> Windows:
    """Cut the windows ending at each beat in `ends` by masks on cumulative times."""
    times = np.cumsum(rr) / 1000.0
    short, long = [], []
    for end in ends:
        now = times[end]
        short.append(rr[(times > now - SHORT_S) & (times <= now)].copy())
        long.append(rr[(times > now - LONG_S) & (times <= now)].copy())
    return Windows(short, long)


# -- live, hrvcoach -------------------------------------------------------------------------


def live_per_beat_us(beats: list[Beat], *, correct: bool) -> float:
    """One LiveMarkers.update (all markers) per beat after WARM; best of 3."""
    best = float("inf")
    for _ in range(3):
        live = LiveMarkers(correct_artifacts=correct)
        for beat in beats[:WARM]:
            live.update(beat)
        start = time.perf_counter()
        for beat in beats[WARM:]:
            live.update(beat)
        best = min(best, time.perf_counter() - start)
    return best / (len(beats) - WARM) * 1e6


def neurokit_markers_per_beat_us(windows: Windows) -> float:
    """Only what neurokit2 computes in (a), with our batch functions; best of 3."""
    pairs = list(zip(windows.short, windows.long, strict=True))

    def run() -> None:
        for short, long in pairs:
            time_markers(short)
            frequency_markers(spectrum_of(resample_rr(long)))

    return best_of(run, 3) / len(pairs) * 1e6


# -- live, neurokit2 ------------------------------------------------------------------------


def rri(rr: np.ndarray) -> dict[str, np.ndarray]:
    return {"RRI": rr, "RRI_Time": np.cumsum(rr) / 1000.0}


def nk_live_per_beat_us(nk: ModuleType, windows: Windows, settings: dict[str, Any]) -> float:
    """(a) or (b): hrv_time on 60 s + hrv_frequency on 120 s per beat; best of 3."""
    pairs = [(rri(short), rri(long)) for short, long in zip(windows.short, windows.long, strict=True)]

    def run() -> None:
        for short, long in pairs:
            nk.hrv_time(short)
            nk.hrv_frequency(long, **settings)

    return best_of(run, 3) / len(pairs) * 1e6


def nk_fixed(nk: ModuleType, rr: np.ndarray) -> np.ndarray:
    """RR after neurokit2's Kubios correction (signal_fixpeaks on the peaks of rr)."""
    peaks = nk.intervals_to_peaks(rr, sampling_rate=1000)
    _, clean = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios")
    return np.diff(clean).astype(float)


def nk_corrected_per_beat_us(nk: ModuleType, windows: Windows, settings: dict[str, Any]) -> float:
    """(c): correct the 120-s window, then hrv_time on its last 60 s + hrv_frequency; best of 3."""
    longs = windows.long

    def run() -> None:
        for long in longs:
            fixed = nk_fixed(nk, long)
            times = np.cumsum(fixed) / 1000.0
            short = fixed[times > times[-1] - SHORT_S]
            nk.hrv_time(rri(short))
            nk.hrv_frequency({"RRI": fixed, "RRI_Time": times}, **settings)

    return best_of(run, 3) / len(longs) * 1e6


# -- 24 h ------------------------------------------------------------------------------------


def ours_day_s() -> float:
    def run() -> None:
        rr = read_rr_file(DAY_FILE).rr_ms
        analyze(rr, window_s=300.0)

    return best_of(run, 3)


def nk_day_s(nk: ModuleType, settings: dict[str, Any]) -> float:
    def run() -> None:
        rr = read_rr_file(DAY_FILE).rr_ms[1:]  # the first value is the offset to the first beat
        fixed = nk_fixed(nk, rr)
        nk.hrv_time(rri(fixed))
        times = np.cumsum(fixed) / 1000.0
        for start in np.arange(0.0, times[-1], 300.0):
            window = fixed[(times >= start) & (times < start + 300.0)]
            if window.size < 50:
                continue
            nk.hrv_time(rri(window))
            nk.hrv_frequency(rri(window), **settings)

    return best_of(run, 2)


def help_startup_s() -> float:
    command = [sys.executable, "-m", "hrvcoach", "--help"]
    return statistics.median(run_times(
        lambda: subprocess.run(command, capture_output=True, check=True, cwd=REPO), 7))


# -- the table ---------------------------------------------------------------------------------


def us(value: float) -> str:
    return f"{value:.0f} µs"


def ms(value: Timing) -> str:
    return "" if value is None else f"{value / 1000:.1f} ms"


def ratio(theirs: Timing, ours: float) -> str:
    return "" if theirs is None else f"{theirs / ours:.0f}x"


def live_rows(nk: ModuleType | None, name: str, path: Path) -> list[tuple[str, ...]]:
    rr = read_rr_file(path).rr_ms[:LIVE_BEATS]
    if rr.size < WARM + 50:
        print(f"# skipped {name}: only {rr.size} beats")
        return []
    timed = range(WARM, rr.size)
    step = max(1, len(timed) // NK_BEATS)
    ours_windows = windows_of(rr, timed)
    nk_windows = windows_of(rr, timed[::step])
    print(f"# {name}: {len(timed)} beats timed for hrvcoach, 1 in {step} of them "
          f"({len(nk_windows.long)}) for neurokit2; 120-s window: "
          f"{min(map(len, ours_windows.long))}-{max(map(len, ours_windows.long))} beats")
    beats = beats_of(rr)

    def row(case: str, ours: float, fast: Timing, default: Timing) -> tuple[str, ...]:
        return (f"live per beat, {name}, {case}", us(ours), ms(fast), ratio(fast, ours),
                ms(default), ratio(default, ours))

    recorded = live_per_beat_us(beats, correct=False)
    only = neurokit_markers_per_beat_us(ours_windows)
    corrected = live_per_beat_us(beats, correct=True)
    fast = default = fast_fixed = default_fixed = None
    if nk is not None:
        fast = nk_live_per_beat_us(nk, nk_windows, FAST)
        default = nk_live_per_beat_us(nk, nk_windows, DEFAULT)
        fast_fixed = nk_corrected_per_beat_us(nk, nk_windows, FAST)
        default_fixed = nk_corrected_per_beat_us(nk, nk_windows, DEFAULT)
    return [
        row("all markers, as recorded", recorded, fast, default),
        row("neurokit2's markers only, as recorded", only, fast, default),
        row("all markers, corrected [nk: (c)]", corrected, fast_fixed, default_fixed),
    ]


def day_row(nk: ModuleType | None) -> tuple[str, ...]:
    ours = ours_day_s()
    fast = None if nk is None else nk_day_s(nk, FAST)
    default = None if nk is None else nk_day_s(nk, DEFAULT)
    return ("24-h file: read + correct + whole + 5-min windows", f"{ours:.2f} s",
            "" if fast is None else f"{fast:.1f} s", ratio(fast, ours),
            "" if default is None else f"{default:.1f} s", ratio(default, ours))


def main() -> None:
    began = time.perf_counter()
    warnings.simplefilter("ignore")
    print(machine_line())
    print(f"# numpy {np.__version__}, scipy {scipy.__version__}")
    nk: ModuleType | None
    start = time.perf_counter()
    try:
        import neurokit2 as nk
    except ImportError:
        nk = None
        print("# neurokit2 is not installed: its columns stay empty")
    else:
        print(f"# neurokit2 {nk.__version__} (import: {time.perf_counter() - start:.2f} s)")
    if "--processes-only" in sys.argv[1:]:
        print_whole_process_table(with_neurokit=nk is not None)
        return
    rows: list[tuple[str, ...]] = []
    for name, path in LIVE_FILES.items():
        if not path.exists():
            print(f"# skipped {name}: {path} missing")
            continue
        rows += live_rows(nk, name, path)
    if DAY_FILE.exists():
        rows.append(day_row(nk))
    else:
        print(f"# skipped the 24-h file: {DAY_FILE} missing")
    rows.append(("hrvcoach --help start-up (median of 7)", f"{help_startup_s():.3f} s", "", "", "",
                 ""))
    header = ("case", "hrvcoach", "neurokit2 (a: 4 Hz)", "ratio", "neurokit2 (b: default)", "ratio")
    width = max(len(row[0]) for row in (header, *rows)) + 2
    for row in (header, *rows):
        line = f"{row[0]:<{width}}{row[1]:>10}{row[2]:>21}{row[3]:>7}{row[4]:>23}{row[5]:>7}"
        print(line.rstrip())
    print("# (a) hrv_time 60 s + hrv_frequency 120 s, interpolation_rate=4; (b) the same at the "
          "default 100 Hz;")
    print("# (c) corrected rows: signal_fixpeaks(Kubios) on the 120-s window first, then (a) or (b)")
    print()
    print_whole_process_table(with_neurokit=nk is not None)
    print(f"# whole script: {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
