"""The `hrvcoach` command line: the parser and the entry point. Heavy modules (numpy, Qt,
neurokit2, bleak) load only inside the command that runs.

Whatever goes wrong ends in one line on stderr and an exit code, never a traceback: bad input
exits 2, a failure of the strap, the store or the disk exits 1, a reader of our output that went
away (`hrvcoach trends --json | head`) exits quietly. Files and folders the command creates are
user-only (umask 077).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, cast

from hrvcoach import __version__
from hrvcoach.core.errors import HrvcoachError, InputError
from hrvcoach.views.cli import analyze, ble, class_cmd, coach, history, protocols, store
from hrvcoach.views.cli.exit_codes import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
)
from hrvcoach.views.text import safe_text

__all__ = ["build_parser", "main"]

PRIVATE_UMASK = 0o077  # what hrvcoach creates (data folder, reports, exports) is the user's only
DEBUG_VARIABLE = "HRVCOACH_DEBUG"  # set it to see the traceback of an unexpected error


class _Parser(argparse.ArgumentParser):
    """argparse, with its error messages (which quote what was typed) made safe to print."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {safe_text(message)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hrvcoach",
        description="Heart-rate-variability biofeedback: breathe with the pacer, watch your heart "
        "rate swing with the breath and the calming (vagal) markers rise.",
    )
    parser.add_argument("--version", action="version", version=f"hrvcoach {__version__}")
    parser.add_argument("--data-dir", type=_data_dir, metavar="DIR",
                        help="where recordings are written (default: $HRVCOACH_HOME, "
                        "else the platform's user data folder)")
    commands = cast("argparse._SubParsersAction[argparse.ArgumentParser]",
                    parser.add_subparsers(dest="command", metavar="COMMAND"))
    # Each command module adds its own subcommands (and keeps its imports light).
    coach.add_commands(commands)
    analyze.add_commands(commands)
    ble.add_commands(commands)
    class_cmd.add_commands(commands)
    protocols.add_commands(commands)
    history.add_commands(commands)
    store.add_commands(commands)
    return parser


def _data_dir(text: str) -> Path:
    """--data-dir's folder; an empty one (an unset variable in `--data-dir "$DIR"`) would
    make the current folder the data folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty folder name (is a variable unset?)")
    return Path(text)


def main(argv: Sequence[str] | None = None) -> int:
    previous = os.umask(PRIVATE_UMASK)
    try:
        return _main(argv)
    finally:
        os.umask(previous)


def _error(text: str) -> None:
    print(f"hrvcoach: error: {safe_text(text)}", file=sys.stderr)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except InputError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except HrvcoachError as exc:
        _error(str(exc))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("hrvcoach: stopped", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Nobody reads on: send what is still buffered nowhere, so that exiting stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # a file or the disk failed under a command (full, read-only, gone)
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return EXIT_FAILURE
    except MemoryError:
        _error("out of memory")
        return EXIT_FAILURE
    except Exception as exc:  # a bug: one line, not a traceback (the variable shows it)
        if os.environ.get(DEBUG_VARIABLE):
            raise
        _error(f"internal error ({type(exc).__name__}: {str(exc)[:200]}); this is a bug in "
               f"hrvcoach: {DEBUG_VARIABLE}=1 shows where")
        return EXIT_FAILURE
