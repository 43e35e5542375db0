"""argparse value types shared by the command modules: numbers with their allowed range.

Every number has an upper bound too: a number a person would never mean (a speed of 1e-300, a
window of 1e-300 s, a duration of 1e308 s) is refused on one line with exit 2, instead of
hanging, overflowing or allocating without end.
"""

from __future__ import annotations

import argparse
import math
from typing import Final

MAX_SECONDS: Final = 24 * 3600.0  # durations, timeouts: at most a day
MIN_WINDOW_S: Final = 10.0  # the shortest analysis window (ultra-short RMSSD)
SPEED_RANGE: Final = (0.01, 10_000.0)  # session seconds per real second
MAX_SEED: Final = 2**63 - 1


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text[:40]!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text[:40]!r}")
    return value


def positive_float(text: str) -> float:
    value = _number(text)
    if not 0 < value <= 1e6:
        raise argparse.ArgumentTypeError(f"must be a positive number up to 1e6, got {text[:40]!r}")
    return value


def positive_seconds(text: str) -> float:
    value = _number(text)
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds up to "
                                         f"{MAX_SECONDS:.0f} (a day), got {text[:40]!r}")
    return value


def window_seconds(text: str) -> float:
    value = _number(text)
    if not MIN_WINDOW_S <= value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be {MIN_WINDOW_S:.0f}–{MAX_SECONDS:.0f} seconds, "
                                         f"got {text[:40]!r}")
    return value


def speed(text: str) -> float:
    value = _number(text)
    low, high = SPEED_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be {low:g}–{high:g} (session seconds per real "
                                         f"second), got {text[:40]!r}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1e6:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1e6, got {text[:40]!r}")
    return value


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 2**63-1, got "
                                         f"{text[:40]!r}")
    return value
