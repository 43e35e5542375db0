"""`hrvcoach store check | backup | restore`: the session store's health and its backups.

Imports stay light: sqlite3 loads inside the commands.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hrvcoach.views.cli.exit_codes import EXIT_FAILURE, EXIT_OK
from hrvcoach.views.text import safe_text

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    store = commands.add_parser(
        "store", help="check the session store, back it up, restore a backup",
        description="The session store (DATA_DIR/hrvcoach.db) is checked each time it is opened "
        "and backed up once a day (DATA_DIR/backups, the last 7 kept).")
    actions = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="check every page, row and recording (exit 1 on a problem)")
    check.set_defaults(run=_run_check)
    backup = actions.add_parser("backup", help="back the store up now")
    backup.set_defaults(run=_run_backup)
    restore = actions.add_parser(
        "restore", help="put a backup back (the latest by default)",
        description="Put a backup in place of the store (the file it replaces is kept beside it) "
        "and rebuild the sessions recorded since from their recordings. Without any backup, the "
        "sessions are rebuilt from the recordings alone.")
    restore.add_argument("backup", nargs="?", type=Path, metavar="BACKUP",
                         help="the backup file (default: the latest; see --list)")
    restore.add_argument("--list", action="store_true", help="list the backups and stop")
    restore.set_defaults(run=_run_restore)


def _home(args: argparse.Namespace) -> Path:
    from hrvcoach.app.paths import data_dir

    return data_dir(args.data_dir)


def _run_check(args: argparse.Namespace) -> int:
    from hrvcoach.app.store_check import check_store

    home = _home(args)
    problems, summary = check_store(home)
    for problem in problems:
        print(f"problem: {safe_text(problem)}")
    print(safe_text(summary))
    return EXIT_FAILURE if problems else EXIT_OK


def _run_backup(args: argparse.Namespace) -> int:
    from hrvcoach.views.cli.history import open_data_store

    with open_data_store(args) as store:
        path = store.backup("manual")
    print(f"backup saved: {safe_text(str(path))}")
    return EXIT_OK


def _run_restore(args: argparse.Namespace) -> int:
    from hrvcoach.app.data_folder import restore_store
    from hrvcoach.store import DB_FILE
    from hrvcoach.store.backups import list_backups

    home = _home(args)
    if args.list:
        found = list_backups(home, DB_FILE)
        if not found:
            print(f"no backups in {safe_text(str(home))}")
        for backup in found:
            print(f"{backup.taken_at:%Y-%m-%d %H:%M}  {backup.reason:<28} {safe_text(str(backup.path))}")
        return EXIT_OK
    for notice in restore_store(home, args.backup):
        print(f"hrvcoach: {safe_text(notice)}", file=sys.stderr)
    return EXIT_OK
