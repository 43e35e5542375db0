"""The `hrvcoach` command line: the parser and the entry point. Heavy modules (numpy, Qt,
neurokit2, bleak) load only inside the command that runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hrvcoach import __version__
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.views.cli import analyze, ble, class_cmd, coach, history, protocols
from hrvcoach.views.cli.exit_codes import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE

__all__ = ["build_parser", "main"]


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
    # Each command module adds its own subcommands (and keeps its imports light).
    coach.add_commands(commands)
    analyze.add_commands(commands)
    ble.add_commands(commands)
    class_cmd.add_commands(commands)
    protocols.add_commands(commands)
    history.add_commands(commands)
    return parser


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
