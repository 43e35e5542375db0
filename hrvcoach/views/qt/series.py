"""A session-long series for a trend line that stays cheap to draw however long the session runs.

Not a metric: it only thins out what the session already computed, so that a 60-minute trend
costs the same to draw as a 1-minute one. No Qt here.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

__all__ = ["TrendSeries"]


class TrendSeries:
    """Appends (time, value) points; `data()` gives at most `2 * max_points` points.

    Each drawn point is the mean of the finite values of a run of consecutive points (its time:
    the run's last). When the runs fill the buffer, neighbours merge and runs double in length,
    so each append is O(1) amortised and the drawn size stays bounded.
    """

    def __init__(self, max_points: int = 120) -> None:
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2, got {max_points}")
        capacity = 2 * max_points
        self._time = np.empty(capacity)
        self._sum = np.zeros(capacity)
        self._finite = np.zeros(capacity, dtype=np.int64)  # finite values in the run
        self._members = np.zeros(capacity, dtype=np.int64)  # points in the run
        self._size = 0
        self._run = 1  # points per run before it is full
        self.count = 0  # points appended so far

    def __len__(self) -> int:
        return self._size

    def append(self, time_s: float, value: float) -> None:
        """Add one point (a NaN value keeps the time but adds nothing to the mean)."""
        self.count += 1
        last = self._size - 1
        if last < 0 or self._members[last] >= self._run:
            if self._size == self._time.size:
                self._halve()
            last = self._size
            self._size += 1
            self._sum[last] = 0.0
            self._finite[last] = 0
            self._members[last] = 0
        self._time[last] = time_s
        self._members[last] += 1
        if math.isfinite(value):
            self._sum[last] += value
            self._finite[last] += 1

    def _halve(self) -> None:
        half = self._size // 2
        for name in ("_sum", "_finite", "_members"):
            values = getattr(self, name)
            values[:half] = values[0:2 * half:2] + values[1:2 * half:2]
        self._time[:half] = self._time[1:2 * half:2]
        self._size = half
        self._run *= 2

    def data(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(times, means) to draw, oldest first; NaN where a run had no finite value."""
        size = self._size
        finite = self._finite[:size]
        means = np.full(size, math.nan)
        np.divide(self._sum[:size], finite, out=means, where=finite > 0)
        return self._time[:size].copy(), means

    def last(self) -> float:
        """The newest drawn value (NaN when empty)."""
        if self._size == 0:
            return math.nan
        i = self._size - 1
        return float(self._sum[i] / self._finite[i]) if self._finite[i] else math.nan
