"""Resonance assessment of a finished session: score its paced blocks, choose and store the rate.

The beats come from the store (the same beats compare and report use), without the contact-less
ones. With a strap's raw data, each block's pacer adherence and heart-breath phase come from its
phase's stored markers (history.phases: the same numbers the report shows).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hrvcoach.analysis.resonance import (
    BlockEvidence,
    RateBlock,
    RateScore,
    choose_resonance,
    score_rates,
)
from hrvcoach.history.profile import Profile, save_profile
from hrvcoach.protocols.protocol import Protocol
from hrvcoach.store import Store

__all__ = ["Assessment", "assess_session", "rate_blocks", "store_assessment"]


@dataclass(frozen=True, slots=True)
class Assessment:
    """The scores of each rate block and the chosen resonance rate (None: nothing scorable)."""

    scores: list[RateScore]
    resonance_breaths_per_min: float | None


def rate_blocks(protocol: Protocol) -> list[RateBlock]:
    """The protocol's paced phases at a constant rate, with their session times."""
    return [block for _, block in _indexed_blocks(protocol)]


def _indexed_blocks(protocol: Protocol) -> list[tuple[int, RateBlock]]:
    return [
        (index, RateBlock(phase.breaths_per_min, start_s, start_s + phase.duration_s))
        for index, (phase, start_s) in enumerate(zip(protocol.phases, protocol.phase_starts_s(),
                                                     strict=True))
        if phase.breaths_per_min is not None and phase.ramp_to_per_min is None
    ]


def assess_session(store: Store, session_id: int, protocol: Protocol) -> Assessment:
    """Score the paced blocks of a stored session (beats without skin contact left out), each
    with the body's evidence when its phase markers hold it."""
    beats = store.beats(session_id)
    usable = np.asarray(beats.usable, dtype=bool)
    rr_ms = np.asarray(beats.rr_ms, dtype=np.float64)[usable]
    time_s = np.asarray(beats.time_s, dtype=np.float64)[usable]
    indexed = _indexed_blocks(protocol)
    markers = store.markers(session_id)
    evidence = [BlockEvidence(_number(markers.get(index, {}).get("pacer_adherence")),
                              _number(markers.get(index, {}).get("heart_breath_phase_deg")))
                for index, _ in indexed]
    scores = score_rates(rr_ms, time_s, [block for _, block in indexed], evidence=evidence)
    return Assessment(scores, choose_resonance(scores))


def _number(value: object) -> float | None:
    """A stored marker as a number; None when absent or NaN (not measured)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def store_assessment(data_dir: Path, assessment: Assessment, source: str) -> Path | None:
    """Save the chosen rate and its evidence as the user's profile (`source`: which session it
    came from); None when nothing was chosen."""
    if assessment.resonance_breaths_per_min is None:
        return None
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    profile = Profile(assessment.resonance_breaths_per_min, now, source, assessment.scores)
    return save_profile(data_dir, profile)
