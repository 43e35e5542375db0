"""Where a batch runs: on a local process pool (default: every core) or, with a scheduler address,
on an existing Dask cluster. The same task and the same settings either way, so the same table."""

from __future__ import annotations

from collections.abc import Sequence

from hrvcoach.app.batch.cluster import run_on_dask
from hrvcoach.app.batch.pool import OnDone, default_jobs, default_memory_limit_mb, run_on_pool
from hrvcoach.app.batch.settings import BatchSettings

__all__ = ["run_batch"]


def run_batch(files: Sequence[str], settings: BatchSettings, *, on_done: OnDone,
              jobs: int | None = None, scheduler: str | None = None,
              memory_limit_mb: int | None = None, keep_analysis: bool = False) -> None:
    """Analyse every file, handing each outcome to on_done(index in files, outcome) as it ends.

    jobs: local processes (None: one per core); memory_limit_mb: per local job (None: an equal
    share of the physical memory); scheduler: a Dask scheduler's address instead of the pool.
    """
    if scheduler is not None:
        run_on_dask(files, settings, scheduler=scheduler, on_done=on_done,
                    keep_analysis=keep_analysis)
        return
    jobs = jobs if jobs is not None else default_jobs()
    limit = memory_limit_mb if memory_limit_mb is not None else default_memory_limit_mb(jobs)
    run_on_pool(files, settings, jobs=jobs, on_done=on_done, memory_limit_mb=limit,
                keep_analysis=keep_analysis)
