"""The raw-data streams of one connection to a Polar strap: PMD over bleak (wire format: pmd.py).

`RawStreams.run` is started beside the heart-rate subscription of each connection (never before
it: the RR path comes first and does not wait for raw data) and

1. subscribes to the control point (indications) and the data characteristic (notify; before
   START, else the first frames are lost), reads the features (ECG bit 0, ACC bit 2),
2. asks each stream's settings (GET) and STARTs ECG at 130 Hz and the accelerometer at
   ACC_RATE_HZ (50 Hz serves breathing and movement alike: both live below 10 Hz),
3. turns frames into RawChunks on the session clock (SensorClock) and hands them on,
4. watches: no frame LATE_S after START says "raw data late: waiting…" (Linux straps often send
   the first frame 30-45 s after START); a stream that stops sending while the link lives is
   STOPped and STARTed again after SILENT_S; a START that fails is retried after RETRY_S.

Streams die with the link: the next connection's RawStreams starts them again. `RawState` is what
survives reconnections: the clock mapping and where each stream left off (the first chunk after
a hole is marked `after_gap`). Times here are session seconds (the strap's samples are timed on
its own clock, which the session clock follows; in a fast simulated session both run fast).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak_retry_connector import BleakClientWithServiceCache

from hrvcoach.core.beats import SourceStatus, StatusKind
from hrvcoach.core.clock import Clock
from hrvcoach.core.raw import RawChunk, RawStream
from hrvcoach.sources.ble import pmd
from hrvcoach.sources.ble.scan import LINK_ERRORS

__all__ = ["ACC_RANGE_G", "ACC_RATE_HZ", "ECG_RATE_HZ", "LATE_S", "RawState", "RawStreams",
           "offers_raw_data"]

log = logging.getLogger(__name__)

ECG_RATE_HZ: Final = 130  # the H10's only ECG rate
ACC_RATE_HZ: Final = 50  # breathing (< 1 Hz), steps (~2 Hz) and fidgets (3-6 Hz) all fit
ACC_RANGE_G: Final = 8  # the values come in mG whatever the range: the widest never clips
LATE_S: Final = 5.0  # no first frame this long after START: say that raw data is late
SILENT_S: Final = 5.0  # a stream that sent and then stopped this long: restart it
RETRY_S: Final = 10.0  # a failed START is tried again after this long
RESPONSE_TIMEOUT_S: Final = 5.0  # real seconds to wait for a control point answer
WATCH_EVERY_S: Final = 0.5
_WANTED: Final[dict[RawStream, int]] = {"ecg": pmd.ECG, "acc": pmd.ACC}


def offers_raw_data(client: BleakClientWithServiceCache) -> bool:
    """Whether the connected strap has the PMD service (with both of its characteristics)."""
    services = client.services
    return (services.get_characteristic(pmd.PMD_CONTROL_POINT_UUID) is not None
            and services.get_characteristic(pmd.PMD_DATA_UUID) is not None)


@dataclass
class _Progress:
    """Where one stream stands."""

    rate_hz: float
    started_s: float | None = None  # session time of the START that succeeded
    last_frame_s: float | None = None  # session time the last frame arrived


@dataclass
class RawState:
    """What outlives a connection: the clock mapping and each stream's last sample."""

    clock: pmd.SensorClock = field(default_factory=pmd.SensorClock)
    last_ns: dict[RawStream, int] = field(default_factory=dict)  # sensor time of the last sample
    frames: dict[RawStream, int] = field(default_factory=dict)
    bad_frames: int = 0
    starts: int = 0  # successful STARTs (each stream, each connection)


class RawStreams:
    """The ECG and accelerometer streams of one connection (see the module note).

    `emit` receives RawChunks and RAW_DATA status events; `alive()` is called for every frame.
    `generation_ok()` says whether this connection's callbacks still count.
    """

    def __init__(self, client: BleakClientWithServiceCache, clock: Clock, state: RawState,
                 emit: Callable[[RawChunk | SourceStatus], None], *,
                 generation_ok: Callable[[], bool], alive: Callable[[], None] = lambda: None,
                 streams: tuple[RawStream, ...] = ("ecg", "acc")) -> None:
        self._client = client
        self._clock = clock
        self._state = state
        self._emit = emit
        self._generation_ok = generation_ok
        self._alive = alive
        self._wanted = streams
        self._responses: asyncio.Queue[pmd.ControlResponse] = asyncio.Queue()
        self._progress: dict[RawStream, _Progress] = {}
        self._said_late = False  # once per connection

    # ---- callbacks ---------------------------------------------------------------------------
    def _on_control_point(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        response = pmd.decode_response(data)
        if response is not None and self._generation_ok():
            self._responses.put_nowait(response)

    def _on_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        if not self._generation_ok():
            return
        now = self._clock.now()
        try:
            frame = pmd.decode_frame(data)
        except pmd.PmdFrameError as exc:
            self._state.bad_frames += 1
            log.info("raw data: skipped a frame: %s", exc)
            return
        progress = self._progress.get(frame.stream)
        if progress is None:  # a stream we did not start (or not yet: its answer is late)
            return
        self._alive()
        rate = progress.rate_hz
        offset_s, jumped = self._state.clock.offset_s(pmd.sensor_seconds(frame.timestamp_ns), now)
        step_ns = 1e9 / rate
        first_ns = frame.timestamp_ns - (frame.n_samples - 1) * step_ns
        last = self._state.last_ns.get(frame.stream)
        if last is not None and first_ns <= last:  # overlaps what we have: keep only the new
            keep = frame.n_samples - max(0, round((last - first_ns) / step_ns) + 1)
            if keep <= 0:
                return
            channels = 3 if frame.stream == "acc" else 1
            values = frame.values[-keep * channels:]
            first_ns = frame.timestamp_ns - (keep - 1) * step_ns
        else:
            values = frame.values
        gap = last is None or abs(first_ns - last - step_ns) > step_ns / 2 or jumped
        self._state.last_ns[frame.stream] = frame.timestamp_ns
        self._state.frames[frame.stream] = self._state.frames.get(frame.stream, 0) + 1
        first_late = progress.last_frame_s is None
        progress.last_frame_s = now
        self._emit(RawChunk(frame.stream, first_ns / 1e9 + offset_s, rate, values,
                            frame.timestamp_ns, gap))
        if first_late and all(p.last_frame_s is not None for p in self._progress.values()):
            self._say_running()

    def _status(self, message: str) -> None:
        self._emit(SourceStatus(StatusKind.RAW_DATA, self._clock.now(), message))

    def _say_running(self) -> None:
        parts = [f"{name.upper()} {p.rate_hz:g} Hz" for name, p in self._progress.items()]
        self._status("raw data: " + ", ".join(parts))

    # ---- the control point ---------------------------------------------------------------
    async def _request(self, request: bytes) -> pmd.ControlResponse:
        while not self._responses.empty():
            self._responses.get_nowait()
        await self._client.write_gatt_char(pmd.PMD_CONTROL_POINT_UUID, request, response=True)
        while True:
            response = await asyncio.wait_for(self._responses.get(), RESPONSE_TIMEOUT_S)
            if response.op == request[0] and response.measurement == request[1]:
                return response

    async def _start(self, stream: RawStream) -> str | None:
        """START one stream with our settings; None on success, else why not."""
        measurement = _WANTED[stream]
        answer = await self._request(pmd.get_settings_request(measurement))
        if not answer.ok:
            return f"{stream.upper()} settings: {answer.status_text}"
        offered = pmd.parse_settings(answer.parameters)
        rates = offered.get(pmd.SAMPLE_RATE, ())
        wanted_rate = ECG_RATE_HZ if stream == "ecg" else ACC_RATE_HZ
        rate = wanted_rate if wanted_rate in rates else min(
            (r for r in rates if r >= wanted_rate), default=max(rates, default=wanted_rate))
        settings = {pmd.SAMPLE_RATE: rate}
        for setting, values in offered.items():
            if setting == pmd.SAMPLE_RATE or not values:
                continue
            settings[setting] = (ACC_RANGE_G if setting == pmd.RANGE_G and ACC_RANGE_G in values
                                 else max(values))
        request = pmd.start_request(measurement, settings)
        answer = await self._request(request)
        if answer.status == pmd.ALREADY_IN_STATE:  # left running: stop it and start it afresh
            await self._request(pmd.stop_request(measurement))
            answer = await self._request(request)
        if not answer.ok:
            return f"{stream.upper()} start: {answer.status_text}"
        self._progress[stream] = _Progress(float(rate), started_s=self._clock.now())
        self._state.starts += 1
        return None

    # ---- the run -------------------------------------------------------------------------
    async def run(self) -> None:
        """Start the streams and watch them until cancelled (the connection ends)."""
        try:
            await self._client.start_notify(pmd.PMD_CONTROL_POINT_UUID, self._on_control_point)
            await self._client.start_notify(pmd.PMD_DATA_UUID, self._on_data)
            raw = await self._client.read_gatt_char(pmd.PMD_CONTROL_POINT_UUID)
            offered = pmd.features(raw)
            wanted = [s for s in self._wanted if _WANTED[s] in offered]
            if not wanted:
                log.info("the strap's PMD service offers neither ECG nor ACC (%s)", bytes(raw).hex())
                return
            pending = {stream: 0.0 for stream in wanted}
            while True:
                now = self._clock.now()
                for stream, when in list(pending.items()):
                    if now < when:
                        continue
                    why = await self._start(stream)
                    if why is None:
                        del pending[stream]
                    else:
                        pending[stream] = self._clock.now() + RETRY_S
                        self._status(f"raw data unavailable ({why}); trying again in "
                                     f"{RETRY_S:g} s")
                await self._watch(pending)
                await self._clock.sleep_until(self._clock.now() + WATCH_EVERY_S)
        except (TimeoutError, *LINK_ERRORS) as exc:  # the link is going: the next one restarts
            log.info("raw data: %s: %s", type(exc).__name__, exc)

    async def _watch(self, pending: dict[RawStream, float]) -> None:
        """Say when raw data is late; restart a stream that went silent."""
        now = self._clock.now()
        for stream, progress in list(self._progress.items()):
            if progress.last_frame_s is None:
                assert progress.started_s is not None
                if now - progress.started_s >= LATE_S and not self._said_late:
                    self._said_late = True
                    self._status("raw data late: waiting…")
            elif now - progress.last_frame_s >= SILENT_S:
                self._status(f"raw data: {stream.upper()} silent for {SILENT_S:g} s; restarting")
                del self._progress[stream]
                with contextlib.suppress(TimeoutError):
                    await self._request(pmd.stop_request(_WANTED[stream]))
                pending[stream] = now
