"""Session protocols: protocols/*.toml (or a user's own file) -> frozen Protocol and Phase records."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from hrvcoach.errors import InputError

PhaseKind = Literal["baseline", "paced", "recovery", "free"]
PHASE_KINDS: tuple[PhaseKind, ...] = ("baseline", "paced", "recovery", "free")
_PROTOCOL_FIELDS = {"name", "description", "phase"}
_PHASE_FIELDS = {
    "name", "kind", "minutes", "seconds", "breaths_per_min", "inhale_s", "exhale_s",
    "hold_in_s", "hold_out_s", "inhale_exhale_ratio", "guidance",
}


@dataclass(frozen=True, slots=True)
class Breath:
    """The shape of one paced breath as fractions of its period (they sum to 1)."""

    inhale: float = 0.4
    hold_in: float = 0.0
    exhale: float = 0.6
    hold_out: float = 0.0


@dataclass(frozen=True, slots=True)
class Phase:
    """One step of a protocol; `breaths_per_min` is None when breathing is spontaneous."""

    name: str
    kind: PhaseKind
    duration_s: float
    breaths_per_min: float | None = None
    breath: Breath = Breath()
    guidance: str = ""


@dataclass(frozen=True, slots=True)
class Protocol:
    """An ordered list of phases, read from one TOML file."""

    name: str
    description: str
    phases: tuple[Phase, ...]
    source: str = ""  # the file it came from, for messages

    @property
    def duration_s(self) -> float:
        return sum(phase.duration_s for phase in self.phases)

    def phase_at(self, t_s: float) -> tuple[int, Phase, float]:
        """Index, phase and phase start time at session time t (the last phase past the end)."""
        start_s = 0.0
        for index, phase in enumerate(self.phases):
            if t_s < start_s + phase.duration_s or index == len(self.phases) - 1:
                return index, phase, start_s
            start_s += phase.duration_s
        raise AssertionError("unreachable: a protocol has at least one phase")


def _bundled_dir(name: str) -> Path:
    """A data folder shipped in the wheel (hrvcoach/<name>) or at the top of a source checkout."""
    installed = Path(str(resources.files("hrvcoach"))) / name
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / name


def bundled_protocol_dir() -> Path:
    return _bundled_dir("protocols")


def list_protocols() -> list[Protocol]:
    """Every built-in protocol, sorted by name."""
    return sorted(
        (load_protocol_file(path) for path in bundled_protocol_dir().glob("*.toml")),
        key=lambda protocol: protocol.name,
    )


def load_protocol(name_or_path: str) -> Protocol:
    """A built-in protocol by name, or a protocol file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        return load_protocol_file(path)
    candidate = bundled_protocol_dir() / f"{name_or_path}.toml"
    if candidate.exists():
        return load_protocol_file(candidate)
    known = ", ".join(protocol.name for protocol in list_protocols())
    raise InputError("--protocol", f"unknown protocol {name_or_path!r} (built-in: {known})")


def load_protocol_file(path: Path) -> Protocol:
    """Read and validate one protocol file; every error names the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(path), "no such protocol file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), f"not valid TOML ({exc})") from None
    where = str(path)
    _reject_unknown(data, _PROTOCOL_FIELDS, where)
    name = _text(data, "name", where, default=path.stem)
    phases_data = data.get("phase")
    if not isinstance(phases_data, list) or not phases_data:
        raise InputError(f"{where}: phase", "a protocol needs at least one [[phase]] table")
    phases = tuple(
        _phase(table, f"{where}: phase[{index}]") for index, table in enumerate(phases_data)
    )
    return Protocol(name, _text(data, "description", where, default=""), phases, where)


def _phase(table: Any, where: str) -> Phase:
    if not isinstance(table, dict):
        raise InputError(where, "must be a table")
    _reject_unknown(table, _PHASE_FIELDS, where)
    kind = table.get("kind")
    if kind not in PHASE_KINDS:
        raise InputError(f"{where}.kind", f"must be one of {', '.join(PHASE_KINDS)}, got {kind!r}")
    name = _text(table, "name", where, default=kind)
    where = f"{where} ({name})"
    if ("minutes" in table) == ("seconds" in table):
        raise InputError(where, "give exactly one of minutes or seconds")
    duration_s = (
        _positive(table, "minutes", where) * 60.0
        if "minutes" in table
        else _positive(table, "seconds", where)
    )
    guidance = _text(table, "guidance", where, default="")
    if kind != "paced":
        paced_fields = sorted(set(table) & (_PHASE_FIELDS - {"name", "kind", "minutes",
                                                              "seconds", "guidance"}))
        if paced_fields:
            raise InputError(f"{where}.{paced_fields[0]}", f"only a paced phase has it ({kind})")
        return Phase(name, kind, duration_s, guidance=guidance)
    rate = _positive(table, "breaths_per_min", where)
    return Phase(name, kind, duration_s, rate, _breath(table, rate, where), guidance)


def _breath(table: dict[str, Any], rate: float, where: str) -> Breath:
    period_s = 60.0 / rate
    hold_in_s = _non_negative(table, "hold_in_s", where)
    hold_out_s = _non_negative(table, "hold_out_s", where)
    if "inhale_s" in table or "exhale_s" in table:
        inhale_s = _positive(table, "inhale_s", where)
        exhale_s = _positive(table, "exhale_s", where)
        total_s = inhale_s + exhale_s + hold_in_s + hold_out_s
        if not math.isclose(total_s, period_s, rel_tol=1e-3):
            raise InputError(
                f"{where}.inhale_s",
                f"inhale+holds+exhale = {total_s:g} s but {rate:g} breaths/min "
                f"is {period_s:g} s per breath",
            )
    else:
        ratio = _positive(table, "inhale_exhale_ratio", where) if (
            "inhale_exhale_ratio" in table) else 2 / 3
        breathing_s = period_s - hold_in_s - hold_out_s
        if breathing_s <= 0:
            raise InputError(f"{where}.hold_in_s", f"holds leave no time to breathe in {period_s:g} s")
        inhale_s = breathing_s * ratio / (1 + ratio)
        exhale_s = breathing_s - inhale_s
    return Breath(inhale_s / period_s, hold_in_s / period_s, exhale_s / period_s,
                  hold_out_s / period_s)


def _reject_unknown(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"{where}.{unknown[0]}", f"unknown field (known: {', '.join(sorted(allowed))})")


def _text(table: dict[str, Any], key: str, where: str, *, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise InputError(f"{where}.{key}", f"must be text, got {value!r}")
    return value


def _number(table: dict[str, Any], key: str, where: str) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{where}.{key}", f"must be a number, got {value!r}")
    return float(value)


def _positive(table: dict[str, Any], key: str, where: str) -> float:
    value = _number(table, key, where)
    if value <= 0:
        raise InputError(f"{where}.{key}", f"must be positive, got {value:g}")
    return value


def _non_negative(table: dict[str, Any], key: str, where: str) -> float:
    if key not in table:
        return 0.0
    value = _number(table, key, where)
    if value < 0:
        raise InputError(f"{where}.{key}", f"must not be negative, got {value:g}")
    return value
