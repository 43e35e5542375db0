"""Block-bootstrap replicates of time-domain markers and HF power: the 95 % intervals of
before/after comparisons (history.compare).

A window of beats is cut into blocks of consecutive beats (BOOTSTRAP_BLOCK_S: long enough to
hold two slow breaths, so the breathing rhythm stays inside a block; HF uses HF_MIN_WINDOW_S
blocks, the shortest window HF needs), blocks are drawn with replacement, and the marker is
recomputed from the drawn blocks' sums (successive differences never span two blocks).
"""

from __future__ import annotations

import itertools
from typing import Final

import numpy as np

from hrvcoach.analysis.spectral import band_power_ms2, rr_spectrum
from hrvcoach.analysis.time_domain import BoolArray, FloatArray
from hrvcoach.core.constants import HF_BAND_HZ, HF_MIN_WINDOW_S, STRESS_INDEX_BIN_MS

__all__ = ["BOOTSTRAP_BLOCK_S", "BOOTSTRAP_MARKERS", "block_replicates", "time_blocks"]

BOOTSTRAP_BLOCK_S: Final = 20.0
BOOTSTRAP_MARKERS: Final = ("ln_rmssd", "rmssd_ms", "mean_hr_bpm", "sdnn_ms", "hf_ms2",
                            "stress_index")


def time_blocks(rr_ms: FloatArray, block_s: float) -> list[slice]:
    """Consecutive stretches of about block_s seconds of beats (the last one may be longer)."""
    elapsed = np.cumsum(rr_ms) / 1000.0
    count = max(int(elapsed[-1] // block_s), 1) if elapsed.size else 0
    edges = [0, *[int(np.searchsorted(elapsed, k * block_s)) for k in range(1, count)],
             rr_ms.size]
    return [slice(lo, hi) for lo, hi in itertools.pairwise(edges) if hi > lo]


def block_replicates(name: str, rr_ms: FloatArray, after_gap: BoolArray, point: float,
                     rng: np.random.Generator, replicates: int) -> FloatArray | None:
    """Bootstrap replicates of one marker (BOOTSTRAP_MARKERS) of one window of beats, whose
    value is `point`; None: too few blocks for an interval."""
    if name == "hf_ms2":
        blocks = time_blocks(rr_ms, HF_MIN_WINDOW_S)
        powers = np.array([band_power_ms2(rr_spectrum(rr_ms[s]), *HF_BAND_HZ)
                           for s in blocks])
        if powers.size < 2 or not np.all(np.isfinite(powers)) or powers.mean() <= 0:
            return None
        draws = rng.integers(0, powers.size, size=(replicates, powers.size))
        return point * powers[draws].mean(axis=1) / powers.mean()
    blocks = time_blocks(rr_ms, BOOTSTRAP_BLOCK_S)
    if len(blocks) < 2:
        return None
    rr = rr_ms
    pairs = np.ones(rr.size, dtype=bool)  # pairs[i]: the difference rr[i] - rr[i-1] counts
    pairs[0] = False
    pairs &= ~after_gap
    stats = []
    for s in blocks:
        chunk = rr[s]
        usable = pairs[s].copy()
        usable[0] = False  # never a difference across two blocks
        diffs = np.diff(chunk)[usable[1:]]
        stats.append((chunk.size, chunk.sum(), np.dot(chunk, chunk), (60_000.0 / chunk).sum(),
                      diffs.size, np.dot(diffs, diffs), chunk.min(), chunk.max()))
    table = np.array(stats)
    draws = rng.integers(0, len(blocks), size=(replicates, len(blocks)))
    n, total, squares, hr, n_d, d2 = (table[:, k][draws].sum(axis=1) for k in range(6))
    with np.errstate(divide="ignore", invalid="ignore"):
        if name in ("rmssd_ms", "ln_rmssd"):
            rmssd = np.sqrt(d2 / n_d)
            return np.log(rmssd) if name == "ln_rmssd" else rmssd
        if name == "mean_hr_bpm":
            return hr / n
        if name == "sdnn_ms":
            return np.sqrt(np.maximum(squares - total * total / n, 0.0) / (n - 1))
    if name == "stress_index":
        bins = np.floor(rr / STRESS_INDEX_BIN_MS).astype(np.int64)
        bins -= bins.min()
        counts = np.array([np.bincount(bins[s], minlength=bins.max() + 1) for s in blocks])
        drawn = counts[draws].sum(axis=1)  # replicates x bins
        fullest = np.argmax(drawn, axis=1)
        mode_s = ((fullest + int(np.floor(rr.min() / STRESS_INDEX_BIN_MS))) + 0.5) \
            * STRESS_INDEX_BIN_MS / 1000.0
        amplitude = 100.0 * drawn[np.arange(replicates), fullest] / n
        spread_s = (table[:, 7][draws].max(axis=1) - table[:, 6][draws].min(axis=1)) / 1000.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(amplitude / (2.0 * mode_s * spread_s))
    raise ValueError(f"no bootstrap for marker {name!r}")
