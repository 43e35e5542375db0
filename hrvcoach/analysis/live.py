"""Live markers updated on every beat, with the same functions as the batch analysis."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from hrvcoach.analysis.time_domain import mean_hr_bpm, rmssd_ms
from hrvcoach.beats import Beat
from hrvcoach.constants import HR_WINDOW_S, RMSSD_WINDOW_S


@dataclass(frozen=True, slots=True)
class Markers:
    """Markers after one beat. NaN until there is enough data."""

    hr_bpm: float  # mean over the last HR_WINDOW_S
    rmssd_ms: float  # over the last RMSSD_WINDOW_S, never across a gap
    beats_in_window: int  # usable beats in the RMSSD window


EMPTY_MARKERS = Markers(math.nan, math.nan, 0)


class LiveMarkers:
    """Sliding-window HR and RMSSD; O(window) per beat. Beats without skin contact are left out
    and the difference that would span them is not used."""

    def __init__(self, rmssd_window_s: float = RMSSD_WINDOW_S,
                 hr_window_s: float = HR_WINDOW_S) -> None:
        self.rmssd_window_s = rmssd_window_s
        self.hr_window_s = hr_window_s
        self._beats: deque[Beat] = deque()
        self._pending_gap = False
        self.latest = EMPTY_MARKERS

    def update(self, beat: Beat) -> Markers:
        if not beat.usable:
            self._pending_gap = True
            return self.latest
        if self._pending_gap:
            beat = Beat(beat.rr_ms, beat.time_s, beat.contact, after_gap=True)
            self._pending_gap = False
        self._beats.append(beat)
        oldest_s = beat.time_s - self.rmssd_window_s
        while self._beats and self._beats[0].time_s <= oldest_s:
            self._beats.popleft()
        rr = np.fromiter((b.rr_ms for b in self._beats), np.float64, len(self._beats))
        gaps = np.fromiter((b.after_gap for b in self._beats), np.bool_, len(self._beats))
        times = np.fromiter((b.time_s for b in self._beats), np.float64, len(self._beats))
        recent = times > beat.time_s - self.hr_window_s
        self.latest = Markers(mean_hr_bpm(rr[recent]), rmssd_ms(rr, gaps), len(self._beats))
        return self.latest
