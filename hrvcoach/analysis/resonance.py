"""Resonance-frequency assessment (Lehrer & Vaschillo): which paced breathing rate makes heart
rate oscillate the most.

Each block of paced breathing at one rate is scored on several signs of resonance: the per-breath
peak-to-trough heart rate, the LF spectral peak, the power at the breathing frequency and the
coherence ratio. Each is scaled by its best value over the blocks and the mean of those is the
block's score; the best-scoring rate is the user's resonance rate.

With a strap's accelerometer each block also carries evidence from the body (Lehrer's protocol
checks that the person breathed at the pacer's rate): the share of its breaths that followed the
pacer and the heart-breath phase. A block the person did not follow (FOLLOWED_MIN) is marked, is
not scaled against and is never chosen: its heart rate answered some other rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hrvcoach.analysis.breathing import breathing_markers
from hrvcoach.analysis.coherence import coherence_markers
from hrvcoach.analysis.spectral import resample_rr, spectrum_of
from hrvcoach.core.constants import LF_BAND_HZ

FloatArray = NDArray[np.float64]

SETTLE_S = 20.0  # the first seconds of a block are left out: the new rhythm is still building
MIN_BLOCK_BREATHS = 4  # fewer complete breaths than this cannot be scored
NEIGHBOUR_BPM = 0.5  # blocks this close in rate are neighbours
NEAR_TIE = 0.9  # a neighbour scoring at least this fraction of the best pulls the choice
MAX_SHIFT_BPM = 0.25  # how far a near tie may move the choice from the best block
FOLLOWED_MIN = 0.6  # a block with a smaller share of its breaths at the pacer's rate: not followed


@dataclass(frozen=True, slots=True)
class RateBlock:
    """A stretch of paced breathing at one constant rate, in session seconds."""

    breaths_per_min: float
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class RateScore:
    """How strongly heart rate oscillated while breathing at one rate."""

    breaths_per_min: float  # breaths per minute of the block
    p2t_bpm: float  # mean per-breath peak-to-trough heart rate
    lf_peak_ms2_per_hz: float  # largest spectral density in the LF band
    breathing_power_ms2: float  # power within ±0.015 Hz of the breathing frequency
    coherence_ratio: float  # of the block's newest 64 s
    resonance_score: float  # mean of the above, each scaled by its best block (1.0 = best in all)
    # with a strap's accelerometer (None: not measured)
    pacer_adherence: float | None = None  # share of the block's breaths at the pacer's rate
    heart_breath_phase_deg: float | None = None  # heart rate against the measured breath
    pacer_followed: bool | None = None  # did the person breathe with the pacer


@dataclass(frozen=True, slots=True)
class BlockEvidence:
    """What a strap's accelerometer says of one block (None: not measured)."""

    pacer_adherence: float | None = None
    heart_breath_phase_deg: float | None = None

    @property
    def followed(self) -> bool | None:
        if self.pacer_adherence is None:
            return None
        return self.pacer_adherence >= FOLLOWED_MIN


def _block_metrics(rr_ms: FloatArray, time_s: FloatArray, block: RateBlock,
                   settle_s: float) -> tuple[float, float, float, float] | None:
    """(p2t bpm, LF peak density, power at the breathing rate, coherence) of one block."""
    start_s = block.start_s + settle_s
    if (block.end_s - start_s) < MIN_BLOCK_BREATHS * 60.0 / block.breaths_per_min:
        return None
    inside = (time_s > start_s) & (time_s <= block.end_s)
    if np.count_nonzero(inside) < 2 * MIN_BLOCK_BREATHS:
        return None
    resampled = resample_rr(rr_ms[inside], time_s[inside])
    spectrum = spectrum_of(resampled)
    breath = breathing_markers(spectrum, resampled, paced_breaths_per_min=block.breaths_per_min)
    f, psd = spectrum.frequency_hz, spectrum.psd_ms2_per_hz
    in_lf = (f >= LF_BAND_HZ[0]) & (f <= LF_BAND_HZ[1])
    return (breath.p2t_bpm, float(psd[in_lf].max()), breath.breathing_power_ms2,
            coherence_markers(resampled).coherence_ratio)


def score_rates(rr_ms: FloatArray, time_s: FloatArray, blocks: list[RateBlock], *,
                settle_s: float = SETTLE_S,
                evidence: Sequence[BlockEvidence] | None = None) -> list[RateScore]:
    """Score each block of paced breathing; blocks too short to judge are left out. Metrics are
    scaled by the best block the person followed (`evidence`, one per block; all without it)."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    times = np.asarray(time_s, dtype=np.float64)
    told = list(evidence) if evidence is not None else [BlockEvidence()] * len(blocks)
    measured = [(block, body, _block_metrics(rr, times, block, settle_s))
                for block, body in zip(blocks, told, strict=True)]
    rows = [(block, body, metrics) for block, body, metrics in measured if metrics is not None]
    if not rows:
        return []
    table = np.array([metrics for _, _, metrics in rows], dtype=np.float64)
    trusted = np.array([body.followed is not False for _, body, _ in rows])
    best = np.nanmax(table[trusted] if trusted.any() else table, axis=0)
    usable = np.isfinite(best) & (best > 0)
    scaled = table[:, usable] / best[usable]
    scores = np.nanmean(scaled, axis=1) if scaled.size else np.zeros(len(rows))
    return [
        RateScore(block.breaths_per_min, p2t, lf_peak, at_rate, coherence, float(score),
                  body.pacer_adherence, body.heart_breath_phase_deg, body.followed)
        for (block, body, (p2t, lf_peak, at_rate, coherence)), score
        in zip(rows, scores, strict=True)
    ]


def choose_resonance(scores: list[RateScore]) -> float | None:
    """The best-scoring rate, nudged toward a neighbouring rate that scored almost as well.

    Rates 0.5/min apart that score within NEAR_TIE of each other suggest the resonance lies
    between them: the choice is then their score-weighted mean, at most 0.25/min from the best
    block and rounded to 0.05/min. Blocks the person did not follow are never chosen. None when
    nothing could be scored.
    """
    scores = [score for score in scores if score.pacer_followed is not False]
    if not scores:
        return None
    best = max(scores, key=lambda score: score.resonance_score)
    close = [score for score in scores
             if abs(score.breaths_per_min - best.breaths_per_min) <= NEIGHBOUR_BPM + 1e-9
             and score.resonance_score >= NEAR_TIE * best.resonance_score]
    weight = sum(score.resonance_score for score in close)
    mean = sum(score.breaths_per_min * score.resonance_score for score in close) / weight if weight > 0 else (
        best.breaths_per_min)
    shift = min(max(mean - best.breaths_per_min, -MAX_SHIFT_BPM), MAX_SHIFT_BPM)
    return round((best.breaths_per_min + shift) * 20.0) / 20.0
