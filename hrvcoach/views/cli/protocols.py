"""`hrvcoach protocols [list|show|check]` and `hrvcoach profile`: protocol files and the profile."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hrvcoach.views.text import clock_text


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    protocols = commands.add_parser("protocols", help="list, show or check session protocols",
                                    description="Built-in protocols, or your own TOML file.")
    protocols.add_argument("--json", action="store_true", help="machine-readable output")
    protocols.set_defaults(run=_run_list)
    actions = protocols.add_subparsers(dest="action", metavar="ACTION")
    show = actions.add_parser("show", help="print a protocol's phases")
    show.add_argument("protocol", metavar="NAME_OR_FILE")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(run=_run_show)
    check = actions.add_parser("check", help="validate a protocol file (exit 2 with the error)")
    check.add_argument("file", type=Path)
    check.set_defaults(run=_run_check)

    profile = commands.add_parser("profile", help="your stored resonance rate and its evidence")
    profile.add_argument("--json", action="store_true", help="machine-readable output")
    profile.add_argument("--plot", type=Path, metavar="FILE.png",
                         help="also draw the assessment's scores against breathing rate")
    profile.set_defaults(run=_run_profile)


def _phase_json(phase: Any) -> dict[str, Any]:
    return {
        "name": phase.name, "kind": phase.kind, "duration_s": phase.duration_s,
        "breaths_per_min": phase.breaths_per_min, "ramp_to_breaths_per_min": phase.ramp_to_per_min,
        "at_resonance": phase.at_resonance, "compare": phase.compare,
        "breath": {"inhale": phase.breath.inhale, "hold_in": phase.breath.hold_in,
                   "exhale": phase.breath.exhale, "hold_out": phase.breath.hold_out},
        "guidance": phase.guidance,
    }


def _protocol_json(protocol: Any) -> dict[str, Any]:
    return {"name": protocol.name, "description": protocol.description,
            "duration_s": protocol.duration_s, "file": protocol.source,
            "phases": [_phase_json(phase) for phase in protocol.phases]}


def _run_list(args: argparse.Namespace) -> int:
    from hrvcoach.protocols.protocol import list_protocols

    protocols = list_protocols()
    if args.json:
        print(json.dumps([_protocol_json(protocol) for protocol in protocols], indent=2))
        return 0
    for protocol in protocols:
        phases = " → ".join(phase.name for phase in protocol.phases)
        print(f"{protocol.name:<22} {clock_text(protocol.duration_s):>6}  {phases}")
    return 0


def _print_protocol(protocol: Any) -> None:
    print(f"{protocol.name}: {protocol.description}")
    print(f"total {clock_text(protocol.duration_s)}  ({protocol.source})")
    start_s = 0.0
    for index, phase in enumerate(protocol.phases, start=1):
        compare = f", counts as {phase.compare}" if phase.compare else ""
        print(f"{index:>2}. {clock_text(start_s)}–{clock_text(start_s + phase.duration_s)}  "
              f"{phase.name} [{phase.kind}{compare}]: {phase.pacing_text()}")
        if phase.guidance:
            print(f"      {phase.guidance}")
        start_s += phase.duration_s


def _run_show(args: argparse.Namespace) -> int:
    from hrvcoach.app.paths import data_dir
    from hrvcoach.history.profile import load_profile
    from hrvcoach.protocols.protocol import load_protocol

    resonance = load_profile(data_dir(args.data_dir)).resonance_breaths_per_min
    protocol = load_protocol(args.protocol, resonance_per_min=resonance)
    if args.json:
        print(json.dumps(_protocol_json(protocol), indent=2))
    else:
        _print_protocol(protocol)
    return 0


def _run_check(args: argparse.Namespace) -> int:
    from hrvcoach.protocols.protocol import load_protocol_file

    protocol = load_protocol_file(args.file)
    print(f"{args.file}: ok — {protocol.name}, {len(protocol.phases)} phases, "
          f"{clock_text(protocol.duration_s)}")
    return 0


def _run_profile(args: argparse.Namespace) -> int:
    from hrvcoach.app.paths import data_dir
    from hrvcoach.history.profile import load_profile

    profile = load_profile(data_dir(args.data_dir))
    if args.plot is not None:
        from hrvcoach.views.report import plot_resonance

        plot_resonance(profile, args.plot)
    if args.json:
        print(json.dumps(profile.to_json(), indent=2))
        return 0
    if args.plot is not None:
        print(f"plot saved: {args.plot}")
    if profile.resonance_breaths_per_min is None:
        print("No resonance rate assessed yet: `hrvcoach coach --protocol resonance-assessment` "
              "finds yours with your strap (a demo shows how it works but never sets your "
              "rate). Protocols that say \"resonance\" use 6 breaths/min until then.")
        return 0
    print(f"resonance rate: {profile.resonance_breaths_per_min:g} breaths/min "
          f"(assessed {profile.assessed_at}, session {profile.session})")
    print_scores(profile.scores, sys.stdout)
    return 0


def print_scores(scores: list[Any], out: Any) -> None:
    """The assessment's table; with a strap's accelerometer, whether each block was followed."""
    body = any(score.pacer_followed is not None for score in scores)
    extra_head = f" {'followed':>9} {'heart-breath':>13}" if body else ""
    extra_unit = f" {'% breaths':>9} {'phase °':>13}" if body else ""
    print(f"{'rate/min':>9} {'p2t bpm':>8} {'LF peak':>10} {'power@rate':>11} {'coherence':>10}"
          f" {'score':>6}{extra_head}", file=out)
    print(f"{'':>9} {'mean':>8} {'ms²/Hz':>10} {'ms²':>11} {'ratio':>10} {'0–1':>6}{extra_unit}",
          file=out)
    best = max((score.resonance_score for score in scores if score.pacer_followed is not False),
               default=None)
    for score in scores:
        mark = "  ← best" if score.resonance_score == best and score.pacer_followed is not False else ""
        if score.pacer_followed is False:
            mark = "  not followed: not trusted"
        extra = ""
        if body:
            adherence = score.pacer_adherence
            extra = (f" {_maybe(None if adherence is None else adherence * 100):>9} "
                     f"{_maybe(score.heart_breath_phase_deg):>13}")
        print(f"{score.breaths_per_min:>9.2f} {score.p2t_bpm:>8.1f} {score.lf_peak_ms2_per_hz:>10.0f} "
              f"{score.breathing_power_ms2:>11.0f} {score.coherence_ratio:>10.2f} "
              f"{score.resonance_score:>6.2f}{extra}{mark}",
              file=out)


def _maybe(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "—"
