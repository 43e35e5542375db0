"""The machine a benchmark ran on, for the first line of its table (numbers mean little without)."""

from __future__ import annotations

import datetime
import os
import platform
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
