"""The simulated strap behaves like a person breathing with the pacer, and is reproducible."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline
from scipy.signal import welch

from hrvcoach.analysis.time_domain import rmssd_ms
from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.clock import InstantClock
from hrvcoach.core.constants import MAX_RR_MS, MIN_RR_MS
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import Breath, Phase, Protocol, load_protocol
from hrvcoach.sources.simulator import (
    DEFAULT_PERSON,
    SimulatedBeat,
    SimulatedPerson,
    SimulatedStrap,
    simulate_beats,
)

DEMO_PACED_S = (60.0, 240.0)  # demo.toml: 1 min baseline, 3 min at 6/min, 1 min recovery


def simulate(pacer: Pacer, seconds: float, person: SimulatedPerson = DEFAULT_PERSON, *,
             seed: int = 0, artifacts_per_min: float = 0.0) -> list[SimulatedBeat]:
    beats = simulate_beats(pacer, person, seed=seed, artifacts_per_min=artifacts_per_min)
    return list(itertools.takewhile(lambda b: b.beat.time_s <= seconds, beats))


def times_s(beats: list[SimulatedBeat]) -> NDArray[np.float64]:
    return np.array([b.beat.time_s for b in beats])


def rr_ms(beats: list[SimulatedBeat]) -> NDArray[np.float64]:
    return np.array([b.beat.rr_ms for b in beats])


def mean_breath_swing_bpm(pacer: Pacer, beats: list[SimulatedBeat], *, from_s: float,
                          to_s: float) -> float:
    """Mean over the pacer's breaths of peak-to-trough instantaneous heart rate."""
    by_breath: dict[int, list[float]] = {}
    for b in beats:
        if from_s <= b.beat.time_s < to_s:
            breath = int(pacer.state_at(b.beat.time_s).cycles)
            by_breath.setdefault(breath, []).append(60_000.0 / b.beat.rr_ms)
    whole = sorted(by_breath)[1:-1]  # the first and last breath are cut off
    return float(np.mean([max(by_breath[k]) - min(by_breath[k]) for k in whole]))


def rr_spectrum(beats: list[SimulatedBeat], from_s: float) -> tuple[NDArray[np.float64], ...]:
    """RR resampled at 4 Hz with a cubic spline, Welch PSD with 256 s segments."""
    t, rr = times_s(beats), rr_ms(beats)
    keep = t >= from_s
    grid_s = np.arange(t[keep][0], t[keep][-1], 0.25)
    resampled = CubicSpline(t[keep], rr[keep])(grid_s)
    return welch(resampled - resampled.mean(), fs=4.0, nperseg=1024)


@pytest.mark.parametrize("breaths_per_min", [6.0, 12.0])
def test_rr_spectrum_peaks_at_the_paced_breathing_rate(breaths_per_min):
    beats = simulate(Pacer.constant(breaths_per_min), 600.0)
    freq_hz, power = rr_spectrum(beats, from_s=60.0)
    band = (freq_hz >= 0.04) & (freq_hz <= 0.4)
    peak_hz = freq_hz[band][np.argmax(power[band])]
    assert peak_hz == pytest.approx(breaths_per_min / 60.0, abs=0.01)


def test_rsa_near_resonance_is_much_larger_than_at_15_per_minute():
    swings = {}
    for rate in (5.5, 15.0):
        pacer = Pacer.constant(rate)
        swings[rate] = mean_breath_swing_bpm(pacer, simulate(pacer, 180.0), from_s=60.0, to_s=180.0)
    assert 13.0 < swings[5.5] < 25.0  # ~17 bpm
    assert 2.5 < swings[15.0] < 6.5  # ~4 bpm
    assert swings[5.5] > 2.5 * swings[15.0]


def test_heart_rate_rises_on_the_in_breath_a_little_after_the_lungs():
    pacer = Pacer.constant(6.0)
    beats = [b for b in simulate(pacer, 300.0) if b.beat.time_s > 60.0]
    t, hr_bpm = times_s(beats), 60_000.0 / rr_ms(beats)
    lung = np.array([b.breathing_lung for b in beats])
    assert np.corrcoef(hr_bpm, lung)[0, 1] > 0.7
    # the lungs (known at any time from the pacer, shifted by the person's lag) lead heart rate
    delays_s = np.arange(-3.0, 3.05, 0.1)
    fits = [np.corrcoef(hr_bpm, [pacer.state_at(x - 0.7 - d).lung for x in t])[0, 1]
            for d in delays_s]
    assert 0.0 <= delays_s[int(np.argmax(fits))] <= 1.5  # rsa_delay_s = 0.5


@pytest.mark.parametrize("resonance", [4.5, 6.5])
def test_rsa_is_largest_when_breathing_at_the_persons_resonance(resonance):
    person = SimulatedPerson(resonance_breaths_per_min=resonance)
    swings = []
    for rate in (4.5, 5.5, 6.5):
        pacer = Pacer.constant(rate)
        beats = simulate(pacer, 180.0, person, seed=1)
        swings.append(mean_breath_swing_bpm(pacer, beats, from_s=60.0, to_s=180.0))
    assert (4.5, 5.5, 6.5)[int(np.argmax(swings))] == resonance
    assert max(swings) > 1.3 * swings[1]  # 1/min off resonance is clearly smaller


@pytest.mark.parametrize("resonance", [5.0, 5.5, 6.0])
def test_stepped_two_minute_blocks_single_out_the_resonance_rate(resonance):
    rates = (6.5, 6.0, 5.5, 5.0, 4.5)  # Lehrer's order, straight after a 2-min baseline
    phases = [Phase("baseline", "baseline", 120.0)] + [
        Phase(f"{rate:g}/min", "paced", 120.0, rate, Breath(0.4, 0.0, 0.6, 0.0)) for rate in rates
    ]
    pacer = Pacer.for_protocol(Protocol("assessment", "", tuple(phases)))
    beats = simulate(pacer, 720.0, SimulatedPerson(resonance_breaths_per_min=resonance))
    swings = [
        mean_breath_swing_bpm(pacer, beats, from_s=start_s + 20.0, to_s=start_s + 120.0)
        for start_s in (120.0 + 120.0 * k for k in range(len(rates)))
    ]
    assert rates[int(np.argmax(swings))] == pytest.approx(resonance, abs=0.25)


def test_same_seed_same_beats_and_another_seed_other_beats():
    pacer = Pacer.for_protocol(load_protocol("demo"))
    first, again = simulate(pacer, 300.0, seed=7), simulate(pacer, 300.0, seed=7)
    other = simulate(pacer, 300.0, seed=8)
    assert first == again
    assert rr_ms(first)[:50].tolist() != rr_ms(other)[:50].tolist()


def test_beats_are_strap_like_increasing_and_physiological():
    beats = simulate(Pacer.for_protocol(load_protocol("demo")), 1800.0, seed=3)
    t, rr = times_s(beats), rr_ms(beats)
    assert len(beats) > 1700  # ~65 bpm for 30 min
    assert np.all(np.diff(t) > 0)
    assert rr.min() >= MIN_RR_MS and rr.max() <= MAX_RR_MS
    assert rr.min() > 600.0 and rr.max() < 1300.0  # a resting adult, not merely legal
    units = rr * 1.024
    np.testing.assert_allclose(units, np.round(units), atol=1e-9)  # whole 1/1024 s units
    np.testing.assert_allclose(np.cumsum(rr) / 1000.0, t, atol=1e-6)  # time is the sum of RR
    assert all(b.beat.contact is True and b.artifact is None for b in beats)


def test_start_s_shifts_the_session_clock():
    beats = list(itertools.islice(
        simulate_beats(Pacer.constant(6.0), SimulatedPerson(), seed=0, start_s=100.0), 20))
    assert beats[0].beat.time_s == pytest.approx(100.0 + beats[0].beat.rr_ms / 1000.0)


def test_vagal_tone_rises_with_slow_breathing_and_stays_up_in_recovery():
    pacer = Pacer.for_protocol(load_protocol("demo"))
    paced_from_s, paced_to_s = DEMO_PACED_S
    for seed in range(3):
        beats = simulate(pacer, 300.0, seed=seed)
        t, rr = times_s(beats), rr_ms(beats)
        vagal = np.array([b.vagal_tone for b in beats])
        baseline_end = vagal[t < paced_from_s][-1]
        paced_end = vagal[t < paced_to_s][-1]
        assert baseline_end == pytest.approx(1.0, abs=0.01)
        assert paced_end > 1.2  # ~1.29 after 3 minutes at 6/min
        assert vagal[-1] > 0.97 * paced_end  # decays over tens of minutes, not one
        baseline_rmssd = rmssd_ms(rr[(t >= paced_from_s - 60.0) & (t < paced_from_s)])
        paced_rmssd = rmssd_ms(rr[(t >= paced_to_s - 60.0) & (t < paced_to_s)])
        assert 15.0 < baseline_rmssd < 40.0
        assert paced_rmssd > 1.3 * baseline_rmssd


def test_breathing_follows_the_pacer_imperfectly_and_breathes_freely_unpaced():
    pacer = Pacer.for_protocol(load_protocol("demo"))
    beats = simulate(pacer, 300.0, seed=2)
    t = times_s(beats)
    lung = np.array([b.breathing_lung for b in beats])
    rate = np.array([b.breaths_per_min for b in beats])
    paced = (t >= DEMO_PACED_S[0] + 20.0) & (t < DEMO_PACED_S[1])
    pacer_lung = np.array([pacer.state_at(x).lung for x in t[paced]])
    correlation = np.corrcoef(lung[paced], pacer_lung)[0, 1]
    assert 0.6 < correlation < 0.999  # ~0.91
    assert 5.5 < np.mean(rate[paced]) < 6.5
    assert 10.0 < np.mean(rate[t < DEMO_PACED_S[0]]) < 16.0  # spontaneous, ~13/min
    lags_s = np.arange(0.0, 2.05, 0.1)
    fits = [np.corrcoef(lung[paced], [pacer.state_at(x - lag).lung for x in t[paced]])[0, 1]
            for lag in lags_s]
    assert 0.3 <= lags_s[int(np.argmax(fits))] <= 1.2  # following_lag_s = 0.7


def test_a_perfect_follower_matches_the_pacer_and_irregular_breaths_break_the_lock():
    pacer = Pacer.constant(6.0)
    perfect = SimulatedPerson(following_lag_s=0.0, following_gain_per_s=5.0, period_jitter=0.0,
                              irregular_breath_probability=0.0)
    sloppy = SimulatedPerson(irregular_breath_probability=0.5)

    def correlation(person: SimulatedPerson) -> float:
        beats = [b for b in simulate(pacer, 600.0, person) if b.beat.time_s > 30.0]
        pacer_lung = [pacer.state_at(b.beat.time_s).lung for b in beats]
        return float(np.corrcoef([b.breathing_lung for b in beats], pacer_lung)[0, 1])

    assert correlation(perfect) > 0.99
    assert correlation(sloppy) < correlation(SimulatedPerson()) - 0.05


def test_artifacts_are_poisson_tagged_and_shaped_like_the_real_ones():
    pacer = Pacer.constant(6.0)
    clean = simulate(pacer, 600.0, seed=4)
    dirty = simulate(pacer, 600.0, seed=4, artifacts_per_min=2.0)
    kinds = [b.artifact for b in dirty]
    tagged = [k for k in kinds if k is not None]
    assert 8 <= len(tagged) <= 35  # Poisson mean 20 in 10 min
    assert set(tagged) == {"ectopic", "missed", "extra"}
    rr = rr_ms(dirty)
    for i, kind in enumerate(kinds):
        if kind is None or i == 0 or i + 1 == len(dirty):
            continue
        before, this, after = rr[i - 1], rr[i], rr[i + 1]
        if kind == "ectopic":  # premature (65-75 %), then a full compensatory pause
            assert this < 0.85 * before and after > 1.3 * this
            assert this + after == pytest.approx(2 * before, rel=0.2)
        elif kind == "missed":  # two intervals in one
            assert this > 1.6 * before
        else:  # extra: one interval split at 35-65 %
            assert this < 0.75 * before
    # the sinus rhythm underneath is untouched: every beat but the inserted ones is a clean beat
    clean_times = {b.beat.time_s for b in clean}
    assert all(b.beat.time_s in clean_times for b in dirty if b.artifact not in ("ectopic", "extra"))
    assert all(b.artifact is None for b in simulate(pacer, 600.0, seed=4, artifacts_per_min=0.0))


async def test_simulated_strap_says_connected_then_delivers_the_simulated_beats():
    pacer = Pacer.for_protocol(load_protocol("demo"))
    clock = InstantClock()
    truth: list[SimulatedBeat] = []
    items: list[Beat | SourceStatus] = []
    async with SimulatedStrap(pacer, clock, seed=5, on_truth=truth.append) as strap:
        async for item in strap.beats():
            items.append(item)
            if len(items) == 101:
                break
    expected = list(itertools.islice(simulate_beats(pacer, SimulatedPerson(), seed=5), 100))
    assert isinstance(items[0], SourceStatus) and items[0].kind is StatusKind.CONNECTED
    assert items[0].time_s == 0.0
    assert items[1:] == [s.beat for s in expected]
    assert truth == expected
    assert clock.now() == expected[-1].beat.time_s


async def test_simulated_strap_beats_do_not_depend_on_when_reading_starts():
    # a machine slow to start (the clock already at 4.3 s when the session reads the strap)
    # gets the same beats: those already due go out at once, then each at its own time
    pacer = Pacer.for_protocol(load_protocol("demo"))
    clock = InstantClock(start_s=4.3)
    items: list[Beat | SourceStatus] = []
    async with SimulatedStrap(pacer, clock, seed=5) as strap:
        async for item in strap.beats():
            items.append(item)
            if len(items) == 41:
                break
    expected = [s.beat for s in itertools.islice(simulate_beats(pacer, SimulatedPerson(), seed=5),
                                                 40)]
    assert expected[0].time_s < 4.3 < expected[-1].time_s
    assert isinstance(items[0], SourceStatus) and items[0].time_s == 4.3
    assert items[1:] == expected
    assert clock.now() == expected[-1].time_s


@pytest.mark.parametrize(("field", "value"), [
    ("resonance_q", 0.1),
    ("heart_rate_bpm", -66.0),
    ("irregular_breath_probability", 1.0),
    ("spontaneous_depth", 1.5),
    ("beat_noise_ms", float("nan")),
])
def test_an_impossible_person_is_refused_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        SimulatedPerson(**{field: value})


def test_a_negative_artifact_rate_is_refused():
    with pytest.raises(ValueError, match="artifacts_per_min"):
        simulate_beats(Pacer.constant(6.0), SimulatedPerson(), seed=0, artifacts_per_min=-1.0)


@pytest.mark.parametrize(("a", "b"), [(0.951, 0.3), (0.99, 0.01), (0.9995, 0.03), (0.5, 1.0),
                                      (1.0, 0.2), (0.01, 1.0)])
def test_the_first_order_filter_equals_scipys_lfilter(a, b):
    from scipy.signal import lfilter

    from hrvcoach.sources.simulator import first_order_filter

    x = np.random.default_rng(1).standard_normal(1000)
    expected, _ = lfilter([b], [1.0, -a], x, zi=[a * 0.7])
    assert np.allclose(first_order_filter(x, a, b, 0.7), expected, rtol=1e-12, atol=1e-12)
