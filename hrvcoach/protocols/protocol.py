"""Session protocols: protocols/*.toml (or a user's own file) -> frozen Protocol and Phase records.

A phase is `baseline` (spontaneous breathing, measured), `paced` (the pacer leads), `recovery`
(spontaneous, measured) or `free` (not measured). A paced rate may be "resonance": the user's
assessed resonance rate, or DEFAULT_RESONANCE_PER_MIN when none is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

from hrvcoach.core.errors import InputError
from hrvcoach.protocols.bundled import bundled_protocol_dir
from hrvcoach.protocols.fields import (
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    field_path,
    non_negative,
    number,
    positive,
    read_toml,
    reject_unknown,
    shown,
    text,
)

PhaseKind = Literal["baseline", "paced", "recovery", "free", "movement"]
Comparison = Literal["before", "after"]
# movement: a moving form (Qigong, a walk): its heart-rate response is reported, not vagal markers
PHASE_KINDS: Final[tuple[PhaseKind, ...]] = ("baseline", "paced", "recovery", "free", "movement")
DEFAULT_COMPARISON: Final[dict[str, Comparison | None]] = {
    "baseline": "before", "recovery": "after", "paced": None, "free": None, "movement": None,
}
DEFAULT_RESONANCE_PER_MIN: Final = 6.0
DEFAULT_INHALE_EXHALE_RATIO: Final = 2 / 3
RESONANCE: Final = "resonance"
MIN_BREATHS_PER_MIN: Final = 1.0
MAX_BREATHS_PER_MIN: Final = 30.0
MAX_PHASE_MINUTES: Final = 12 * 60.0  # one phase; a whole protocol lasts at most a day
MAX_PROTOCOL_S: Final = 24 * 3600.0
MAX_PHASES: Final = 100
MAX_BREATH_PART_S: Final = 60.0  # inhale, exhale or a hold: a breath at 1/min lasts 60 s
_PROTOCOL_FIELDS: Final = {"name", "description", "phase", "assess_resonance"}
_COMMON_FIELDS: Final = {"name", "kind", "minutes", "seconds", "guidance", "compare"}
_PACED_FIELDS: Final = {
    "breaths_per_min", "ramp_to_breaths_per_min", "inhale_s", "exhale_s", "hold_in_s",
    "hold_out_s", "inhale_exhale_ratio",
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
    ramp_to_per_min: float | None = None  # the rate at the end of the phase, when it ramps
    at_resonance: bool = False  # the rate is the user's resonance rate
    compare: Comparison | None = None  # whether its markers count as "before" or "after"

    @property
    def paced(self) -> bool:
        return self.breaths_per_min is not None

    @property
    def end_per_min(self) -> float | None:
        return self.ramp_to_per_min if self.ramp_to_per_min is not None else self.breaths_per_min

    def pacing_text(self) -> str:
        """e.g. '6 breaths/min (4 s in, 6 s out)', '7→5 breaths/min', 'breathe freely'."""
        if self.breaths_per_min is None:
            return "breathe freely"
        rate = f"{self.breaths_per_min:g}"
        if self.ramp_to_per_min is not None:
            rate += f"→{self.ramp_to_per_min:g}"
        text = f"{rate} breaths/min"
        if self.at_resonance:
            text += ", your resonance rate"
        if self.ramp_to_per_min is None:
            period_s = 60.0 / self.breaths_per_min
            parts = [("in", self.breath.inhale), ("hold", self.breath.hold_in),
                     ("out", self.breath.exhale), ("hold", self.breath.hold_out)]
            text += " (" + ", ".join(f"{fraction * period_s:.3g} s {word}"
                                     for word, fraction in parts if fraction > 0) + ")"
        return text


@dataclass(frozen=True, slots=True)
class Protocol:
    """An ordered list of phases, read from one TOML file."""

    name: str
    description: str
    phases: tuple[Phase, ...]
    source: str = ""  # the file it came from, for messages
    assess_resonance: bool = False  # score its paced blocks and store the user's resonance rate

    @property
    def duration_s(self) -> float:
        return sum(phase.duration_s for phase in self.phases)

    @property
    def uses_resonance(self) -> bool:
        return any(phase.at_resonance for phase in self.phases)

    def phase_at(self, t_s: float) -> tuple[int, Phase, float]:
        """Index, phase and phase start time at session time t (the last phase past the end)."""
        start_s = 0.0
        for index, phase in enumerate(self.phases):
            if t_s < start_s + phase.duration_s or index == len(self.phases) - 1:
                return index, phase, start_s
            start_s += phase.duration_s
        raise AssertionError("unreachable: a protocol has at least one phase")

    def phase_starts_s(self) -> list[float]:
        starts, t_s = [], 0.0
        for phase in self.phases:
            starts.append(t_s)
            t_s += phase.duration_s
        return starts

    def at_resonance_rate(self, breaths_per_min: float) -> Protocol:
        """This protocol with every "resonance" phase paced at the given rate."""
        phases = tuple(
            replace(phase, breaths_per_min=breaths_per_min) if phase.at_resonance else phase
            for phase in self.phases
        )
        return replace(self, phases=phases)


def list_protocols() -> list[Protocol]:
    """Every built-in protocol, sorted by name."""
    return sorted(
        (load_protocol_file(path) for path in bundled_protocol_dir().glob("*.toml")),
        key=lambda protocol: protocol.name,
    )


def load_protocol(name_or_path: str, *, resonance_per_min: float | None = None,
                  user_dir: Path | None = None) -> Protocol:
    """A built-in protocol by name, else one of the user's saved protocols (`user_dir`) by name,
    or a protocol file by path; "resonance" rates resolved."""
    path = Path(name_or_path)
    folders = [bundled_protocol_dir(), *([user_dir] if user_dir is not None else [])]
    try:
        from_file = path.suffix == ".toml" or path.exists()
        candidate = None if from_file or "/" in name_or_path else next(
            (folder / f"{name_or_path}.toml" for folder in folders
             if (folder / f"{name_or_path}.toml").exists()), None)
    except (OSError, ValueError):  # a name no file system takes (too long, a NUL byte)
        from_file, candidate = False, None
    if from_file:
        protocol = load_protocol_file(path)
    elif candidate is not None:
        protocol = load_protocol_file(candidate)
    else:
        known = ", ".join(protocol.name for protocol in list_protocols())
        yours = sorted(p.stem for p in user_dir.glob("*.toml")) if (
            user_dir is not None and user_dir.is_dir()) else []
        mine = f"; yours: {', '.join(yours)}" if yours else ""
        raise InputError("--protocol", f"unknown protocol {shown(name_or_path)} (built-in: "
                         f"{known}{mine})")
    if resonance_per_min is not None and protocol.uses_resonance:
        protocol = protocol.at_resonance_rate(resonance_per_min)
    return protocol


def load_protocol_file(path: Path) -> Protocol:
    """Read and validate one protocol file; every error names the file, the phase and the field."""
    data = read_toml(path, "protocol")
    where = str(path)
    reject_unknown(data, _PROTOCOL_FIELDS, where)
    name = text(data, "name", where, default=path.stem[:MAX_NAME_CHARS])
    if not name.strip():
        raise InputError(f"{where}: name", "must not be empty")
    phases_data = data.get("phase")
    if not isinstance(phases_data, list) or not phases_data:
        raise InputError(f"{where}: phase", "a protocol needs at least one [[phase]] table")
    if len(phases_data) > MAX_PHASES:
        raise InputError(f"{where}: phase", f"at most {MAX_PHASES} phases, got {len(phases_data)}")
    phases = tuple(
        _phase(table, f"{where}: phase[{index}]") for index, table in enumerate(phases_data)
    )
    total_s = sum(phase.duration_s for phase in phases)
    if total_s > MAX_PROTOCOL_S:
        raise InputError(f"{where}: phase", f"the phases last {total_s / 3600:.3g} h; a protocol "
                         f"lasts at most {MAX_PROTOCOL_S / 3600:g} h")
    assess = data.get("assess_resonance", False)
    if not isinstance(assess, bool):
        raise InputError(f"{where}: assess_resonance", f"must be true or false, got {shown(assess)}")
    if assess and len({p.breaths_per_min for p in phases if p.paced and p.ramp_to_per_min is None}) < 2:
        raise InputError(f"{where}: assess_resonance",
                         "needs paced phases at two or more constant rates to compare")
    description = text(data, "description", where, default="", max_chars=MAX_TEXT_CHARS, lines=True)
    return Protocol(name, description, phases, where, assess)


def _phase(table: Any, where: str) -> Phase:
    if not isinstance(table, dict):
        raise InputError(where, "must be a table")
    reject_unknown(table, _COMMON_FIELDS | _PACED_FIELDS, where)
    kind = table.get("kind")
    if kind not in PHASE_KINDS:
        raise InputError(field_path(where, "kind"),
                         f"must be one of {', '.join(PHASE_KINDS)}, got {shown(kind)}")
    name = text(table, "name", where, default=kind)
    where = f"{where} ({name})"
    if ("minutes" in table) == ("seconds" in table):
        raise InputError(where, "give exactly one of minutes or seconds")
    duration_s = (
        positive(table, "minutes", where, high=MAX_PHASE_MINUTES) * 60.0
        if "minutes" in table
        else positive(table, "seconds", where, high=MAX_PHASE_MINUTES * 60.0)
    )
    guidance = text(table, "guidance", where, default="", max_chars=MAX_TEXT_CHARS, lines=True)
    compare = table.get("compare", DEFAULT_COMPARISON[kind])
    if compare not in ("before", "after", None):
        raise InputError(f"{where}.compare", f"must be \"before\" or \"after\", got {shown(compare)}")
    if kind != "paced":
        paced_fields = sorted(set(table) & _PACED_FIELDS)
        if paced_fields:
            raise InputError(f"{where}.{paced_fields[0]}", f"only a paced phase has it ({kind})")
        return Phase(name, kind, duration_s, guidance=guidance, compare=compare)
    at_resonance = table.get("breaths_per_min") == RESONANCE
    if at_resonance:
        rate = DEFAULT_RESONANCE_PER_MIN
        if "inhale_s" in table or "exhale_s" in table:
            raise InputError(f"{where}.inhale_s", "a \"resonance\" rate is not known in advance: "
                             "give inhale_exhale_ratio instead of seconds")
    elif "breaths_per_min" not in table and "inhale_s" in table and "exhale_s" in table:
        seconds = (positive(table, "inhale_s", where, high=MAX_BREATH_PART_S)
                   + positive(table, "exhale_s", where, high=MAX_BREATH_PART_S)
                   + non_negative(table, "hold_in_s", where, high=MAX_BREATH_PART_S)
                   + non_negative(table, "hold_out_s", where, high=MAX_BREATH_PART_S))
        rate = 60.0 / seconds
        if not MIN_BREATHS_PER_MIN <= rate <= MAX_BREATHS_PER_MIN:
            raise InputError(f"{where}.inhale_s", f"a {seconds:g} s breath is {rate:.3g} breaths/min"
                             f", outside {MIN_BREATHS_PER_MIN:g}–{MAX_BREATHS_PER_MIN:g}")
    else:
        rate = _rate(table, "breaths_per_min", where)
    ramp_to = _rate(table, "ramp_to_breaths_per_min", where) if (
        "ramp_to_breaths_per_min" in table) else None
    return Phase(name, kind, duration_s, rate, _breath(table, rate, where), guidance, ramp_to,
                 at_resonance, compare)


def _rate(table: dict[str, Any], key: str, where: str) -> float:
    if key not in table:
        raise InputError(f"{where}.{key}", "a paced phase needs a rate (breaths per minute, "
                         "or \"resonance\")")
    value = number(table, key, where)
    if not MIN_BREATHS_PER_MIN <= value <= MAX_BREATHS_PER_MIN:
        raise InputError(f"{where}.{key}", f"must lie within {MIN_BREATHS_PER_MIN:g}–"
                         f"{MAX_BREATHS_PER_MIN:g} breaths/min, got {value:g}")
    return value


def _breath(table: dict[str, Any], rate: float, where: str) -> Breath:
    """Fractions of the breath at the phase's (starting) rate; kept through a ramp."""
    period_s = 60.0 / rate
    hold_in_s = non_negative(table, "hold_in_s", where, high=MAX_BREATH_PART_S)
    hold_out_s = non_negative(table, "hold_out_s", where, high=MAX_BREATH_PART_S)
    if "inhale_s" in table or "exhale_s" in table:
        if "inhale_exhale_ratio" in table:
            raise InputError(f"{where}.inhale_exhale_ratio", "give either seconds or a ratio")
        inhale_s = positive(table, "inhale_s", where, high=MAX_BREATH_PART_S)
        exhale_s = positive(table, "exhale_s", where, high=MAX_BREATH_PART_S)
        total_s = inhale_s + exhale_s + hold_in_s + hold_out_s
        if not math.isclose(total_s, period_s, rel_tol=1e-3):
            raise InputError(
                f"{where}.inhale_s",
                f"inhale+holds+exhale = {total_s:g} s but {rate:g} breaths/min "
                f"is {period_s:g} s per breath",
            )
    else:
        ratio = positive(table, "inhale_exhale_ratio", where, high=100.0) if (
            "inhale_exhale_ratio" in table) else DEFAULT_INHALE_EXHALE_RATIO
        return breath_shape(rate, ratio, hold_in_s, hold_out_s, where)
    return Breath(inhale_s / period_s, hold_in_s / period_s, exhale_s / period_s,
                  hold_out_s / period_s)


def breath_shape(breaths_per_min: float, inhale_exhale_ratio: float, hold_in_s: float = 0.0,
                 hold_out_s: float = 0.0, where: str = "pacing") -> Breath:
    """The breath at a rate with inhale:exhale and holds in seconds (InputError naming `where`
    when the holds leave no time to breathe)."""
    period_s = 60.0 / breaths_per_min
    breathing_s = period_s - hold_in_s - hold_out_s
    if breathing_s <= 0:
        raise InputError(field_path(where, "hold_in_s"),
                         f"holds leave no time to breathe in {period_s:g} s")
    inhale_s = breathing_s * inhale_exhale_ratio / (1 + inhale_exhale_ratio)
    exhale_s = breathing_s - inhale_s
    return Breath(inhale_s / period_s, hold_in_s / period_s, exhale_s / period_s,
                  hold_out_s / period_s)
