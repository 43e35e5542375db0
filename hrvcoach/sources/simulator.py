"""A simulated chest strap: a small physiological model of a person breathing with the pacer.

Why a model and not a sine: the coach, the live markers, artifact correction and the resonance
assessment need input that behaves like a real person (imperfect, noisy, slowly changing) and
that comes with ground truth. Everything is a pure function of the pacer, the person and the seed.

What it models, on a 0.1 s time grid between beats:

- **Breathing.** In paced phases the person tracks the pacer's phase with a first-order
  phase-locking loop aimed at where the pacer was a reaction lag ago; each breath's period
  jitters, and now and then a breath goes wrong (a pause at the bottom of the breath, or one
  extra-long breath) and they catch up. The lungs follow the pacer's breath shape at the person's
  own point in the breath. In unpaced phases they breathe spontaneously, each breath at its own
  rate and depth (a spontaneous breath is shallower than a paced one).
- **Respiratory sinus arrhythmia.** Heart rate rises on the in-breath and falls on the
  out-breath, a short vagal delay behind the lungs. The swing is a direct vagal part (low-pass in
  breathing rate) plus a baroreflex part whose gain is a resonance curve, a band-pass
  1 / sqrt(1 + Q^2 (f/f0 - f0/f)^2) peaking exactly at `resonance_breaths_per_min` (Vaschillo et
  al. 2002), so slow breathing near resonance gives much bigger swings. The gain is evaluated at
  the person's breathing rate (smoothed over ~5 s) and settles over ~10 s, as a resonance builds
  up over a few breaths.
- **Vagal tone.** Starts at 1.0, rises while the person breathes slowly (time constant of
  minutes) and falls back much more slowly. RSA grows with its square root (saturating), beat
  noise in proportion, and mean heart rate drops a little.
- **Mayer wave** (~0.1 Hz, wandering in frequency and amplitude, largely entrained by slow
  breathing), **1/f noise** (OU processes with log-spaced time constants) and white **beat noise**.
- **Beats** come from integral pulse frequency modulation: a beat whenever the integral of heart
  rate crosses the next whole number (plus beat noise). Beat times are rounded to the strap's
  1/1024 s ticks, and each RR is the difference of two ticks, as a strap counts them.
- **Artifacts** (Poisson in time): an ectopic beat (premature at 65-75 % of the interval; the
  next sinus beat comes on time, so a compensatory long interval follows), a missed beat (two
  intervals merged) or an extra detection (one interval split). The beat an artifact produces is
  tagged; inserted beats carry the breathing state of the sinus beat they displace.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, fields
from typing import Final, Literal, Self

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind, quantize_rr_ms
from hrvcoach.core.clock import Clock
from hrvcoach.core.constants import SIM_MAX_ARTIFACTS_PER_MIN, SPONTANEOUS_BREATHS_PER_MIN
from hrvcoach.protocols.pacer import Pacer, breath_part
from hrvcoach.protocols.protocol import Breath
from hrvcoach.sources.base import SourceItem

__all__ = ["DEFAULT_PERSON", "SimulatedBeat", "SimulatedPerson", "SimulatedStrap", "simulate_beats"]

log = logging.getLogger(__name__)

ArtifactKind = Literal["ectopic", "missed", "extra"]
ARTIFACT_KINDS: Final[tuple[ArtifactKind, ...]] = ("ectopic", "missed", "extra")

STEP_S: Final = 0.1  # the model's time grid
_CHUNK_STEPS: Final = 300  # 30 s of grid computed at a time
_TICKS_PER_S: Final = 1024  # the strap's clock: RR in 1/1024 s units
_SPONTANEOUS_BREATH: Final = Breath(inhale=0.4, hold_in=0.0, exhale=0.5, hold_out=0.1)
_MIN_HR_BPM: Final = 40.0  # the model's heart rate is clipped to this range
_MAX_HR_BPM: Final = 160.0
_CLEAN_BEATS_BETWEEN_ARTIFACTS: Final = 3  # sinus beats after an artifact before the next
_CATCH_UP_BREATHS: Final = 0.35  # ahead by more than this: wait; behind by up to 0.65: catch up
_MAX_BEAT_NOISE: Final = 0.25  # beat noise never changes one interval by more than this fraction
_PINK_TIME_CONSTANTS_S: Final = (2.0, 6.0, 20.0, 60.0, 200.0)  # log-spaced: ~1/f in between
_MAYER_WANDER_S: Final = 40.0  # time constant of the Mayer wave's frequency and amplitude drift
_SHOWN_RATE_S: Final = 5.0  # smoothing of the reported breathing rate
_RSA_SETTLE_S: Final = 10.0  # the RSA swing settles to a new breathing rate over a few breaths
_VAGAL_RATE_S: Final = 20.0  # vagal tone responds to the breathing rate averaged over this
_SLOW_BELOW_PER_MIN: Final = 7.0  # breathing this slowly drives vagal tone to its peak ...
_SLOW_ABOVE_PER_MIN: Final = 10.0  # ... faster than this does not raise it
_MAYER_ENTRAINED: Final = 0.75  # share of the free Mayer wave that slow breathing takes over


@dataclass(frozen=True, slots=True)
class SimulatedPerson:
    """Physiology of the simulated person. Defaults: a relaxed adult, resonance at 5.5/min."""

    resonance_breaths_per_min: float = 5.5  # where the baroreflex resonance peaks
    resonance_q: float = 7.0  # sharpness of the resonance (quality factor of the band-pass)
    heart_rate_bpm: float = 66.0  # mean heart rate at vagal tone 1.0
    rsa_resonant_bpm: float = 12.0  # peak-to-trough HR swing of the baroreflex part at resonance
    rsa_direct_bpm: float = 5.0  # peak-to-trough HR swing of the direct vagal part, slow breaths
    rsa_direct_corner_hz: float = 0.4  # the direct part falls off above this breathing frequency
    rsa_delay_s: float = 0.5  # vagal latency: heart rate follows the lungs this much later
    spontaneous_breaths_per_min: float = SPONTANEOUS_BREATHS_PER_MIN
    spontaneous_variability: float = 0.15  # breath-to-breath spread of the spontaneous rate (log)
    spontaneous_depth: float = 0.7  # tidal volume of a spontaneous breath, full paced breath = 1
    following_lag_s: float = 0.7  # how far behind the pacer the person breathes
    following_gain_per_s: float = 0.4  # phase-locking strength (1 / time constant of catching up)
    period_jitter: float = 0.06  # spread of a paced breath's own period (fraction)
    irregular_breath_probability: float = 0.02  # per paced breath: a pause or an extra-long breath
    vagal_tone_peak: float = 1.5  # where vagal tone heads during slow breathing (start: 1.0)
    vagal_rise_s: float = 180.0  # time constant of the rise during slow breathing
    vagal_decay_s: float = 1200.0  # time constant of the fall back to 1.0 afterwards
    vagal_hr_drop_bpm: float = 4.0  # mean heart rate drop per unit of vagal tone above 1.0
    mayer_bpm: float = 1.5  # peak-to-trough HR swing of the Mayer wave
    mayer_hz: float = 0.1  # centre frequency of the Mayer wave
    pink_noise_bpm: float = 1.0  # standard deviation of the 1/f heart rate noise
    beat_noise_ms: float = 10.0  # standard deviation of white RR noise at vagal tone 1.0

    def __post_init__(self) -> None:
        positive = (
            "resonance_breaths_per_min", "heart_rate_bpm", "rsa_direct_corner_hz",
            "spontaneous_breaths_per_min", "spontaneous_depth", "following_gain_per_s",
            "vagal_rise_s", "vagal_decay_s", "mayer_hz",
        )
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{field.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{field.name} must be finite, got {value!r}")
            if value < 0 or (value == 0 and field.name in positive):
                kind = "positive" if field.name in positive else "non-negative"
                raise ValueError(f"{field.name} must be {kind}, got {value!r}")
        if self.resonance_q < 0.5:
            raise ValueError(f"resonance_q must be at least 0.5, got {self.resonance_q!r}")
        if not _MIN_HR_BPM <= self.heart_rate_bpm <= _MAX_HR_BPM:
            raise ValueError(f"heart_rate_bpm must be within {_MIN_HR_BPM:g}..{_MAX_HR_BPM:g}, "
                             f"got {self.heart_rate_bpm!r}")
        if self.spontaneous_depth > 1:
            raise ValueError(f"spontaneous_depth must be at most 1, got {self.spontaneous_depth!r}")
        if self.irregular_breath_probability >= 1:
            raise ValueError("irregular_breath_probability must be below 1, "
                             f"got {self.irregular_breath_probability!r}")
        if self.period_jitter > 0.3:
            raise ValueError(f"period_jitter must be at most 0.3, got {self.period_jitter!r}")
        if self.rsa_delay_s > 5:
            raise ValueError(f"rsa_delay_s must be at most 5 s, got {self.rsa_delay_s!r}")
        if self.vagal_tone_peak < 1:
            raise ValueError(f"vagal_tone_peak must be at least 1.0, got {self.vagal_tone_peak!r}")


DEFAULT_PERSON: Final = SimulatedPerson()


@dataclass(frozen=True, slots=True)
class SimulatedBeat:
    """One simulated beat with the model's ground truth at that moment.

    `artifact` marks the beat an artifact produced: "ectopic" the premature beat (the long
    interval after it is the untagged compensatory pause), "missed" the beat after the one that
    went undetected, "extra" the spurious beat (the short rest of the split interval follows).
    """

    beat: Beat
    breathing_lung: float  # the person's lungs: 0 = fully out, 1 = a full paced in-breath
    breaths_per_min: float  # the person's current breathing rate (smoothed over ~5 s)
    vagal_tone: float  # 1.0 at the start; RSA grows with its square root, beat noise with it
    artifact: ArtifactKind | None = None  # set on the beat an artifact produced


@dataclass(frozen=True, slots=True)
class _TrueBeat:
    """A beat before quantisation: its exact time and the state of the person then."""

    time_s: float
    lung: float
    breaths_per_min: float
    vagal_tone: float
    artifact: ArtifactKind | None = None


def simulate_beats(pacer: Pacer, person: SimulatedPerson, *, seed: int,
                   artifacts_per_min: float = 0.0, start_s: float = 0.0) -> Iterator[SimulatedBeat]:
    """Simulated beats from session time `start_s` on, forever; the caller stops iterating.

    Deterministic for a given seed. Breathing, heart and artifacts draw from separate streams,
    so switching artifacts on leaves every untouched sinus beat exactly where it was.
    """
    _check_artifacts_per_min(artifacts_per_min)
    if not math.isfinite(start_s):
        raise ValueError(f"start_s must be finite, got {start_s!r}")
    breath_rng, heart_rng, artifact_rng = np.random.default_rng(seed).spawn(3)
    beats = _sinus_beats(pacer, person, breath_rng, heart_rng, start_s)
    if artifacts_per_min > 0:
        beats = _with_artifacts(beats, artifacts_per_min, artifact_rng, start_s)
    return _on_strap_ticks(beats, start_s)


def _check_artifacts_per_min(artifacts_per_min: float) -> None:
    if not (math.isfinite(artifacts_per_min) and 0 <= artifacts_per_min <= SIM_MAX_ARTIFACTS_PER_MIN):
        raise ValueError(f"artifacts_per_min must be within 0..{SIM_MAX_ARTIFACTS_PER_MIN:g}, "
                         f"got {artifacts_per_min!r}")


class SimulatedStrap:
    """A Source that delivers simulated beats at their session times on the clock.

    The simulation starts at session time `start_s` (0: sessions restart their clock just
    before they read the source). Beats already due when `beats()` is first iterated go out at
    once, so what the person does depends on the pacer and the seed only, never on how long the
    machine took to start (at 200x speed 20 ms of start-up would be 4 s of session). `on_truth`,
    if given, sees each SimulatedBeat (breathing, vagal tone, artifact) just before its beat
    goes out.
    """

    def __init__(self, pacer: Pacer, clock: Clock, person: SimulatedPerson = DEFAULT_PERSON, *,
                 seed: int = 0, artifacts_per_min: float = 0.0, start_s: float = 0.0,
                 on_truth: Callable[[SimulatedBeat], None] | None = None) -> None:
        _check_artifacts_per_min(artifacts_per_min)
        if not math.isfinite(start_s):
            raise ValueError(f"start_s must be finite, got {start_s!r}")
        self._start_s = start_s
        self._pacer = pacer
        self._clock = clock
        self._person = person
        self._seed = seed
        self._artifacts_per_min = artifacts_per_min
        self._on_truth = on_truth

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def beats(self) -> AsyncIterator[SourceItem]:
        """CONNECTED, then one beat after another, forever: the session stops consuming."""
        log.debug("simulated strap: seed %d from %.3f s (clock at %.3f s)", self._seed,
                  self._start_s, self._clock.now())
        yield SourceStatus(StatusKind.CONNECTED, self._clock.now(), "simulated strap")
        for simulated in simulate_beats(self._pacer, self._person, seed=self._seed,
                                        artifacts_per_min=self._artifacts_per_min,
                                        start_s=self._start_s):
            await self._clock.sleep_until(simulated.beat.time_s)
            if self._on_truth is not None:
                self._on_truth(simulated)
            yield simulated.beat


def _on_strap_ticks(beats: Iterator[_TrueBeat], start_s: float) -> Iterator[SimulatedBeat]:
    """Round beat times to the strap's 1/1024 s ticks; RR is the difference of ticks."""
    last_tick = 0
    for true in beats:
        tick = max(round((true.time_s - start_s) * _TICKS_PER_S), last_tick + 1)
        rr_ms = quantize_rr_ms((tick - last_tick) * 1000.0 / _TICKS_PER_S)
        beat = Beat(rr_ms, start_s + tick / _TICKS_PER_S, contact=True)
        last_tick = tick
        yield SimulatedBeat(beat, true.lung, true.breaths_per_min, true.vagal_tone, true.artifact)


def _with_artifacts(beats: Iterator[_TrueBeat], per_min: float, rng: np.random.Generator,
                    start_s: float) -> Iterator[_TrueBeat]:
    """Turn sinus beats into artifacts at Poisson times, with a few clean beats between two."""
    mean_gap_s = 60.0 / per_min
    next_s = start_s + rng.exponential(mean_gap_s)
    previous_s = start_s
    clean_left = _CLEAN_BEATS_BETWEEN_ARTIFACTS  # so the first one has normal intervals before it
    for true in beats:
        if true.time_s < next_s or clean_left > 0:
            previous_s = true.time_s
            clean_left -= 1
            yield true
            continue
        kind = ARTIFACT_KINDS[int(rng.integers(len(ARTIFACT_KINDS)))]
        interval_s = true.time_s - previous_s
        if kind == "ectopic":  # premature, and the sinus beat it pre-empts never shows
            early_s = previous_s + rng.uniform(0.65, 0.75) * interval_s
            previous_s = early_s
            yield _TrueBeat(early_s, true.lung, true.breaths_per_min, true.vagal_tone, "ectopic")
        elif kind == "extra":  # a spurious detection splits the interval
            spurious_s = previous_s + rng.uniform(0.35, 0.65) * interval_s
            yield _TrueBeat(spurious_s, true.lung, true.breaths_per_min, true.vagal_tone, "extra")
            previous_s = true.time_s
            yield true
        else:  # missed: this beat is not detected, so the next interval spans two
            after = next(beats)
            previous_s = after.time_s
            yield _TrueBeat(after.time_s, after.lung, after.breaths_per_min, after.vagal_tone,
                            "missed")
        # after an ectopic beat the next sinus beat comes on time: a compensatory long interval
        clean_left = _CLEAN_BEATS_BETWEEN_ARTIFACTS
        next_s = previous_s + rng.exponential(mean_gap_s)


def _sinus_beats(pacer: Pacer, person: SimulatedPerson, breath_rng: np.random.Generator,
                 heart_rng: np.random.Generator, start_s: float) -> Iterator[_TrueBeat]:
    breather = _Breather(pacer, person, breath_rng)
    heart = _Heart(person, heart_rng)
    t0_s = start_s
    while True:
        breathing = breather.run(t0_s, _CHUNK_STEPS)
        lung, shown_hz, vagal = breathing.lung, breathing.shown_hz, breathing.vagal
        for time_s, i in heart.run(t0_s, breathing):
            yield _TrueBeat(time_s, float(lung[i]), 60.0 * float(shown_hz[i]), float(vagal[i]))
        t0_s += _CHUNK_STEPS * STEP_S


@dataclass(frozen=True, slots=True)
class _Breathing:
    """The person's breathing on one chunk of the grid."""

    lung: NDArray[np.float64]  # 0..1
    speed_hz: NDArray[np.float64]  # how fast the breathing phase advances now
    shown_hz: NDArray[np.float64]  # breathing rate smoothed over a few seconds, as reported
    slowness: NDArray[np.float64]  # 0 at normal rates .. 1 for slow breathing (<= 7/min)
    vagal: NDArray[np.float64]  # vagal tone


class _Breather:
    """The person's breathing phase, lungs and vagal tone, stepped on the grid."""

    def __init__(self, pacer: Pacer, person: SimulatedPerson, rng: np.random.Generator) -> None:
        self._pacer = pacer
        self._person = person
        self._rng = rng
        self._cycles = float(rng.uniform(0.0, 1.0))  # the person's own breaths so far
        self._spontaneous_hz = self._draw_spontaneous_hz()
        self._rate_hz = self._spontaneous_hz  # smoothed, for vagal tone
        self._shown_hz = self._spontaneous_hz  # smoothed, reported
        self._vagal = 1.0
        self._depth = person.spontaneous_depth
        self._speed = 1.0  # this paced breath's own speed relative to the pacer
        self._pause_s = 0.0  # left of a pause at the bottom of the breath
        self._long = False  # this paced breath is an extra-long one: not following
        self._was_paced = False

    def _draw_spontaneous_hz(self) -> float:
        person = self._person
        spread = person.spontaneous_variability * float(self._rng.standard_normal())
        return person.spontaneous_breaths_per_min / 60.0 * math.exp(spread)

    def _new_breath(self, paced: bool) -> None:
        person, rng = self._person, self._rng
        self._long = False
        if paced:
            self._depth = min(1.0, 0.95 + 0.04 * float(rng.standard_normal()))
            self._speed = 1.0 + person.period_jitter * float(rng.standard_normal())
            if float(rng.uniform()) < person.irregular_breath_probability:
                if float(rng.uniform()) < 0.5:
                    self._pause_s = float(rng.uniform(1.0, 2.5))
                else:
                    self._long = True
                    self._speed = float(rng.uniform(0.7, 0.85))
        else:
            spread = 0.15 * float(rng.standard_normal())
            self._depth = min(1.0, max(0.1, person.spontaneous_depth * (1.0 + spread)))
            self._spontaneous_hz = self._draw_spontaneous_hz()

    def run(self, t0_s: float, steps: int) -> _Breathing:
        """Step the person's breathing and vagal tone over `steps` grid points from t0_s."""
        person, pacer, dt = self._person, self._pacer, STEP_S
        lag_s, gain = person.following_lag_s, person.following_gain_per_s
        rate_alpha = dt / _VAGAL_RATE_S
        shown_alpha = dt / _SHOWN_RATE_S
        vagal_span = person.vagal_tone_peak - 1.0
        lungs, speeds, shown, slows, vagals = ([0.0] * steps for _ in range(5))
        cycles, rate_hz, shown_hz, vagal = self._cycles, self._rate_hz, self._shown_hz, self._vagal
        for i in range(steps):
            t_s = t0_s + i * dt
            state = pacer.state_at(t_s)
            pacer_hz = (state.breaths_per_min or 0.0) / 60.0 if state.paced else 0.0
            paced = pacer_hz > 0
            if not paced:
                if self._was_paced:  # a pause or a long breath ends with the pacer
                    self._pause_s, self._long = 0.0, False
                speed_hz = self._spontaneous_hz
            elif self._pause_s > 0:
                self._pause_s -= dt
                speed_hz = 0.0
            elif self._long:
                speed_hz = pacer_hz * self._speed
            else:  # phase-locking: aim at where the pacer was lag_s ago; rather catch up than wait
                error = state.cycles - pacer_hz * lag_s - cycles
                error -= math.floor(error + _CATCH_UP_BREATHS)
                speed_hz = pacer_hz * self._speed + gain * error
                speed_hz = min(max(speed_hz, 0.3 * pacer_hz), 2.5 * pacer_hz)
            self._was_paced = paced
            before = cycles
            cycles += speed_hz * dt
            if math.floor(cycles) > math.floor(before):
                self._new_breath(paced)
            lung = -1.0
            if paced:  # the pacer's breath shape, at the person's own point in the breath
                behind = state.cycles - cycles
                behind -= round(behind)
                shape = pacer.state_at(t_s - behind / pacer_hz)
                lung = shape.lung if shape.paced else -1.0
            if lung < 0:
                lung = breath_part(cycles % 1.0, _SPONTANEOUS_BREATH)[1]
            rate_hz += (speed_hz - rate_hz) * rate_alpha
            shown_hz += (speed_hz - shown_hz) * shown_alpha
            slowness = min(max((_SLOW_ABOVE_PER_MIN - 60.0 * rate_hz) / (
                _SLOW_ABOVE_PER_MIN - _SLOW_BELOW_PER_MIN), 0.0), 1.0)
            target = 1.0 + vagal_span * slowness
            tau_s = person.vagal_rise_s if target > vagal else person.vagal_decay_s
            vagal += (target - vagal) * dt / tau_s
            lungs[i], speeds[i], shown[i] = self._depth * lung, speed_hz, shown_hz
            slows[i], vagals[i] = slowness, vagal
        self._cycles, self._rate_hz, self._shown_hz, self._vagal = cycles, rate_hz, shown_hz, vagal
        return _Breathing(np.array(lungs), np.array(speeds), np.array(shown), np.array(slows),
                          np.array(vagals))


class _OrnsteinUhlenbeck:
    """Independent unit-variance OU processes with the given time constants, on the grid."""

    def __init__(self, time_constants_s: tuple[float, ...], rng: np.random.Generator) -> None:
        self._decay = [math.exp(-STEP_S / tau_s) for tau_s in time_constants_s]
        self._state = rng.standard_normal(len(time_constants_s))
        self._rng = rng

    def run(self, steps: int) -> NDArray[np.float64]:
        """Array of shape (processes, steps)."""
        noise = self._rng.standard_normal((len(self._decay), steps))
        out = np.empty_like(noise)
        for k, a in enumerate(self._decay):
            b = math.sqrt(1.0 - a * a)
            out[k] = first_order_filter(noise[k], a, b, float(self._state[k]))
            self._state[k] = out[k, -1]
        return out


def first_order_filter(x: NDArray[np.float64], a: float, b: float,
                       before: float) -> NDArray[np.float64]:
    """y[n] = a y[n-1] + b x[n] with y[-1] = `before` (0 < a <= 1): scipy.signal.lfilter([b],
    [1, -a]) in closed form, a^n (a y[-1] + b sum_k x[k] a^-k), in blocks short enough that
    a^-k stays below 1e12. numpy only: scipy.signal takes ~0.5-1 s to import."""
    if not 0.0 < a <= 1.0:
        raise ValueError(f"a must lie in (0, 1], got {a!r}")
    block = x.size if a == 1.0 else max(1, int(27.0 / -math.log(a)))
    out = np.empty(x.size)
    previous = before
    for start in range(0, x.size, block):
        part = x[start:start + block]
        powers = a ** np.arange(1, part.size + 1, dtype=np.float64)
        out[start:start + part.size] = powers * (previous + (b / a) * np.cumsum(part / powers * a))
        previous = float(out[start + part.size - 1])
    return out


class _Heart:
    """Heart rate from RSA, vagal tone, Mayer wave and noise; beats by integral pulse frequency
    modulation with white beat noise."""

    def __init__(self, person: SimulatedPerson, rng: np.random.Generator) -> None:
        self._person = person
        self._rng = rng
        self._delay_steps = round(person.rsa_delay_s / STEP_S)
        self._lung_tail: NDArray[np.float64] | None = None
        self._gain_bpm: float | None = None  # the RSA swing, settling toward the current rate's
        self._pink = _OrnsteinUhlenbeck(_PINK_TIME_CONSTANTS_S, rng)
        self._mayer = _OrnsteinUhlenbeck((_MAYER_WANDER_S, _MAYER_WANDER_S), rng)
        self._mayer_phase = float(rng.uniform(0.0, 2.0 * math.pi))
        self._phase = 0.0  # integral of heart rate: beats so far (fractional)
        self._next_beat = 1.0  # the phase at which the next beat happens

    def rsa_gain_bpm(self, rate_hz: NDArray[np.float64]) -> NDArray[np.float64]:
        """Peak-to-trough RSA at vagal tone 1.0 for full breaths at these breathing rates."""
        person = self._person
        f_hz = np.maximum(rate_hz, 1e-3)
        direct = person.rsa_direct_bpm / np.sqrt(1.0 + (f_hz / person.rsa_direct_corner_hz) ** 2)
        ratio = f_hz * 60.0 / person.resonance_breaths_per_min
        detuning = person.resonance_q * (ratio - 1.0 / ratio)
        return direct + person.rsa_resonant_bpm / np.sqrt(1.0 + detuning * detuning)

    def heart_rate_bpm(self, breathing: _Breathing) -> NDArray[np.float64]:
        person, lung, vagal = self._person, breathing.lung, breathing.vagal
        steps = lung.size
        if self._lung_tail is None:
            self._lung_tail = np.full(self._delay_steps, lung[0])
        delayed = np.concatenate([self._lung_tail, lung])[:steps]
        self._lung_tail = lung[steps - self._delay_steps:]
        target_bpm = self.rsa_gain_bpm(breathing.shown_hz)
        if self._gain_bpm is None:
            self._gain_bpm = float(target_bpm[0])
        alpha = STEP_S / _RSA_SETTLE_S
        gain_bpm = first_order_filter(target_bpm, 1.0 - alpha, alpha, self._gain_bpm)
        self._gain_bpm = float(gain_bpm[-1])
        rsa = np.sqrt(vagal) * gain_bpm * (delayed - 0.5)  # RSA saturates as vagal tone grows
        wander = self._mayer.run(steps)
        mayer_hz = person.mayer_hz * (1.0 + 0.1 * wander[0])
        phase = self._mayer_phase + np.cumsum(2.0 * math.pi * mayer_hz * STEP_S)
        self._mayer_phase = float(phase[-1] % (2.0 * math.pi))
        free = 1.0 - _MAYER_ENTRAINED * breathing.slowness  # slow breathing entrains it
        mayer_bpm = 0.5 * person.mayer_bpm * free * np.maximum(1.0 + 0.3 * wander[1], 0.0)
        mayer = mayer_bpm * np.sin(phase)
        pink_std_bpm = person.pink_noise_bpm / math.sqrt(len(_PINK_TIME_CONSTANTS_S))
        pink = pink_std_bpm * self._pink.run(steps).sum(axis=0)
        mean = person.heart_rate_bpm - person.vagal_hr_drop_bpm * (vagal - 1.0)
        return np.clip(mean + rsa + mayer + pink, _MIN_HR_BPM, _MAX_HR_BPM)

    def run(self, t0_s: float, breathing: _Breathing) -> Iterator[tuple[float, int]]:
        """(time, grid index) of each beat in this chunk of the grid."""
        hr_bpm = self.heart_rate_bpm(breathing)
        vagal = breathing.vagal
        step = hr_bpm * (STEP_S / 60.0)
        phase_end = self._phase + np.cumsum(step)
        noise_ms = self._person.beat_noise_ms
        next_beat = self._next_beat
        while True:
            i = int(np.searchsorted(phase_end, next_beat))
            if i >= phase_end.size:
                break
            start = phase_end[i] - step[i]
            yield t0_s + STEP_S * (i + (next_beat - start) / step[i]), i
            rr_ms = 60_000.0 / hr_bpm[i]
            jitter = noise_ms * vagal[i] * float(self._rng.standard_normal()) / rr_ms
            next_beat += 1.0 + min(max(jitter, -_MAX_BEAT_NOISE), _MAX_BEAT_NOISE)
        self._next_beat = next_beat
        self._phase = float(phase_end[-1])
