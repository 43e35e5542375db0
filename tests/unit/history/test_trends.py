"""Trends: 60 days of imported morning checks with a known drop in resting HRV give the expected
daily values, 7-day baseline, 60-day band and flags."""

from __future__ import annotations

import datetime as dt
import json
import math
import statistics

import numpy as np
import pytest

from hrvcoach.analysis import correct_artifacts
from hrvcoach.history.trends import compute_trends, load_trends
from hrvcoach.store import Store
from hrvcoach.views.cli.main import main

START = dt.date(2026, 1, 1)
DAYS = 60
SHIFT_DAY = 40  # from this day on, resting ln RMSSD is 0.4 lower


def target_ln_rmssd(day: int) -> float:
    """3.9/3.7 alternating (mean 3.8), then 3.5/3.3 (mean 3.4)."""
    level = 3.8 if day < SHIFT_DAY else 3.4
    return level + (0.1 if day % 2 == 0 else -0.1)


def morning_rr(ln_rmssd: float, seed: int, beats: int = 320) -> np.ndarray:
    """A resting recording whose RMSSD is exactly exp(ln_rmssd): breathing-like, and drawn again
    until artifact correction has nothing to correct (so the stored value is exact)."""
    for attempt in range(100):
        rng = np.random.default_rng([seed, attempt])
        i = np.arange(beats)
        x = (np.sin(2 * np.pi * i / rng.uniform(3.5, 5.0)) + 0.5 * np.sin(2 * np.pi * i / 11.0)
             + rng.uniform(-0.4, 0.4, beats))
        rr = 930.0 + math.exp(ln_rmssd) * x / np.sqrt(np.mean(np.diff(x) ** 2))
        if not correct_artifacts(rr).artifacts:
            return rr
    raise AssertionError("no artifact-free recording drawn")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """60 days of morning checks imported through the CLI, plus an evening practice session."""
    folder = tmp_path_factory.mktemp("trends")
    data = folder / "home"
    for day in range(DAYS):
        path = folder / f"day{day:02d}.txt"
        path.write_text("".join(f"{float(value)!r}\n" for value in morning_rr(target_ln_rmssd(day), day)))
        when = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(7, 0)).isoformat()
        assert main(["--data-dir", str(data), "import", str(path), "--date", when,
                     "--protocol", "morning-check"]) == 0
    evening = folder / "evening.txt"  # same day as a morning check, very different HRV
    evening.write_text("".join(f"{float(v)!r}\n" for v in morning_rr(2.0, 99)))
    assert main(["--data-dir", str(data), "import", str(evening), "--date",
                 "2026-01-11T06:00", "--protocol", "demo"]) == 0
    return data


def expected(values: list[float]) -> list[dict[str, object]]:
    """The definitions, computed the plain way: 7-day mean (>= 3 values), 60-day mean ± 0.5 SD
    (>= 14 values), flag when the 7-day mean is outside."""
    out = []
    for day in range(len(values)):
        week = values[max(0, day - 6): day + 1]
        span = values[max(0, day - 59): day + 1]
        baseline = statistics.mean(week) if len(week) >= 3 else None
        low = high = None
        if len(span) >= 14:
            low = statistics.mean(span) - 0.5 * statistics.stdev(span)
            high = statistics.mean(span) + 0.5 * statistics.stdev(span)
        flag = None
        if baseline is not None and low is not None:
            flag = "below" if baseline < low else "above" if baseline > high else None
        out.append({"baseline_7d": baseline, "band_low": low, "band_high": high, "flag": flag})
    return out


def test_sixty_imported_days_give_the_expected_baseline_band_and_flags(home, capsys):
    capsys.readouterr()
    assert main(["--data-dir", str(home), "trends", "--json", "--include", "imports"]) == 0
    days = json.loads(capsys.readouterr().out)["days"]
    assert [day["date"] for day in days] == [(START + dt.timedelta(d)).isoformat() for d in range(DAYS)]
    targets = [target_ln_rmssd(d) for d in range(DAYS)]
    # day 10 also has an evening session (ln RMSSD 2.0): the morning check is the one used
    assert [day["ln_rmssd"] for day in days] == pytest.approx(targets, abs=1e-9)
    for got, want in zip(days, expected(targets), strict=True):
        for key in ("baseline_7d", "band_low", "band_high"):
            assert got[key] == (None if want[key] is None else pytest.approx(want[key], abs=1e-9))
        assert got["flag"] == want["flag"]
    # the numbers, by hand: before the drop the 7-day mean sits inside the band ...
    assert days[39]["baseline_7d"] == pytest.approx((4 * 3.7 + 3 * 3.9) / 7)
    assert days[39]["band_low"] == pytest.approx(3.8 - 0.05 * math.sqrt(40 / 39))
    assert days[39]["flag"] is None
    # ... two days after it, it has left the band, and it stays out
    assert [day["flag"] for day in days[:41]] == [None] * 41
    assert all(day["flag"] == "below" for day in days[41:])
    assert days[59]["baseline_7d"] == pytest.approx((4 * 3.3 + 3 * 3.5) / 7)
    assert days[59]["band_low"] + days[59]["band_high"] == pytest.approx(2 * (40 * 3.8 + 20 * 3.4) / 60)
    assert days[12]["band_low"] is None and days[13]["band_low"] is not None  # 14 days needed


def test_the_last_days_keep_the_band_of_the_whole_history(home, capsys):
    capsys.readouterr()
    assert main(["--data-dir", str(home), "trends", "--days", "7", "--json", "--include",
                 "imports"]) == 0
    recent = json.loads(capsys.readouterr().out)
    assert [day["date"] for day in recent["days"]] == [
        (START + dt.timedelta(d)).isoformat() for d in range(53, 60)]
    with Store.open(home) as store:
        full = load_trends(store, sources={"ble", "import"})
    assert recent["days"][-1] == full.days[-1].to_json()
    assert recent["cv_7d_pct"][-1]["cv_pct"] == pytest.approx(
        100 * statistics.stdev([3.3, 3.5, 3.3, 3.5, 3.3, 3.5, 3.3]) / ((4 * 3.3 + 3 * 3.5) / 7))


def test_trends_text_shows_the_flag(home, capsys):
    capsys.readouterr()
    assert main(["--data-dir", str(home), "trends", "--days", "3", "--include", "imports"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("2026-02-27") and lines[1].endswith("↓ below the normal band")


def test_weeks_count_sessions_and_practice_minutes(home):
    with Store.open(home) as store:
        weeks = load_trends(store, sources={"import"}).weeks
    assert weeks[0].week == "2026-W01" and weeks[0].sessions == 4  # Thu 1 Jan to Sun 4 Jan
    second = next(w for w in weeks if w.week == "2026-W02")
    assert second.sessions == 8  # 7 morning checks and the demo
    assert second.practice_min == pytest.approx(3.0, abs=0.05)  # the demo's paced phase (3 min)
    assert sum(w.sessions for w in weeks) == DAYS + 1


def test_imports_count_only_when_the_user_says_so_and_the_text_says_how(home, capsys):
    capsys.readouterr()
    assert main(["--data-dir", str(home), "trends", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["days"] == [] and shown["weeks"] == []
    assert shown["sources"] == ["ble"] and shown["left_out"] == {"import": DAYS + 1}
    assert main(["--data-dir", str(home), "trends"]) == 0
    text = capsys.readouterr().out
    assert "No baseline measurements of you yet" in text
    assert f"Left out (not measured on your strap): {DAYS + 1} imports." in text
    assert "`hrvcoach trends --include imports` counts them" in text


def test_compute_trends_flags_a_rise_above_the_band():
    values = {START + dt.timedelta(d): 3.0 + (0.05 if d % 2 else -0.05) for d in range(30)}
    values.update({START + dt.timedelta(d): 3.6 for d in range(30, 35)})
    days = compute_trends(values)
    assert days[29].flag is None and days[33].flag == "above"
    assert days[1].baseline_7d is None and days[2].baseline_7d == pytest.approx(2.95 + 0.1 / 3)
