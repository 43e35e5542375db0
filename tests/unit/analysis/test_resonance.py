"""Resonance-frequency assessment: block scores, the choice, and the CLI round trip to the profile."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hrvcoach.analysis.resonance import (
    BlockEvidence,
    RateBlock,
    RateScore,
    choose_resonance,
    score_rates,
)
from tests.helpers import run_cli


def sinus_beats(blocks: list[tuple[float, float, float]], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Beats whose heart rate swings at each block's breathing rate with the given p2t (bpm)."""
    rng = np.random.default_rng(seed)
    times, rrs, t = [], [], 0.0
    for breaths_per_min, duration_s, p2t_bpm in blocks:
        end = t + duration_s
        while t < end:
            hr = 65.0 + 0.5 * p2t_bpm * np.sin(2 * np.pi * breaths_per_min / 60.0 * t) + rng.normal(0, 0.3)
            rr = 60_000.0 / hr
            t += rr / 1000.0
            times.append(t)
            rrs.append(rr)
    return np.array(rrs), np.array(times)


def test_the_block_with_the_largest_oscillation_wins():
    spec = [(6.5, 120.0, 6.0), (6.0, 120.0, 9.0), (5.5, 120.0, 16.0), (5.0, 120.0, 10.0)]
    rr, t = sinus_beats(spec)
    blocks = [RateBlock(rate, 120.0 * i, 120.0 * (i + 1)) for i, (rate, _, _) in enumerate(spec)]
    scores = score_rates(rr, t, blocks)
    assert [score.breaths_per_min for score in scores] == [6.5, 6.0, 5.5, 5.0]
    assert max(scores, key=lambda s: s.resonance_score).breaths_per_min == 5.5
    assert scores[2].resonance_score == max(score.resonance_score for score in scores) > 0.95
    p2t = [score.p2t_bpm for score in scores]
    assert max(p2t) == p2t[2]
    assert p2t == pytest.approx([6.0, 9.0, 16.0, 10.0], rel=0.15)  # the swings put in
    assert all(score.coherence_ratio > 1.0 for score in scores)  # one clean rhythm in each block
    assert choose_resonance(scores) == 5.5


def test_a_block_too_short_to_judge_is_left_out():
    rr, t = sinus_beats([(6.0, 120.0, 10.0), (5.0, 30.0, 10.0)])
    blocks = [RateBlock(6.0, 0.0, 120.0), RateBlock(5.0, 120.0, 150.0)]
    assert [score.breaths_per_min for score in score_rates(rr, t, blocks)] == [6.0]


def test_a_block_the_person_did_not_follow_is_marked_and_never_chosen():
    """The pacer said 6.5 but the person breathed at their own resonance: the block swings most,
    yet its rate is not the one that made it swing."""
    spec = [(6.5, 120.0, 16.0), (6.0, 120.0, 9.0), (5.5, 120.0, 12.0)]
    rr, t = sinus_beats(spec, seed=4)
    blocks = [RateBlock(rate, 120.0 * i, 120.0 * (i + 1)) for i, (rate, _, _) in enumerate(spec)]
    assert choose_resonance(score_rates(rr, t, blocks)) == 6.5  # amplitude alone is fooled
    evidence = [BlockEvidence(0.2, -10.0), BlockEvidence(0.9, -15.0), BlockEvidence(1.0, -20.0)]
    scores = score_rates(rr, t, blocks, evidence=evidence)
    assert [s.pacer_followed for s in scores] == [False, True, True]
    assert [s.pacer_adherence for s in scores] == [0.2, 0.9, 1.0]
    assert scores[2].heart_breath_phase_deg == -20.0
    assert scores[2].resonance_score > 0.95  # scaled against the blocks that were followed
    assert scores[0].resonance_score > 1.0
    assert choose_resonance(scores) == 5.5
    # without an accelerometer nothing is marked
    assert all(s.pacer_followed is None for s in score_rates(rr, t, blocks))
    assert choose_resonance([s for s in scores if s.pacer_followed is False]) is None


def score(rate: float, value: float) -> RateScore:
    return RateScore(rate, 0.0, 0.0, 0.0, float("nan"), value)


def test_a_near_tie_with_a_neighbour_moves_the_choice_between_them():
    assert choose_resonance([score(6.5, 0.99), score(6.0, 1.0), score(5.5, 0.6)]) == 6.25
    assert choose_resonance([score(6.5, 0.5), score(6.0, 1.0), score(5.5, 0.6)]) == 6.0
    assert choose_resonance([score(6.0, 0.95), score(5.0, 1.0)]) == 5.0  # not neighbours
    assert choose_resonance([]) is None


@pytest.mark.parametrize(("resonance", "seed"), [(4.5, 1), (5.5, 2), (6.5, 3)])
def test_assessment_on_the_simulator_finds_its_resonance_rate_as_a_demo(tmp_path, resonance, seed):
    result = run_cli("demo", "--headless", "--speed", "2000", "--protocol", "resonance-assessment",
                     "--sim-resonance", str(resonance), "--seed", str(seed), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "resonance assessment" in result.stdout and "← best" in result.stdout
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("Assessed rate:")]
    assessed = float(line.split()[2])
    assert assessed == pytest.approx(resonance, abs=0.25)
    assert "a demo" in line and "your profile is unchanged" in line
    # the simulated person's rate is not the user's: their profile stays empty
    assert json.loads(run_cli("profile", "--json", home=tmp_path).stdout)[
        "resonance_breaths_per_min"] is None


def test_a_resonance_protocol_uses_the_assessed_rate(tmp_path):
    from hrvcoach.history.profile import Profile, save_profile

    save_profile(tmp_path, Profile(4.5, "2026-11-25T08:00:00+00:00", "session 1", []))
    result = run_cli("demo", "--headless", "--speed", "2000", "--protocol",
                     "resonance-practice", "--duration", "240", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pacer 4.5 breaths/min" in result.stdout
    assert "pacer  4.5/min" in result.stdout
    shown = run_cli("protocols", "show", "resonance-practice", home=tmp_path)
    assert "4.5 breaths/min, your resonance rate" in shown.stdout


def test_profile_without_an_assessment_says_so(tmp_path):
    assert json.loads(run_cli("profile", "--json", home=tmp_path).stdout)["resonance_breaths_per_min"] is None
    assert "No resonance rate assessed yet" in run_cli("profile", home=tmp_path).stdout


def test_a_corrupt_profile_is_a_one_line_error(tmp_path):
    (tmp_path / "profile.json").write_text("{not json")
    result = run_cli("profile", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"hrvcoach: error: {tmp_path / 'profile.json'}: unreadable profile")


def test_profile_plot_draws_every_scored_rate(tmp_path):
    from hrvcoach.analysis.resonance import RateScore
    from hrvcoach.history.profile import Profile, save_profile
    from hrvcoach.views.report import plot_resonance, resonance_figure

    scores = [RateScore(rate, 10.0 + i, 1e5, 3e3, float("nan"), 0.5 + 0.1 * i)
              for i, rate in enumerate([6.5, 6.0, 5.5])]
    save_profile(tmp_path, Profile(5.5, "2026-11-25T08:00:00+00:00", "x.csv", scores))
    result = run_cli("profile", "--plot", str(tmp_path / "res.png"), home=tmp_path)
    assert result.returncode == 0, result.stderr
    png = (tmp_path / "res.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = resonance_figure(Profile(5.5, None, None, scores))
    panels = figure.axes
    assert [panel.get_title() for panel in panels[:3]] == [  # titled from the catalogue
        "breath swing (bpm)", "LF spectral peak (ms²/Hz)", "power at breath (ms²)"]
    assert len(panels) == 4  # p2t, LF peak, power at rate, score (coherence all NaN: left out)
    line = panels[0].lines[0]
    assert list(line.get_xdata()) == [5.5, 6.0, 6.5]
    assert list(line.get_ydata()) == [12.0, 11.0, 10.0]
    assert list(panels[-1].lines[0].get_ydata()) == pytest.approx([0.7, 0.6, 0.5])
    plt.close(figure)
    plot_resonance(Profile(5.5, None, None, scores), tmp_path / "again.png")
    assert not plt.get_fignums()  # the figure was closed
    with pytest.raises(Exception, match="no resonance assessment to plot yet"):
        plot_resonance(Profile(), tmp_path / "none.png")
