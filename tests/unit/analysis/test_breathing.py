"""Breathing-aware markers: the breathing rate from the RSA peak, HF validity, peak-to-trough,
and coherence. Synthetic truth comes from the simulator (paced breathing at a known rate) and
from plain sine waves."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from hrvcoach.analysis import LiveMarkers, hf_is_valid, window_markers
from hrvcoach.analysis.breathing import peak_to_trough
from hrvcoach.analysis.coherence import coherence_markers
from hrvcoach.analysis.spectral import Resampled, resample_rr
from hrvcoach.core.beats import Beat
from hrvcoach.files.rr_files import read_rr_file
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.sources.simulator import SimulatedPerson, simulate_beats
from tests.helpers import real_recording


def paced_rr(breaths_per_min: float, *, seconds: float = 420.0, seed: int = 1) -> np.ndarray:
    beats = simulate_beats(Pacer.constant(breaths_per_min), SimulatedPerson(), seed=seed)
    return np.asarray([sim.beat.rr_ms
                       for sim in itertools.takewhile(lambda s: s.beat.time_s <= seconds, beats)])


def last_seconds(rr: np.ndarray, seconds: float) -> np.ndarray:
    times = np.cumsum(rr) / 1000.0
    return rr[times > times[-1] - seconds]


RATES = [4.5, 5.5, 6.0, 7.0, 8.0, 9.0, 10.0, 12.0, 15.0]


@pytest.mark.parametrize("rate", RATES)
def test_breathing_rate_is_recovered_from_the_rsa_peak(rate):
    rr = paced_rr(rate)
    batch = window_markers(last_seconds(rr, 300.0)).breathing  # 5-min window
    assert batch.breaths_per_min == pytest.approx(rate, abs=0.3)  # measured within 0.02
    assert not batch.paced
    live = LiveMarkers()  # 2-min spectral window
    for value, time_s in zip(rr, np.cumsum(rr) / 1000.0, strict=True):
        markers = live.update(Beat(float(value), float(time_s)))
    assert markers.breaths_per_min == pytest.approx(rate, abs=0.3)  # measured within 0.05


def test_hf_is_flagged_not_valid_at_6_breaths_per_min_and_valid_at_15():
    slow = window_markers(last_seconds(paced_rr(6.0), 300.0))
    assert not slow.breathing.hf_valid
    # the reason: the RSA sits in LF, so HF is small next to LF although vagal activity is high
    assert slow.frequency.lf_hf > 5.0
    assert slow.breathing.breathing_power_ms2 > 0.5 * slow.frequency.lf_ms2
    fast = window_markers(last_seconds(paced_rr(15.0), 300.0))
    assert fast.breathing.hf_valid
    # changed with issue 12: the edge depends on the window (the taper's main lobe must lie
    # inside HF): 5-min windows (150-s segments) from 9.8/min, 2-min windows (60 s) from 11/min
    assert not hf_is_valid(9.7, 150.0) and hf_is_valid(9.9, 150.0)
    assert not hf_is_valid(10.9, 60.0) and hf_is_valid(11.1, 60.0)
    assert hf_is_valid(math.nan, 60.0)


def test_the_pacer_rate_is_used_when_pacing():
    markers = window_markers(last_seconds(paced_rr(6.0), 300.0), paced_breaths_per_min=5.0)
    assert markers.breathing.paced and markers.breathing.breaths_per_min == 5.0
    assert not markers.breathing.hf_valid


def test_real_slow_breathing_is_recognised_and_resting_breathing_is_not_mistaken_for_it():
    # the Polar H10 breathing recording oscillates at 3.5-5/min throughout (see data README)
    slow = read_rr_file(real_recording("polar_h10_breathing_10min/rr.csv")).rr_ms
    breathing = window_markers(slow[:300]).breathing
    assert 3.0 <= breathing.breaths_per_min <= 5.5 and not breathing.hf_valid
    # supine rest, spontaneous breathing; its Mayer-wave LF peak is not taken for breathing
    rest = read_rr_file(real_recording("polar_rri_bartels_hrv/rest_rri_rr.csv")).rr_ms
    for start in (0, 280, 560):
        breathing = window_markers(rest[start:start + 280]).breathing
        assert breathing.breaths_per_min > 12.0 and breathing.hf_valid


def sine_series(amplitude_ms: float, hz: float, *, seconds: float = 300.0,
                noise_ms: float = 0.0, seed: int = 0) -> Resampled:
    fs = 4.0
    t = np.arange(int(seconds * fs)) / fs
    rr = 1000.0 + amplitude_ms * np.sin(2 * np.pi * hz * t)
    rr += noise_ms * np.random.default_rng(seed).standard_normal(t.size)
    return Resampled(t, rr, fs, seconds)


def test_peak_to_trough_of_a_sine_is_twice_its_amplitude():
    p2t_ms, p2t_bpm = peak_to_trough(sine_series(50.0, 0.1), 0.1)
    assert p2t_ms == pytest.approx(100.0, rel=0.01)
    assert p2t_bpm == pytest.approx(60_000 / 950 - 60_000 / 1050, rel=0.01)
    noisy_ms, _ = peak_to_trough(sine_series(50.0, 0.1, noise_ms=3.0), 0.1)
    assert noisy_ms == pytest.approx(100.0, rel=0.15)
    with_drift = sine_series(50.0, 0.1)
    drifting = Resampled(with_drift.time_s, with_drift.rr_ms + 0.5 * with_drift.time_s,
                         4.0, 300.0)  # +150 ms over the window
    assert peak_to_trough(drifting, 0.1)[0] == pytest.approx(100.0, rel=0.03)


def test_coherence_is_high_for_a_clean_oscillation_and_low_for_broadband_noise():
    clean = coherence_markers(sine_series(60.0, 0.1, noise_ms=5.0), max_blocks=1)
    assert clean.coherence_peak_hz == pytest.approx(0.1, abs=0.004)
    assert clean.coherence_ratio > 10.0
    noise = coherence_markers(sine_series(0.0, 0.1, noise_ms=40.0, seed=3), max_blocks=1)
    assert noise.coherence_ratio < 0.3
    averaged = coherence_markers(sine_series(60.0, 0.1, noise_ms=5.0))
    assert averaged.blocks == 4 and averaged.coherence_ratio > 10.0


def test_coherence_rises_with_paced_breathing_near_resonance():
    paced = window_markers(last_seconds(paced_rr(5.5), 64.0), coherence_blocks=1).coherence
    assert paced.coherence_peak_hz == pytest.approx(5.5 / 60.0, abs=0.01)
    rest = read_rr_file(real_recording("polar_rri_bartels_hrv/rest_rri_rr.csv")).rr_ms
    resting = coherence_markers(resample_rr(rest[:70]), max_blocks=1)
    assert paced.coherence_ratio > 5.0 > 1.0 > resting.coherence_ratio


def test_coherence_spectrum_equals_the_zero_padded_fft_of_detrended_hann_blocks():
    from scipy.signal import detrend, get_window

    from hrvcoach.analysis.coherence import coherence_spectrum
    from hrvcoach.analysis.spectral import Resampled

    rng = np.random.default_rng(7)
    samples = 900.0 + 30.0 * np.sin(2 * np.pi * 0.1 * np.arange(700) / 4.0)
    samples += 0.5 * np.arange(700) + 20.0 * rng.standard_normal(700)
    for blocks in (1, 2):
        ours = coherence_spectrum(Resampled(np.arange(700) / 4.0, samples, 4.0, 175.0),
                                  max_blocks=blocks)
        assert ours is not None and ours.segments == blocks
        newest = samples[700 - 256 * blocks:].reshape(blocks, 256)
        taper = get_window("hann", 256)
        blocks_fft = np.fft.rfft(detrend(newest, type="linear", axis=-1) * taper, n=1024)
        power = (np.abs(blocks_fft) ** 2).sum(axis=0)
        power[1:-1] *= 2.0
        power /= blocks * 4.0 * float(taper @ taper)
        assert ours.frequency_hz[-1] >= 0.4  # the whole total band
        np.testing.assert_allclose(ours.psd_ms2_per_hz, power[:ours.frequency_hz.size],
                                   rtol=1e-9, atol=1e-9 * power.max())
