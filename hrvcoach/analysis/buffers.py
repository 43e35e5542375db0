"""One growable buffer for per-beat state: named numpy columns that grow at the end and drop at
the front in amortised O(1), so a live accumulator never copies its whole window per beat."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["Columns"]

_MIN_CAPACITY = 512


class Columns:
    """Rows of named columns, kept in arrays with spare room at the end.

    `append`/`extend` add rows at the end, `drop_front` forgets the oldest rows, `view(name)`
    is the live rows of one column (a view: valid until the next append). `raw(name)` is the
    whole backing array for code that addresses rows by absolute position (`start` is then 0
    and never moves). With `fill`, space not written yet holds that value (e.g. NaN for values
    computed later).
    """

    def __init__(self, dtypes: Mapping[str, DTypeLike], *, fill: float | None = None,
                 capacity: int = _MIN_CAPACITY) -> None:
        self._dtypes = {name: np.dtype(dtype) for name, dtype in dtypes.items()}
        self._fill = fill
        self._data = {name: self._new(dtype, capacity) for name, dtype in self._dtypes.items()}
        self.start = 0  # oldest live row
        self.end = 0  # one past the newest row

    def _new(self, dtype: np.dtype[Any], size: int) -> NDArray[Any]:
        if self._fill is None:
            return np.empty(size, dtype=dtype)
        return np.full(size, self._fill, dtype=dtype)

    def __len__(self) -> int:
        return self.end - self.start

    @property
    def capacity(self) -> int:
        return next(iter(self._data.values())).size

    def reserve(self, rows: int) -> None:
        """Make room for `rows` more rows after `end` (moving live rows to the front if the
        front has room to spare, else doubling)."""
        if self.end + rows <= self.capacity:
            return
        size = len(self)
        capacity = max(_MIN_CAPACITY, 2 * (size + rows))
        for name, old in self._data.items():
            new = self._new(self._dtypes[name], capacity)
            new[:size] = old[self.start:self.end]
            self._data[name] = new
        self.start, self.end = 0, size

    def append(self, **values: Any) -> None:
        """One row; columns not named keep their fill value (or whatever the space held)."""
        self.reserve(1)
        i = self.end
        for name, value in values.items():
            self._data[name][i] = value
        self.end = i + 1

    def extend(self, **arrays: NDArray[Any]) -> None:
        """Several rows at once (every array the same length)."""
        count = len(next(iter(arrays.values())))
        if count == 0:
            return
        self.reserve(count)
        for name, values in arrays.items():
            self._data[name][self.end:self.end + count] = values
        self.end += count

    def drop_front(self, rows: int) -> None:
        self.start = min(self.start + max(rows, 0), self.end)

    def view(self, name: str) -> NDArray[Any]:
        return self._data[name][self.start:self.end]

    def raw(self, name: str) -> NDArray[Any]:
        return self._data[name]

    def ensure_rows(self, rows: int) -> None:
        """For absolute addressing: rows 0..rows-1 exist (start stays 0)."""
        if rows > self.end:
            self.reserve(rows - self.end)
            self.end = rows
