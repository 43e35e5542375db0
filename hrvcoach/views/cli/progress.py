"""The progress bar of a batch on a terminal (rich): recordings done of all, beats analysed per
second, and the time left. Nothing at all when the output is not a terminal (a pipe, a log file,
a cluster job), and rich is imported only when there is a terminal to draw on."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Self, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from hrvcoach.app.batch import Outcome

__all__ = ["BatchProgress"]


class BatchProgress:
    """`with BatchProgress(n, sys.stderr) as progress:` ... `progress.done(outcome)` per recording."""

    def __init__(self, total: int, out: TextIO) -> None:
        self._total = total
        self._out = out
        self._beats = 0
        self._started = time.perf_counter()
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        self._started = time.perf_counter()
        if self._out.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("analysing"), BarColumn(), MofNCompleteColumn(),
                TextColumn("recordings  {task.fields[rate]}"), TimeRemainingColumn(),
                console=Console(file=self._out, force_terminal=True), transient=True)
            self._task = self._bar.add_task("analysing", total=self._total, rate="")
            self._bar.start()
        return self

    def done(self, outcome: Outcome) -> None:
        """One more recording finished (or failed)."""
        self._beats += outcome.n_beats
        if self._bar is None or self._task is None:
            return
        elapsed = max(time.perf_counter() - self._started, 1e-6)
        self._bar.update(self._task, advance=1, rate=f"{self._beats / elapsed:,.0f} beats/s")

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
