"""Where hrvcoach keeps the user's data, and whether a window can be shown."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Final

__all__ = ["REPORTS", "data_dir", "has_display"]

REPORTS: Final = "reports"  # inside the data folder: the coach window's end-page reports


def data_dir(explicit: Path | None = None) -> Path:
    """--data-dir, else $HRVCOACH_HOME, else the platform's user data folder."""
    if explicit is not None:
        return Path(explicit)
    if os.environ.get("HRVCOACH_HOME"):
        return Path(os.environ["HRVCOACH_HOME"])
    import platformdirs

    return Path(platformdirs.user_data_dir("hrvcoach", appauthor=False))


def has_display() -> bool:
    """True where a window can be shown (always off Linux; on Linux, X11 or Wayland is set)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
