"""Formatting shared by the text and window views: times as mm:ss, markers with a dash for NaN,
and text from files and devices made safe to print."""

from __future__ import annotations

import math
import re
from typing import Final

from hrvcoach.protocols.fields import CONTROL_CHARACTERS

NO_VALUE: Final = "—"


def clock_text(seconds: float) -> str:
    """mm:ss (h:mm:ss past an hour) of a non-negative number of seconds."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def number_text(value: float, digits: int = 0) -> str:
    """A marker for display; an em dash while it is NaN (not enough data yet)."""
    return NO_VALUE if not math.isfinite(value) else f"{value:.{digits}f}"


def safe_text(text: str, *, lines: bool = False) -> str:
    """Text that came from a file or a device, safe to print or draw: control characters (an ESC
    starts a terminal command: clear the screen, set the window title) and the marks that reorder
    text are shown as '?'; tabs and line breaks are kept when `lines`."""
    def replace(match: re.Match[str]) -> str:
        return match.group() if lines and match.group() in "\n\t" else "?"

    return CONTROL_CHARACTERS.sub(replace, text)
