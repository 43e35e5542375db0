"""The store side of a live session: a SessionRecorder that commits beats as they arrive."""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from typing import Final

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.raw import BreathRecord, MovementSegment, RawChunk, RawStream
from hrvcoach.core.records import Annotation, PhaseRecord
from hrvcoach.store.db import SessionStatus, StoreError
from hrvcoach.store.repository import Store

__all__ = ["COMMIT_EVERY_S", "StoreRecorder"]

log = logging.getLogger(__name__)

COMMIT_EVERY_S: Final = 0.5  # a beat is committed at most this long after it arrived (+ one tick)
_FLUSH_TICK_S: Final = 0.1  # how often the recorder's thread looks for beats waiting to commit
HEARTBEAT_EVERY_S: Final = 5.0  # a running session refreshes alive_at this often


class StoreRecorder:
    """The session's recorder (hrvcoach.session.SessionRecorder) that writes it into the store.

    `record_beat` buffers the beat first thing and commits the buffer in one short transaction
    unless the last commit is less than COMMIT_EVERY_S ago (at a strap's pace every beat is
    committed as it arrives; a fast replay is batched); a background thread commits what is left
    when no beat follows. Phases, status events (as annotations, and the strap's name) and the
    user's annotations are written at once; `close` commits the rest and closes the session.
    """

    def __init__(self, store: Store, *, protocol: str, source: str, device: str = "",
                 origin: str = "", commit_every_s: float = COMMIT_EVERY_S) -> None:
        self.store = store
        self.commit_every_s = commit_every_s
        self.session_id, self._lock = store.begin_session(protocol=protocol, source=source,
                                                          device=device, origin=origin)
        self._buffer: list[Beat] = []
        self._raw_buffer: list[RawChunk] = []
        self._raw_seq: dict[RawStream, int] = {}
        self._breaths = 0
        self._last_commit_s = -math.inf  # monotonic time of the last commit
        self._next_seq = 0
        self._mutex = threading.Lock()
        self._closed = threading.Event()
        self._last_heartbeat_s = time.monotonic()
        self.flush_error: BaseException | None = None
        self._thread = threading.Thread(target=self._flush_loop, name="hrvcoach-store-commit",
                                        daemon=True)
        self._thread.start()

    def record_beat(self, beat: Beat) -> None:
        with self._mutex:
            if self._closed.is_set():
                raise RuntimeError("StoreRecorder.record_beat after close")
            self._buffer.append(beat)
            if time.monotonic() - self._last_commit_s >= self.commit_every_s:
                try:
                    self._flush_locked()
                except sqlite3.Error as exc:  # keep coaching: the beats stay buffered (and in
                    log.error("session store: cannot commit beats (%s); retrying", exc)  # the
                    self.flush_error = exc  # CSV journal); close() reports it if it persists

    def flush(self) -> None:
        with self._mutex:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._raw_buffer:
            chunks, self._raw_buffer = self._raw_buffer, []
            try:
                self.store.add_raw(self.session_id, self._raw_seq, chunks)
            except BaseException:
                self._raw_buffer = chunks + self._raw_buffer
                raise
            for chunk in chunks:
                self._raw_seq[chunk.stream] = self._raw_seq.get(chunk.stream, 0) + 1
        if not self._buffer:
            return
        beats, self._buffer = self._buffer, []
        try:
            self.store.add_beats(self.session_id, self._next_seq, beats)
        except BaseException:
            self._buffer = beats + self._buffer  # keep them for the next try
            raise
        self._next_seq += len(beats)
        self._last_commit_s = time.monotonic()

    def _flush_loop(self) -> None:
        while not self._closed.wait(_FLUSH_TICK_S):
            try:
                with self._mutex:
                    waiting = self._buffer or self._raw_buffer
                    if waiting and time.monotonic() - self._last_commit_s >= self.commit_every_s:
                        self._flush_locked()
                if time.monotonic() - self._last_heartbeat_s >= HEARTBEAT_EVERY_S:
                    self._last_heartbeat_s = time.monotonic()
                    self.store.heartbeat(self.session_id)
            except sqlite3.Error as exc:  # retried on the next tick; close() raises it
                log.error("session store: cannot commit beats (%s); retrying", exc)
                self.flush_error = exc

    def record_phase(self, phase: PhaseRecord) -> None:
        self.flush()  # the phase's first beat is stored before the phase
        self.store.add_phase(self.session_id, phase)

    def record_status(self, status: SourceStatus) -> None:
        text = status.message if status.value is None else f"{status.message} ({status.value:g})"
        self.store.add_annotation(self.session_id, Annotation(status.time_s, status.kind.value, text))
        if status.kind is StatusKind.CONNECTED and status.message:
            self.store.set_device(self.session_id, status.message)

    def record_annotation(self, annotation: Annotation) -> None:
        self.store.add_annotation(self.session_id, annotation)

    def record_raw(self, chunk: RawChunk) -> None:
        """Raw chunks wait in a buffer and are committed with the beats (every COMMIT_EVERY_S,
        by the recorder's thread when no beat comes)."""
        with self._mutex:
            self._raw_buffer.append(chunk)

    def record_body(self, found: BreathRecord | MovementSegment) -> None:
        """A breath or a stretch of movement the body analysis found."""
        if isinstance(found, BreathRecord):
            self.store.add_breaths(self.session_id, self._breaths, [found])
            self._breaths += 1
        else:
            self.store.add_movement(self.session_id, [found])

    def close(self, status: SessionStatus, reason: str) -> None:
        """Commit every buffered beat and close the session."""
        self._closed.set()
        self._thread.join()
        try:
            with self._mutex:
                self._flush_locked()
            self.store.end_session(self.session_id, status, reason, self._lock)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.store.path}: session {self.session_id} could not be saved "
                             f"completely ({exc}); its CSV journal has every beat") from None
