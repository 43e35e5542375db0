"""Whole processes, as a user runs them (start-up, imports, reading, analysis, writing the table),
timed side by side in one run: part of `benchmarks/analysis.py` (issue 15's goals).

- one 24-h recording: `hrvcoach analyze DAY --window 300 -o day.csv` (correction, the whole
  record and every 5-min window) against a neurokit2 script doing the same (reading,
  `signal_fixpeaks(method="Kubios")`, `hrv_time` on the record, `hrv_time` + `hrv_frequency` per
  5-min window, a CSV of the results) at (a) interpolation_rate=4 and (b) its default;
- 16 × 24 h (the three days in ../shared/data in turn): `--jobs 1`, `--jobs 2` and `--scheduler`
  on a local Dask cluster (LocalCluster: 2 worker processes of 1 thread, started before and kept,
  the analysis preloaded in its workers as on a kept cluster), interleaved;
- start-up: `analyze` of one 5-min file (`--help`: the table above).

Each is the wall time of the process from its start to its exit; min and max over the repeats.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from hrvcoach.app.batch.task import ANALYSIS_MODULES

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
DAYS = [DATA / "physionet_rr_rhrvbook" / name for name in
        ("nsr2db/nsr001_rr_secs.txt", "nsr2db/nsr002_rr_secs.txt", "chf2db/chf201_rr_secs.txt")]
SHORT_FILE = REPO / "tests" / "data" / "pyhrv_samples" / "nsrdb_nni_5min_rr.csv"
BATCH_SIZE = 16
DAY_REPEATS, NK_REPEATS, BATCH_REPEATS, START_REPEATS = 5, 2, 3, 7

NEUROKIT_DAY = """
import sys, warnings
import numpy as np, pandas as pd, neurokit2 as nk
warnings.simplefilter("ignore")
path, out, rate = sys.argv[1], sys.argv[2], int(sys.argv[3])
rr = np.loadtxt(path)[1:] * 1000.0  # seconds; the first value is the offset to the first beat
peaks = nk.intervals_to_peaks(rr, sampling_rate=1000)
_, clean = nk.signal_fixpeaks(peaks, sampling_rate=1000, method="Kubios")
fixed = np.diff(clean).astype(float)
def rri(x):
    return {"RRI": x, "RRI_Time": np.cumsum(x) / 1000.0}
rows = [nk.hrv_time(rri(fixed))]
times = np.cumsum(fixed) / 1000.0
for start in np.arange(0.0, times[-1], 300.0):
    window = fixed[(times >= start) & (times < start + 300.0)]
    if window.size < 50:
        continue
    frequency = nk.hrv_frequency(rri(window), normalize=False,
                                 **({"interpolation_rate": rate} if rate else {}))
    rows.append(pd.concat([nk.hrv_time(rri(window)), frequency], axis=1))
pd.concat(rows).to_csv(out)
"""


def wall_s(command: Sequence[str | Path], *, ok: Sequence[int] = (0,)) -> float:
    start = time.perf_counter()
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                            check=False, cwd=REPO)
    took = time.perf_counter() - start
    if result.returncode not in ok:
        raise RuntimeError(f"{command} exited {result.returncode}: {result.stderr[-800:]}")
    return took


def hrvcoach(*args: str | Path) -> list[str | Path]:
    return [sys.executable, "-m", "hrvcoach", *args]


@contextlib.contextmanager
def dask_cluster(workers: int) -> Iterator[str | None]:
    """A local Dask cluster (its scheduler in this process, `workers` worker processes of one
    thread each, the analysis preloaded as a kept cluster has it); None without dask."""
    try:
        from distributed import LocalCluster
    except ImportError:
        yield None
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, preload=list(ANALYSIS_MODULES)) as cluster:
        yield cluster.scheduler_address


def span(values: Sequence[float], digits: int = 2) -> str:
    low, high = min(values), max(values)
    return f"{low:.{digits}f}" if round(low, digits) == round(high, digits) \
        else f"{low:.{digits}f}-{high:.{digits}f}"


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "?"


def whole_process_rows(with_neurokit: bool) -> list[tuple[str, ...]]:
    """(case, hrvcoach s, other s, ratio, note) rows; times as 'min-max' over the repeats."""
    days = [day for day in DAYS if day.exists()]
    if not days:
        print(f"# skipped the whole-process rows: {DAYS[0]} missing")
        return []
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(prefix="hrvcoach-bench-") as scratch:
        folder = Path(scratch)
        batch = folder / "batch"
        batch.mkdir()
        for k in range(BATCH_SIZE):
            shutil.copy(days[k % len(days)], batch / f"day{k + 1:02d}.txt")
        out = folder / "out.csv"
        day = days[0]

        ours = [wall_s(hrvcoach("analyze", day, "--window", "300", "-o", out))
                for _ in range(DAY_REPEATS)]
        rows.append(("one 24-h file: analyze --window 300 -o day.csv", span(ours), "", "", ""))
        if with_neurokit:
            for label, rate in (("a: 4 Hz", 4), ("b: default", 0)):
                nk = [wall_s([sys.executable, "-c", NEUROKIT_DAY, day, folder / "nk.csv", str(rate)])
                      for _ in range(NK_REPEATS)]
                rows.append((f"  the same with neurokit2 ({label})", "", span(nk, 1),
                             f"{min(nk) / min(ours):.1f}x", f"{max(nk) / max(ours):.1f}x worst"))

        times: dict[str, list[float]] = {"jobs 1": [], "jobs 2": [], "dask": []}
        with dask_cluster(workers=2) as address:
            for _ in range(BATCH_REPEATS):
                for name, extra in (("jobs 1", ["--jobs", "1"]), ("jobs 2", ["--jobs", "2"]),
                                    ("dask", ["--scheduler", address] if address else None)):
                    if extra is not None:
                        times[name].append(wall_s(hrvcoach("analyze", batch, "--window", "300",
                                                           "-o", out, *extra), ok=(0, 1)))
        one, two, dask = times["jobs 1"], times["jobs 2"], times["dask"]
        rows.append((f"{BATCH_SIZE} x 24 h, --jobs 1", span(one), "", "", ""))
        rows.append((f"{BATCH_SIZE} x 24 h, --jobs 2", span(two), "", f"{min(one) / min(two):.2f}x",
                     "throughput vs --jobs 1 (best runs)"))
        if dask:
            rows.append((f"{BATCH_SIZE} x 24 h, --scheduler (local Dask, 2 workers)", span(dask), "",
                         f"{min(dask) / min(two):.2f}x", "time vs --jobs 2 (best runs)"))
        start = [wall_s(hrvcoach("analyze", SHORT_FILE, "-o", out)) for _ in range(START_REPEATS)]
        rows.append(("analyze of one 5-min file (start-up + imports)", span(start), "", "", ""))
    return rows


def print_whole_process_table(with_neurokit: bool) -> None:
    print(f"# whole processes; load average before: {load_average()}")
    rows = whole_process_rows(with_neurokit)
    header = ("whole process (wall s, min-max)", "hrvcoach", "neurokit2", "ratio", "")
    width = max(len(row[0]) for row in (header, *rows)) + 2
    for row in (header, *rows):
        print(f"{row[0]:<{width}}{row[1]:>11}{row[2]:>11}{row[3]:>8}  {row[4]}".rstrip())
    print(f"# load average after: {load_average()}")
