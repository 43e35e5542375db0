"""Sound pacing, checked from the rendered WAV against the pacer (no sound card needed): every
breath cue begins where the pacer's breath part does, within 20 ms, over 10 minutes with a ramp,
holds and a live change of pace; holds are silent; chimes mark the phases."""

from __future__ import annotations

import itertools
import sys
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.ndimage import minimum_filter1d

from hrvcoach.core.clock import InstantClock
from hrvcoach.protocols.custom import Pacing
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import Protocol, load_protocol_file
from hrvcoach.views.sound import CueRenderer, LiveSound, SoundUnavailable, write_cues_wav
from tests.helpers import pacer_part_changes

TEN_MINUTES = """
name = "ramp and holds"
[[phase]]
name = "settle"
kind = "baseline"
seconds = 60
[[phase]]
name = "slowing"
kind = "paced"
seconds = 240
breaths_per_min = 7
ramp_to_breaths_per_min = 4.5
inhale_exhale_ratio = 0.6
hold_in_s = 1
hold_out_s = 1.5
[[phase]]
name = "box"
kind = "paced"
seconds = 180
breaths_per_min = 5
inhale_s = 3
hold_in_s = 3
exhale_s = 3
hold_out_s = 3
[[phase]]
name = "rest"
kind = "recovery"
seconds = 120
"""
TOLERANCE_S = 0.020


@pytest.fixture
def ten_minutes(tmp_path: Path) -> Protocol:
    path = tmp_path / "ten.toml"
    path.write_text(TEN_MINUTES)
    return load_protocol_file(path)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as file:
        assert (file.getnchannels(), file.getsampwidth()) == (1, 2)
        rate = file.getframerate()
        return np.frombuffer(file.readframes(file.getnframes()), "<i2") / 32767.0, rate


def band(samples: np.ndarray, rate: int, low_hz: float, high_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(samples)
    hz = np.fft.rfftfreq(samples.size, 1.0 / rate)
    spectrum[(hz < low_hz) | (hz > high_hz)] = 0
    return np.fft.irfft(spectrum, samples.size)


def onsets(samples: np.ndarray, rate: int, *, rise: float = 0.3, window_s: float = 0.004,
           lookback_s: float = 0.05, refractory_s: float = 0.3) -> np.ndarray:
    """Times where the sound's loudness (RMS over a centred window) has risen by `rise` x its
    peak above its lowest within the last `lookback_s`: where a cue begins."""
    width = max(round(window_s * rate), 1)
    rms = np.sqrt(np.convolve(samples ** 2, np.ones(width) / width, mode="same"))
    back = round(lookback_s * rate)
    recent_low = minimum_filter1d(rms, back, origin=(back - 1) // 2)  # min over [t - back, t]
    risen = rms - recent_low > rise * rms.max()
    found: list[float] = []
    for index in np.flatnonzero(risen[1:] & ~risen[:-1]) + 1:
        if not found or index / rate - found[-1] > refractory_s:
            found.append(index / rate)
    return np.array(found)


def test_breath_cues_in_the_rendered_wav_begin_where_the_pacer_changes_within_20_ms(
        ten_minutes: Protocol, tmp_path: Path):
    pacer = Pacer.for_protocol(ten_minutes)
    pacer.retune(200.0, 5.5, Pacing(5.5, 1.0, hold_out_s=2.0).breath())  # a live change mid-ramp
    renderer = CueRenderer.for_protocol(pacer, ten_minutes)
    samples, rate = read_wav(write_cues_wav(renderer, tmp_path / "cues.wav"))
    assert samples.size == pytest.approx((600.0 + 5.0) * rate, abs=1)

    truth = pacer_part_changes(pacer, 600.0)
    assert len(truth) > 100  # ~50 breaths of 2-4 parts
    expected = np.array([t for t, part in truth if part in ("in", "out")])
    found = onsets(band(samples, rate, 60.0, 650.0), rate)
    assert found.size == expected.size
    assert np.abs(found - expected).max() < TOLERANCE_S

    breath = band(samples, rate, 60.0, 650.0)
    quiet = [(start, stop) for (start, part), (stop, _) in itertools.pairwise(truth)
             if part in ("hold in", "hold out", None) and stop - start > 0.1]
    assert any(part == "hold in" for _, part in truth) and len(quiet) > 40
    for start, stop in quiet:  # holds and unpaced phases are silent (but for the fade's tail)
        inside = breath[round((start + 0.01) * rate):round((stop - 0.01) * rate)]
        assert np.abs(inside).max() < 0.01


def test_a_chime_rings_at_each_phase_start_and_at_the_end(ten_minutes: Protocol, tmp_path: Path):
    pacer = Pacer.for_protocol(ten_minutes)
    samples, rate = read_wav(write_cues_wav(CueRenderer.for_protocol(pacer, ten_minutes),
                                            tmp_path / "cues.wav"))
    found = onsets(band(samples, rate, 1500.0, 6000.0), rate)
    np.testing.assert_allclose(found, [0.0, 60.0, 300.0, 480.0, 600.0], atol=TOLERANCE_S)


def test_bowl_strikes_at_each_in_and_out_breath(ten_minutes: Protocol):
    pacer = Pacer.for_protocol(ten_minutes)
    renderer = CueRenderer(pacer, [], 600.0, sample_hz=8000, style="bowl")
    samples = renderer.render(300.0, 8000 * 60)  # the box phase: in 3 s, hold, out 3 s, hold
    found = 300.0 + onsets(samples, 8000)
    expected = [t for t, part in pacer_part_changes(pacer, 360.0) if part in ("in", "out") and t >= 300]
    np.testing.assert_allclose(found, expected, atol=TOLERANCE_S)


def test_volume_scales_the_cues_and_mute_silences_them(ten_minutes: Protocol):
    pacer = Pacer.for_protocol(ten_minutes)
    loud = CueRenderer(pacer, [], 600.0, sample_hz=8000, volume=1.0).render(62.0, 8000)
    soft = CueRenderer(pacer, [], 600.0, sample_hz=8000, volume=0.25).render(62.0, 8000)
    np.testing.assert_allclose(soft, loud * 0.25, atol=1e-6)
    muted = CueRenderer(pacer, [], 600.0, sample_hz=8000)
    muted.muted = True
    assert not muted.render(62.0, 8000).any()
    assert 0.05 < np.abs(loud).max() <= 0.4  # soft: far below full scale


def test_blocks_rendered_one_after_another_equal_one_long_render(ten_minutes: Protocol):
    pacer = Pacer.for_protocol(ten_minutes)
    whole = CueRenderer.for_protocol(pacer, ten_minutes, sample_hz=8000).render(58.0, 8000 * 10)
    pieces = CueRenderer.for_protocol(pacer, ten_minutes, sample_hz=8000)
    blocks = [pieces.render(58.0 + k * 512 / 8000, 512) for k in range(8000 * 10 // 512)]
    joined = np.concatenate(blocks)
    np.testing.assert_allclose(joined, whole[:joined.size], atol=1e-5)


def test_live_sound_plays_at_the_clock_time_plus_the_latency_and_is_silent_while_paused(
        ten_minutes: Protocol):
    pacer = Pacer.for_protocol(ten_minutes)
    clock = InstantClock(61.0)
    live = LiveSound(CueRenderer.for_protocol(pacer, ten_minutes, sample_hz=8000), clock)
    reference = CueRenderer.for_protocol(pacer, ten_minutes, sample_hz=8000)
    out = np.zeros((800, 1), dtype=np.float32)
    timing = SimpleNamespace(currentTime=10.0, outputBufferDacTime=10.2)  # 200 ms latency
    live._fill(out, 800, timing, None)
    np.testing.assert_allclose(out[:, 0], reference.render(61.2, 800), atol=1e-6)
    clock.pause()
    live._fill(out, 800, timing, None)
    assert not out.any()


def test_without_portaudio_live_sound_says_why_it_is_silent(ten_minutes: Protocol, monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as without PortAudio
    live = LiveSound(CueRenderer.for_protocol(Pacer.for_protocol(ten_minutes), ten_minutes),
                     InstantClock())
    with pytest.raises(SoundUnavailable, match="libportaudio2"):
        live.start()
