"""The store side of a live session: a SessionRecorder that commits beats as they arrive."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from typing import Final

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.raw import BreathRecord, MovementSegment, RawChunk
from hrvcoach.core.records import Annotation, PhaseRecord
from hrvcoach.store.db import SessionStatus
from hrvcoach.store.errors import StoreError, StoreFullError
from hrvcoach.store.repository import Store

__all__ = ["COMMIT_EVERY_S", "StoreRecorder"]

log = logging.getLogger(__name__)

COMMIT_EVERY_S: Final = 0.5  # a beat is committed at most this long after it arrived (+ one tick)
_FLUSH_TICK_S: Final = 0.1  # how often the recorder's thread looks for beats waiting to commit
HEARTBEAT_EVERY_S: Final = 5.0  # a running session refreshes alive_at this often

# str: the strap's name (device); raw chunks, breaths and movement from a strap with raw data
_Item = Beat | PhaseRecord | Annotation | str | RawChunk | BreathRecord | MovementSegment


class StoreRecorder:
    """The session's recorder (hrvcoach.session.SessionRecorder) that writes it into the store.

    Everything the session records goes into one queue, in order, and the queue is committed in
    one short transaction: at once, unless the last commit is less than COMMIT_EVERY_S ago (at a
    strap's pace every beat is committed as it arrives; a fast replay is batched); a background
    thread commits what is left when no beat follows. When a commit fails (a full disk) nothing
    is lost and nothing is raised: the queue waits in memory, `problem` says why (logged once),
    and the next beat or tick tries again. `close` commits the rest and closes the session, and
    raises StoreError only if that still fails.
    """

    def __init__(self, store: Store, *, protocol: str, source: str, device: str = "",
                 origin: str = "", commit_every_s: float = COMMIT_EVERY_S) -> None:
        self.store = store
        self.commit_every_s = commit_every_s
        self.session_id, self._lock = store.begin_session(protocol=protocol, source=source,
                                                          device=device, origin=origin)
        self._queue: list[_Item] = []
        self._last_commit_s = -math.inf  # monotonic time of the last commit
        self._next_seq = 0
        self._mutex = threading.Lock()
        self._closed = threading.Event()
        self._last_heartbeat_s = time.monotonic()
        self.problem: str | None = None  # why items wait in memory (None: all committed)
        self._thread = threading.Thread(target=self._flush_loop, name="hrvcoach-store-commit",
                                        daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Beats held in memory until they can be committed."""
        with self._mutex:
            return sum(isinstance(item, Beat) for item in self._queue)

    def record_beat(self, beat: Beat) -> None:
        self._add(beat, at_once=False)

    def record_phase(self, phase: PhaseRecord) -> None:
        self._add(phase, at_once=True)  # after the phase's first beat, in the same commit

    def record_status(self, status: SourceStatus) -> None:
        text = status.message if status.value is None else f"{status.message} ({status.value:g})"
        self._add(Annotation(status.time_s, status.kind.value, text), at_once=True)
        if status.kind is StatusKind.CONNECTED and status.message:
            self._add(status.message, at_once=True)

    def record_annotation(self, annotation: Annotation) -> None:
        self._add(annotation, at_once=True)

    def record_raw(self, chunk: RawChunk) -> None:
        """Raw chunks are committed with the beats (at most COMMIT_EVERY_S later)."""
        self._add(chunk, at_once=False)

    def record_body(self, found: BreathRecord | MovementSegment) -> None:
        """A breath or a stretch of movement the body analysis found."""
        self._add(found, at_once=False)

    def _add(self, item: _Item, *, at_once: bool) -> None:
        with self._mutex:
            if self._closed.is_set():
                raise RuntimeError("StoreRecorder used after close")
            self._queue.append(item)
            if at_once or time.monotonic() - self._last_commit_s >= self.commit_every_s:
                self._try_commit()

    def flush(self) -> None:
        """Commit what waits; raises StoreError if it cannot."""
        with self._mutex:
            self._commit()

    def _try_commit(self) -> None:
        try:
            self._commit()
        except StoreError as exc:
            if self.problem is None:
                log.info("session store: cannot commit (%s); holding the session in memory", exc)
            self.problem = "the disk is full" if isinstance(exc, StoreFullError) else str(exc)

    def _commit(self) -> None:
        if self._queue:
            self._next_seq = self.store.record_items(self.session_id, self._next_seq, self._queue)
            self._queue = []
        self._last_commit_s = time.monotonic()
        if self.problem is not None:
            log.info("session store: every waiting beat is committed now")
            self.problem = None

    def _flush_loop(self) -> None:
        while not self._closed.wait(_FLUSH_TICK_S):
            with self._mutex:
                waiting = bool(self._queue) and (
                    self.problem is not None
                    or time.monotonic() - self._last_commit_s >= self.commit_every_s)
                if waiting:
                    self._try_commit()
            if time.monotonic() - self._last_heartbeat_s >= HEARTBEAT_EVERY_S:
                self._last_heartbeat_s = time.monotonic()
                with contextlib.suppress(StoreError):  # a full disk: the lock file says it lives
                    self.store.heartbeat(self.session_id)

    def close(self, status: SessionStatus, reason: str) -> None:
        """Commit everything that waits and close the session."""
        self._closed.set()
        self._thread.join()
        try:
            with self._mutex:
                self._commit()
            self.store.end_session(self.session_id, status, reason, self._lock)
        except StoreError as exc:
            beats = sum(isinstance(item, Beat) for item in self._queue)
            lost = f"{beats} beats could not be stored; " if beats else ""
            raise type(exc)(f"session {self.session_id} could not be saved completely ({exc}); "
                            f"{lost}its CSV journal keeps what could be written, and the next "
                            "start recovers the session from it") from None
