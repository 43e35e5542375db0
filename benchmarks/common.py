"""What the benchmarks share: timed runs of a call, and the machine they ran on (the first line
of every table: numbers mean little without it)."""

from __future__ import annotations

import datetime
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, where platform.processor() is often empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu ?"


def machine_line() -> str:
    """'# date time, arch, N CPUs, model, OS, Python x.y.z'."""
    return (f"# {datetime.datetime.now():%Y-%m-%d %H:%M}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs, {cpu_model()}, {platform.system()}, "
            f"Python {platform.python_version()}")


def run_times(fn: Callable[[], object], repeat: int) -> list[float]:
    """Seconds each of `repeat` calls of fn took (take the min for the least disturbed run, or
    the median)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times
