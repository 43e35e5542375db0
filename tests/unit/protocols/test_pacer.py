"""The pacer: breath parts, lung shape, and phase continuity when the rate changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hrvcoach.protocols.pacer import Pacer, breath_part
from hrvcoach.protocols.protocol import Breath, load_protocol, load_protocol_file
from tests.helpers import pacer_part_changes

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


def test_part_changes_are_exact_through_a_ramp_holds_and_an_unpaced_phase(tmp_path: Path):
    path = tmp_path / "ramp.toml"
    path.write_text("""
[[phase]]
kind = "baseline"
seconds = 20
[[phase]]
kind = "paced"
seconds = 90
breaths_per_min = 7
ramp_to_breaths_per_min = 4.5
inhale_exhale_ratio = 0.5
hold_in_s = 1.5
hold_out_s = 1
[[phase]]
kind = "recovery"
seconds = 20
""")
    pacer = Pacer.for_protocol(load_protocol_file(path))
    found = pacer.changes_between(0.0, 130.0)
    sampled = pacer_part_changes(pacer, 130.0)
    assert [c.part for c in found] == [part for _, part in sampled]
    assert found[0].time_s == 20.0 and found[0].part == "in"
    assert found[-1].time_s == 110.0 and found[-1].part is None
    np.testing.assert_allclose([c.time_s for c in found], [t for t, _ in sampled], atol=0.0011)
    for change in found[1:-1]:  # each lies exactly on the edge: the part begins there
        assert pacer.state_at(change.time_s + 1e-6).part == change.part
        assert pacer.state_at(change.time_s - 1e-6).part != change.part


def test_part_changes_of_a_window_start_at_its_start_and_stop_before_its_end():
    pacer = Pacer.constant(6.0, Breath(inhale=0.4, exhale=0.6))  # in at 0, out at 4, in at 10
    assert [(c.time_s, c.part) for c in pacer.changes_between(4.0, 10.0)] == [(4.0, "out")]
    assert [(c.time_s, c.part) for c in pacer.changes_between(3.0, 14.5)] == [
        (4.0, "out"), (10.0, "in"), (pytest.approx(14.0), "out")]


def test_retuning_the_rate_keeps_the_breath_where_it_is_and_then_breathes_at_the_new_rate():
    pacer = Pacer.constant(6.0, Breath(inhale=0.4, exhale=0.6), duration_s=600.0)
    before = pacer.state_at(32.0)  # 3.2 breaths: 2 s into an in-breath of 4 s
    pacer.retune(32.0, 4.0, Breath(inhale=0.4, exhale=0.6))
    after = pacer.state_at(32.0)
    assert (after.cycles, after.lung, after.part) == pytest.approx((before.cycles, before.lung,
                                                                   before.part))
    assert pacer.state_at(32.0 + 15.0).cycles == pytest.approx(3.2 + 1.0)  # 15 s per breath now
    assert pacer.state_at(33.0).breaths_per_min == 4.0
    assert pacer.state_at(31.9).breaths_per_min == 6.0  # the past is as it was
    lung = np.array([pacer.state_at(t).lung for t in np.arange(25.0, 45.0, 0.01)])
    assert np.abs(np.diff(lung)).max() < 0.01  # no jump anywhere near the change


def test_a_new_breath_shape_starts_with_the_next_in_breath_so_the_lung_never_jumps():
    pacer = Pacer.constant(6.0, Breath(inhale=0.4, exhale=0.6), duration_s=600.0)
    boxed = Breath(inhale=0.25, hold_in=0.25, exhale=0.25, hold_out=0.25)
    pacer.retune(35.0, 5.0, boxed)  # 3.5 breaths: in the out-breath of the 4th
    assert pacer.state_at(36.0).part == "out"  # the old shape finishes this breath ...
    next_in_s = 35.0 + 0.5 * 60.0 / 5.0  # ... at the new rate: half a breath of 12 s
    assert pacer.state_at(next_in_s + 3.5).part == "hold in"  # then 3 s parts
    assert pacer.breath_at(next_in_s + 1.0) == boxed
    lung = np.array([pacer.state_at(t).lung for t in np.arange(30.0, 60.0, 0.01)])
    assert np.abs(np.diff(lung)).max() < 0.01
    changes = pacer.changes_between(30.5, 60.0)
    assert [(c.time_s, c.part) for c in changes] == [
        (pytest.approx(t, abs=0.0011), part) for t, part in pacer_part_changes(pacer, 60.0, start_s=30.5)]


def test_retuning_a_ramp_ends_it_and_only_the_current_phase_changes(two_rates: Pacer):
    revision = two_rates.revision
    two_rates.retune(30.0, 8.0, Breath(inhale=0.4, exhale=0.6))
    assert two_rates.revision == revision + 1
    assert two_rates.state_at(60.0).breaths_per_min == 8.0
    assert two_rates.state_at(70.0).breaths_per_min == 4.5  # the next phase keeps its rate
    before, after = two_rates.state_at(65.0 - 1e-6), two_rates.state_at(65.0 + 1e-6)
    assert after.cycles == pytest.approx(before.cycles, abs=1e-5)  # and goes on continuously
    with pytest.raises(ValueError, match="does not pace"):
        two_rates.retune(140.0, 6.0, Breath())  # the recovery phase has no pacer
