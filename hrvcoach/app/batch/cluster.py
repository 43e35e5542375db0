"""A batch on an existing Dask cluster (dask.distributed, `pip install 'hrvcoach[cluster]'`): the
same task per recording as on a local pool, scheduled by Dask's own scheduler.

The workers need hrvcoach installed (the same version, for the same numbers) and must see the
recordings under the same paths (a shared or network file system). A task never raises; a worker
that dies is retried by Dask, and a recording that kills workers repeatedly gets an error row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from hrvcoach.app.batch.pool import OnDone
from hrvcoach.app.batch.settings import BatchSettings
from hrvcoach.app.batch.task import Outcome, analyse_recording
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.files.recordings import recording_format

__all__ = ["CONNECT_TIMEOUT_S", "WORKER_WAIT_S", "run_on_dask"]

CONNECT_TIMEOUT_S: Final = 10.0
WORKER_WAIT_S: Final = 60.0  # a scheduler without workers: how long to wait for the first one


def _check_scheduler_address(scheduler: str) -> None:
    """Refuse an address that is not tcp://HOST:PORT (or tls://): Dask would otherwise fail
    late, and its half-made client hang for 20 s on exit."""
    try:
        parts = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
        scheme, host, port = parts.scheme, parts.hostname, parts.port
    except ValueError:  # a bracket left open, a port that is no number
        scheme, host, port = "", None, None
    if scheme not in ("tcp", "tls") or not host or port is None:
        raise InputError("--scheduler", f"{scheduler[:80]!r}: give the scheduler's address as "
                         "tcp://HOST:PORT")


def run_on_dask(files: Sequence[str], settings: BatchSettings, *, scheduler: str, on_done: OnDone,
                keep_analysis: bool = False, worker_wait_s: float = WORKER_WAIT_S) -> None:
    """Analyse `files` on the Dask cluster at `scheduler` (tcp://HOST:PORT), handing each outcome
    to on_done in the order they finish."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise InputError("--scheduler", "needs Dask's distributed scheduler: "
                         "pip install 'hrvcoach[cluster]'") from None
    _check_scheduler_address(scheduler)
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise HrvcoachError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=worker_wait_s)
        except TimeoutError:
            raise HrvcoachError(f"--scheduler {scheduler}: no Dask worker joined within "
                                f"{worker_wait_s:g} s") from None
        futures = client.map(analyse_recording, list(files), keep_analysis=keep_analysis,
                             settings=settings, pure=False)
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures, loop=client.loop):
            i = index[future.key]
            try:
                outcome = future.result()
            except Exception as exc:  # the task catches its own errors: this is the cluster's
                file = files[i]
                outcome = Outcome(file, recording_format(Path(file)), "", 0, None,
                                  f"{file}: on the cluster: {type(exc).__name__}: {exc}")
            on_done(i, outcome)
