"""The user's profile: their assessed resonance breathing rate and the evidence behind it.

Kept in the session store's `profile` table (hrvcoach.db), which is authoritative once it holds
a profile, and mirrored to a small JSON file in the data folder (written atomically, readable
by the user; it is what hrvcoach before the store kept). A profile.json from before the store
is copied into the store the first time it is read with a store present. Reading never creates
the store: without one, the JSON file is read as before.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hrvcoach.analysis.resonance import RateScore
from hrvcoach.core.errors import InputError
from hrvcoach.core.markers import current_names

PROFILE_FILE = "profile.json"


@dataclass(frozen=True, slots=True)
class Profile:
    """What hrvcoach knows about the user."""

    resonance_breaths_per_min: float | None = None
    assessed_at: str | None = None  # ISO 8601 with timezone
    session: str | None = None  # the recording the assessment came from
    scores: list[RateScore] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_profile(data_dir: Path) -> Profile:
    """The stored profile, or an empty one when none was saved yet."""
    from hrvcoach.store import DB_FILE, Store

    if (data_dir / DB_FILE).exists():
        with Store.open(data_dir, recover=False) as store:
            stored = store.profile()
            if stored is not None:
                try:
                    scores = [RateScore(**score) for score in stored.scores]
                except TypeError as exc:
                    raise InputError(f"{store.path}: profile", f"unexpected scores ({exc})") from None
                return Profile(stored.resonance_breaths_per_min, stored.assessed_at, stored.session, scores)
            profile = _load_json(data_dir)
            if profile != Profile():
                _save_to_store(store, profile)  # migrate the pre-store profile.json
            return profile
    return _load_json(data_dir)


def _save_to_store(store: Any, profile: Profile) -> None:
    from hrvcoach.store import StoredProfile

    store.save_profile(StoredProfile(profile.resonance_breaths_per_min, profile.assessed_at, profile.session,
                                     [asdict(score) for score in profile.scores]))


def _load_json(data_dir: Path) -> Profile:
    path = data_dir / PROFILE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Profile()
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"unreadable profile ({exc})") from None
    try:
        data = current_names(data)
        rate = data["resonance_breaths_per_min"]
        if rate is not None and not (isinstance(rate, (int, float)) and math.isfinite(rate)):
            raise ValueError(f"resonance_breaths_per_min {rate!r}")
        scores = [RateScore(**current_names(score)) for score in data.get("scores", [])]
        return Profile(rate, data.get("assessed_at"), data.get("session"), scores)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(str(path), f"unexpected profile content ({exc})") from None


def save_profile(data_dir: Path, profile: Profile) -> Path:
    """Save the profile in the store and mirror it to profile.json (atomically, user-only);
    returns the JSON file's path."""
    from hrvcoach.store import Store

    with Store.open(data_dir, recover=False) as store:
        _save_to_store(store, profile)
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
