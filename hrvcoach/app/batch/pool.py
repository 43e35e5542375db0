"""A batch on this machine: one job runs in this process; more run on a process pool, one task
per recording.

Workers start from a fork server that has imported the analysis once (each worker is a fork of
it: no import per worker), run numpy's BLAS on one thread (the processes already fill the
cores, as Dask's nanny does for its workers), ignore Ctrl+C (the command stops them), and each
may use at most `memory_limit_mb` of address space: a recording that needs more fails with its
own error row instead of the whole machine swapping. A worker that dies (a crash, the OOM killer) breaks the
pool; its unfinished tasks then run again, the first of them alone, so the culprit gets an error
row and every other recording its result.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Final, Protocol

from hrvcoach.app.batch.settings import BatchSettings
from hrvcoach.app.batch.task import ANALYSIS_MODULES, Outcome, analyse_recording
from hrvcoach.files.recordings import recording_format

__all__ = ["MIN_MEMORY_LIMIT_MB", "OnDone", "Task", "default_jobs", "default_memory_limit_mb",
           "run_on_pool"]

log = logging.getLogger(__name__)

OnDone = Callable[[int, Outcome], None]  # (the recording's index in the batch, its outcome)
# Address space, not memory used: a worker maps ~350 MB with the analysis loaded, ~1.7 GB once an
# ECG file has loaded neurokit2 (a day of RR peaks at ~410 MB, resident ~150 MB).
MIN_MEMORY_LIMIT_MB: Final = 4096
ONE_THREAD: Final = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Task(Protocol):
    """What runs for one recording: analyse_recording (another only in tests)."""

    def __call__(self, file: str, settings: BatchSettings, *, keep_analysis: bool = False) -> Outcome:
        ...


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_memory_limit_mb(jobs: int) -> int | None:
    """An equal share of the physical memory for each job, at least MIN_MEMORY_LIMIT_MB (None
    where the memory cannot be known)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return max(MIN_MEMORY_LIMIT_MB, total // max(1, jobs) // 2**20)


def _start_worker(memory_limit_mb: int | None) -> None:
    """In each worker: Ctrl+C is the command's to handle; cap the address space."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_limit_mb is None:
        return
    try:
        import resource
    except ImportError:  # Windows: no per-process limit
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_limit_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # macOS refuses address-space limits: run without one
        log.warning("no memory limit per job on this system")


def _context() -> BaseContext:
    for name, value in ONE_THREAD.items():  # read by numpy in the workers (unless set already)
        os.environ.setdefault(name, value)
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([analyse_recording.__module__, *ANALYSIS_MODULES])
        return context
    return multiprocessing.get_context("spawn")


def _size(file: str) -> int:
    """Bytes: the largest recordings go first, so no worker is left with a long one at the end."""
    try:
        return os.stat(file).st_size
    except OSError:
        return 0


def _round(task: Task, indices: Sequence[int], files: Sequence[str], settings: BatchSettings, *,
           jobs: int, memory_limit_mb: int | None, keep_analysis: bool, on_done: OnDone) -> list[int]:
    """Run the tasks `indices` on a fresh pool; the indices of those a dying worker broke."""
    broken: list[int] = []
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(indices)), mp_context=_context(),
                               initializer=_start_worker, initargs=(memory_limit_mb,))
    try:
        futures: dict[Future[Outcome], int] = {
            pool.submit(task, files[i], settings, keep_analysis=keep_analysis): i
            for i in sorted(indices, key=lambda i: -_size(files[i]))}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except BrokenProcessPool:
                broken.append(futures[future])
                continue
            on_done(futures[future], outcome)
    except BaseException:  # Ctrl+C: stop now, not after a long ECG
        workers = list((getattr(pool, "_processes", None) or {}).values())  # public from 3.14 on
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        raise
    pool.shutdown(wait=True)
    return sorted(broken)


def run_on_pool(files: Sequence[str], settings: BatchSettings, *, jobs: int, on_done: OnDone,
                memory_limit_mb: int | None = None, keep_analysis: bool = False,
                task: Task = analyse_recording) -> None:
    """Analyse `files` with `jobs` processes, handing each outcome to on_done (in this thread, in
    the order they finish)."""
    if jobs <= 1 or len(files) <= 1:
        for index, file in enumerate(files):
            on_done(index, task(file, settings, keep_analysis=keep_analysis))
        return

    def run_round(indices: Sequence[int], workers: int) -> list[int]:
        return _round(task, indices, files, settings, jobs=workers, memory_limit_mb=memory_limit_mb,
                      keep_analysis=keep_analysis, on_done=on_done)

    pending: list[int] = list(range(len(files)))
    while pending:
        broken = run_round(pending, jobs)
        if not broken:
            break
        first, pending = broken[0], broken[1:]
        if run_round([first], 1):  # it broke a pool of its own: it is the culprit
            file = files[first]
            on_done(first, Outcome(file, recording_format(Path(file)), "", 0, None,
                                   f"{file}: the worker process analysing it died "
                                   "(it crashed or was killed)"))
