"""`hrvcoach scan` and `hrvcoach coach`: Bluetooth LE heart-rate straps from the command line.

Light at import, like cli.py: bleak, numpy and Qt load only inside the command that runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from hrvcoach.core.errors import DeviceError, InputError
from hrvcoach.views.cli.arg_types import positive_seconds
from hrvcoach.views.cli.coach import add_coach_options, run_coach, wants_lsl

if TYPE_CHECKING:
    from hrvcoach.sources.ble.scan import FoundStrap

PICK_SCAN_S = 5.0  # at most this long `coach` without --device scans for the only strap in range


def add_commands(commands: Any) -> None:
    """Add `scan` and `coach` to the `hrvcoach` subcommands."""
    scan = commands.add_parser(
        "scan", help="list the Bluetooth LE heart-rate straps in range",
        description="Listen for Bluetooth LE heart-rate straps (those advertising the Heart Rate "
        "Service 0x180D, or named like a known strap) and list name, address, signal strength "
        "and the matching strap profile, strongest signal first.")
    scan.add_argument("--timeout", type=positive_seconds, default=5.0, metavar="SECONDS",
                      help="how long to listen (default 5)")
    scan.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    scan.set_defaults(run=_run_scan)

    coach = commands.add_parser(
        "coach", help="coach session on your Bluetooth LE heart-rate strap",
        description="Run a coach session on a Bluetooth LE heart-rate strap. Lost links are "
        "reconnected by themselves; the beat after a gap is marked. Use --speed only with a "
        "simulated strap (python -m fakebluez --speed X), never with a real one.")
    coach.add_argument("--device", metavar="NAME_OR_ADDRESS",
                       help="the strap: its address, its name or a unique part of it (see "
                       "'hrvcoach scan'). Without it: a picker in the window; headless, the only "
                       "strap in range")
    add_coach_options(coach)
    coach.add_argument("--scan-timeout", type=positive_seconds, default=20.0, metavar="SECONDS",
                       help="how long to look for the strap at the start (default 20; without "
                       f"--device, headless, at most {PICK_SCAN_S:g})")
    coach.add_argument("--raw", choices=("on", "off"), default="on",
                       help="the strap's raw ECG and accelerometer (Polar H10): the measured "
                       "breath, movement and the ECG, started by themselves when the strap "
                       "offers them (default on); off: heart rate and RR only")
    coach.add_argument("--give-up-after", type=positive_seconds, default=300.0, metavar="SECONDS",
                       help="end the session when a lost strap stays away this long (default 300)")
    coach.set_defaults(run=_run_coach)


def _scan(timeout_s: float) -> list[FoundStrap]:
    import asyncio

    from hrvcoach.sources.ble.scan import scan

    return asyncio.run(scan(timeout_s))


def strap_table(straps: list[FoundStrap]) -> str:
    """The straps as an aligned text table (name, address, signal, profile)."""
    rows = [("NAME", "ADDRESS", "SIGNAL", "PROFILE")] + [
        (strap.name or "(no name)", strap.address,
         f"{strap.rssi_dbm} dBm" if strap.rssi_dbm is not None else "?",
         strap.profile.name + ("" if strap.advertises_heart_rate else " (by name)"))
        for strap in straps
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return "\n".join(f"{name:<{widths[0]}}  {address:<{widths[1]}}  {signal:>{widths[2]}}  {profile}"
                     for name, address, signal, profile in rows)


def _run_scan(args: argparse.Namespace) -> int:
    straps = _scan(args.timeout)
    if args.json:
        print(json.dumps([strap.as_dict() for strap in straps], indent=2))
        return 0
    if not straps:
        print(f"no heart-rate strap found in {args.timeout:g} s (straps sleep when off the skin: "
              "moisten the electrodes and put it on)")
        return 0
    print(strap_table(straps))
    best = straps[0]
    print(f"\ncoach with:  hrvcoach coach --device \"{best.name or best.address}\"")
    return 0


def _choose_device(args: argparse.Namespace) -> str:
    """--device was not given: the window's picker, or headless the only strap in range."""
    from hrvcoach.app.paths import has_display

    if not args.headless and args.screenshot is None and has_display():
        from hrvcoach.views.qt.device_picker import pick_device

        chosen = pick_device(theme=args.theme)
        if chosen is None:
            raise InputError("--device", "no strap chosen")
        return chosen
    scan_s = min(args.scan_timeout, PICK_SCAN_S)
    straps = _scan(scan_s)
    if not straps:
        raise DeviceError(f"no heart-rate strap found in {scan_s:g} s: put it on (straps "
                          "sleep off the skin), or name it with --device")
    if len(straps) > 1:
        listed = "; ".join(f"{strap.name or '(no name)'} ({strap.address})" for strap in straps)
        raise InputError("--device", f"{len(straps)} straps in range, choose one: {listed}")
    print(f"using the only strap in range: {straps[0].name or ''} ({straps[0].address})",
          file=sys.stderr)
    return straps[0].address


def strap_address(device: str, timeout_s: float) -> str:
    """The address of the strap NAME_OR_ADDRESS names (found by a scan): LSL streams carry it as
    their source_id from the first sample on, so receivers find them again after a restart."""
    import asyncio

    from hrvcoach.sources.ble.scan import advertised_name, find_strap

    found = asyncio.run(find_strap(device, timeout_s))
    if found is None:
        raise DeviceError(f"no strap matching {device!r} found in {timeout_s:g} s. Is it worn "
                          "(straps sleep off the skin) and in range? 'hrvcoach scan' lists them")
    strap, adv = found
    if strap.address.casefold() != device.strip().casefold():
        print(f"using {advertised_name(strap, adv) or 'the strap'} ({strap.address})",
              file=sys.stderr)
    return str(strap.address)


def _run_coach(args: argparse.Namespace) -> int:
    from hrvcoach.sources.factory import BleSpec

    device = args.device if args.device is not None else _choose_device(args)
    if not device.strip():
        raise InputError("--device", "must name a strap (its name or address)")
    if wants_lsl(args):
        device = strap_address(device, args.scan_timeout)
    if args.speed != 1.0:
        print(f"hrvcoach: --speed {args.speed:g}: the session clock runs {args.speed:g}x real "
              "time; only a simulated strap (fakebluez --speed) keeps up", file=sys.stderr)
    return run_coach(args, BleSpec(device, scan_timeout_s=args.scan_timeout,
                                   give_up_after_s=args.give_up_after, raw=args.raw == "on"))
