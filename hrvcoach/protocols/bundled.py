"""The data files shipped with hrvcoach: built-in protocols and strap profiles.

In a wheel they live in hrvcoach/shipped/<name> (pyproject's force-include); in a source checkout,
at the top of the checkout (protocols/, devices/), where users and contributors edit them.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

SHIPPED_FOLDER: Final = "shipped"


def bundled_dir(name: str) -> Path:
    """A shipped data folder (`protocols` or `devices`)."""
    installed = Path(str(resources.files("hrvcoach"))) / SHIPPED_FOLDER / name
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / name


def bundled_protocol_dir() -> Path:
    return bundled_dir("protocols")
