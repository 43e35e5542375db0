"""The analysis core and the start-up path stay free of heavy or I/O libraries."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO


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


def _lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    """import-linter with the project's contracts, on the hrvcoach package found in package_parent."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache",
                           str(REPO / "pyproject.toml")], capture_output=True, text=True,
                          env=env, cwd=package_parent, check=False)


def test_the_layering_contracts_hold_and_catch_a_wrong_import_even_inside_a_function(tmp_path):
    kept = _lint_imports(REPO)
    assert kept.returncode == 0, kept.stdout[-2000:]
    assert "0 broken" in kept.stdout
    copy = tmp_path / "hrvcoach"
    shutil.copytree(REPO / "hrvcoach", copy, ignore=shutil.ignore_patterns("__pycache__"))
    beats = copy / "core" / "beats.py"
    beats.write_text(beats.read_text() + "\n\ndef _late() -> None:\n"
                     "    from hrvcoach.views.text import clock_text  # noqa: F401\n")
    broken = _lint_imports(tmp_path)
    assert broken.returncode == 1
    assert "hrvcoach.core.beats -> hrvcoach.views.text" in broken.stdout
    assert "1 broken" in broken.stdout


def test_no_module_of_the_package_takes_part_in_an_import_circle():
    """Not even through imports inside functions (grimp, import-linter's graph, sees those)."""
    import grimp

    graph = grimp.build_graph("hrvcoach")
    circles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain is not None:
                circles.append((module, *chain))
    assert circles == []


def test_the_coach_starts_without_scipy_signal():
    """scipy.signal takes ~0.5-1 s to import: not before the window's first frame."""
    statement = ("import hrvcoach.app.coach_run, hrvcoach.sources.simulator, "
                 "hrvcoach.views.qt.loop, hrvcoach.analysis")
    assert modules_loaded_by(statement, ("scipy.signal",)) == []
