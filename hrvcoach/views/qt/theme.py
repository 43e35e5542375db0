"""The coach window's two themes: colours only (no Qt here), chosen to be calm and readable.

Dark: a deep blue-grey room with a soft teal breath and a warm coral heart, for dim rooms and
long sessions. Light: warm paper with the same hues, deeper, for daylight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

ThemeName = Literal["dark", "light"]
RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Theme:
    """Colours of the window; strings are CSS hex colours, tuples RGB (for translucent fills)."""

    name: ThemeName
    background: str
    panel: str
    text: str
    muted: str
    faint: str  # axis lines, guide rings, empty timeline
    heart: str  # the heart rate trace
    breath: RGB  # the pacer and its wave
    breath_light: RGB  # the pacer disc's highlight
    breath_deep: RGB  # the pacer disc's shade
    gap: str  # beats after a gap or without contact
    artifact: str  # beats the artifact detector flags
    mark: str  # the user's marks
    good: str
    warn: str
    bad: str
    bands: tuple[RGB, RGB, RGB]  # VLF, LF, HF shading of the spectrum
    band_alpha: int
    ring_alpha: int  # the pacer's guide rings

    def rgba(self, rgb: RGB, alpha: int) -> tuple[int, int, int, int]:
        return (*rgb, alpha)


DARK: Final = Theme(
    name="dark",
    background="#0f141b",
    panel="#151c25",
    text="#dce3ea",
    muted="#8593a3",
    faint="#2a3440",
    heart="#f2a285",
    breath=(110, 180, 214),
    breath_light=(170, 220, 240),
    breath_deep=(60, 120, 165),
    gap="#e0707a",
    artifact="#e8c170",
    mark="#b9a6e8",
    good="#7fc8a0",
    warn="#e8c170",
    bad="#e0707a",
    bands=((120, 120, 140), (110, 180, 214), (150, 200, 150)),
    band_alpha=26,
    ring_alpha=34,
)

LIGHT: Final = Theme(
    name="light",
    background="#f3f0ea",
    panel="#fbfaf7",
    text="#27313c",
    muted="#66727f",
    faint="#d9d4ca",
    heart="#d0603f",
    breath=(64, 132, 176),
    breath_light=(150, 200, 228),
    breath_deep=(40, 100, 150),
    gap="#c2404e",
    artifact="#b7811c",
    mark="#7a5cc4",
    good="#2f8a5b",
    warn="#b7811c",
    bad="#c2404e",
    bands=((120, 120, 140), (64, 132, 176), (80, 150, 90)),
    band_alpha=30,
    ring_alpha=60,
)

THEMES: Final[dict[str, Theme]] = {"dark": DARK, "light": LIGHT}
