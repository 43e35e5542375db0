"""The replay source delivers every RR of a real recording exactly once, in order, on the clock."""

from __future__ import annotations

import numpy as np
import pytest

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.clock import InstantClock, ScaledClock
from hrvcoach.files.rr_files import read_rr_file
from hrvcoach.sources.replay import ReplaySource
from tests.helpers import real_recording


async def collect(source: ReplaySource) -> list[Beat | SourceStatus]:
    async with source:
        return [item async for item in source.beats()]


async def test_replay_delivers_every_rr_of_a_real_file_once_and_in_order():
    recording = read_rr_file(real_recording("polar_h10_breathing_10min/rr.csv"))
    items = await collect(ReplaySource(recording.rr_ms, InstantClock()))
    beats = [item for item in items if isinstance(item, Beat)]
    assert [beat.rr_ms for beat in beats] == recording.rr_ms.tolist()
    assert len(beats) == 620
    times = np.array([beat.time_s for beat in beats])
    assert np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx(recording.rr_ms.sum() / 1000.0)
    assert isinstance(items[0], SourceStatus) and items[0].kind is StatusKind.CONNECTED
    assert isinstance(items[-1], SourceStatus) and items[-1].kind is StatusKind.ENDED


async def test_replay_waits_for_the_clock_at_the_given_speed():
    clock = ScaledClock(speed=20.0)
    items = await collect(ReplaySource(np.array([1000.0, 1000.0, 1000.0]), clock))
    assert len(items) == 5
    assert clock.now() == pytest.approx(3.0, abs=0.5)  # 3 s of session time took ~0.15 s
