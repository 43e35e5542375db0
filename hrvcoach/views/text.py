"""Formatting shared by the text and window views: times as mm:ss, markers with a dash for NaN."""

from __future__ import annotations

import math
from typing import Final

NO_VALUE: Final = "—"


def clock_text(seconds: float) -> str:
    """mm:ss (h:mm:ss past an hour) of a non-negative number of seconds."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def number_text(value: float, digits: int = 0) -> str:
    """A marker for display; an em dash while it is NaN (not enough data yet)."""
    return NO_VALUE if not math.isfinite(value) else f"{value:.{digits}f}"
