"""Plain records of a session beyond its beats: its phases as they happened and its annotations.

The session writes them through its recorder; the store keeps them; session files carry them.
Session times are seconds from the session's start, kept to 0.1 ms (TIME_DECIMALS) so that
every file format carries them exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["TIME_DECIMALS", "Annotation", "BeatColumns", "PhaseRecord", "canonical_time_s"]

TIME_DECIMALS: Final = 4  # session times are kept to 0.1 ms (the CSV journal's resolution)


def canonical_time_s(time_s: float) -> float:
    """A session time as it is kept: rounded to 0.1 ms."""
    return round(float(time_s), TIME_DECIMALS)


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    """One phase of a session as it ran (or as laid over an imported recording)."""

    index: int  # 0-based position in the protocol
    name: str
    kind: str  # baseline | paced | recovery | free
    start_s: float
    end_s: float  # planned end; the last beat's time once cut short
    breaths_per_min: float | None = None  # None: spontaneous breathing
    ramp_to_breaths_per_min: float | None = None
    pacing: str = ""  # e.g. "6 breaths/min (4 s in, 6 s out)"
    compare: str | None = None  # "before", "after" or None


@dataclass(frozen=True, slots=True)
class Annotation:
    """Something that happened at a session time: a source status ("contact lost",
    "battery"), a user's mark ("note"), a pause or a resume."""

    time_s: float
    kind: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class BeatColumns:
    """A session's beats column by column, in arrival order, with the artifact kind found."""

    time_s: tuple[float, ...]
    rr_ms: tuple[float, ...]
    contact: tuple[bool | None, ...]  # None: the strap does not say
    after_gap: tuple[bool, ...]
    artifact: tuple[str | None, ...]  # ectopic | missed | extra | long_short | None

    def __len__(self) -> int:
        return len(self.rr_ms)

    @property
    def usable(self) -> tuple[bool, ...]:
        """False where the strap said it had no skin contact."""
        return tuple(contact is not False for contact in self.contact)
