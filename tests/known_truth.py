"""Cases with known truth shared by the analysis tests (tests/unit/analysis/) and
benchmarks/accuracy.py: synthetic breathing by beat integration, artifacts injected at known
places, and the real recordings with their annotations."""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.beats import Beat
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.sources.simulator import SimulatedBeat, SimulatedPerson, simulate_beats
from tests.helpers import real_recording as recording_path

FloatArray = NDArray[np.float64]

__all__ = ["beats_of", "breathing_rr", "demo_session", "gudb_sitting", "inject", "joined",
           "mitdb_beats", "nn_rmssd_ms", "power_truth_ms2", "recall_and_precision",
           "recording_path", "rsa_grid", "sampled_sinusoid_rr"]


def breathing_rr(hr_bpm: float, breaths_per_min: float, amplitude_ms: float, seconds: float, *,
                 phase: float = 0.7, noise_ms: float = 0.0, seed: int = 0) -> FloatArray:
    """Beats of a heart whose period swings as amplitude_ms x sin(breath), by integral pulse
    frequency modulation; the RR series then swings by amplitude_ms x sinc(f / HR) (each RR
    averages the period over its own interval: power_truth_ms2)."""
    mean_s, hz, step_s = 60.0 / hr_bpm, breaths_per_min / 60.0, 0.001
    t = np.arange(0.0, seconds + 5.0, step_s)
    period_s = mean_s + amplitude_ms / 1000.0 * np.sin(2.0 * np.pi * hz * t + phase)
    cycles = np.cumsum(step_s / period_s)
    beats_s = np.interp(np.arange(1, int(cycles[-1])), cycles, t)
    rr = np.diff(np.concatenate(([0.0], beats_s))) * 1000.0
    rr = rr[np.cumsum(rr) <= seconds * 1000.0]
    return rr + np.random.default_rng(seed).normal(0.0, noise_ms, rr.size) if noise_ms else rr


def sampled_sinusoid_rr(hr_bpm: float, breaths_per_min: float, amplitude_ms: float,
                        seconds: float) -> FloatArray:
    """The issue's synthetic case: each RR = mean + amplitude_ms x sin(breath) at its start."""
    out: list[float] = []
    t_s = 0.0
    while t_s < seconds:
        rr = 60_000.0 / hr_bpm + amplitude_ms * math.sin(2.0 * math.pi * breaths_per_min / 60.0 * t_s)
        out.append(rr)
        t_s += rr / 1000.0
    return np.array(out)


def power_truth_ms2(hr_bpm: float, breaths_per_min: float, amplitude_ms: float) -> float:
    """The RR power of breathing_rr's swing: (A sinc(f T))² / 2, the sinc² gain of beat sampling."""
    return (amplitude_ms * float(np.sinc(breaths_per_min / 60.0 * 60.0 / hr_bpm))) ** 2 / 2.0


def rsa_grid() -> list[tuple[float, float, float]]:
    """(HR, breaths/min, amplitude) of the synthetic RSA cases: HR 50-90, 4.5-15/min and
    exactly 3, 4 and 5 beats per breath, amplitude 20-150 ms."""
    cases = []
    for hr in (50.0, 60.0, 75.0, 90.0):
        rates = sorted({4.5, 6.0, 9.0, 12.0, 15.0, hr / 3.0, hr / 4.0, hr / 5.0})
        for rate in (r for r in rates if r <= 20.0):
            cases += [(hr, rate, amplitude) for amplitude in (20.0, 50.0, 100.0, 150.0)]
    return cases


def inject(rr: FloatArray, seed: int, every: int = 30) -> tuple[FloatArray, list[int]]:
    """Ectopic beats (premature, compensatory pause), missed and extra detections at known
    places, about every `every` beats; returns the series and where each artifact is."""
    bad, truth, _ = inject_with_positions(rr, seed, every)
    return bad, truth


def inject_with_positions(rr: FloatArray, seed: int,
                          every: int = 30) -> tuple[FloatArray, list[int], dict[int, int]]:
    """`inject`, and where each clean interval left untouched went (clean index -> new index)."""
    rng = np.random.default_rng(seed)
    slots = np.arange(15, rr.size - 15, every)
    slots = slots + rng.integers(-5, 6, size=slots.size)
    kinds = rng.choice(["ectopic", "missed", "extra"], size=slots.size)
    out: list[float] = []
    truth: list[int] = []
    where: dict[int, int] = {}
    i = 0

    def keep(upto: int) -> None:
        for j in range(i, upto):
            where[j] = len(out)
            out.append(float(rr[j]))

    for k, kind in zip(slots.tolist(), kinds.tolist(), strict=True):
        keep(k)
        truth.append(len(out))
        if kind == "ectopic":
            early = rr[k] * rng.uniform(0.6, 0.75)
            out += [early, rr[k + 1] + rr[k] - early]
            i = k + 2
        elif kind == "missed":
            out.append(rr[k] + rr[k + 1])
            i = k + 2
        else:
            split = rr[k] * rng.uniform(0.35, 0.65)
            out += [split, rr[k] - split]
            i = k + 1
    keep(rr.size)
    return np.array(out), truth, where


def recall_and_precision(flags: list[int], truth: list[int]) -> tuple[float, float]:
    """An artifact at t is found if a flag lies within t-1..t+1; a flag is right if it lies
    within t-1..t+2 of an artifact (an ectopic beat also disturbs the intervals after it)."""
    found = sum(1 for t in truth if any(t - 1 <= f <= t + 1 for f in flags))
    right = sum(1 for f in flags if any(t - 1 <= f <= t + 2 for t in truth))
    return found / max(len(truth), 1), right / max(len(flags), 1)


def mitdb_beats(path: Path) -> tuple[FloatArray, NDArray[np.bool_], list[int]]:
    """MIT-BIH 100: every interval, whether it is normal-to-normal, and the rows of its 33 A
    and 1 V beats."""
    with path.open() as handle:
        rows = [row for row in csv.DictReader(handle) if row["rr_ms"]]
    rr = np.array([float(row["rr_ms"]) for row in rows])
    nn = np.array([row["nn_interval"] == "True" for row in rows])
    premature = [i for i, row in enumerate(rows) if row["symbol"] in ("A", "V")]
    return rr, nn, premature


def nn_rmssd_ms(rr: FloatArray, nn: NDArray[np.bool_], index: NDArray[np.intp]) -> float:
    """RMSSD of the successive differences between annotated normal-to-normal intervals among
    the intervals `index` (consecutive)."""
    both = nn[index[1:]] & nn[index[:-1]]
    steps = np.diff(rr[index])[both]
    return math.sqrt(float(np.mean(steps ** 2)))


def gudb_sitting(folder: Path) -> list[FloatArray]:
    """The chest-strap RR of every GUDB subject sitting (2 min each), from the R-peak sample
    positions at 250 Hz in folder/subject_XX/sitting/annotation_cs.tsv (RR = 4 ms per sample)."""
    return [np.diff(np.loadtxt(subject / "sitting" / "annotation_cs.tsv")) * 4.0
            for subject in sorted(folder.glob("subject_*"))]


def joined(parts: list[FloatArray]) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Recordings one after another, each starting after a gap."""
    rr = np.concatenate(parts)
    gap = np.zeros(rr.size, dtype=bool)
    gap[np.cumsum([0, *(part.size for part in parts[:-1])])] = True
    return rr, gap


def demo_session(seed: int, *, artifacts_per_min: float = 4.0,
                 seconds: float = 300.0) -> list[SimulatedBeat]:
    """`hrvcoach demo --sim-artifacts 4 --seed N`: the demo protocol's simulated beats."""
    pacer = Pacer.for_protocol(load_protocol("demo"))
    return list(itertools.takewhile(
        lambda s: s.beat.time_s <= seconds,
        simulate_beats(pacer, SimulatedPerson(), seed=seed, artifacts_per_min=artifacts_per_min)))


def beats_of(rr: FloatArray) -> list[Beat]:
    """Beats at the cumulative RR, as a replay sends them."""
    return [Beat(float(r), float(t)) for r, t in zip(rr, np.cumsum(rr) / 1000.0, strict=True)]
