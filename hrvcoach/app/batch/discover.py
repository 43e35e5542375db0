"""The recordings a batch analyses, from the paths a user gives: files (taken whatever their
name), folders (searched recursively for the formats hrvcoach reads) and globs (`data/**/*.csv`,
expanded here too, for shells that leave them alone). A WFDB record may be named without its
extension (`mitdb/100`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from hrvcoach.core.errors import InputError
from hrvcoach.files.recordings import FOLDER_SUFFIXES, wfdb_header

__all__ = ["find_recordings"]

_GLOB_CHARACTERS = frozenset("*?[")


def _in_folder(folder: Path) -> list[Path]:
    """The recordings under `folder`, sorted by path; hidden files and folders are skipped."""
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found += [Path(root) / name for name in files
                  if not name.startswith(".") and Path(name).suffix.lower() in FOLDER_SUFFIXES]
    return sorted(found)


def _expand(argument: str) -> list[Path]:
    path = Path(argument)
    if path.is_dir():
        found = _in_folder(path)
        if not found:
            raise InputError(argument, "no recordings in this folder (looked for "
                             f"{', '.join(FOLDER_SUFFIXES)})")
        return found
    header = wfdb_header(path)  # a WFDB record named without its extension
    if path.is_file() or (header is not None and header.is_file()):
        return [path]
    if _GLOB_CHARACTERS & set(argument):
        matches = [Path(match) for match in sorted(glob.glob(argument, recursive=True))]
        found = [found for match in matches
                 for found in (_in_folder(match) if match.is_dir() else [match])]
        if not found:
            raise InputError(argument, "matches no recording")
        return found
    raise InputError(argument, "no such file or folder")


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: set[str] = set()
    unique = []
    for path in paths:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def find_recordings(arguments: Sequence[str]) -> list[str]:
    """Every recording the arguments name, once each, in the order given (a folder's sorted)."""
    return [str(path) for path in _unique(path for argument in arguments for path in _expand(argument))]
