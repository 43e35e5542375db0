"""`hrvcoach sessions | compare | trends | report | import | export`: the stored sessions.
Imports stay light here: numpy, sqlite3 and matplotlib load inside the commands."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrvcoach.core.errors import InputError
from hrvcoach.views.text import clock_text, safe_text

if TYPE_CHECKING:
    from hrvcoach.history.compare import Comparison
    from hrvcoach.store import SessionInfo, Store

FORMATS = ("rr", "csv", "json", "edf")
# `trends --include`: the stored source each word lets in beside the straps
INCLUDED_SOURCES = {"imports": "import", "replays": "replay", "demos": "simulator"}
SOURCE_WORDS = {"ble": "strap", "simulator": "demo", "replay": "replay", "import": "import"}
MAX_DAYS = 36_500  # trends --days: a hundred years


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}") from None
    if not 0 < value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_DAYS}, got "
                                         f"{text[:40]!r}")
    return value


def _report_path(text: str) -> Path:
    if not text.lower().endswith((".pdf", ".png")):
        raise argparse.ArgumentTypeError(f"the report is a PDF or PNG file: name it *.pdf or *.png, "
                                         f"got {text!r}")
    return Path(text)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sessions = commands.add_parser("sessions", help="the session log: every recorded session",
                                   description="List stored sessions (id, date, protocol, "
                                   "source, duration, status, beats, RMSSD and HR before → after).")
    sessions.add_argument("--json", action="store_true", help="machine-readable output")
    sessions.set_defaults(run=_run_sessions)
    actions = sessions.add_subparsers(dest="sessions_command", metavar="ACTION")
    delete = actions.add_parser("delete", help="remove sessions from the store",
                                description="Remove sessions (their beats, phases, notes and "
                                "markers) from the store; their recordings move to "
                                "DATA_DIR/recordings/deleted/. Asks first, unless --yes.")
    delete.add_argument("ids", nargs="+", metavar="ID", help="session ids (see `sessions`)")
    delete.add_argument("--yes", action="store_true", help="do not ask")
    delete.set_defaults(run=_run_delete)

    compare = commands.add_parser(
        "compare", help="did it calm you down? before vs after, with 95 %% intervals",
        description="Compare a session's baseline (before) with its recovery (after), or the "
        "baselines of two sessions, or any two phases (--before/--after: number or name).")
    compare.add_argument("session", metavar="SESSION", help="session id (see `sessions`) or 'last'")
    compare.add_argument("other", metavar="OTHER", nargs="?",
                         help="a second session: compare the baselines of the two")
    compare.add_argument("--before", metavar="PHASE", help="the phase of SESSION to compare from")
    compare.add_argument("--after", metavar="PHASE",
                         help="the phase (of OTHER, if given) to compare with")
    compare.add_argument("--json", action="store_true", help="machine-readable output")
    compare.set_defaults(run=_run_compare)

    trends = commands.add_parser("trends", help="your resting HRV over days and weeks",
                                 description="Daily baseline ln RMSSD (morning-check sessions "
                                 "preferred), its 7-day average, the 60-day normal band and flags; "
                                 "practice minutes and time at high coherence per week.")
    trends.add_argument("--days", type=_positive_int, default=60, metavar="N",
                        help="show the last N days up to the latest measurement (default 60)")
    trends.add_argument("--include", choices=sorted(INCLUDED_SOURCES), action="append",
                        default=[], metavar="imports|replays|demos",
                        help="count these sessions too (default: only sessions measured on your "
                        "strap): imports of your own recordings; replays and demos (shown as a "
                        "demo, not your heart); may be repeated")
    trends.add_argument("--json", action="store_true", help="machine-readable output")
    trends.add_argument("-o", "--output", type=Path, metavar="FILE.png",
                        help="also draw the trend chart (PNG, PDF or SVG)")
    trends.set_defaults(run=_run_trends)

    report = commands.add_parser("report", help="a session report (PDF or PNG)",
                                 description="Tachogram with phases and artifacts, markers per "
                                 "phase, spectra, before/after with intervals, Poincaré plot.")
    report.add_argument("session", metavar="SESSION", help="session id or 'last'")
    report.add_argument("-o", "--output", type=_report_path, required=True, metavar="FILE.pdf|png")
    report.set_defaults(run=_run_report)

    imported = commands.add_parser("import", help="turn a recording file into a session",
                                   description="Import an RR recording (one RR per line, a CSV "
                                   "with an RR column, an hrvcoach journal or export).")
    imported.add_argument("file", type=Path)
    imported.add_argument("--date", metavar="ISO", help="when it was recorded (default: from the "
                          "file, else its modification time)")
    imported.add_argument("--protocol", metavar="NAME_OR_FILE",
                          help="lay this protocol's phases over the recording")
    imported.add_argument("--units", choices=("ms", "s"), help="RR units (default: detected)")
    imported.add_argument("--column", metavar="NAME", help="the RR column of a CSV with a header")
    imported.set_defaults(run=_run_import)

    export = commands.add_parser("export", help="write a session to a file",
                                 description="rr: Kubios-compatible RR text; csv: beat time, RR, "
                                 "flags, phase; json: everything; edf: EDF+ (RR tachogram, beats "
                                 "and phases as annotations).")
    export.add_argument("session", metavar="SESSION", help="session id or 'last'")
    export.add_argument("--format", choices=FORMATS, required=True)
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    export.set_defaults(run=_run_export)


# ---------------------------------------------------------------------------------------------
# Commands


def check_data_output(args: argparse.Namespace) -> None:
    """-o must not name the store, its journals or backups (views.cli.outputs)."""
    from hrvcoach.app.paths import data_dir
    from hrvcoach.views.cli.outputs import check_output

    check_output(args.output, home=data_dir(args.data_dir))


def open_data_store(args: argparse.Namespace) -> Store:
    """The data folder's store; what an earlier crash left is mended and reported first."""
    from hrvcoach.app.data_folder import open_store
    from hrvcoach.app.paths import data_dir
    from hrvcoach.views.cli.coach import print_notices

    store, notices = open_store(data_dir(args.data_dir))
    print_notices(notices)
    return store




def _num(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}"


def _json_number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _headline(store: Store, session_id: int) -> dict[str, dict[str, float | None]]:
    markers = store.markers(session_id)
    phases = store.phases(session_id)
    picked: dict[str, dict[str, float | None]] = {}
    for role in ("before", "after"):
        marked = [p.index for p in phases if p.compare == role]
        if not marked:
            continue
        values = markers.get(marked[-1] if role == "before" else marked[0], {})
        picked[role] = {name: _json_number(values.get(name))
                        for name in ("rmssd_ms", "ln_rmssd", "mean_hr_bpm")}
    return picked


def source_text(info: SessionInfo) -> str:
    """Where a session's beats came from: 'strap Polar H10 …', 'demo', 'replay rr.csv',
    'import day01.txt'."""
    from pathlib import PurePath

    word = SOURCE_WORDS.get(info.source, info.source)
    match info.source:
        case "ble":
            return f"{word} {info.device}".strip()
        case "replay":
            return f"{word} {info.device.removeprefix('replay of ')}".strip()
        case "import":
            return f"{word} {PurePath(info.origin).name}".strip() if info.origin else word
        case _:
            return word


def _run_sessions(args: argparse.Namespace) -> int:
    with open_data_store(args) as store:
        rows = [(info, _headline(store, info.id)) for info in store.sessions()]
    if args.json:
        print(json.dumps([{"id": info.id, "date": info.date, "started_at": info.started_at,
                           "protocol": info.protocol, "duration_s": info.duration_s,
                           "status": info.status, "n_beats": info.n_beats, "source": info.source,
                           "device": info.device, "origin": info.origin,
                           "raw_data": info.raw_data, "markers": headline}
                          for info, headline in rows], indent=2))
        return 0
    if not rows:
        print("No sessions yet: `hrvcoach coach` records one with your strap; `hrvcoach demo` "
              "shows how it works on a simulated strap.")
        return 0
    print(f"{'id':>4}  {'started':<16}  {'protocol':<20} {'source':<22} {'length':>6}  "
          f"{'status':<11} {'beats':>6}  {'RMSSD before→after':>19}  {'HR before→after':>16}")
    for info, headline in rows:
        before, after = headline.get("before", {}), headline.get("after", {})
        rmssd = f"{_num(before.get('rmssd_ms'))}→{_num(after.get('rmssd_ms'))} ms" if after else \
            f"{_num(before.get('rmssd_ms'))} ms"
        hr = f"{_num(before.get('mean_hr_bpm'))}→{_num(after.get('mean_hr_bpm'))}" if after else \
            f"{_num(before.get('mean_hr_bpm'))}"
        length = clock_text(info.duration_s) if info.duration_s is not None else "—"
        protocol = safe_text(info.protocol)[:20]
        print(f"{info.id:>4}  {safe_text(info.started_at[:16]).replace('T', ' '):<16}  {protocol:<20} "
              f"{safe_text(source_text(info))[:22]:<22} {length:>6}  {info.status:<11} "
              f"{info.n_beats:>6}  {rmssd:>19}  {hr + ' bpm':>16}")
    return 0


def comparison_json(result: Comparison) -> dict[str, Any]:
    """The issue's shape: for each marker {before, after, delta, ci_low, ci_high}, and a verdict."""
    def side(s: Any) -> dict[str, Any]:
        return {"session": s.session_id, "started_at": s.started_at, "protocol": s.protocol,
                "phase": s.phase_index + 1, "phase_name": s.phase_name, "kind": s.phase_kind,
                "duration_s": round(s.duration_s, 3), "n_beats": s.n_beats,
                "artifact_pct": _json_number(round(s.flagged_pct, 2)), "unreliable": s.unreliable,
                "hrv_valid": s.hrv_valid, "not_valid_because": s.not_valid_because,
                "moving_excluded_s": round(s.moving_s, 1)}

    return {
        "before": side(result.before),
        "after": side(result.after),
        "markers": {c.spec.name: {"before": _json_number(c.before), "after": _json_number(c.after),
                                  "delta": _json_number(c.delta), "ci_low": _json_number(c.ci_low),
                                  "ci_high": _json_number(c.ci_high)}
                    for c in result.changes},
        "verdict": result.verdict(),
        "marker_verdicts": {c.spec.name: c.verdict() for c in result.changes},
    }


def _run_compare(args: argparse.Namespace) -> int:
    from hrvcoach.history.compare import compare

    with open_data_store(args) as store:
        first = store.resolve(args.session)
        other = store.resolve(args.other) if args.other is not None else None
        result = compare(store, first.id, None if other is None else other.id,
                         before_phase=args.before, after_phase=args.after)
    if args.json:
        print(json.dumps(comparison_json(result), indent=2))
        return 0
    for role, s in (("before", result.before), ("after", result.after)):
        flag = f"  ⚠ unreliable: {'; '.join(s.unreliable)}" if s.unreliable else ""
        if not s.hrv_valid:
            flag += f"  ✗ {'; '.join(s.not_valid_because)}"
        print(f"{role:<6} session {s.session_id} ({safe_text(s.protocol)}, "
              f"{safe_text(s.started_at[:16]).replace('T', ' ')}) phase {s.phase_index + 1} "
              f"{safe_text(s.phase_name)} [{s.phase_kind}]: "
              f"{clock_text(s.duration_s)}, {s.n_beats} beats, {s.flagged_pct:.1f} % corrected{flag}")
    print(f"{'marker':<13} {'before':>9} {'after':>9} {'change':>9}  95 % interval")
    for c in result.changes:
        digits = c.spec.digits
        unit = f" {c.spec.unit}" if c.spec.unit else ""
        interval = (f"{_num(c.ci_low, digits)} … {_num(c.ci_high, digits)}{unit}"
                    if math.isfinite(c.ci_low) else (c.note or "—"))
        print(f"{c.spec.label:<13} {_num(c.before, digits):>9} {_num(c.after, digits):>9} "
              f"{_num(c.delta, digits):>9}  {interval}")
    print(f"verdict: {result.verdict()}")
    for c in result.changes:
        if c.spec.name not in ("ln_rmssd", "rmssd_ms"):  # the headline says those
            print(f"         {c.verdict()}")
    return 0


def _run_trends(args: argparse.Namespace) -> int:
    from hrvcoach.history.trends import MEASURED_SOURCES, load_trends

    sources = MEASURED_SOURCES | {INCLUDED_SOURCES[word] for word in args.include}
    if args.output is not None:
        check_data_output(args)
    with open_data_store(args) as store:
        trends = load_trends(store, days=args.days, sources=sources)
    demo = bool(sources & {"simulator", "replay"})
    if args.output is not None:
        from hrvcoach.files.safe_write import atomic_output
        from hrvcoach.views.report import write_trends_chart

        with atomic_output(args.output) as temporary:
            write_trends_chart(trends, temporary, demo=demo)
    if args.json:
        print(json.dumps({"sources": sorted(trends.sources), "left_out": trends.left_out,
                          "days": [day.to_json() for day in trends.days],
                          "cv_7d_pct": [{"date": d.date.isoformat(), "cv_pct": d.cv_7d_pct}
                                        for d in trends.days],
                          "weeks": [week.to_json() for week in trends.weeks]}, indent=2))
        return 0
    if demo:
        print("DEMO: these trends include simulated or replayed sessions — not your heart.")
    if args.output is not None:
        print(f"trend chart saved: {safe_text(str(args.output))}")
    if not trends.days:
        print("No baseline measurements of you yet: a morning check on your strap each morning "
              "(`hrvcoach coach --protocol morning-check`) builds the trend.")
    else:
        print(f"{'date':<10}  {'ln RMSSD':>8}  {'7-day':>6}  {'band (60 days)':>15}  {'CV 7d':>6}  flag")
        for d in trends.days:
            band = f"{_num(d.band_low, 2)}–{_num(d.band_high, 2)}" if d.band_low is not None else "—"
            flag = {"below": "↓ below the normal band", "above": "↑ above the normal band"}.get(
                d.flag or "", "")
            if d.moving_s > 0:
                flag += f"{' · ' if flag else ''}still only: {d.moving_s:.0f} s of movement left out"
            print(f"{d.date.isoformat():<10}  {d.ln_rmssd:>8.2f}  {_num(d.baseline_7d, 2):>6}  "
                  f"{band:>15}  {_num(d.cv_7d_pct):>5}%  {flag}")
    if trends.weeks:
        print(f"\n{'week':<9}  {'sessions':>8}  {'practice':>9}  {'high coherence':>14}")
        for w in trends.weeks:
            print(f"{w.week:<9}  {w.sessions:>8}  {w.practice_min:>5.0f} min  "
                  f"{w.high_coherence_min:>10.0f} min")
    left_out = _left_out_text(trends.left_out)
    if left_out:
        print(f"\n{left_out}")
    return 0


def _left_out_text(left_out: dict[str, int]) -> str:
    """Which sessions the trends left out, and how to count them."""
    by_word = {word: left_out.get(source, 0) for word, source in INCLUDED_SOURCES.items()}
    parts = [f"{count} {word[:-1] if count == 1 else word}" for word, count in by_word.items()
             if count]
    if not parts:
        return ""
    hints = [f"--include {word}" for word, count in by_word.items() if count]
    return (f"Left out (not measured on your strap): {', '.join(parts)}. "
            f"`hrvcoach trends {' '.join(hints)}` counts them"
            + (" (imports of your own recordings belong in your trends; demos and replays "
               "are shown as a demo)." if by_word["demos"] or by_word["replays"] else "."))


def _run_report(args: argparse.Namespace) -> int:
    from hrvcoach.files.safe_write import atomic_output
    from hrvcoach.views.report import write_session_report

    check_data_output(args)
    with open_data_store(args) as store:
        info = store.resolve(args.session)
        with atomic_output(args.output) as temporary:
            write_session_report(store, info.id, temporary)
    print(f"report saved: {safe_text(str(args.output))}")
    return 0


def _run_import(args: argparse.Namespace) -> int:
    from hrvcoach.files.session_files import read_recording_file
    from hrvcoach.history.importing import import_recording, import_start
    from hrvcoach.history.phases import compute_markers

    recording = read_recording_file(args.file, units=args.units, column=args.column)
    started_at = import_start(recording, args.date)
    if args.protocol is not None:  # a bad protocol is an error before anything is written
        from hrvcoach.protocols.protocol import load_protocol

        load_protocol(args.protocol)
    with open_data_store(args) as store:
        session_id = import_recording(store, recording, started_at=started_at,
                                      protocol=args.protocol)
        compute_markers(store, session_id)
        info = store.session(session_id)
    print(f"imported {safe_text(str(args.file))} as session {session_id}: {info.n_beats} beats, "
          f"{safe_text(info.protocol)}, started {safe_text(info.started_at)}")
    return 0


def _run_export(args: argparse.Namespace) -> int:
    from hrvcoach.history.exporting import export_session

    check_data_output(args)
    with open_data_store(args) as store:
        info = store.resolve(args.session)
        export_session(store, info.id, args.format, args.output)
    print(f"session {info.id} exported ({args.format}): {safe_text(str(args.output))}")
    return 0


def _run_delete(args: argparse.Namespace) -> int:
    import sys

    from hrvcoach.app.data_folder import delete_sessions
    from hrvcoach.app.paths import data_dir

    ids = []
    for text in args.ids:
        if not text.isdigit() or len(text) > 18:
            raise InputError("ID", f"expected a session id (see `hrvcoach sessions`), got {text[:40]!r}")
        if int(text) in ids:  # refused before anything is deleted
            raise InputError("SESSION", f"session {int(text)} given twice")
        ids.append(int(text))
    with open_data_store(args) as store:
        described = [_describe(store, session_id) for session_id in ids]
        if not args.yes:
            if not sys.stdin.isatty():
                raise InputError("sessions delete", "no terminal to ask on: add --yes to delete "
                                 "without asking")
            for line in described:
                print(f"  {line}")
            answer = input(f"Delete {'this session' if len(ids) == 1 else f'these {len(ids)} sessions'}"
                           "? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 0
        for line in delete_sessions(store, data_dir(args.data_dir), ids):
            print(line)
    return 0


def _describe(store: Store, session_id: int) -> str:
    if session_id in store.damaged:
        return f"session {session_id} (damaged: {store.damaged[session_id]})"
    info = store.session(session_id)
    return (f"session {session_id}: {safe_text(info.protocol)}, started "
            f"{safe_text(info.started_at)}, {info.n_beats} beats ({info.status})")
