"""The local pool: one or several processes give the same outcomes; a recording that kills its
worker gets an error row while every other one is analysed; a job's memory is capped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hrvcoach.app.batch import BatchSettings, Outcome, analyse_recording
from hrvcoach.app.batch.pool import MIN_MEMORY_LIMIT_MB, default_memory_limit_mb, run_on_pool
from tests.helpers import real_recording

SETTINGS = BatchSettings(window_s=120.0)
RECORDINGS = ("polar_h10_breathing_10min/rr.csv", "pyhrv_samples/nsrdb_nni_5min_rr.csv",
              "polar_rri_bartels_hrv/rest_rri_rr.csv", "mitdb_100/100_beats_rr.csv")


def crash_on_marked(file: str, settings: BatchSettings, *, keep_analysis: bool = False) -> Outcome:
    """The real task, except that a file named crash* kills the worker process (as a segfault or
    the OOM killer would)."""
    if Path(file).name.startswith("crash"):
        os._exit(3)
    return analyse_recording(file, settings, keep_analysis=keep_analysis)


def blas_threads(file: str, settings: BatchSettings, *, keep_analysis: bool = False) -> Outcome:
    """Not an analysis: the most threads any BLAS (numpy's, scipy's) runs in this worker."""
    import threadpoolctl

    threads = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
               if pool["user_api"] == "blas"]
    return Outcome(file, "rr", str(max(threads)), 0, {})


def run(files: list[str], **options) -> list[Outcome]:
    outcomes: dict[int, Outcome] = {}
    run_on_pool(files, SETTINGS, on_done=outcomes.__setitem__, **options)
    assert sorted(outcomes) == list(range(len(files)))
    return [outcomes[index] for index in range(len(files))]


@pytest.fixture
def files() -> list[str]:
    return [str(real_recording(relative)) for relative in RECORDINGS]


def test_two_processes_give_the_outcomes_of_one(files):
    alone = run(files, jobs=1)
    pooled = run(files, jobs=2)
    assert all(outcome.ok for outcome in alone)
    assert [o.report for o in pooled] == [o.report for o in alone]
    assert [(o.origin, o.n_beats) for o in pooled] == [(o.origin, o.n_beats) for o in alone]


def test_a_recording_that_kills_its_worker_gets_an_error_row_and_the_others_their_results(
        files, tmp_path):
    crash = tmp_path / "crash.csv"
    shutil.copy(files[0], crash)
    batch = [files[0], str(crash), *files[1:]]
    outcomes = run(batch, jobs=2, task=crash_on_marked)
    assert outcomes[1].error == f"{crash}: the worker process analysing it died (it crashed or was killed)"
    expected = run(files, jobs=1)
    assert [o.report for o in outcomes[:1] + outcomes[2:]] == [o.report for o in expected]


def test_a_job_over_its_memory_limit_fails_alone_with_its_reason(files, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("800\nx\n")
    outcomes = run([files[0], str(bad)], jobs=2, memory_limit_mb=200)  # a worker starts at ~350
    assert outcomes[0].error == f"{files[0]}: out of memory (the limit per job: --max-memory)"
    assert outcomes[1].error == f"{bad}:2: RR is not a number: 'x'"
    assert run([files[0], str(bad)], jobs=2, memory_limit_mb=2000)[0].ok


def test_workers_run_blas_on_one_thread_and_get_a_fair_share_of_memory(files):
    outcomes = run(files[:2], jobs=2, task=blas_threads)
    assert [outcome.origin for outcome in outcomes] == ["1", "1"]
    total_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    assert default_memory_limit_mb(1) == max(total_mb, MIN_MEMORY_LIMIT_MB)
    assert default_memory_limit_mb(10_000) == MIN_MEMORY_LIMIT_MB
