"""`hrvcoach demo | replay | window`, and the coach run every coaching command shares (`coach` on a
strap adds its device choice in cli/ble.py). The wiring itself is app.coach_run.CoachRun; this
module parses options, picks window or headless, and prints what the run saved."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrvcoach.core.constants import SIM_MAX_ARTIFACTS_PER_MIN
from hrvcoach.core.errors import InputError
from hrvcoach.core.markers import format_marker
from hrvcoach.views.cli.arg_types import (
    non_negative_float,
    positive_float,
    positive_seconds,
    seed,
    speed,
    within,
)
from hrvcoach.views.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK

if TYPE_CHECKING:
    from hrvcoach.app.coach_run import CoachRun, CoachSettings, SessionSaved
    from hrvcoach.app.lsl_outlets import LslOutlets
    from hrvcoach.protocols.protocol import Protocol
    from hrvcoach.session import Session, SessionEnded
    from hrvcoach.sources.factory import SourceSpec
    from hrvcoach.views.qt.loop import WindowOptions
    from hrvcoach.views.sound import SoundOptions

__all__ = ["add_coach_options", "add_commands", "add_lsl_options", "print_saved", "run_coach",
           "wait_for_lsl_receivers", "wants_lsl"]


def _breaths_per_min(text: str) -> float:
    value = positive_float(text)
    if not 3.0 <= value <= 10.0:
        raise argparse.ArgumentTypeError(f"resonance rates lie within 3–10 breaths/min, got {text}")
    return value


def _artifacts_per_min(text: str) -> float:
    return within(text, 0.0, SIM_MAX_ARTIFACTS_PER_MIN, low_open=False,
                  what=f"a number from 0 to {SIM_MAX_ARTIFACTS_PER_MIN:g} (artifacts per minute)")


def _png_path(text: str) -> Path:
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(f"the screenshot is a PNG file: name it *.png, got {text!r}")
    return Path(text)


def _wav_path(text: str) -> Path:
    if not text.lower().endswith(".wav"):
        raise argparse.ArgumentTypeError(f"the sound file is a WAV file: name it *.wav, got {text!r}")
    return Path(text)


def _window_size(text: str) -> tuple[int, int]:
    from hrvcoach.views.qt.theme import MINIMUM_SIZE

    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(f"a window size is WIDTHxHEIGHT in pixels, e.g. 1280x800, "
                                         f"got {text!r}")
    size = int(width), int(height)
    if size[0] < MINIMUM_SIZE[0] or size[1] < MINIMUM_SIZE[1]:
        raise argparse.ArgumentTypeError(f"the window is at least {MINIMUM_SIZE[0]}x"
                                         f"{MINIMUM_SIZE[1]}, got {text!r}")
    return size


def _volume(text: str) -> float:
    value = non_negative_float(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"the volume is 0-100 (%), got {text!r}")
    return value / 100.0


def add_window_options(parser: argparse.ArgumentParser) -> None:
    """The window's look and sound (every command that opens it)."""
    parser.add_argument("--theme", choices=("dark", "light"), default="dark",
                        help="the window's colours (default dark; the t key switches)")
    parser.add_argument("--size", type=_window_size, metavar="WxH",
                        help="the window's size in pixels (default 1280x800; at least 960x600)")
    parser.add_argument("--focus", action="store_true",
                        help="open on the focus view: only the pacer, large (the v key switches)")
    parser.add_argument("--sound", choices=("on", "off"),
                        help="sound pacing through the speakers (default: on with a window on "
                        "screen at --speed 1, off headless and for screenshots; the s key "
                        "switches)")
    parser.add_argument("--sound-style", choices=("glide", "bowl"), default="glide",
                        help="glide: a soft tone rising as you breathe in and falling as you "
                        "breathe out (default); bowl: a singing bowl at each turn")
    parser.add_argument("--volume", type=_volume, default=0.7, metavar="PERCENT",
                        help="the sound's volume, 0-100 (default 70)")


def add_coach_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", default="demo", metavar="NAME_OR_FILE",
                        help="built-in protocol name or a .toml file (default: demo)")
    parser.add_argument("--speed", type=speed, default=1.0, metavar="X",
                        help="session seconds per real second (default 1: real time)")
    parser.add_argument("--duration", type=positive_seconds, metavar="SECONDS",
                        help="stop after this much session time (default: the protocol's length)")
    parser.add_argument("--headless", action="store_true",
                        help="no window: print progress lines (automatic when there is no display)")
    parser.add_argument("--screenshot", type=_png_path, metavar="FILE.png",
                        help="run the window offscreen and save a PNG of it at the end")
    parser.add_argument("--screenshot-summary", action="store_true",
                        help="with --screenshot: the end page (before and after), not the last "
                        "moment of coaching")
    parser.add_argument("--sound-file", type=_wav_path, metavar="FILE.wav",
                        help="also write the session's sound cues to a WAV file (any --sound)")
    parser.add_argument("--engine", choices=("hrvcoach", "neurokit2"), default="hrvcoach",
                        help="compute the live markers with hrvcoach (default) or with neurokit2 "
                        "itself (its exact numbers; slower, loads neurokit2)")
    add_window_options(parser)
    add_lsl_options(parser)


def add_lsl_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lsl", action="store_true",
                        help="stream RR, HR with the live markers, and events to Lab Streaming "
                        "Layer (e.g. for LabRecorder)")
    parser.add_argument("--lsl-wait", type=positive_seconds, metavar="SECONDS",
                        help="with --lsl: start the session once every stream has a receiver "
                        "(e.g. LabRecorder recording), or after SECONDS")


def wait_for_lsl_receivers(outlets: list[LslOutlets], wait_s: float | None) -> None:
    """Name the streams; with --lsl-wait, wait (blocking) for their receivers first."""
    for each in outlets:
        print(f"LSL streams: {', '.join(each.stream_names)} (source_id "
              f"{each.identity.source_id})", file=sys.stderr)
    if wait_s is None:
        return
    import time

    print(f"waiting up to {wait_s:g} s for LSL receivers (e.g. LabRecorder recording)",
          file=sys.stderr)
    deadline = time.monotonic() + wait_s  # one wait for all (a class has streams per participant)
    if not all(each.wait_for_receivers(max(deadline - time.monotonic(), 0.0)) for each in outlets):
        print("hrvcoach: not every LSL stream has a receiver; starting anyway", file=sys.stderr)


def add_commands(commands: Any) -> None:
    """Add `demo`, `replay` and `window` to the `hrvcoach` subcommands."""
    demo = commands.add_parser("demo", help="coach session on a simulated chest strap",
                               description="Run a coach session on a simulated strap whose "
                               "simulated person breathes along with the pacer.")
    add_coach_options(demo)
    demo.add_argument("--seed", type=seed, default=1, help="random seed of the simulation (default 1)")
    demo.add_argument("--sim-resonance", type=_breaths_per_min, default=5.5,
                      metavar="BREATHS_PER_MIN",
                      help="the simulated person's resonance breathing rate (default 5.5)")
    demo.add_argument("--sim-artifacts", type=_artifacts_per_min, default=0.0, metavar="PER_MIN",
                      help=f"ectopic, missed and extra beats per minute, 0–{SIM_MAX_ARTIFACTS_PER_MIN:g} "
                      "(default 0)")
    demo.set_defaults(run=_run_demo)

    replay = commands.add_parser("replay", help="coach session replaying a recorded RR file",
                                 description="Replay an RR recording (one RR per line in ms or s, "
                                 "or a CSV with an rr_ms/rr/ibi column) through the coach.")
    replay.add_argument("file", type=Path, help="the RR recording")
    add_coach_options(replay)
    replay.add_argument("--units", choices=("ms", "s"), help="RR units (default: detected)")
    replay.add_argument("--column", metavar="NAME", help="the RR column of a CSV with a header")
    replay.set_defaults(run=_run_replay)

    window = commands.add_parser(
        "window", help="open the coach window and choose the source and protocol in it",
        description="Open the coach window on its setup page: choose a Bluetooth strap (from the "
        "straps in range), the simulated strap or a recorded RR file, and a protocol; then Start. "
        "Keys during the session: space pause, m mark, f full screen, t theme.")
    window.add_argument("--protocol", default="demo", metavar="NAME_OR_FILE",
                        help="the protocol chosen at first (default: demo)")
    window.add_argument("--replay", type=Path, metavar="FILE",
                        help="a recording to offer for replay (the window can choose one too)")
    window.add_argument("--speed", type=speed, default=1.0, metavar="X",
                        help="session seconds per real second, for the simulator or a replay")
    window.add_argument("--duration", type=positive_seconds, metavar="SECONDS",
                        help="stop after this much session time (default: the protocol's length)")
    window.add_argument("--screenshot", type=_png_path, metavar="FILE.png",
                        help="save a PNG of the setup page (offscreen) and exit")
    add_window_options(window)
    window.set_defaults(run=_run_window)


def _run_demo(args: argparse.Namespace) -> int:
    from hrvcoach.sources.factory import SimulatorSpec

    return run_coach(args, SimulatorSpec(seed=args.seed,
                                         resonance_breaths_per_min=args.sim_resonance,
                                         artifacts_per_min=args.sim_artifacts))


def _run_replay(args: argparse.Namespace) -> int:
    from hrvcoach.files.rr_files import read_rr_file
    from hrvcoach.sources.factory import ReplaySpec

    recording = read_rr_file(args.file, units=args.units, column=args.column)
    return run_coach(args, ReplaySpec(tuple(recording.rr_ms.tolist()), args.file.name))


def _protocol(args: argparse.Namespace, home: Path) -> Protocol:
    from hrvcoach.history.profile import load_profile
    from hrvcoach.protocols.custom import USER_PROTOCOL_FOLDER
    from hrvcoach.protocols.protocol import load_protocol

    resonance = load_profile(home).resonance_breaths_per_min
    return load_protocol(args.protocol, resonance_per_min=resonance,
                         user_dir=home / USER_PROTOCOL_FOLDER)


def _sound_options(args: argparse.Namespace, *, window: bool) -> SoundOptions:
    """--sound, --sound-style and --volume; by default live only in a window on screen in real
    time."""
    from hrvcoach.views.sound import SoundOptions

    live = args.sound == "on" if args.sound is not None else (
        window and getattr(args, "screenshot", None) is None and args.speed == 1.0)
    return SoundOptions(live, args.sound_style, args.volume)


def _window_options(args: argparse.Namespace, home: Path) -> WindowOptions:
    from hrvcoach.protocols.custom import USER_PROTOCOL_FOLDER
    from hrvcoach.views.qt.loop import WindowOptions

    return WindowOptions(size=args.size, focus=args.focus,
                         sound=_sound_options(args, window=True),
                         screenshot_summary=getattr(args, "screenshot_summary", False),
                         protocol_dir=home / USER_PROTOCOL_FOLDER)


def run_coach(args: argparse.Namespace, spec: SourceSpec) -> int:
    """Run a session on `spec`'s source with the window, offscreen for a screenshot, or headless."""
    from hrvcoach.app.coach_run import CoachRun, CoachSettings
    from hrvcoach.app.paths import data_dir, has_display

    home = data_dir(args.data_dir)
    protocol = _protocol(args, home)
    if args.headless and args.screenshot:
        raise InputError("--screenshot", "cannot be combined with --headless")
    if args.screenshot_summary and args.screenshot is None:
        raise InputError("--screenshot-summary", "goes with --screenshot FILE.png")
    window = args.screenshot is not None or not args.headless
    if window and args.screenshot is None and not has_display():
        print("hrvcoach: no display found, running headless (use --screenshot FILE.png to "
              "render the window offscreen)", file=sys.stderr)
        window = False
    if args.screenshot is not None and not has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported

    settings = CoachSettings(args.speed, args.duration, args.engine, lsl=wants_lsl(args))
    more: list[SessionSaved] = []
    with CoachRun(home, protocol, spec, settings) as run:
        print_notices(run.notices)
        try:
            if settings.lsl:
                wait_for_lsl_receivers([run.lsl], args.lsl_wait)
            if window:
                ended = _coach_in_window(args, run, home, settings, more)
                if args.screenshot is not None:
                    print(f"screenshot saved: {args.screenshot}")
            else:
                ended = _coach_headless(args, run)
            saved = run.finish(ended)  # the window's end page may have finished it already
        except KeyboardInterrupt:
            print_saved(run.finish(None, stopped=True))
            print(f"stopped; recording saved: {run.journal.path}")
            return EXIT_INTERRUPTED
        print_saved(saved)
        print(f"recording saved: {saved.journal}")
        if args.sound_file is not None:
            _write_sound_file(args, run.session(_ignore), ended)
    for each in more:  # sessions started with New session in the window
        print_saved(each)
        print(f"recording saved: {each.journal}")
    return EXIT_OK


def _ignore(_event: object) -> None:
    return None


def _coach_headless(args: argparse.Namespace, run: CoachRun) -> SessionEnded:
    """The session with progress lines (and the sound when asked for: practice with the screen
    off)."""
    import asyncio

    from hrvcoach.core.clock import ScaledClock
    from hrvcoach.views.headless import HeadlessPrinter
    from hrvcoach.views.sound import SessionSound

    session = run.session(HeadlessPrinter(sys.stdout).handle)
    options = _sound_options(args, window=False)
    sound = None
    if options.live:
        real_time = isinstance(run.clock, ScaledClock) and run.clock.speed == 1.0
        sound = SessionSound.for_session(session.pacer, run.protocol, session.end_s, run.clock,
                                         options, real_time=real_time)
        if not sound.set_on(True):
            print(f"hrvcoach: no sound: {sound.problem}", file=sys.stderr)
    try:
        return asyncio.run(session.run())
    finally:
        if sound is not None:
            sound.close()


def _coach_in_window(args: argparse.Namespace, run: CoachRun, home: Path, settings: CoachSettings,
                     more: list[SessionSaved]) -> SessionEnded | None:
    """The session in the window; New session at its end opens the setup page (each further
    session saved into `more`)."""
    import contextlib

    from hrvcoach.views.qt.loop import coach_run_starter, run_coach_window, setup_offer

    runs: list[CoachRun] = []
    with contextlib.ExitStack() as stack:
        offer = setup_offer(home, _setup_protocols(home), coach_run_starter(
            home, settings, stack, runs), default_protocol=run.protocol.name)
        ended = run_coach_window(run, screenshot=args.screenshot, theme=args.theme,
                                 options=_window_options(args, home), offer=offer)
        more.extend(each.finish(None, stopped=True) if each.saved is None else each.saved
                    for each in runs)
    return ended


def _write_sound_file(args: argparse.Namespace, session: Session, ended: SessionEnded | None) -> None:
    """The session's cues (as the pacer paced it, live changes included) as a WAV file."""
    from hrvcoach.views.sound import CueRenderer, write_cues_wav

    end_s = session.end_s if ended is None or ended.reason == "duration reached" else ended.time_s
    renderer = CueRenderer.for_protocol(session.pacer, session.protocol, end_s,
                                        style=args.sound_style, volume=args.volume)
    write_cues_wav(renderer, args.sound_file)
    print(f"sound saved: {args.sound_file}")


def _setup_protocols(home: Path) -> list[Protocol]:
    """The built-in protocols, "resonance" phases at the user's assessed rate."""
    from hrvcoach.history.profile import load_profile
    from hrvcoach.protocols.protocol import list_protocols

    resonance = load_profile(home).resonance_breaths_per_min
    return [p.at_resonance_rate(resonance) if resonance is not None and p.uses_resonance
            else p for p in list_protocols()]


def wants_lsl(args: argparse.Namespace) -> bool:
    """--lsl, or --lsl-wait (which implies it)."""
    return bool(args.lsl or args.lsl_wait is not None)


def print_notices(notices: list[str]) -> None:
    for notice in notices:
        print(f"hrvcoach: {notice}", file=sys.stderr)


def print_saved(saved: SessionSaved) -> None:
    """What the end of a session left: the stored session, and a resonance assessment's result."""
    from hrvcoach.views.cli.protocols import print_scores
    from hrvcoach.views.text import resonance_words

    print(f"session {saved.session_id} saved ({saved.status}, {saved.n_beats} beats): "
          f"`hrvcoach compare {saved.session_id}`, `hrvcoach report {saved.session_id} -o "
          f"report.pdf`")
    if saved.comparison is not None:
        result = saved.comparison
        values = [f"{change.spec.label} {format_marker(change.spec.name, change.before)} → "
                  f"{format_marker(change.spec.name, change.after, unit=True)}"
                  for change in map(result.change, ("rmssd_ms", "mean_hr_bpm"))]
        print(f"{result.before.phase_name} → {result.after.phase_name} (all beats of each phase, "
              f"corrected): {'; '.join(values)}")
        print(f"verdict: {result.verdict()}")
    if saved.resonance is None:
        return
    resonance = saved.resonance
    print("resonance assessment (heart-rate oscillation at each breathing rate):")
    print_scores(resonance.assessment.scores, sys.stdout)
    print(resonance_words(resonance.assessment.resonance_breaths_per_min,
                          saved=resonance.saved_to is not None, not_saved=resonance.not_saved))


def _run_window(args: argparse.Namespace) -> int:
    """`hrvcoach window`: the setup page chooses the source and protocol; then a session."""
    from hrvcoach.app.coach_run import CoachSettings
    from hrvcoach.app.paths import data_dir, has_display

    if args.screenshot is not None and not has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported
    elif not has_display():
        raise InputError("window", "needs a display (X11 or Wayland); use `demo --screenshot` or "
                         "`--headless` commands without one")
    home = data_dir(args.data_dir)
    protocols = _setup_protocols(home)
    chosen = _protocol(args, home)
    if chosen.name not in [p.name for p in protocols]:
        protocols.append(chosen)
    from hrvcoach.views.qt.loop import run_setup_window_with_store

    saved = run_setup_window_with_store(
        protocols, home, CoachSettings(args.speed, args.duration), default_protocol=chosen.name,
        replay_file=args.replay, theme=args.theme, options=_window_options(args, home),
        screenshot=args.screenshot)
    if args.screenshot is not None:
        print(f"screenshot saved: {args.screenshot}")
    for each in saved:
        print_saved(each)
        print(f"recording saved: {each.journal}")
    return EXIT_OK
