"""The coach window's two themes and its sizes (no Qt here): colours chosen to be calm and readable.

Dark: a deep blue-grey room with a soft teal breath and a warm coral heart, for dim rooms and
long sessions. Light: warm paper with the same hues, deeper, for daylight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

ThemeName = Literal["dark", "light"]
RGB = tuple[int, int, int]

WINDOW_SIZE: Final = (1280, 800)  # width, height in px: the size the window opens at (scale 1)
MINIMUM_SIZE: Final = (960, 600)  # the smallest window in which nothing is cut


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


def stylesheet(theme: Theme, scale: float = 1.0) -> str:
    """The Qt stylesheet of the window's pages and dialogs in `theme`, sizes at `scale`."""
    def px(base: float) -> int:
        return max(round(base * scale), 1)

    roles = {"text": theme.text, "muted": theme.muted, "faint": theme.faint,
             "good": theme.good, "warn": theme.warn, "bad": theme.bad}
    accent = f"rgb{theme.breath}"
    return "\n".join([
        f"#central, #central > QWidget, QDialog {{ background: {theme.background}; }}",
        f"QFrame#card {{ background: {theme.panel}; border-radius: {px(14)}px; }}",
        "QLabel { background: transparent; }",
        f"QDialog QLabel {{ color: {theme.text}; }}",
        *(f'QLabel[role="{role}"] {{ color: {color}; }}' for role, color in roles.items()),
        f"QPushButton {{ color: {theme.text}; background: {theme.panel};"
        f" border: 1px solid {theme.faint}; border-radius: {px(8)}px;"
        f" padding: {px(5)}px {px(12)}px; font-size: {px(14)}px; }}",
        f"QPushButton:hover {{ border-color: {theme.muted}; }}",
        f"QPushButton:disabled {{ color: {theme.faint}; }}",
        f"QRadioButton, QCheckBox, QComboBox, QListWidget, QDoubleSpinBox {{ color: {theme.text};"
        f" font-size: {px(15)}px; }}",
        f"QRadioButton:disabled {{ color: {theme.faint}; }}",
        # the indicator drawn by the theme: the chosen one is the brightest, never the dimmest
        f"QRadioButton::indicator {{ width: {px(14)}px; height: {px(14)}px;"
        f" border-radius: {px(8)}px; border: {px(2)}px solid {theme.muted};"
        f" background: {theme.background}; }}",
        f"QRadioButton::indicator:checked {{ border-color: {accent}; background: qradialgradient("
        f"cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5, stop:0 {accent}, stop:0.45 {accent},"
        f" stop:0.55 {theme.background}, stop:1 {theme.background}); }}",
        f"QRadioButton::indicator:disabled {{ border-color: {theme.faint}; }}",
        f"QComboBox, QListWidget, QDoubleSpinBox {{ background: {theme.background};"
        f" border: 1px solid {theme.faint}; border-radius: {px(6)}px; padding: {px(3)}px; }}",
        f"QDoubleSpinBox:disabled {{ color: {theme.faint}; }}",
        f"QListWidget::item {{ padding: {px(3)}px; }}",
        f"QListWidget::item:selected {{ background: {accent}; color: {theme.panel}; }}",
        f"QComboBox QAbstractItemView {{ background: {theme.panel}; color: {theme.text};"
        f" selection-background-color: {accent}; selection-color: {theme.panel}; }}",
        f"QSlider::groove:horizontal {{ height: {px(4)}px; background: {theme.faint};"
        f" border-radius: {px(2)}px; }}",
        f"QSlider::sub-page:horizontal {{ background: {accent}; border-radius: {px(2)}px; }}",
        f"QSlider::handle:horizontal {{ background: {theme.text}; width: {px(12)}px;"
        f" margin: -{px(5)}px 0; border-radius: {px(6)}px; }}",
        f"QSlider::handle:horizontal:disabled {{ background: {theme.faint}; }}",
        f"QToolTip {{ color: {theme.text}; background: {theme.panel};"
        f" border: 1px solid {theme.faint}; }}",
    ])
