"""`hrvcoach class` (several straps, one protocol, one shared pacer: the class window, or one line
per participant every ~10 s headless) and `hrvcoach class-summary` (a stored class again, and
its export with pseudonyms only). The wiring is app.class_run.ClassRun."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from hrvcoach.core.errors import InputError
from hrvcoach.views.cli.arg_types import positive_seconds
from hrvcoach.views.cli.coach import add_coach_options, print_notices, wait_for_lsl_receivers, wants_lsl
from hrvcoach.views.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK

if TYPE_CHECKING:
    from hrvcoach.app.class_run import ClassRun, ClassSummary, Participant

__all__ = ["add_commands"]

MAX_SIMULATED: Final = 12
EXPORT_FORMATS: Final = ("rr", "csv", "json", "edf")


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"a comma-separated list without empty entries, got {text!r}")
    return names


def _participants(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= count <= MAX_SIMULATED:
        raise argparse.ArgumentTypeError(f"1 to {MAX_SIMULATED} participants, got {count}")
    return count


def add_commands(commands: Any) -> None:
    """Add `class` and `class-summary` to the `hrvcoach` subcommands."""
    run = commands.add_parser(
        "class", help="a class: several straps, one protocol, one shared pacer",
        description="Coach a class: each participant wears their own strap; one protocol and "
        "one pacer for all; each participant's beats are recorded as their own session, linked "
        "by a class id. Plan about 5 Bluetooth straps per adapter (BlueZ; failures are known "
        "from 6 on). At the end: each participant's before -> after and the group's median.")
    who = run.add_mutually_exclusive_group(required=True)
    who.add_argument("--devices", type=_names, metavar="NAME_OR_ADDRESS,...",
                     help="the participants' straps, comma-separated (see 'hrvcoach scan')")
    who.add_argument("--simulate", type=_participants, metavar="N",
                     help="N simulated participants instead (a demo, or to try the room's screen)")
    run.add_argument("--labels", type=_names, metavar="LABEL,...",
                     help="a label per participant, in the order of --devices (default P1, P2, "
                     "...); labels stay in your data folder, exports use P1, P2, ...")
    add_coach_options(run)
    run.add_argument("--scan-timeout", type=positive_seconds, default=5.0, metavar="SECONDS",
                     help="how long to scan for the straps at the start (default 5)")
    run.add_argument("--give-up-after", type=positive_seconds, default=300.0, metavar="SECONDS",
                     help="end a participant's session when their strap stays away this long "
                     "(default 300)")
    run.add_argument("--export", type=Path, metavar="DIR",
                     help="at the end, export the class with pseudonyms only into DIR")
    run.add_argument("--export-format", choices=EXPORT_FORMATS, default="csv",
                     help="the participants' session files in --export (default csv)")
    run.set_defaults(run=_run_class)

    summary = commands.add_parser(
        "class-summary", help="a stored class's summary (and its export with pseudonyms only)",
        description="Each participant's before -> after with 95 %% intervals and the group's "
        "median, for a class recorded with `hrvcoach class`.")
    summary.add_argument("class_id", type=int, metavar="CLASS_ID")
    summary.add_argument("--json", action="store_true", help="print JSON instead of text")
    summary.add_argument("--export", type=Path, metavar="DIR",
                         help="export the class with pseudonyms only into DIR")
    summary.add_argument("--export-format", choices=EXPORT_FORMATS, default="csv",
                         help="the participants' session files in --export (default csv)")
    summary.set_defaults(run=_run_class_summary)


# ---- the commands --------------------------------------------------------------------------------
def _participants_of(args: argparse.Namespace) -> list[Participant]:
    import asyncio

    from hrvcoach.app.class_run import Participant, pseudonym, resolve_straps, shown_name
    from hrvcoach.sources.factory import BleSpec, SimulatorSpec, SourceSpec

    count = args.simulate if args.simulate is not None else len(args.devices)
    labels = args.labels if args.labels is not None else [pseudonym(i) for i in range(count)]
    if len(labels) != count:
        raise InputError("--labels", f"{len(labels)} labels for {count} participants")
    specs: list[SourceSpec]
    if args.simulate is not None:
        specs = [SimulatorSpec(seed=index + 1, resonance_breaths_per_min=4.5 + 0.5 * (index % 4))
                 for index in range(count)]
    else:
        if args.speed != 1.0:
            print(f"hrvcoach: --speed {args.speed:g}: only simulated straps (fakebluez --speed) "
                  "keep up", file=sys.stderr)
        found = asyncio.run(resolve_straps(args.devices, args.scan_timeout))
        for index, (label, (address, name)) in enumerate(zip(labels, found, strict=True)):
            print(f"{shown_name(index, label)}: {name or 'strap'} ({address})", file=sys.stderr)
        specs = [BleSpec(address, scan_timeout_s=args.scan_timeout,
                         give_up_after_s=args.give_up_after) for address, _name in found]
    return [Participant(label, spec) for label, spec in zip(labels, specs, strict=True)]


def _run_class(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from hrvcoach.app.class_run import ClassRun, shown_name
    from hrvcoach.app.coach_run import CoachSettings
    from hrvcoach.app.paths import data_dir, has_display
    from hrvcoach.protocols.protocol import load_protocol

    home = data_dir(args.data_dir)
    _check_export_folder(args.export, home)  # now, not after the class
    protocol = load_protocol(args.protocol)  # the protocol's own rates: no one's profile
    if args.headless and args.screenshot:
        raise InputError("--screenshot", "cannot be combined with --headless")
    window = args.screenshot is not None or not args.headless
    if window and args.screenshot is None and not has_display():
        print("hrvcoach: no display found, running headless", file=sys.stderr)
        window = False
    if args.screenshot is not None and not has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported
    participants = _participants_of(args)
    settings = CoachSettings(args.speed, args.duration, args.engine, lsl=wants_lsl(args))
    with ClassRun(home, protocol, participants, settings) as run:
        names = [shown_name(index, who.label) for index, who in enumerate(participants)]
        print_notices(run.notices)
        print(f"class {run.class_id}: {len(participants)} participants, {protocol.name}")
        if settings.lsl:
            wait_for_lsl_receivers([each.lsl for each in run.runs], args.lsl_wait)
        try:
            if window:
                from hrvcoach.views.qt.class_view import run_class_window

                ended = run_class_window(run, names, screenshot=args.screenshot, theme=args.theme)
                if args.screenshot is not None:
                    print(f"screenshot saved: {args.screenshot}")
            else:
                ended = asyncio.run(_headless(run, names))
            summary = run.finish(ended)
        except KeyboardInterrupt:
            _print_summary(run.finish(None, stopped=True), run, args)
            return EXIT_INTERRUPTED
        _print_summary(summary, run, args)
    return EXIT_OK


async def _headless(run: ClassRun, names: list[str]) -> list[Any]:
    import asyncio

    from hrvcoach.views.class_text import ClassPrinter

    printer = ClassPrinter(sys.stdout, names)
    reporter = asyncio.ensure_future(printer.report_every(run.clock))
    try:
        return await run.run(printer.handle)
    finally:
        reporter.cancel()


def _print_summary(summary: ClassSummary, run: ClassRun, args: argparse.Namespace) -> None:
    from hrvcoach.views.class_text import summary_lines

    for line in summary_lines(summary):
        print(line)
    for each in run.runs:
        print(f"recording saved: {each.journal.path}")
    if args.export is not None:
        _export(run.store, summary.class_id, args.export, args.export_format)


def _check_export_folder(folder: Path | None, home: Path) -> None:
    """--export must be a folder (or not exist yet) outside hrvcoach's own files."""
    from hrvcoach.views.cli.outputs import check_output

    if folder is None:
        return
    if folder.exists() and not folder.is_dir():
        raise InputError("--export", f"{folder}: is a file; give a folder for the export")
    check_output(folder, home=home, option="--export")


def _export(store: Any, class_id: int, folder: Path, fmt: Any) -> None:
    from hrvcoach.app.class_run import export_class

    for path in export_class(store, class_id, folder, fmt):
        print(f"exported (pseudonyms only): {path}")


def _run_class_summary(args: argparse.Namespace) -> int:
    from hrvcoach.app.class_run import class_summary
    from hrvcoach.app.data_folder import open_store
    from hrvcoach.app.paths import data_dir
    from hrvcoach.views.class_text import summary_lines

    _check_export_folder(args.export, data_dir(args.data_dir))
    store, notices = open_store(data_dir(args.data_dir))
    with store:
        print_notices(notices)
        summary = class_summary(store, args.class_id)
        if args.json:
            print(json.dumps(summary.as_dict(labels=True), indent=2, ensure_ascii=False))
        else:
            for line in summary_lines(summary):
                print(line)
        if args.export is not None:
            _export(store, args.class_id, args.export, args.export_format)
    return EXIT_OK
