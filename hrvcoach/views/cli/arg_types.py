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


def within(text: str, low: float, high: float, *, low_open: bool, what: str) -> float:
    """A finite number from `low` (excluded if low_open) to `high`; else the error says `what`."""
    value = _number(text)
    if not (low < value if low_open else low <= value) or value > high:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text[:40]!r}")
    return value


def positive_float(text: str) -> float:
    return within(text, 0.0, 1e6, low_open=True, what="a positive number up to 1e6")


def positive_seconds(text: str) -> float:
    return within(text, 0.0, MAX_SECONDS, low_open=True,
                   what=f"a positive number of seconds up to {MAX_SECONDS:.0f} (a day)")


def window_seconds(text: str) -> float:
    return within(text, MIN_WINDOW_S, MAX_SECONDS, low_open=False,
                   what=f"{MIN_WINDOW_S:.0f}–{MAX_SECONDS:.0f} seconds")


def speed(text: str) -> float:
    low, high = SPEED_RANGE
    return within(text, low, high, low_open=False,
                   what=f"{low:g}–{high:g} (session seconds per real second)")


def non_negative_float(text: str) -> float:
    return within(text, 0.0, 1e6, low_open=False, what="a number from 0 to 1e6")


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 2**63-1, got "
                                         f"{text[:40]!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value
