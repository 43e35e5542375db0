"""Sound pacing: soft cues that follow the pacer exactly, for practice with eyes closed or the
screen off.

The cues are rendered from the pacer's own schedule (`Pacer.changes_between`: the exact times at
which breath parts begin, ramps and live retuning included), for any stretch of session time:

- "glide" (default): a soft, warm tone that rises on the in-breath and falls on the out-breath,
  its pitch following the lung's shape (a fifth, G3 to D4) and its loudness swelling in the
  middle of the breath; silence in holds and unpaced phases.
- "bowl": a low singing-bowl strike at the start of each in-breath and (a tone lower) of each
  out-breath, ringing out; silence otherwise.
- a small bell chime when a protocol phase begins and when the session ends.

`CueRenderer.render(start_s, frames)` is the one piece of code for both outputs: `write_cues_wav`
renders a session into a WAV file (`--sound-file`; what the tests check against the pacer), and
`LiveSound` plays it in step with the session clock through PortAudio (sounddevice, which needs
the system's PortAudio library, e.g. Debian's libportaudio2). Levels stay far below full scale.
"""

from __future__ import annotations

import logging
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from hrvcoach.core.clock import Clock, PausableClock
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.protocols.pacer import Pacer

if TYPE_CHECKING:
    from hrvcoach.protocols.protocol import Protocol

__all__ = ["SOUND_STYLES", "CueRenderer", "LiveSound", "SessionSound", "SoundOptions",
           "SoundStyle", "SoundUnavailable", "write_cues_wav"]

log = logging.getLogger(__name__)

SoundStyle = Literal["glide", "bowl"]
SOUND_STYLES: Final[tuple[SoundStyle, ...]] = ("glide", "bowl")
FILE_SAMPLE_HZ: Final = 22_050  # --sound-file: ample for cues below 5 kHz
LIVE_SAMPLE_HZ: Final = 44_100  # what every sound card plays
LEVEL: Final = 0.28  # the loudest cue at volume 1, as a fraction of full scale
GLIDE_LOW_HZ: Final = 196.0  # G3 at full exhale ...
GLIDE_HIGH_HZ: Final = 293.66  # ... D4 at full inhale
GLIDE_HARMONICS: Final = ((1, 1.0), (2, 0.22), (3, 0.06))  # (multiple, amplitude): warm, not buzzy
GLIDE_EDGE_S: Final = 0.015  # fade at each end of a breath's tone: soft, yet the turn is exact
GLIDE_EDGE_LEVEL: Final = 0.45  # the tone's loudness at the turns (1 in the middle of a breath)
# (frequency Hz, amplitude, decay s): inharmonic partials of a small bell and of a singing bowl
CHIME_PARTIALS: Final = ((880.0, 0.5, 2.2), (1760.0, 0.2, 1.3), (2429.0, 0.14, 0.8),
                         (4752.0, 0.05, 0.35))
BOWL_PARTIALS: Final = ((1.0, 0.7, 3.2), (2.71, 0.25, 1.6), (5.1, 0.07, 0.6))
BOWL_IN_HZ: Final = 220.0
BOWL_OUT_HZ: Final = 196.0
ATTACK_S: Final = 0.004
RING_S: Final = 5.0  # a chime or strike is cut (with a fade) after this long
LOOK_S: Final = 61.0  # a paced part lasts at most a breath of 60 s (1/min): how far to look
RESYNC_S: Final = 0.05  # live: follow the clock again when the sound drifts this far from it


class SoundUnavailable(HrvcoachError):
    """No sound can be played here (no PortAudio library, no output device)."""


@dataclass(frozen=True, slots=True)
class _Tone:
    """One breath's tone: from start_s to end_s, rising or falling."""

    start_s: float
    end_s: float
    rising: bool


class CueRenderer:
    """Renders the cues of a session, block after block or all at once.

    `chimes_s`: session times of the chimes (phase starts, the end); `end_s`: the session's end
    (silence after it). `volume` (0..1) and `muted` may change while it plays.
    """

    def __init__(self, pacer: Pacer, chimes_s: Sequence[float], end_s: float, *,
                 sample_hz: int = FILE_SAMPLE_HZ, style: SoundStyle = "glide",
                 volume: float = 0.7) -> None:
        if style not in SOUND_STYLES:
            raise ValueError(f"style must be one of {SOUND_STYLES}, got {style!r}")
        self.pacer = pacer
        self.chimes_s = tuple(sorted(chimes_s))
        self.end_s = end_s
        self.sample_hz = sample_hz
        self.style: SoundStyle = style
        self.volume = volume
        self.muted = False
        self._phase = 0.0  # the glide oscillator's phase (radians), continuous across blocks

    @classmethod
    def for_protocol(cls, pacer: Pacer, protocol: Protocol, end_s: float | None = None, *,
                     sample_hz: int = FILE_SAMPLE_HZ, style: SoundStyle = "glide",
                     volume: float = 0.7) -> CueRenderer:
        """Chimes at each phase start and at the end (`end_s`: the session's; default the
        protocol's)."""
        end = protocol.duration_s if end_s is None else end_s
        chimes = [t for t in protocol.phase_starts_s() if t < end] + [end]
        return cls(pacer, chimes, end, sample_hz=sample_hz, style=style, volume=volume)

    def render(self, start_s: float, frames: int) -> NDArray[np.float32]:
        """`frames` samples of sound from session time start_s (mono, -1..1)."""
        times = start_s + np.arange(frames) / self.sample_hz
        out = np.zeros(frames)
        end_s = start_s + frames / self.sample_hz
        if self.style == "glide":
            out += self._glide(times, start_s, end_s)
        else:
            strikes = [(c.time_s, BOWL_IN_HZ if c.part == "in" else BOWL_OUT_HZ)
                       for c in self.pacer.changes_between(start_s - RING_S, min(end_s, self.end_s))
                       if c.part in ("in", "out")]
            for at_s, base_hz in strikes:
                out += _ring(times, at_s, [(base_hz * ratio, amp, decay)
                                          for ratio, amp, decay in BOWL_PARTIALS])
        for at_s in self.chimes_s:
            if at_s - 1e-9 <= end_s and at_s + RING_S >= start_s:
                out += _ring(times, at_s, CHIME_PARTIALS)
        gain = 0.0 if self.muted else LEVEL * min(max(self.volume, 0.0), 1.0)
        return np.clip(out * gain, -1.0, 1.0).astype(np.float32)

    def _tones(self, start_s: float, end_s: float) -> list[_Tone]:
        """The in- and out-breaths overlapping [start_s, end_s), with their whole extent."""
        changes = self.pacer.changes_between(start_s - LOOK_S, min(end_s + LOOK_S, self.end_s))
        tones = []
        for i, change in enumerate(changes):
            if change.part not in ("in", "out"):
                continue
            stop_s = changes[i + 1].time_s if i + 1 < len(changes) else self.end_s
            stop_s = min(stop_s, self.end_s)
            if stop_s > start_s and change.time_s < end_s:
                tones.append(_Tone(change.time_s, stop_s, change.part == "in"))
        return tones

    def _glide(self, times: NDArray[np.float64], start_s: float,
               end_s: float) -> NDArray[np.float64]:
        """The breath tone: pitch and loudness from each breath's progress; the oscillator's
        phase runs on through the whole block so the pitch never clicks."""
        shape = np.full(times.size, np.nan)  # 0 = low .. 1 = high pitch; NaN: silent
        loud = np.zeros(times.size)
        for tone in self._tones(start_s, end_s):
            inside = (times >= tone.start_s) & (times < tone.end_s)
            if not inside.any():
                continue
            length_s = tone.end_s - tone.start_s
            x = (times[inside] - tone.start_s) / length_s
            rise = 0.5 - 0.5 * np.cos(np.pi * x)
            shape[inside] = rise if tone.rising else 1.0 - rise
            edge_s = min(GLIDE_EDGE_S, length_s / 4)
            since, until = times[inside] - tone.start_s, tone.end_s - times[inside]
            fade = _raised(since / edge_s) * _raised(until / edge_s)
            loud[inside] = fade * (GLIDE_EDGE_LEVEL + (1 - GLIDE_EDGE_LEVEL) * np.sin(np.pi * x))
        freq = GLIDE_LOW_HZ * (GLIDE_HIGH_HZ / GLIDE_LOW_HZ) ** np.nan_to_num(shape, nan=0.0)
        phase = self._phase + 2.0 * np.pi * np.cumsum(freq) / self.sample_hz
        self._phase = float(phase[-1] % (2.0 * np.pi)) if phase.size else self._phase
        wave_ = sum(amp * np.sin(multiple * phase) for multiple, amp in GLIDE_HARMONICS)
        return np.asarray(wave_ * loud, dtype=np.float64)


def _raised(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """A raised-cosine ramp: 0 at x <= 0, 1 at x >= 1."""
    return np.asarray(0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0)), dtype=np.float64)


def _ring(times: NDArray[np.float64], at_s: float,
          partials: Sequence[tuple[float, float, float]]) -> NDArray[np.float64]:
    """A struck sound from `at_s`: decaying partials after a short attack, faded out by RING_S."""
    since = times - at_s
    on = (since >= 0) & (since < RING_S)
    out = np.zeros(times.size)
    if not on.any():
        return out
    t = since[on]
    envelope = (1.0 - np.exp(-t / ATTACK_S)) * _raised((RING_S - t) / 0.5)
    out[on] = envelope * sum(amp * np.exp(-t / decay) * np.sin(2 * np.pi * hz * t)
                             for hz, amp, decay in partials)
    return out


def write_cues_wav(renderer: CueRenderer, path: Path, *, start_s: float = 0.0,
                   end_s: float | None = None, block_s: float = 10.0) -> Path:
    """Render the session's cues from start_s to end_s (default: the renderer's end plus the
    last chime's ring) into a 16-bit mono WAV file."""
    stop_s = renderer.end_s + RING_S if end_s is None else end_s
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(renderer.sample_hz)
            first = round(start_s * renderer.sample_hz)
            last = round(stop_s * renderer.sample_hz)
            block = max(round(block_s * renderer.sample_hz), 1)
            for frame in range(first, last, block):
                frames = min(block, last - frame)
                samples = renderer.render(frame / renderer.sample_hz, frames)
                out.writeframes((np.round(samples * 32767.0)).astype("<i2").tobytes())
    except OSError as exc:
        raise InputError(str(path), f"cannot write the sound file ({exc.strerror or exc})") from None
    return path


class LiveSound:
    """Plays a CueRenderer in step with the session clock through sounddevice (PortAudio).

    The audio thread asks for blocks; each is rendered at the session time at which it will be
    heard (the clock's time plus the output latency), and silence while the clock is paused.
    The session clock must run in real time (speed 1).
    """

    def __init__(self, renderer: CueRenderer, clock: Clock) -> None:
        self.renderer = renderer
        self.clock = clock
        self._cursor_s: float | None = None
        self._stream: Any = None

    def start(self) -> None:
        """Open the default output and start playing (SoundUnavailable when it cannot)."""
        try:
            import sounddevice
        except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
            raise SoundUnavailable(f"no sound: {exc} (Debian/Ubuntu: apt-get install "
                                   "libportaudio2)") from None
        try:
            stream = sounddevice.OutputStream(samplerate=self.renderer.sample_hz, channels=1,
                                              dtype="float32", callback=self._fill,
                                              latency="high")
            stream.start()
        except sounddevice.PortAudioError as exc:
            raise SoundUnavailable(f"no sound output ({exc})") from None
        self._stream = stream
        log.info("sound: playing through %s", stream.device)

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()

    def _fill(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        """The audio thread's callback: the next block of cues, or silence while paused."""
        clock = self.clock
        if isinstance(clock, PausableClock) and clock.paused:
            outdata.fill(0)
            self._cursor_s = None
            return
        latency_s = max(float(time_info.outputBufferDacTime - time_info.currentTime), 0.0)
        wanted_s = clock.now() + latency_s
        if self._cursor_s is None or abs(self._cursor_s - wanted_s) > RESYNC_S:
            self._cursor_s = wanted_s
        outdata[:, 0] = self.renderer.render(self._cursor_s, frames)
        self._cursor_s += frames / self.renderer.sample_hz



@dataclass(frozen=True, slots=True)
class SoundOptions:
    """How a session sounds: played live from the start or not, the cues' style and volume."""

    live: bool = False  # play through the speakers from the start (the window can switch it)
    style: SoundStyle = "glide"
    volume: float = 0.7  # 0..1


class SessionSound:
    """A session's sound: its cue renderer, and live playback once switched on.

    Live playback needs a real-time clock (speed 1) and an audio output; when it cannot start,
    `problem` says why and the session goes on silently.
    """

    def __init__(self, renderer: CueRenderer, clock: Clock, *, real_time: bool) -> None:
        self.renderer = renderer
        self.clock = clock
        self.real_time = real_time
        self.problem = "" if real_time else "sound plays in real time only (--speed 1)"
        self._live: LiveSound | None = None

    @classmethod
    def for_session(cls, pacer: Pacer, protocol: Protocol, end_s: float, clock: Clock,
                    options: SoundOptions, *, real_time: bool) -> SessionSound:
        renderer = CueRenderer.for_protocol(pacer, protocol, end_s, sample_hz=LIVE_SAMPLE_HZ,
                                            style=options.style, volume=options.volume)
        return cls(renderer, clock, real_time=real_time)

    @property
    def on(self) -> bool:
        """Playing now (switched on, and not muted)."""
        return self._live is not None and not self.renderer.muted

    def set_on(self, on: bool) -> bool:
        """Switch the sound on or off; False when it cannot play (see `problem`)."""
        if not on:
            self.renderer.muted = True
            return True
        if self._live is None:
            if not self.real_time:
                return False
            live = LiveSound(self.renderer, self.clock)
            try:
                live.start()
            except SoundUnavailable as exc:
                self.problem = str(exc)
                log.info("%s", exc)
                return False
            self._live = live
        self.renderer.muted = False
        return True

    def set_volume(self, volume: float) -> None:
        self.renderer.volume = min(max(volume, 0.0), 1.0)

    def close(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()
