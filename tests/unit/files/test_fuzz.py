"""Fuzzing every reader and every command-line number (hypothesis; a bounded number of examples
each, so CI stays fast: HYPOTHESIS_PROFILE=deep runs 50 times more). A reader either reads or
refuses with one InputError line naming the file; it never raises anything else, and a refused
import writes nothing. tests/data/nasty holds the cases found by hand and by earlier runs."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hrvcoach.core.errors import InputError
from hrvcoach.files.journal import read_journal
from hrvcoach.files.rr_files import read_rr_file
from hrvcoach.files.session_files import read_recording_file
from hrvcoach.protocols.bundled import bundled_protocol_dir
from hrvcoach.protocols.protocol import load_protocol_file
from hrvcoach.sources.ble.devices import bundled_device_dir, load_device_profile_file
from hrvcoach.views.cli.main import build_parser, main
from tests.helpers import TEST_DATA

settings.register_profile("default", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow])
settings.register_profile("deep", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

NASTY_TOKENS = ["", ",", ";", "\t", "#", "[HRData]", "[Params]", "Interval=238", "Interval=5",
                "RR INTERVAL DATA", "rr_ms", "RR interval", "(ms)", "(s)", "nan", "inf", "-inf",
                "-1", "0", "1e308", "1e-300", "9" * 400, "1" * 5000, "0x10", "812.5", "0.8",
                "1000000000", "\x00", "\x1b[2J", "\u202e", "é", "😀", "{", "[", '"', "\\"]
CELLS = st.one_of(st.sampled_from(NASTY_TOKENS), st.floats(allow_nan=True).map(repr),
                  st.integers(-10**6, 10**6).map(str), st.text(max_size=12))
LINES = st.lists(CELLS, min_size=1, max_size=4).flatmap(
    lambda cells: st.sampled_from([",", ";", "\t", " "]).map(lambda sep: sep.join(cells)))
FILES = st.tuples(st.lists(LINES, max_size=40), st.sampled_from(["\n", "\r\n", "\r"])).map(
    lambda parts: parts[1].join(parts[0]))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | st.text(max_size=20)
    | st.sampled_from(NASTY_TOKENS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)

BASE_SESSION = json.loads((TEST_DATA / "nasty" / "session_escape_text.json").read_text())
BASE_SESSION["session"]["protocol"] = "demo"


def reads_or_refuses(read, path: Path) -> None:
    """`read(path)` returns, or raises one InputError whose message starts with the file."""
    try:
        read(path)
    except InputError as exc:
        message = str(exc)
        assert message.startswith(str(path)) or message.startswith(("--", "SESSION")), message
        assert "\n" not in message and len(message) < 1500, message


@given(content=FILES, suffix=st.sampled_from([".txt", ".csv", ".hrm"]))
def test_rr_files_read_or_refuse(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("rr") / f"rr{suffix}"
    path.write_bytes(content.encode("utf-8", "surrogatepass"))  # lone surrogates: not UTF-8
    reads_or_refuses(read_rr_file, path)
    reads_or_refuses(lambda p: read_rr_file(p, heartbeats=False), path)
    reads_or_refuses(read_recording_file, path)
    reads_or_refuses(read_journal, path)


def _replace_at(document: object, route: list[int], value: object) -> object:
    """`document` with the node that `route` picks (indices into its keys/items) replaced."""
    if not route or not isinstance(document, dict | list) or not document:
        return value
    keys = list(document) if isinstance(document, dict) else list(range(len(document)))
    key = keys[route[0] % len(keys)]
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[key] = _replace_at(document[key], route[1:], value)  # type: ignore[index]
    return copy


@given(route=st.lists(st.integers(0, 40), max_size=5), value=JSON_VALUES, as_csv=st.booleans())
def test_session_files_read_or_refuse(tmp_path_factory, route, value, as_csv):
    document = _replace_at(BASE_SESSION, route, value)
    folder = tmp_path_factory.mktemp("session")
    if as_csv and isinstance(document, dict):
        meta = {k: document.get(k) for k in ("format", "version", "session", "phases") if k in document}
        beats = BASE_SESSION["beats"]
        lines = [f"{t!r},{rr!r},1,0,,x" for t, rr in zip(beats["time_s"], beats["rr_ms"], strict=True)]
        path = folder / "s.csv"
        path.write_text("# hrvcoach session " + json.dumps(meta) + "\ntime_s,rr_ms,contact,after_gap,"
                        "artifact,phase\n" + "\n".join(lines) + "\n", encoding="utf-8")
    else:
        path = folder / "s.json"
        path.write_text(json.dumps(document), encoding="utf-8")
    reads_or_refuses(read_recording_file, path)


@given(cut=st.integers(0, 4000), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)),
                                                 max_size=6))
def test_edf_files_read_or_refuse(tmp_path_factory, edf_export, cut, flips):
    data = bytearray(edf_export)
    for offset, mask in flips:
        data[offset % len(data)] ^= mask
    if cut:
        data = data[: max(len(data) - cut, 0)]
    path = tmp_path_factory.mktemp("edf") / "s.edf"
    path.write_bytes(bytes(data))
    reads_or_refuses(read_recording_file, path)


@pytest.fixture(scope="module")
def edf_export(tmp_path_factory) -> bytes:
    """An EDF+ export of a small session (written by hrvcoach itself)."""
    from hrvcoach.core.records import BeatColumns, PhaseRecord
    from hrvcoach.files.session_files import SessionDocument, SessionMeta, write_session_file

    beats = BASE_SESSION["beats"]
    document = SessionDocument(
        SessionMeta(1, "2026-11-25T07:30:00+01:00", None, "demo", "ble", "Polar", "completed", ""),
        [PhaseRecord(0, "settle", "baseline", 0.0, 12.0, compare="before")],
        BeatColumns(tuple(beats["time_s"]), tuple(beats["rr_ms"]), (True,) * len(beats["rr_ms"]),
                    (False,) * len(beats["rr_ms"]), (None,) * len(beats["rr_ms"])), [], {})
    path = tmp_path_factory.mktemp("edf-base") / "s.edf"
    return write_session_file(document, "edf", path).read_bytes()


VALUE_LINE = re.compile(r"^(\s*[A-Za-z_]+\s*=\s*)(.+)$")
TOML_VALUES = ["1e308", "-5", "0", "inf", "nan", "true", '"x"', "[1, 2]", "{a = 1}", "9" * 30,
               '"' + "x" * 5000 + '"', '"\\u001b[2J"', '"resonance"', "[]", "1970-01-01", '""']


@given(data=st.data())
def test_protocol_and_strap_profile_files_read_or_refuse(tmp_path_factory, data):
    source = data.draw(st.sampled_from(sorted(bundled_protocol_dir().glob("*.toml"))
                                       + sorted(bundled_device_dir().glob("*.toml"))))
    lines = source.read_text(encoding="utf-8").splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(lines) - 1))
        match = VALUE_LINE.match(lines[index])
        if match:
            lines[index] = match.group(1) + data.draw(st.sampled_from(TOML_VALUES))
        else:
            lines[index] = data.draw(st.sampled_from(["[[phase]]", "[quirks]", "x = 1", "", "["]))
    path = tmp_path_factory.mktemp("toml") / source.name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loader = load_protocol_file if source.parent == bundled_protocol_dir() else load_device_profile_file
    reads_or_refuses(loader, path)


NUMBER_OPTIONS = [
    (["demo"], "--speed"), (["demo"], "--duration"), (["demo"], "--seed"),
    (["demo"], "--sim-resonance"), (["demo"], "--sim-artifacts"), (["window"], "--speed"),
    (["analyze", "f.txt"], "--window"), (["trends"], "--days"), (["scan"], "--timeout"),
    (["coach"], "--scan-timeout"), (["coach"], "--give-up-after"),
]


@given(option=st.sampled_from(NUMBER_OPTIONS),
       text=st.one_of(st.sampled_from(NASTY_TOKENS), st.floats().map(repr),
                      st.integers(-10**40, 10**40).map(str), st.text(max_size=10)))
def test_every_number_option_parses_in_range_or_exits_2(option, text):
    command, name = option
    assume(not text.startswith("-") or re.fullmatch(r"-[\d.e+-]+|-inf|-nan", text))
    try:
        args = build_parser().parse_args([*command, f"{name}={text}"])
    except SystemExit as exc:
        assert exc.code == 2
        return
    value = getattr(args, name.lstrip("-").replace("-", "_"))
    assert math.isfinite(value) and 0 <= value <= 10**19


@given(content=FILES)
def test_a_refused_import_writes_nothing(tmp_path_factory, capsys, content):
    folder = tmp_path_factory.mktemp("import")
    path = folder / "rr.txt"
    path.write_bytes(content.encode("utf-8", "surrogatepass"))
    home = folder / "home"
    code = main(["--data-dir", str(home), "import", str(path)])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 2:
        assert not home.exists()
        assert err.startswith("hrvcoach: error: ") and err.count("\n") == 1, err
