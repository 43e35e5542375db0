"""Before/after comparisons: differences, bootstrap intervals, verdicts and unreliable flags, on
sessions whose true change is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hrvcoach.core.beats import Beat
from hrvcoach.core.errors import InputError
from hrvcoach.core.records import PhaseRecord
from hrvcoach.history.compare import compare
from hrvcoach.history.phases import MAX_RELIABLE_ARTIFACT_PCT, compute_markers
from hrvcoach.store import Store
from hrvcoach.views.cli.history import comparison_json


def wiggle(n: int, seed: int) -> np.ndarray:
    """Breathing-like RR deviations (two rhythms plus bounded noise), unit RMSSD: smooth enough
    that artifact detection leaves every beat alone."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    x = (np.sin(2 * np.pi * i / rng.uniform(3.5, 5.0) + rng.uniform(0, 6))
         + 0.6 * np.sin(2 * np.pi * i / rng.uniform(9, 14)) + rng.uniform(-0.5, 0.5, n))
    return x / np.sqrt(np.mean(np.diff(x) ** 2))


def add_session(store: Store, before_rr: np.ndarray, after_rr: np.ndarray, *, tag: str,
                start: str = "2026-05-01T08:00:00+02:00", after_kind: str = "recovery",
                after_rate: float | None = None, contact: list[bool] | None = None) -> int:
    rr = np.concatenate([before_rr, after_rr])
    times = np.cumsum(rr) / 1000.0
    split = float(times[before_rr.size - 1]) + 0.0001
    phases = [PhaseRecord(0, "baseline", "baseline", 0.0, split, compare="before"),
              PhaseRecord(1, "after", after_kind, split, float(times[-1]), after_rate,
                       compare="after")]
    flags = contact or [True] * rr.size
    beats = [Beat(float(r), float(t), c) for r, t, c in zip(rr, times, flags, strict=True)]
    session_id = store.import_session(started_at=start, protocol="test", origin=tag,
                                      content_sha256=tag, phases=phases, beats=beats)
    compute_markers(store, session_id)
    return session_id


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path) as opened:
        yield opened


def test_rmssd_half_again_higher_after_is_calmer_plus_50_percent(store):
    x = wiggle(330, seed=1)
    session = add_session(store, 900 + 20 * x, 880 + 30 * x, tag="a")
    assert all(kind is None for kind in store.beats(session).artifact)  # nothing corrected
    result = compare(store, session)
    rmssd = result.change("rmssd_ms")
    assert rmssd.pct == pytest.approx(50.0, abs=1e-9)
    assert rmssd.delta == pytest.approx(rmssd.after - rmssd.before)
    assert 0 < rmssd.pct_low < 50 < rmssd.pct_high
    assert 0 < rmssd.ci_low < rmssd.delta < rmssd.ci_high
    assert result.change("ln_rmssd").delta == pytest.approx(math.log(1.5), abs=1e-9)
    hr = result.change("mean_hr_bpm")
    assert hr.delta > 0 and hr.ci_low > 0  # RR 20 ms shorter: heart rate up ~1.5 bpm
    assert hr.verdict().startswith("less calm: HR +1.")
    assert result.verdict() == (f"calmer: RMSSD +50 % (95 % CI +{rmssd.pct_low:.0f} … "
                                f"+{rmssd.pct_high:.0f} %)")
    shape = comparison_json(result)
    assert all(set(v) == {"before", "after", "delta", "ci_low", "ci_high"}
               for v in shape["markers"].values())
    assert shape["markers"]["rmssd_ms"]["delta"] == rmssd.delta
    assert shape["verdict"] == result.verdict()


def test_the_same_rhythm_before_and_after_gives_no_clear_change(store):
    session = add_session(store, 900 + 25 * wiggle(330, 2), 900 + 25 * wiggle(330, 3), tag="b")
    result = compare(store, session)
    rmssd = result.change("rmssd_ms")
    assert rmssd.ci_low < 0 < rmssd.ci_high
    assert result.verdict().startswith("no clear change: RMSSD ")
    assert not result.before.unreliable and not result.after.unreliable


def test_a_drop_in_rmssd_reads_less_calm(store):
    x = wiggle(330, seed=4)
    result = compare(store, add_session(store, 900 + 30 * x, 900 + 15 * x, tag="c"))
    assert result.change("rmssd_ms").pct == pytest.approx(-50.0, abs=1e-9)
    assert result.verdict().startswith("less calm: RMSSD −50 % (95 % CI −")


def test_the_interval_is_the_same_every_time(store):
    session = add_session(store, 900 + 20 * wiggle(330, 5), 900 + 26 * wiggle(330, 6), tag="d")
    first, second = compare(store, session), compare(store, session)
    assert first.change("sdnn_ms").ci_low == second.change("sdnn_ms").ci_low


def test_short_and_artifact_heavy_phases_are_flagged_not_hidden(store):
    x = wiggle(430, seed=7)
    contact = [True] * 430
    for i in range(150, 180):  # 30 beats without skin contact in the after phase (11 %)
        contact[i] = False
    session = add_session(store, 900 + 20 * x[:100], 900 + 25 * x[100:], tag="e", contact=contact)
    result = compare(store, session)
    assert any(reason.startswith("short: 1.5 min") for reason in result.before.unreliable)
    assert result.after.flagged_pct > MAX_RELIABLE_ARTIFACT_PCT
    assert any(reason.startswith("artifact-heavy: 9 %") for reason in result.after.unreliable)
    assert math.isfinite(result.change("rmssd_ms").before)  # still shown
    assert "unreliable: before and after phase (short" in result.verdict()


def test_hf_is_not_compared_when_one_side_breathes_slowly(store):
    x = wiggle(330, seed=8)
    session = add_session(store, 900 + 20 * x, 900 + 30 * x, tag="f", after_kind="paced",
                          after_rate=6.0)
    hf = compare(store, session).change("hf_ms2")
    assert math.isnan(hf.delta) and "not valid: the breathing rhythm is not wholly inside HF" in hf.note
    assert hf.verdict().startswith("HF: not valid")


def test_two_sessions_compare_their_baselines_and_phases_can_be_named(store):
    first = add_session(store, 900 + 20 * wiggle(330, 9), 900 + 20 * wiggle(330, 10), tag="g")
    second = add_session(store, 900 + 40 * wiggle(330, 9), 900 + 20 * wiggle(330, 11), tag="h",
                         start="2026-05-08T08:00:00+02:00")
    result = compare(store, first, second)
    assert (result.before.session_id, result.after.session_id) == (first, second)
    assert result.before.phase_name == result.after.phase_name == "baseline"
    assert result.change("rmssd_ms").pct == pytest.approx(100.0, abs=1e-9)
    named = compare(store, first, second, before_phase="2", after_phase="baseline")
    assert (named.before.phase_index, named.after.phase_index) == (1, 0)
    with pytest.raises(InputError, match="has no phase 'cooldown'"):
        compare(store, first, before_phase="cooldown")
