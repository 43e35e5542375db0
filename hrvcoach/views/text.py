"""Formatting shared by the text and window views: times as mm:ss, markers with a dash for NaN,
signed changes, plain problems, a resonance assessment's outcome, and text from files and
devices made safe to print."""

from __future__ import annotations

import math
import re
from typing import Final

from hrvcoach.protocols.fields import CONTROL_CHARACTERS

NO_VALUE: Final = "—"
_ERRNO: Final = re.compile(r"\s*\(?\[Errno \d+\][^);]*\)?")


def clock_text(seconds: float) -> str:
    """mm:ss (h:mm:ss past an hour) of a non-negative number of seconds."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


def number_text(value: float, digits: int = 0) -> str:
    """A marker for display; an em dash while it is NaN (not enough data yet)."""
    return NO_VALUE if not math.isfinite(value) else f"{value:.{digits}f}"


def signed_text(value: float, digits: int = 0) -> str:
    """A change with its sign ("+1.2", "−0.4"; a true minus), and "0" rather than "−0" when it
    rounds to nothing; an em dash while NaN."""
    if not math.isfinite(value):
        return NO_VALUE
    text = f"{value:+.{digits}f}"
    if float(text) == 0.0:
        return text[1:]
    return text.replace("-", "−")


def plain_problem(text: str) -> str:
    """A system error's message without the '[Errno 2] ...' part a person cannot act on."""
    return _ERRNO.sub("", text).strip()


def resonance_words(rate: float | None, *, saved: bool, not_saved: str = "") -> str:
    """What a resonance assessment found (`rate`: None when nothing could be scored) and
    whether it became the user's rate (`not_saved`: why not)."""
    if rate is None:
        return "No rate block was long enough to score: your profile is unchanged."
    if not saved:
        return f"Assessed rate: {rate:g} breaths/min — {not_saved}."
    return (f"Your resonance rate: {rate:g} breaths/min (saved; protocols that say "
            "\"resonance\" now use it).")


def safe_text(text: str, *, lines: bool = False) -> str:
    """Text that came from a file or a device, safe to print or draw: control characters (an ESC
    starts a terminal command: clear the screen, set the window title) and the marks that reorder
    text are shown as '?'; tabs and line breaks are kept when `lines`."""
    def replace(match: re.Match[str]) -> str:
        return match.group() if lines and match.group() in "\n\t" else "?"

    return CONTROL_CHARACTERS.sub(replace, text)
