"""Strap profiles: devices/*.toml -> frozen DeviceProfile records.

A profile only adds knowledge about a strap (its name pattern, what it senses, its quirks). Any
strap offering the standard Heart Rate Service (0x180D) is accepted: an unknown one gets the
`generic` profile. A bad profile file raises InputError naming the file and the field.

    name = "polar-h10"                       # defaults to the file name
    description = "Polar H10 chest strap"
    name_patterns = ["Polar H10 *"]          # shell-style, case-insensitive, on the advertised name
    service_uuids = ["180d"]                 # 16-bit or 128-bit; what the strap offers
    manufacturer_ids = [0x006B]              # Bluetooth SIG company identifiers (optional)
    sensor = "ecg"                           # "ecg", "optical" or "unknown"
    notes = "..."                            # shown to the user (optional)

    [quirks]                                 # all optional
    drop_first_rr_after_connect = false      # the first RR after (re)connecting is stale
    rr_intervals = "yes"                     # "yes", "no" or "unknown": RR in the standard service
    pmd_ecg = false                          # raw ECG over Polar's PMD service (not used yet)
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from hrvcoach.core.errors import InputError
from hrvcoach.protocols.bundled import bundled_dir
from hrvcoach.protocols.fields import (
    MAX_TEXT_CHARS,
    flag,
    read_toml,
    reject_unknown,
    shown,
    text,
    texts,
)

__all__ = [
    "GENERIC_PROFILE_NAME",
    "HEART_RATE_SERVICE_UUID",
    "DeviceProfile",
    "Quirks",
    "bundled_device_dir",
    "list_device_profiles",
    "load_device_profile_file",
    "match_profile",
    "normalize_uuid",
]

Sensor = Literal["ecg", "optical", "unknown"]
RrIntervals = Literal["yes", "no", "unknown"]
SENSORS: Final[tuple[Sensor, ...]] = ("ecg", "optical", "unknown")
RR_INTERVALS: Final[tuple[RrIntervals, ...]] = ("yes", "no", "unknown")
GENERIC_PROFILE_NAME: Final = "generic"
HEART_RATE_SERVICE_UUID: Final = "0000180d-0000-1000-8000-00805f9b34fb"
_BASE_UUID_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"
_UUID_128: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PROFILE_FIELDS: Final = {"name", "description", "name_patterns", "service_uuids",
                          "manufacturer_ids", "sensor", "notes", "quirks"}
_QUIRK_FIELDS: Final = {"drop_first_rr_after_connect", "rr_intervals", "pmd_ecg"}


@dataclass(frozen=True, slots=True)
class Quirks:
    """What a strap does differently from the plain Heart Rate Service."""

    drop_first_rr_after_connect: bool = False  # its first RR after (re)connecting is stale
    rr_intervals: RrIntervals = "yes"  # whether its standard 0x2A37 packets carry RR intervals
    pmd_ecg: bool = False  # offers raw ECG over Polar's PMD service (not used by hrvcoach yet)


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """What hrvcoach knows about one kind of strap."""

    name: str
    description: str
    name_patterns: tuple[str, ...]  # shell-style patterns on the advertised name, any case
    service_uuids: tuple[str, ...]  # 128-bit, lower case
    manufacturer_ids: tuple[int, ...] = ()
    sensor: Sensor = "unknown"
    quirks: Quirks = field(default_factory=Quirks)
    notes: str = ""
    source: str = ""  # the file it came from, for messages

    @property
    def is_generic(self) -> bool:
        return not self.name_patterns

    def match_length(self, device_name: str | None) -> int:
        """Length of the longest pattern matching `device_name` (0: no match)."""
        if not device_name:
            return 0
        name = device_name.casefold()
        return max((len(pattern) for pattern in self.name_patterns
                    if fnmatch.fnmatchcase(name, pattern.casefold())), default=0)


def bundled_device_dir() -> Path:
    return bundled_dir("devices")


def list_device_profiles() -> list[DeviceProfile]:
    """Every built-in profile, sorted by name."""
    profiles = [load_device_profile_file(path) for path in bundled_device_dir().glob("*.toml")]
    return sorted(profiles, key=lambda profile: profile.name)


def match_profile(device_name: str | None,
                  profiles: list[DeviceProfile] | None = None) -> DeviceProfile:
    """The profile whose name pattern matches best (the longest pattern), else the generic one."""
    candidates = list_device_profiles() if profiles is None else profiles
    best = max(candidates, key=lambda profile: profile.match_length(device_name), default=None)
    if best is not None and best.match_length(device_name) > 0:
        return best
    generic = next((profile for profile in candidates if profile.is_generic), None)
    if generic is None:
        return DeviceProfile(GENERIC_PROFILE_NAME, "Any Bluetooth LE heart-rate strap", (),
                             (HEART_RATE_SERVICE_UUID,))
    return generic


def normalize_uuid(text: str) -> str:
    """A 16-bit ("180d", "0x180D") or 128-bit UUID as 128-bit lower case; ValueError if neither."""
    value = text.strip().lower().removeprefix("0x")
    if re.fullmatch(r"[0-9a-f]{4}", value):
        return f"0000{value}{_BASE_UUID_SUFFIX}"
    if _UUID_128.match(value):
        return value
    raise ValueError(text)


def load_device_profile_file(path: Path) -> DeviceProfile:
    """Read and validate one profile file; every error names the file and the field."""
    data = read_toml(path, "device profile")
    where = str(path)
    reject_unknown(data, _PROFILE_FIELDS, where)
    name = text(data, "name", where, default=path.stem)
    if not name.strip():
        raise InputError(f"{where}: name", "must not be empty")
    patterns = texts(data, "name_patterns", where)
    if any(not pattern.strip() for pattern in patterns):
        raise InputError(f"{where}: name_patterns", "patterns must not be empty")
    uuids = texts(data, "service_uuids", where)
    if not uuids:
        raise InputError(f"{where}: service_uuids", "list at least the Heart Rate Service, \"180d\"")
    normalized = []
    for index, uuid_text in enumerate(uuids):
        try:
            normalized.append(normalize_uuid(uuid_text))
        except ValueError:
            raise InputError(f"{where}: service_uuids[{index}]",
                             f"not a 16-bit or 128-bit UUID: {shown(uuid_text)}") from None
    ids = data.get("manufacturer_ids", [])
    if not isinstance(ids, list) or any(
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF
            for value in ids):
        raise InputError(f"{where}: manufacturer_ids",
                         f"must be a list of company identifiers 0..0xFFFF, got {shown(ids)}")
    sensor = data.get("sensor", "unknown")
    if sensor not in SENSORS:
        raise InputError(f"{where}: sensor", f"must be one of {', '.join(SENSORS)}, got {shown(sensor)}")
    return DeviceProfile(
        name=name,
        description=text(data, "description", where, default="", max_chars=MAX_TEXT_CHARS),
        name_patterns=tuple(patterns),
        service_uuids=tuple(normalized),
        manufacturer_ids=tuple(ids),
        sensor=sensor,
        quirks=_quirks(data.get("quirks", {}), f"{where}: quirks"),
        notes=text(data, "notes", where, default="", max_chars=MAX_TEXT_CHARS),
        source=where,
    )


def _quirks(table: Any, where: str) -> Quirks:
    if not isinstance(table, dict):
        raise InputError(where, "must be a table ([quirks])")
    reject_unknown(table, _QUIRK_FIELDS, where)
    rr_intervals = table.get("rr_intervals", "yes")
    if rr_intervals not in RR_INTERVALS:
        raise InputError(f"{where}.rr_intervals",
                         f"must be one of {', '.join(RR_INTERVALS)}, got {shown(rr_intervals)}")
    return Quirks(
        drop_first_rr_after_connect=flag(table, "drop_first_rr_after_connect", where),
        rr_intervals=rr_intervals,
        pmd_ecg=flag(table, "pmd_ecg", where),
    )
