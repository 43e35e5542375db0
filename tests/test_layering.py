"""The analysis core and the start-up path stay free of heavy or I/O libraries."""

from __future__ import annotations

import ast
import subprocess
import sys


def modules_loaded_by(statement: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys\n{statement}\nprint(sorted(n for n in {names!r} if n in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def test_analysis_core_imports_neither_qt_bleak_sqlite_nor_neurokit2():
    forbidden = ("PySide6", "pyqtgraph", "bleak", "sqlite3", "neurokit2", "matplotlib")
    assert modules_loaded_by("import hrvcoach.analysis", forbidden) == []


def test_session_and_sources_do_not_import_views():
    forbidden = ("PySide6", "pyqtgraph", "matplotlib", "hrvcoach.views")
    statement = "import hrvcoach.session, hrvcoach.sources.replay, hrvcoach.protocols.pacer"
    assert modules_loaded_by(statement, forbidden) == []
