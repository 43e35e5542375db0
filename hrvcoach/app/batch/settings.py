"""The settings of a batch analysis, as a record that travels to every worker and as the text that
is hashed, so each result row says exactly how it was computed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from hrvcoach.files.recordings import ReadOptions

__all__ = ["SETTINGS_HASH_CHARS", "BatchSettings"]

SETTINGS_HASH_CHARS: Final = 16  # hex digits of the SHA-256 kept: 64 bits


@dataclass(frozen=True, slots=True)
class BatchSettings:
    """What is done to every recording of a batch (the same on a laptop and on a cluster)."""

    correct: bool = True  # False: artifacts are reported but the markers use the RR as read
    window_s: float | None = None  # also analyse consecutive windows of this length
    read: ReadOptions = field(default_factory=ReadOptions)

    def as_json(self) -> dict[str, Any]:
        """Every setting under its own name (the read options flattened in)."""
        return {"correct": self.correct, "window_s": self.window_s, **asdict(self.read)}

    def canonical_json(self) -> str:
        """The settings as one line of JSON with sorted keys: what the hash is taken of."""
        return json.dumps(self.as_json(), sort_keys=True, separators=(",", ":"))

    def settings_hash(self) -> str:
        """The first SETTINGS_HASH_CHARS hex digits of the SHA-256 of canonical_json()."""
        digest = hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
        return digest[:SETTINGS_HASH_CHARS]
