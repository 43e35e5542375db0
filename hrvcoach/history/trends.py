"""HRV trends over days and weeks, from the markers of stored sessions.

Daily series: one ln RMSSD per day, from the "before" (baseline) phase of that day's session: a
morning-check session if there is one (the first of the day), else the day's first session
with a baseline of at least MIN_BASELINE_S whose rhythm passed the quality gate (hrv_valid).
With a strap's accelerometer the stored markers come from the still stretches only; each day
says how much movement its baseline left out (`moving_s`).

Each day with a value gets (Plews et al. 2012, 2013; Buchheit 2014):
- `baseline_7d`: the mean ln RMSSD of the 7 calendar days ending that day (at least
  MIN_VALUES_7D values), which smooths the day-to-day noise;
- `cv_7d_pct`: the coefficient of variation of those values (SD / mean, %);
- the normal band: the mean ± 0.5 SD (the smallest worthwhile change) of the daily values of the
  60 calendar days ending that day (at least MIN_VALUES_BAND values);
- `flag`: "below" or "above" when the 7-day baseline lies outside the band, else None. (The
  band is half an SD wide on each side, so a single day's value leaves it most days: the flag
  is on the baseline, as in the literature, not on the noisy single value.)

Weekly (ISO weeks): practice minutes (time in paced phases), minutes at high coherence
(comparison.HIGH_COHERENCE_RATIO, 64-s blocks) and the number of sessions.

Your history is yours: only sessions measured on a strap count, unless the caller includes other
sources (imports the user vouches for; demos and replays shown as a demo). `Trends.left_out`
says how many sessions of each other source were left out.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from hrvcoach.store import SessionInfo, Store

__all__ = [
    "BAND_DAYS",
    "BAND_SD",
    "BASELINE_DAYS",
    "MEASURED_SOURCES",
    "DailyValue",
    "TrendDay",
    "TrendWeek",
    "Trends",
    "compute_trends",
    "daily_values",
    "load_trends",
    "weekly_practice",
]

BASELINE_DAYS: Final = 7
BAND_DAYS: Final = 60
BAND_SD: Final = 0.5  # the smallest worthwhile change, in SDs of the daily values
MIN_VALUES_7D: Final = 3
MIN_VALUES_BAND: Final = 14
MIN_BASELINE_S: Final = 60.0
PREFERRED_PROTOCOL: Final = "morning-check"
MEASURED_SOURCES: Final = frozenset({"ble"})  # a strap: the user's own heart, measured

Flag = Literal["below", "above"]


@dataclass(frozen=True, slots=True)
class DailyValue:
    date: dt.date
    ln_rmssd: float
    session_id: int
    moving_s: float = 0.0  # movement left out of the baseline's markers


@dataclass(frozen=True, slots=True)
class TrendDay:
    date: dt.date
    ln_rmssd: float
    baseline_7d: float | None
    band_low: float | None
    band_high: float | None
    flag: Flag | None
    cv_7d_pct: float | None
    session_id: int
    moving_s: float = 0.0  # movement left out of the baseline's markers

    def to_json(self) -> dict[str, object]:
        """date, ln_rmssd, baseline_7d, band_low, band_high, flag; and moving_excluded_s when
        the baseline's markers left movement out."""
        found: dict[str, object] = {
            "date": self.date.isoformat(), "ln_rmssd": self.ln_rmssd,
            "baseline_7d": self.baseline_7d, "band_low": self.band_low,
            "band_high": self.band_high, "flag": self.flag}
        if self.moving_s > 0:
            found["moving_excluded_s"] = round(self.moving_s, 1)
        return found


@dataclass(frozen=True, slots=True)
class TrendWeek:
    week: str  # ISO week, e.g. "2026-W48"
    monday: dt.date
    practice_min: float
    high_coherence_min: float
    sessions: int

    def to_json(self) -> dict[str, object]:
        return {"week": self.week, "monday": self.monday.isoformat(),
                "practice_min": round(self.practice_min, 2),
                "high_coherence_min": round(self.high_coherence_min, 2), "sessions": self.sessions}


@dataclass(frozen=True, slots=True)
class Trends:
    days: list[TrendDay]
    weeks: list[TrendWeek]
    sources: frozenset[str] = MEASURED_SOURCES  # the session sources counted
    left_out: dict[str, int] = field(default_factory=dict)  # sessions of other sources, by source


def compute_trends(values: Mapping[dt.date, float]) -> list[TrendDay]:
    """Baseline, CV, band and flag for each day with a value (see the module note)."""
    days = sorted(values)
    result = []
    for day in days:
        week = [values[d] for d in days if day - dt.timedelta(days=BASELINE_DAYS) < d <= day]
        span = [values[d] for d in days if day - dt.timedelta(days=BAND_DAYS) < d <= day]
        baseline = cv = low = high = None
        if len(week) >= MIN_VALUES_7D:
            baseline = statistics.fmean(week)
            cv = 100.0 * statistics.stdev(week) / baseline if baseline else None
        if len(span) >= MIN_VALUES_BAND:
            mean, sd = statistics.fmean(span), statistics.stdev(span)
            low, high = mean - BAND_SD * sd, mean + BAND_SD * sd
        flag: Flag | None = None
        if baseline is not None and low is not None and high is not None:
            flag = "below" if baseline < low else "above" if baseline > high else None
        result.append(TrendDay(day, values[day], baseline, low, high, flag, cv, 0))
    return result


def daily_values(sessions: list[SessionInfo],
                 markers: Mapping[int, Mapping[int, Mapping[str, float | None]]],
                 phase_roles: Mapping[int, Mapping[int, str | None]]) -> list[DailyValue]:
    """One value per day: the baseline ln RMSSD of the day's chosen session."""
    chosen: dict[dt.date, tuple[tuple[int, str, int], float, float]] = {}
    for session in sessions:
        roles = phase_roles.get(session.id, {})
        before = [index for index, role in roles.items() if role == "before"]
        if not before or session.status == "running":
            continue
        values = markers.get(session.id, {}).get(max(before), {})
        ln_rmssd, duration = values.get("ln_rmssd"), values.get("duration_s")
        if ln_rmssd is None or not math.isfinite(ln_rmssd) or (duration or 0.0) < MIN_BASELINE_S:
            continue
        if values.get("hrv_valid") is False:  # the rhythm-quality gate: not vagal tone
            continue
        day = dt.date.fromisoformat(session.date)
        rank = (0 if session.protocol == PREFERRED_PROTOCOL else 1, session.started_at, session.id)
        if day not in chosen or rank < chosen[day][0]:
            chosen[day] = (rank, ln_rmssd, values.get("moving_s") or 0.0)
    return [DailyValue(day, value, rank[2], moving)
            for day, (rank, value, moving) in sorted(chosen.items())]


def weekly_practice(sessions: list[SessionInfo],
                    markers: Mapping[int, Mapping[int, Mapping[str, float | None]]],
                    phase_kinds: Mapping[int, Mapping[int, str]]) -> list[TrendWeek]:
    """Practice minutes (paced phases) and minutes at high coherence, per ISO week."""
    weeks: dict[tuple[int, int], list[float]] = {}
    for session in sessions:
        day = dt.date.fromisoformat(session.date)
        year, week, _ = day.isocalendar()
        totals = weeks.setdefault((year, week), [0.0, 0.0, 0.0])
        totals[2] += 1
        for index, values in markers.get(session.id, {}).items():
            if phase_kinds.get(session.id, {}).get(index) == "paced":
                totals[0] += (values.get("duration_s") or 0.0) / 60.0
            totals[1] += (values.get("high_coherence_s") or 0.0) / 60.0
    return [TrendWeek(f"{year}-W{week:02d}", dt.date.fromisocalendar(year, week, 1), practice,
                      coherent, int(count))
            for (year, week), (practice, coherent, count) in sorted(weeks.items())]


def load_trends(store: Store, *, days: int | None = None, today: dt.date | None = None,
                sources: Collection[str] = MEASURED_SOURCES) -> Trends:
    """Trends from the store's sessions of `sources` (default: straps only); `days` keeps the
    last N calendar days up to `today` (the band and baseline still use the days before them)."""
    finished = [s for s in store.sessions() if s.status != "running"]
    sessions = [s for s in finished if s.source in sources]
    left_out = dict(Counter(s.source for s in finished if s.source not in sources))
    markers = store.all_markers()
    roles: dict[int, dict[int, str | None]] = {}
    kinds: dict[int, dict[int, str]] = {}
    for session in sessions:
        phases = store.phases(session.id)
        roles[session.id] = {p.index: p.compare for p in phases}
        kinds[session.id] = {p.index: p.kind for p in phases}
    daily = daily_values(sessions, markers, roles)
    by_day = {value.date: value for value in daily}
    trend_days = [TrendDay(d.date, d.ln_rmssd, d.baseline_7d, d.band_low, d.band_high, d.flag,
                           d.cv_7d_pct, by_day[d.date].session_id, by_day[d.date].moving_s)
                  for d in compute_trends({v.date: v.ln_rmssd for v in daily})]
    weeks = weekly_practice(sessions, markers, kinds)
    if days is not None:
        last = today or (max((d.date for d in trend_days), default=dt.date.today()))
        first = last - dt.timedelta(days=days - 1)
        trend_days = [d for d in trend_days if first <= d.date <= last]
        weeks = [w for w in weeks if w.monday + dt.timedelta(days=6) >= first and w.monday <= last]
    return Trends(trend_days, weeks, frozenset(sources), left_out)
