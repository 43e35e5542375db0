"""The `hrvcoach` command line. Heavy modules (numpy, Qt, neurokit2) load only inside commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hrvcoach import __version__
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.views.cli import analyze as cli_analyze
from hrvcoach.views.cli import ble as cli_ble
from hrvcoach.views.cli import history as cli_store
from hrvcoach.views.cli import protocols as cli_protocols
from hrvcoach.views.cli.arg_types import non_negative_float, positive_float

if TYPE_CHECKING:
    from hrvcoach.core.clock import Clock
    from hrvcoach.protocols.protocol import Protocol
    from hrvcoach.session import SessionEnded, SessionEvent
    from hrvcoach.sources.base import Source
    from hrvcoach.sources.ble.source import FoundStrap
    from hrvcoach.views.cli.history import SessionLog
    from hrvcoach.views.qt.setup import SetupChoice
    from hrvcoach.views.qt.window import EndOfSession, StartedSession

    SourceFactory = Callable[[Protocol, Clock], Source]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _breaths_per_min(text: str) -> float:
    value = positive_float(text)
    if not 3.0 <= value <= 10.0:
        raise argparse.ArgumentTypeError(f"resonance rates lie within 3–10 breaths/min, got {text}")
    return value


def _png_path(text: str) -> Path:
    if not text.lower().endswith(".png"):
        raise argparse.ArgumentTypeError(f"the screenshot is a PNG file: name it *.png, got {text!r}")
    return Path(text)


def add_coach_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", default="demo", metavar="NAME_OR_FILE",
                        help="built-in protocol name or a .toml file (default: demo)")
    parser.add_argument("--speed", type=positive_float, default=1.0, metavar="X",
                        help="session seconds per real second (default 1: real time)")
    parser.add_argument("--duration", type=positive_float, metavar="SECONDS",
                        help="stop after this much session time (default: the protocol's length)")
    parser.add_argument("--headless", action="store_true",
                        help="no window: print progress lines (automatic when there is no display)")
    parser.add_argument("--screenshot", type=_png_path, metavar="FILE.png",
                        help="run the window offscreen and save a PNG of it at the end")
    parser.add_argument("--engine", choices=("hrvcoach", "neurokit2"), default="hrvcoach",
                        help="compute the live markers with hrvcoach (default) or with neurokit2 "
                        "itself (its exact numbers; slower, loads neurokit2)")
    parser.add_argument("--theme", choices=("dark", "light"), default="dark",
                        help="the window's colours (default dark; the t key switches)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hrvcoach",
        description="Heart-rate-variability biofeedback: breathe with the pacer, watch your heart "
        "rate swing with the breath and the calming (vagal) markers rise.",
    )
    parser.add_argument("--version", action="version", version=f"hrvcoach {__version__}")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="where recordings are written (default: $HRVCOACH_HOME, "
                        "else the platform's user data folder)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo", help="coach session on a simulated chest strap",
                               description="Run a coach session on a simulated strap whose "
                               "simulated person breathes along with the pacer.")
    add_coach_options(demo)
    demo.add_argument("--seed", type=int, default=1, help="random seed of the simulation (default 1)")
    demo.add_argument("--sim-resonance", type=_breaths_per_min, default=5.5,
                      metavar="BREATHS_PER_MIN",
                      help="the simulated person's resonance breathing rate (default 5.5)")
    demo.add_argument("--sim-artifacts", type=non_negative_float, default=0.0, metavar="PER_MIN",
                      help="ectopic, missed and extra beats per minute (default 0)")
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
    window.add_argument("--speed", type=positive_float, default=1.0, metavar="X",
                        help="session seconds per real second, for the simulator or a replay")
    window.add_argument("--duration", type=positive_float, metavar="SECONDS",
                        help="stop after this much session time (default: the protocol's length)")
    window.add_argument("--theme", choices=("dark", "light"), default="dark",
                        help="the window's colours (default dark; the t key switches)")
    window.set_defaults(run=_run_window)

    # Command modules add their own subcommands here, one line each (keep their imports light).
    cli_analyze.add_commands(commands)
    cli_ble.add_commands(commands, parser)
    cli_protocols.add_commands(commands)
    cli_store.add_commands(commands)
    return parser


def data_dir(args: argparse.Namespace) -> Path:
    """--data-dir, else $HRVCOACH_HOME, else the platform's user data folder."""
    if args.data_dir is not None:
        return Path(args.data_dir)
    if os.environ.get("HRVCOACH_HOME"):
        return Path(os.environ["HRVCOACH_HOME"])
    import platformdirs

    return Path(platformdirs.user_data_dir("hrvcoach", appauthor=False))


def has_display() -> bool:
    """True where a window can be shown (always off Linux; on Linux, X11 or Wayland is set)."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _run_demo(args: argparse.Namespace) -> int:
    from hrvcoach.protocols.pacer import Pacer
    from hrvcoach.sources.simulator import SimulatedPerson, SimulatedStrap

    def make_source(protocol: Protocol, clock: Clock) -> Source:
        person = SimulatedPerson(resonance_breaths_per_min=args.sim_resonance)
        return SimulatedStrap(Pacer.for_protocol(protocol), clock, person, seed=args.seed,
                              artifacts_per_min=args.sim_artifacts)

    return run_coach(args, make_source)


def _run_replay(args: argparse.Namespace) -> int:
    from hrvcoach.files.rr_files import read_rr_file
    from hrvcoach.sources.replay import ReplaySource

    recording = read_rr_file(args.file, units=args.units, column=args.column)

    def make_source(protocol: Protocol, clock: Clock) -> Source:
        return ReplaySource(recording.rr_ms, clock, name=args.file.name)

    return run_coach(args, make_source)


def run_coach(args: argparse.Namespace, make_source: SourceFactory) -> int:
    """Run a session with the window, offscreen for a screenshot, or headless."""
    import asyncio

    from hrvcoach.core.clock import ScaledClock
    from hrvcoach.history.profile import load_profile
    from hrvcoach.protocols.protocol import load_protocol
    from hrvcoach.session import Session
    from hrvcoach.views.cli.history import SessionLog, source_name
    from hrvcoach.views.headless import HeadlessPrinter

    home = data_dir(args)
    protocol = load_protocol(args.protocol, resonance_per_min=load_profile(home).resonance_breaths_per_min)
    if args.headless and args.screenshot:
        raise InputError("--screenshot", "cannot be combined with --headless")
    window = args.screenshot is not None or not args.headless
    if window and args.screenshot is None and not has_display():
        print("hrvcoach: no display found, running headless (use --screenshot FILE.png to "
              "render the window offscreen)", file=sys.stderr)
        window = False
    if args.screenshot is not None and not has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported

    with SessionLog(home, protocol.name, source_name(args.command)) as log:
        recorder = log.journal  # the CSV journal; the store is written beside it
        clock = ScaledClock(args.speed)

        def make_session(on_event: Callable[[SessionEvent], None]) -> Session:
            # each beat goes to the CSV journal and the store first; events to the store too
            return Session(protocol, make_source(protocol, clock), log.tee(on_event), log,
                           args.duration, markers_engine=args.engine, clock=clock)

        try:
            if window:
                from hrvcoach.views.qt.window import run_window

                on_end = None if args.screenshot is not None else window_end_hook(log, home)
                ended = run_window(make_session, protocol, clock, screenshot=args.screenshot,
                                   theme=args.theme, on_end=on_end)
                if args.screenshot is not None:
                    print(f"screenshot saved: {args.screenshot}")
            else:
                printer = HeadlessPrinter(sys.stdout)
                ended = asyncio.run(make_session(printer.handle).run())
        except KeyboardInterrupt:
            log.finish(None, stopped=True)
            print(f"stopped; recording saved: {recorder.path}")
            return EXIT_INTERRUPTED
        log.finish(ended)
        print(f"recording saved: {recorder.path}")
    if protocol.assess_resonance and ended is not None and ended.reason != "stopped":
        _assess_resonance(home, recorder.path, protocol)
    return EXIT_OK


def window_end_hook(log: SessionLog, home: Path) -> Callable[[SessionEnded], EndOfSession]:
    """What the window shows once the session ends: it is saved first, then compared (baseline
    vs recovery, with intervals), and its report can be written to DATA_DIR/reports."""
    def on_end(ended: SessionEnded) -> EndOfSession:
        from hrvcoach.history.compare import compare
        from hrvcoach.views.qt.window import EndOfSession

        log.finish(ended)
        store, session_id = log.store, log.session_id
        try:
            comparison, note = compare(store, session_id), ""
        except InputError as exc:
            comparison, note = None, f"no stored comparison: {exc.problem}"

        def write_report() -> Path:
            from hrvcoach.views.report import write_session_report

            return write_session_report(store, session_id,
                                        home / "reports" / f"session-{session_id}.pdf")

        return EndOfSession(comparison, note, write_report)

    return on_end


def _run_window(args: argparse.Namespace) -> int:
    """`hrvcoach window`: the setup page chooses the source and protocol; then a session."""
    from hrvcoach.history.profile import load_profile
    from hrvcoach.protocols.protocol import list_protocols, load_protocol

    if not has_display():
        raise InputError("window", "needs a display (X11 or Wayland); use `demo --screenshot` or "
                         "`--headless` commands without one")
    home = data_dir(args)
    resonance = load_profile(home).resonance_breaths_per_min
    protocols = [p.at_resonance_rate(resonance) if resonance is not None and p.uses_resonance
                 else p for p in list_protocols()]
    chosen = load_protocol(args.protocol, resonance_per_min=resonance)
    if chosen.name not in [p.name for p in protocols]:
        protocols.append(chosen)
    from hrvcoach.views.qt.window import run_setup_window

    with contextlib.ExitStack() as stack:
        logs: list[SessionLog] = []

        def start(choice: SetupChoice, on_event: Callable[[SessionEvent], None]) -> StartedSession:
            return _start_chosen(args, home, choice, on_event, stack, logs)

        ended = run_setup_window(protocols, start, scan=_ble_scan, default_protocol=chosen.name,
                                 replay_file=args.replay, theme=args.theme)
        for log in logs:
            log.finish(ended)
            print(f"recording saved: {log.journal.path}")
    return EXIT_OK


async def _ble_scan(timeout_s: float) -> list[FoundStrap]:
    from hrvcoach.sources.ble.source import scan

    return await scan(timeout_s)


def _start_chosen(args: argparse.Namespace, home: Path, choice: SetupChoice,
                  on_event: Callable[[SessionEvent], None], stack: contextlib.ExitStack,
                  logs: list[SessionLog]) -> StartedSession:
    """The session the setup page asked for (its source opened late, its log in the store)."""
    from hrvcoach.core.clock import ScaledClock
    from hrvcoach.protocols.pacer import Pacer
    from hrvcoach.session import Session
    from hrvcoach.views.cli.history import SessionLog
    from hrvcoach.views.qt.window import StartedSession

    protocol = choice.protocol
    clock = ScaledClock(args.speed)
    source: Source
    match choice.source:
        case "ble":
            if args.speed != 1.0:
                raise InputError("--speed", "a Bluetooth strap runs in real time only")
            from hrvcoach.sources.ble.source import BleSource

            source, label, kind = BleSource(choice.device or "", clock), "", "ble"
        case "replay":
            from hrvcoach.files.rr_files import read_rr_file
            from hrvcoach.sources.replay import ReplaySource

            path = choice.replay_file
            if path is None:
                raise InputError("replay", "choose a recording first")
            recording = read_rr_file(path)
            source, label, kind = ReplaySource(recording.rr_ms, clock, name=path.name), \
                f"replay of {path.name}", "replay"
        case _:
            from hrvcoach.sources.simulator import SimulatedStrap

            source, label, kind = SimulatedStrap(Pacer.for_protocol(protocol), clock), \
                "simulated strap", "simulator"
    log = stack.enter_context(SessionLog(home, protocol.name, kind))
    logs.append(log)
    session = Session(protocol, source, log.tee(on_event), log, args.duration, clock=clock)
    return StartedSession(session, protocol, clock, window_end_hook(log, home), label)


def _assess_resonance(home: Path, recording: Path, protocol: Protocol) -> None:
    """Score the session's rate blocks, print the evidence and store the chosen rate."""
    from hrvcoach.history.assessment import assess_recording, store_assessment
    from hrvcoach.views.cli.protocols import print_scores

    assessment = assess_recording(recording, protocol)
    print("resonance assessment (heart-rate oscillation at each breathing rate):")
    print_scores(assessment.scores, sys.stdout)
    saved = store_assessment(home, assessment, recording)
    if saved is None:
        print("no rate block was long enough to score: the profile is unchanged")
    else:
        print(f"your resonance rate: {assessment.resonance_breaths_per_min:g} breaths/min (saved to {saved}; "
              f"protocols that say \"resonance\" now use it)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except InputError as exc:
        print(f"hrvcoach: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except HrvcoachError as exc:
        print(f"hrvcoach: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("hrvcoach: stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
