"""`hrvcoach analyze FILE...`: HRV analysis of RR recordings as a readable table or JSON.

Kept light: numpy and the analysis core load inside the command, not when the CLI starts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from hrvcoach.views.cli.arg_types import window_seconds
from hrvcoach.views.text import clock_text

if TYPE_CHECKING:
    from hrvcoach.analysis.artifacts import Artifact
    from hrvcoach.analysis.batch import Analysis, WindowAnalysis
    from hrvcoach.analysis.quality import Quality
    from hrvcoach.files.rr_files import RRRecording

PROGRESS_MIN_STEPS = 24  # show a progress bar for at least this many windows (on a terminal)
ARTIFACTS_LISTED = 8  # the text report names this many artifact events


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    analyze = commands.add_parser(
        "analyze", help="HRV analysis of RR recordings (artifacts, time, frequency, breathing)",
        description="Analyse RR recordings: artifact detection and correction (Lipponen & "
        "Tarvainen), time domain, frequency domain in ms² (4 Hz cubic resampling, Welch "
        "aligned to the window's end), breathing rate from the RSA peak (HF flagged not valid "
        "unless the breathing peak lies wholly inside the HF band for the window's length), "
        "coherence, and a rhythm-quality verdict (irregular rhythm, too many corrections or "
        "input that is not RR intervals: HRV not valid, with the reasons). Files: one RR per "
        "line (ms or s), a CSV with an RR column, a Kubios RR or results text file, or a Polar "
        "HRM file.")
    analyze.add_argument("files", nargs="+", type=Path, metavar="FILE", help="RR recordings")
    analyze.add_argument("--json", action="store_true",
                         help="one JSON object per file (a list for several files)")
    analyze.add_argument("--no-correct", action="store_true",
                         help="report artifacts but compute the markers on the RR as recorded")
    analyze.add_argument("--window", type=window_seconds, metavar="SECONDS",
                         help="also analyse consecutive windows of this length (e.g. 300)")
    analyze.add_argument("--units", choices=("ms", "s"), help="RR units (default: detected)")
    analyze.add_argument("--column", metavar="NAME", help="the RR column of a CSV with a header")
    analyze.set_defaults(run=_run_analyze)


def _run_analyze(args: argparse.Namespace) -> int:
    from hrvcoach.analysis.batch import analyze
    from hrvcoach.files.rr_files import read_rr_file

    results: list[dict[str, Any]] = []
    for path in args.files:
        recording = read_rr_file(path, units=args.units, column=args.column,
                                 heartbeats=False)
        progress = _progress_bar(path.name, sys.stderr)
        analysis = analyze(recording.rr_ms, correct=not args.no_correct, window_s=args.window,
                           on_progress=progress, input_unit=recording.units_read)
        if args.json:
            results.append(analysis_json(str(path), analysis))
        else:
            write_table(sys.stdout, recording, analysis)
    if args.json:
        payload: Any = results[0] if len(results) == 1 else results
        json.dump(payload, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    return 0


def _progress_bar(name: str, out: TextIO) -> Callable[[int, int], None] | None:
    """A one-line progress bar on a terminal for long analyses; None elsewhere."""
    if not out.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < PROGRESS_MIN_STEPS:
            return
        width = 30
        filled = width * done // total
        out.write(f"\ranalysing {name} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            out.write("\r" + " " * (width + len(name) + 30) + "\r")
        out.flush()

    return show


# -- JSON ----------------------------------------------------------------------------------


def _number(value: float) -> float | None:
    """JSON has no NaN: a marker that could not be computed is null."""
    return float(value) if math.isfinite(value) else None


def _blocks(stretch: WindowAnalysis) -> dict[str, Any]:
    markers = stretch.markers
    time, frequency = markers.time, markers.frequency
    breathing, coherence, summary = markers.breathing, markers.coherence, markers.coherence_summary
    counts = dict.fromkeys(("ectopic", "missed", "extra", "long_short"), 0)
    for artifact in stretch.artifacts:
        counts[artifact.kind] += 1
    return {
        "quality": stretch.quality.as_json(),
        "artifacts": {"count": len(stretch.artifacts), **counts,
                      "indices": sorted(artifact.index for artifact in stretch.artifacts)},
        "time": {
            "mean_rr_ms": _number(time.mean_rr_ms),
            "mean_hr_bpm": _number(time.mean_hr_bpm),
            "sdnn_ms": _number(time.sdnn_ms),
            "rmssd_ms": _number(time.rmssd_ms),
            "ln_rmssd": _number(time.ln_rmssd),
            "pnn50_pct": _number(time.pnn50_pct),
            "sd1_ms": _number(time.sd1_ms),
            "sd2_ms": _number(time.sd2_ms),
            "stress_index": _number(time.stress_index),
        },
        "frequency": {
            "vlf_ms2": _number(frequency.vlf_ms2),
            "lf_ms2": _number(frequency.lf_ms2),
            "hf_ms2": _number(frequency.hf_ms2),
            "lf_hf": _number(frequency.lf_hf),
            "total_ms2": _number(frequency.total_ms2),
            "lf_peak_hz": _number(frequency.lf_peak_hz),
            "hf_peak_hz": _number(frequency.hf_peak_hz),
            "hf_valid": breathing.hf_valid,
        },
        "breathing": {
            "breaths_per_min": _number(breathing.breaths_per_min),
            "breathing_power_ms2": _number(breathing.breathing_power_ms2),
            "p2t_ms": _number(breathing.p2t_ms),
            "p2t_bpm": _number(breathing.p2t_bpm),
        },
        "coherence": {"coherence_ratio": _number(coherence.coherence_ratio),
                      "coherence_peak_hz": _number(coherence.coherence_peak_hz),
                      "coherence_score": _number(coherence.coherence_score),
                      "low_coherence_pct": _number(summary.low_coherence_pct),
                      "medium_coherence_pct": _number(summary.medium_coherence_pct),
                      "high_coherence_pct": _number(summary.high_coherence_pct)},
    }


def analysis_json(file: str, analysis: Analysis) -> dict[str, Any]:
    """The documented JSON object of one file (see README, "Command line")."""
    out: dict[str, Any] = {"file": file, "n_beats": analysis.n_beats,
                           "duration_s": analysis.duration_s, **_blocks(analysis.whole)}
    if analysis.windows:
        out["windows"] = [
            {"start_s": window.start_s, "end_s": window.end_s, "n_beats": window.n_beats,
             **_blocks(window)}
            for window in analysis.windows
        ]
    return out


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


def write_table(out: TextIO, recording: RRRecording, analysis: Analysis) -> None:
    """The readable report of one file."""
    whole = analysis.whole
    m = whole.markers
    t, f, b, c = m.time, m.frequency, m.breathing, m.coherence
    counts = dict.fromkeys(("ectopic", "missed", "extra", "long_short"), 0)
    for artifact in whole.artifacts:
        counts[artifact.kind] += 1
    done = "corrected" if analysis.corrected else "found, not corrected (--no-correct)"
    lines = [
        f"{recording.path}  (RR in {recording.units_read})",
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
