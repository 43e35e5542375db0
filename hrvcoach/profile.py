"""The user's profile: their assessed resonance breathing rate and the evidence behind it.

Kept as a small JSON file in the data folder, written atomically (a crash leaves the old one).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hrvcoach.errors import InputError

PROFILE_FILE = "profile.json"


@dataclass(frozen=True, slots=True)
class RateScore:
    """How strongly heart rate oscillated while breathing at one rate."""

    rate_bpm: float  # breaths per minute of the block
    p2t_bpm: float  # mean per-breath peak-to-trough heart rate (bpm)
    lf_peak_ms2: float  # peak power in the LF band (ms²/Hz, spectral density at the peak)
    power_at_rate_ms2: float  # power within ±0.015 Hz of the breathing frequency (ms²)
    coherence: float  # HeartMath-style coherence ratio
    score: float  # combined rank score (higher = closer to resonance)


@dataclass(frozen=True, slots=True)
class Profile:
    """What hrvcoach knows about the user."""

    resonance_bpm: float | None = None
    assessed_at: str | None = None  # ISO 8601 with timezone
    session: str | None = None  # the recording the assessment came from
    scores: list[RateScore] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_profile(data_dir: Path) -> Profile:
    """The stored profile, or an empty one when none was saved yet."""
    path = data_dir / PROFILE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Profile()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"unreadable profile ({exc})") from None
    try:
        rate = data["resonance_bpm"]
        if rate is not None and not (isinstance(rate, (int, float)) and math.isfinite(rate)):
            raise ValueError(f"resonance_bpm {rate!r}")
        scores = [RateScore(**score) for score in data.get("scores", [])]
        return Profile(rate, data.get("assessed_at"), data.get("session"), scores)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(str(path), f"unexpected profile content ({exc})") from None


def save_profile(data_dir: Path, profile: Profile) -> Path:
    """Write the profile atomically, readable by the user only."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / PROFILE_FILE
    handle, temporary = tempfile.mkstemp(dir=data_dir, prefix=".profile-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(profile.to_json(), file, indent=2)
            file.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
