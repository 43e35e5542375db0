"""The pacer: breath parts, lung shape, and phase continuity when the rate changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hrvcoach.protocols.pacer import Pacer, breath_part
from hrvcoach.protocols.protocol import Breath, load_protocol, load_protocol_file

TWO_RATES = """
name = "two rates"
[[phase]]
kind = "paced"
seconds = 65
breaths_per_min = 6
inhale_s = 4
exhale_s = 6
[[phase]]
kind = "paced"
seconds = 60
breaths_per_min = 4.5
inhale_exhale_ratio = 0.5
[[phase]]
kind = "recovery"
seconds = 30
[[phase]]
kind = "paced"
seconds = 30
breaths_per_min = 10
"""


@pytest.fixture
def two_rates(tmp_path: Path) -> Pacer:
    path = tmp_path / "two.toml"
    path.write_text(TWO_RATES)
    return Pacer.for_protocol(load_protocol_file(path))


def test_constant_pacer_breathes_in_then_out_with_the_given_seconds():
    pacer = Pacer.constant(6.0, Breath(inhale=0.4, exhale=0.6))
    assert pacer.state_at(1.0).part == "in"
    assert pacer.state_at(1.0).seconds_left == pytest.approx(3.0)
    assert pacer.state_at(5.0).part == "out"
    assert pacer.state_at(5.0).seconds_left == pytest.approx(5.0)
    assert pacer.state_at(4.0).lung == pytest.approx(1.0)
    assert pacer.state_at(10.0).lung == pytest.approx(0.0)
    assert pacer.state_at(2.0).lung == pytest.approx(0.5)


def test_cycles_are_continuous_when_the_rate_changes(two_rates: Pacer):
    boundary = 65.0
    before, after = two_rates.state_at(boundary - 1e-6), two_rates.state_at(boundary + 1e-6)
    assert before.breaths_per_min == 6.0 and after.breaths_per_min == 4.5
    assert after.cycles == pytest.approx(before.cycles, abs=1e-5)
    assert before.cycles == pytest.approx(6.5)  # 65 s at 6/min: in the middle of a breath
    # the cycle count grows at the rate of each phase
    grown = two_rates.state_at(124.999).cycles - two_rates.state_at(65.0).cycles
    assert grown == pytest.approx(4.5, abs=1e-3)


def test_lung_shape_never_jumps_within_a_paced_stretch():
    pacer = Pacer.constant(6.0)
    lung = np.array([pacer.state_at(t).lung for t in np.arange(0.0, 60.0, 0.01)])
    assert lung.min() == pytest.approx(0.0, abs=1e-3) and lung.max() == pytest.approx(1.0, abs=1e-3)
    assert np.abs(np.diff(lung)).max() < 0.01


def test_unpaced_phase_hides_the_pacer_and_the_next_paced_phase_starts_on_an_in_breath(two_rates):
    assert not two_rates.state_at(140.0).paced
    assert two_rates.state_at(140.0).part is None
    restart = two_rates.state_at(155.01)
    assert restart.paced and restart.part == "in" and restart.cycles == pytest.approx(0.0, abs=0.01)


def test_holds_keep_the_lung_still():
    breath = Breath(inhale=0.25, hold_in=0.25, exhale=0.25, hold_out=0.25)
    assert breath_part(0.3, breath)[:2] == ("hold in", 1.0)
    assert breath_part(0.8, breath)[:2] == ("hold out", 0.0)


def test_demo_protocol_pacer_is_free_then_six_per_minute():
    pacer = Pacer.for_protocol(load_protocol("demo"))
    assert not pacer.state_at(30.0).paced
    assert pacer.state_at(90.0).breaths_per_min == 6.0
    assert pacer.state_at(61.0).part == "in"
