"""Speed of the analysis engine against neurokit2; one command, prints a table naming the machine.

    .venv/bin/python benchmarks/analysis.py

Cases (goals from issue 4 in brackets):
- live: one LiveMarkers.update per beat (all markers: HR, time domain on 60 s, spectrum,
  breathing and coherence on 120 s), against neurokit2 recomputing the same windows per beat
  (hrv_time on 60 s + hrv_frequency on 120 s, normalize=False, interpolation_rate=4)
  [>= 50x cheaper than neurokit2; <= 240 us, i.e. >= 5x cheaper than the best other library's
  1.2 ms];
- 24 h: read a ~106k-beat file, correct artifacts, whole-record markers and 5-min windows,
  against the same with neurokit2 (signal_fixpeaks Kubios, hrv_time on the record, hrv_time +
  hrv_frequency per 5-min window) [>= 20x faster and < 2 s];
- `hrvcoach --help` start-up [< 0.3 s].
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hrvcoach.analysis import LiveMarkers, analyze  # noqa: E402
from hrvcoach.beats import Beat  # noqa: E402
from hrvcoach.formats import read_rr_file  # noqa: E402

DATA = REPO.parent / "shared" / "data"
DAY_FILE = DATA / "physionet_rr_rhrvbook" / "nsr2db" / "nsr001_rr_secs.txt"
LIVE_FILES = {
    "clean (Polar H10, 10 min)": DATA / "polar_h10_breathing_10min" / "rr.csv",
    "many flags (NSRDB 60 min, 20 min)": DATA / "pyhrv_samples" / "nsrdb_nni_60min_rr.csv",
}


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Seconds: the best of `repeat` runs (the least disturbed by other processes)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def beats_of(rr: np.ndarray) -> list[Beat]:
    times = np.cumsum(rr) / 1000.0
    return [Beat(float(r), float(t)) for r, t in zip(rr, times, strict=True)]


def live_per_beat_us(beats: list[Beat], *, correct: bool, warm: int = 150) -> float:
    def run() -> None:
        live = LiveMarkers(correct_artifacts=correct)
        for beat in beats[:warm]:
            live.update(beat)
        start = time.perf_counter()
        for beat in beats[warm:]:
            live.update(beat)
        run.elapsed = time.perf_counter() - start  # type: ignore[attr-defined]

    best = float("inf")
    for _ in range(3):
        run()
        best = min(best, run.elapsed)  # type: ignore[attr-defined]
    return best / (len(beats) - warm) * 1e6


def neurokit_live_per_beat_us(nk: object, rr: np.ndarray, beats: int = 60) -> float:
    times = np.cumsum(rr) / 1000.0
    ends = range(200, 200 + beats)

    def run() -> None:
        for end in ends:
            now = times[end]
            short = rr[(times > now - 60.0) & (times <= now)]
            long = rr[(times > now - 120.0) & (times <= now)]
            nk.hrv_time({"RRI": short, "RRI_Time": np.cumsum(short) / 1000.0})
            nk.hrv_frequency({"RRI": long, "RRI_Time": np.cumsum(long) / 1000.0},
                             normalize=False, interpolation_rate=4)

    return best_of(run, 2) / beats * 1e6


def ours_day_s() -> float:
    def run() -> None:
        rr = read_rr_file(DAY_FILE).rr_ms
        analyze(rr, window_s=300.0)

    return best_of(run, 3)


def neurokit_day_s(nk: object) -> float:
    def run() -> None:
        rr = read_rr_file(DAY_FILE).rr_ms[1:]  # the first value is the offset to the first beat
        peaks = nk.intervals_to_peaks(rr, sampling_rate=1000)
        _, clean = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios")
        fixed = np.diff(clean).astype(float)
        nk.hrv_time({"RRI": fixed, "RRI_Time": np.cumsum(fixed) / 1000.0})
        times = np.cumsum(fixed) / 1000.0
        for start in np.arange(0.0, times[-1], 300.0):
            window = fixed[(times >= start) & (times < start + 300.0)]
            if window.size < 50:
                continue
            rri = {"RRI": window, "RRI_Time": np.cumsum(window) / 1000.0}
            nk.hrv_time(rri)
            nk.hrv_frequency(rri, normalize=False, interpolation_rate=4)

    return best_of(run, 1)


def help_startup_s() -> float:
    command = [sys.executable, "-m", "hrvcoach", "--help"]
    runs = []
    for _ in range(7):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, cwd=REPO)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    warnings.simplefilter("ignore")
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or 'cpu ?'}, "
          f"Python {platform.python_version()}, numpy {np.__version__}")
    start = time.perf_counter()
    import neurokit2 as nk

    print(f"# import neurokit2: {time.perf_counter() - start:.2f} s, version {nk.__version__}")
    rows: list[tuple[str, str, str, str]] = []
    for name, path in LIVE_FILES.items():
        if not path.exists():
            print(f"# skipped {name}: {path} missing")
            continue
        rr = read_rr_file(path).rr_ms[:1200]
        beats = beats_of(rr)
        theirs = neurokit_live_per_beat_us(nk, rr)
        for correct in (False, True):
            ours = live_per_beat_us(beats, correct=correct)
            label = f"live per beat, {name}, {'corrected' if correct else 'as recorded'}"
            rows.append((label, f"{ours:.0f} µs", f"{theirs / 1000:.1f} ms", f"{theirs / ours:.0f}x"))
    if DAY_FILE.exists():
        ours = ours_day_s()
        theirs = neurokit_day_s(nk)
        rows.append(("24-h file: read + correct + whole + 5-min windows", f"{ours:.2f} s",
                     f"{theirs:.1f} s", f"{theirs / ours:.0f}x"))
    else:
        print(f"# skipped the 24-h file: {DAY_FILE} missing")
    rows.append(("hrvcoach --help start-up (median of 7)", f"{help_startup_s():.3f} s", "", ""))
    print(f"{'case':<66}{'hrvcoach':>10}{'neurokit2':>11}{'ratio':>8}")
    for case, ours_text, theirs_text, ratio in rows:
        print(f"{case:<66}{ours_text:>10}{theirs_text:>11}{ratio:>8}")


if __name__ == "__main__":
    main()
