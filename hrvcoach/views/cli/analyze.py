"""`hrvcoach analyze PATH...`: HRV analysis of recordings (files, folders, globs), in parallel on
every core or on a Dask cluster, as readable reports, the JSON report, or one result table.

Kept light: the batch runs the analysis in its workers; numpy, scipy and rich load only when
needed (rich: the progress bar on a terminal).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from hrvcoach.views.cli.arg_types import positive_int, window_seconds
from hrvcoach.views.cli.exit_codes import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from hrvcoach.views.text import clock_text

if TYPE_CHECKING:
    from hrvcoach.analysis.artifacts import Artifact
    from hrvcoach.analysis.batch import Analysis
    from hrvcoach.analysis.quality import Quality
    from hrvcoach.app.batch import BatchSettings, Outcome
    from hrvcoach.files.result_tables import TableFormat

ARTIFACTS_LISTED = 8  # the text report names this many artifact events
FORMATS = ("json", "csv", "parquet")  # result tables (files.result_tables.TABLE_FORMATS)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    analyze = commands.add_parser(
        "analyze", help="HRV analysis of recordings: files, folders, globs; every core or a Dask "
        "cluster; reports, JSON or one result table",
        description="Analyse RR recordings: artifact detection and correction (Lipponen & "
        "Tarvainen), time domain, frequency domain in ms² (4 Hz cubic resampling, Welch "
        "aligned to the window's end), breathing rate from the RSA peak (HF flagged not valid "
        "unless the breathing peak lies wholly inside the HF band for the window's length), "
        "coherence, and a rhythm-quality verdict (irregular rhythm, too many corrections or "
        "input that is not RR intervals: HRV not valid, with the reasons). Reads RR text (one RR "
        "per line, ms or s), CSV with an RR column, Kubios RR or results text, Polar HRM, WFDB "
        "records (RECORD.hea with a beat annotation file) and EDF+/BDF files with an ECG "
        "channel (R-peaks by neurokit2). "
        "Recordings are analysed in parallel, one task each; a recording that fails gets an "
        "error row and the others go on (exit status 1).")
    analyze.add_argument("paths", nargs="+", metavar="PATH",
                         help="recordings: files, folders (searched recursively) or globs")
    out = analyze.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true",
                     help="the full JSON report of each recording (a list for several)")
    out.add_argument("--format", choices=FORMATS, dest="table_format",
                     help="one result table: a row per recording (and per window with "
                     "--window); default from -o's extension")
    analyze.add_argument("-o", "--output", type=Path, metavar="FILE",
                         help="write the table (or --json report) to FILE instead of the screen")
    analyze.add_argument("--jobs", type=positive_int, metavar="N",
                         help="processes on this machine (default: one per core)")
    analyze.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                         help="run on this Dask cluster instead (pip install 'hrvcoach[cluster]')")
    analyze.add_argument("--max-memory", type=positive_int, metavar="MB",
                         help="address space each local job may use (default: an equal share "
                         "of the memory, at least 4096); a recording that needs more gets an "
                         "error row")
    analyze.add_argument("--no-correct", action="store_true",
                         help="report artifacts but compute the markers on the RR as recorded")
    analyze.add_argument("--window", type=window_seconds, metavar="SECONDS",
                         help="also analyse consecutive windows of this length (e.g. 300)")
    analyze.add_argument("--units", choices=("ms", "s"), help="RR units (default: detected)")
    analyze.add_argument("--column", metavar="NAME", help="the RR column of a CSV with a header")
    analyze.add_argument("--nn-only", action="store_true",
                         help="WFDB: only intervals between two normal (N) beats, as "
                         "annotated; implies --no-correct (the labels replace the detector)")
    analyze.add_argument("--annotator", metavar="EXT",
                         help="WFDB: the beat annotation file's extension (default: atr, ecg "
                         "or qrs, the first present)")
    analyze.add_argument("--ecg-channel", metavar="LABEL",
                         help="EDF+/BDF: the ECG channel (default: the first labelled ECG or EKG)")
    analyze.set_defaults(run=_run_analyze)


def _settings(args: argparse.Namespace) -> BatchSettings:
    from hrvcoach.app.batch import BatchSettings
    from hrvcoach.files.recordings import ReadOptions

    read = ReadOptions(units=args.units, column=args.column, nn_only=args.nn_only,
                       annotator=args.annotator, ecg_channel=args.ecg_channel)
    # with beat labels the annotations, not the detector, say which intervals are normal
    correct = not (args.no_correct or args.nn_only)
    return BatchSettings(correct=correct, window_s=args.window, read=read)


def _table_format(args: argparse.Namespace) -> TableFormat | None:
    """The result table asked for (None: text reports or --json)."""
    from hrvcoach.core.errors import InputError
    from hrvcoach.files.result_tables import table_format_of

    found = args.table_format
    if found is None and not args.json and args.output is not None:
        found = table_format_of(args.output)
        if found is None:
            raise InputError("-o", f"{args.output}: name it .csv, .json or .parquet, or give --format")
    if found == "parquet" and args.output is None:
        raise InputError("--format parquet", "writes a file: name it with -o FILE.parquet")
    return found  # type: ignore[no-any-return]


def _exit_status(outcomes: Sequence[Outcome]) -> int:
    """0; 1 when any recording failed; 2 when none could be read (bad input only)."""
    failed = [outcome for outcome in outcomes if not outcome.ok]
    if not failed:
        return EXIT_OK
    if len(failed) == len(outcomes) and all(outcome.bad_input for outcome in failed):
        return EXIT_USAGE
    return EXIT_FAILURE


def _run_analyze(args: argparse.Namespace) -> int:
    from hrvcoach.app.batch import find_recordings, run_batch
    from hrvcoach.views.cli.progress import BatchProgress

    table_format = _table_format(args)
    settings = _settings(args)
    files = find_recordings(args.paths)
    if args.output is not None:
        files = _without_output(files, args)
    text = table_format is None and not args.json
    outcomes: dict[int, Outcome] = {}
    show = _in_order(lambda outcome: _write_text(sys.stdout if text else None, sys.stderr, outcome))

    with BatchProgress(len(files), sys.stderr) as progress:
        def done(index: int, outcome: Outcome) -> None:
            progress.done(outcome)
            show(index, outcome)
            outcomes[index] = replace(outcome, analysis=None)  # the report is printed: not kept

        run_batch(files, settings, on_done=done, jobs=args.jobs, scheduler=args.scheduler,
                  memory_limit_mb=args.max_memory, keep_analysis=text)
    ordered = [outcomes[index] for index in range(len(files))]
    if args.json:
        _write_json_reports(ordered, args.output)
    elif table_format is not None:
        _write_table(ordered, settings, table_format, args.output)
    return _exit_status(ordered)


def _without_output(files: list[str], args: argparse.Namespace) -> list[str]:
    """The recordings without -o's file: refused when named as a recording, left out when a
    folder holds it (an earlier run's table); never over the store."""
    from hrvcoach.app.paths import data_dir
    from hrvcoach.views.cli.outputs import check_output, same_path

    check_output(args.output, reading=[Path(p) for p in args.paths],
                 home=data_dir(args.data_dir))
    return [file for file in files if not same_path(Path(file), args.output)]


def _in_order(handle: Callable[[Outcome], None]) -> Callable[[int, Outcome], None]:
    """on_done for outcomes that arrive in any order: handles them in the order of the files."""
    waiting: dict[int, Outcome] = {}
    following = 0

    def arrived(index: int, outcome: Outcome) -> None:
        nonlocal following
        waiting[index] = outcome
        while following in waiting:
            handle(waiting.pop(following))
            following += 1

    return arrived


def _write_text(out: TextIO | None, err: TextIO, outcome: Outcome) -> None:
    """A failure's one line on `err` (whatever the output); the readable report on `out`."""
    if outcome.error is not None:
        err.write(f"hrvcoach: error: {outcome.error}\n")
    elif out is not None and outcome.analysis is not None:
        write_report(out, f"{outcome.file}  ({outcome.origin})", outcome.analysis)


def _write_json_reports(outcomes: Sequence[Outcome], path: Path | None) -> None:
    from hrvcoach.files.result_tables import write_result_table

    reports = [outcome.report if outcome.report is not None
               else {"file": outcome.file, "error": outcome.error} for outcome in outcomes]
    payload: Any = reports[0] if len(reports) == 1 else reports
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    if path is None:
        sys.stdout.write(text)
    else:
        write_result_table(path, text.encode("utf-8"))


def _write_table(outcomes: Sequence[Outcome], settings: BatchSettings,
                 table_format: TableFormat, path: Path | None) -> None:
    from hrvcoach.app.batch import provenance, table_columns, table_rows
    from hrvcoach.files.result_tables import encode_result_table, write_result_table

    rows = table_rows(outcomes, settings)
    data = encode_result_table(rows, table_columns(rows), table_format,
                               metadata=provenance(settings))
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_result_table(path, data)


# -- text ----------------------------------------------------------------------------------


def _artifact_events(artifacts: Sequence[Artifact]) -> list[list[Artifact]]:
    """Flagged intervals grouped into events: neighbours that one correction fixed together."""
    events: list[list[Artifact]] = []
    for artifact in artifacts:
        last = events[-1][-1] if events else None
        if last is not None and artifact.index == last.index + 1 \
                and artifact.correction == last.correction:
            events[-1].append(artifact)
        else:
            events.append([artifact])
    return events


def _event_line(event: list[Artifact]) -> str:
    kinds = ", ".join(dict.fromkeys(a.kind.replace("_", "/") for a in event))
    where = (f"interval {event[0].index}" if len(event) == 1
             else f"intervals {event[0].index}-{event[-1].index}")
    return f"    {where}: {kinds} - {event[0].correction}"


def _fmt(value: float, digits: int = 1, unit: str = "") -> str:
    if not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}{(' ' + unit) if unit else ''}"


def _quality_lines(quality: Quality) -> list[str]:
    """The gate's verdict: one line when valid, the reasons one per line when not."""
    corrected = _fmt(quality.corrected_pct, 1, "%")
    if quality.valid:
        return [f"  quality    HRV valid (corrected beats {corrected})"]
    return ["  quality    HRV NOT VALID: the numbers below do not measure vagal tone "
            f"(corrected beats {corrected})",
            *(f"             {reason}" for reason in quality.reasons)]


def write_report(out: TextIO, title: str, analysis: Analysis) -> None:
    """The readable report of one file."""
    whole = analysis.whole
    m = whole.markers
    t, f, b, c = m.time, m.frequency, m.breathing, m.coherence
    counts = dict.fromkeys(("ectopic", "missed", "extra", "long_short"), 0)
    for artifact in whole.artifacts:
        counts[artifact.kind] += 1
    done = "corrected" if analysis.corrected else "found, not corrected (--no-correct)"
    lines = [
        title,
        f"  {analysis.n_beats} beats, {clock_text(analysis.duration_s)}; "
        f"{len(whole.artifacts)} artifacts {done}: ectopic {counts['ectopic']}, "
        f"missed {counts['missed']}, extra {counts['extra']}, long/short {counts['long_short']}",
        f"  time       mean RR {_fmt(t.mean_rr_ms, 1, 'ms')}   mean HR {_fmt(t.mean_hr_bpm, 1, 'bpm')}"
        f"   SDNN {_fmt(t.sdnn_ms, 1, 'ms')}   RMSSD {_fmt(t.rmssd_ms, 1, 'ms')}"
        f" (ln {_fmt(t.ln_rmssd, 2)})   pNN50 {_fmt(t.pnn50_pct, 1, '%')}",
        f"             SD1 {_fmt(t.sd1_ms, 1, 'ms')}   SD2 {_fmt(t.sd2_ms, 1, 'ms')}"
        f"   stress index {_fmt(t.stress_index, 1)}",
        f"  frequency  VLF {_fmt(f.vlf_ms2, 0, 'ms²')}   LF {_fmt(f.lf_ms2, 0, 'ms²')}"
        f" (peak {_fmt(f.lf_peak_hz, 3, 'Hz')})   HF {_fmt(f.hf_ms2, 0, 'ms²')}"
        f" (peak {_fmt(f.hf_peak_hz, 3, 'Hz')})   LF/HF {_fmt(f.lf_hf, 2)}"
        f"   total {_fmt(f.total_ms2, 0, 'ms²')}",
        f"  breathing  {_fmt(b.breaths_per_min, 1, 'breaths/min')}"
        f"{' (pacer)' if b.paced else ' (RSA peak)'}   power at it {_fmt(b.breathing_power_ms2, 0, 'ms²')}"
        f"   peak-to-trough {_fmt(b.p2t_ms, 0, 'ms')} / {_fmt(b.p2t_bpm, 1, 'bpm')}",
    ]
    events = _artifact_events(whole.artifacts)
    listed = [_event_line(event) for event in events[:ARTIFACTS_LISTED]]
    if len(events) > ARTIFACTS_LISTED:
        rest = sum(len(event) for event in events[ARTIFACTS_LISTED:])
        listed.append(f"    ... and {rest} more flagged intervals (--json lists every index)")
    lines[2:2] = [*listed, *_quality_lines(whole.quality)]
    if not b.hf_valid:
        lines.append(f"             HF NOT VALID: breathing at {_fmt(b.breaths_per_min, 1)}/min: "
                     "the breathing peak does not lie wholly inside the HF band (0.15-0.4 Hz) "
                     "for this window's length, so HF and LF/HF do not show vagal activity here; "
                     "see the power at the breathing rate and the peak-to-trough swing")
    s = m.coherence_summary
    lines.append(f"  coherence  ratio {_fmt(c.coherence_ratio, 2)} (median of 64-s blocks) at "
                 f"{_fmt(c.coherence_peak_hz, 3, 'Hz')}   time low/medium/high "
                 f"{_fmt(s.low_coherence_pct, 0)}/{_fmt(s.medium_coherence_pct, 0)}/"
                 f"{_fmt(s.high_coherence_pct, 0)} %   hrvcoach score {_fmt(c.coherence_score, 0)}/100")
    if analysis.windows:
        lines.append("")
        lines.append(f"  {'window':>15} {'beats':>6} {'HR':>6} {'RMSSD':>7} {'LF':>8} {'HF':>8}"
                     f" {'LF/HF':>6} {'HF ok':>5} {'br/min':>6} {'coher.':>7} {'artif.':>6}"
                     f" {'HRV ok':>6}")
        for w in analysis.windows:
            wm = w.markers
            span = f"{clock_text(w.start_s)}-{clock_text(w.end_s)}"
            lines.append(
                f"  {span:>15} {w.n_beats:>6} {_fmt(wm.time.mean_hr_bpm, 1):>6}"
                f" {_fmt(wm.time.rmssd_ms, 1):>7} {_fmt(wm.frequency.lf_ms2, 0):>8}"
                f" {_fmt(wm.frequency.hf_ms2, 0):>8} {_fmt(wm.frequency.lf_hf, 2):>6}"
                f" {'yes' if wm.breathing.hf_valid else 'NO':>5}"
                f" {_fmt(wm.breathing.breaths_per_min, 1):>6} {_fmt(wm.coherence.coherence_ratio, 2):>7}"
                f" {len(w.artifacts):>6} {'yes' if w.quality.valid else 'NO':>6}")
        lines.append("  (HR bpm, RMSSD ms, LF/HF ms²; HF ok: the breathing peak lies inside HF; "
                     "HRV ok: the rhythm-quality gate)")
        for w in analysis.windows:
            if not w.quality.valid:
                span = f"{clock_text(w.start_s)}-{clock_text(w.end_s)}"
                lines.append(f"  {span}: HRV NOT VALID: {'; '.join(w.quality.reasons)}")
    out.write("\n".join(lines) + "\n\n")
