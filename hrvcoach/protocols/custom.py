"""The user's own protocols: pacing chosen in the window, saved as protocol TOML that the command
line reads back (`--protocol NAME` finds it in the data folder's protocols/), and listed again
on the setup page.

`Pacing` is what the window's pacing controls set: a rate, inhale:exhale and holds in seconds.
`with_pacing` and `with_length` make a protocol from a chosen one; `protocol_toml` writes any
protocol so that `load_protocol_file` gives the same phases back.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from hrvcoach.core.errors import InputError
from hrvcoach.protocols.bundled import bundled_protocol_dir
from hrvcoach.protocols.protocol import (
    DEFAULT_COMPARISON,
    DEFAULT_INHALE_EXHALE_RATIO,
    RESONANCE,
    Breath,
    Phase,
    Protocol,
    breath_shape,
    load_protocol_file,
)

__all__ = ["MAX_PACED_PER_MIN", "MIN_PACED_PER_MIN", "USER_PROTOCOL_FOLDER", "Pacing",
           "UserProtocols", "protocol_toml", "read_user_protocols", "save_protocol",
           "with_length", "with_pacing"]

USER_PROTOCOL_FOLDER: Final = "protocols"  # inside the data folder
MIN_PACED_PER_MIN: Final = 3.0  # the window's rate control: slow-breathing practice
MAX_PACED_PER_MIN: Final = 10.0
_NAME: Final = re.compile(r"^[\w][\w .+-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Pacing:
    """A paced breath as the window's controls set it."""

    breaths_per_min: float
    inhale_exhale_ratio: float = DEFAULT_INHALE_EXHALE_RATIO  # inhale seconds / exhale seconds
    hold_in_s: float = 0.0
    hold_out_s: float = 0.0

    @classmethod
    def of_breath(cls, breaths_per_min: float, breath: Breath) -> Pacing:
        """The pacing of a breath shape at a rate (the inverse of `breath`)."""
        period_s = 60.0 / breaths_per_min
        return cls(breaths_per_min, breath.inhale / breath.exhale, breath.hold_in * period_s,
                   breath.hold_out * period_s)

    def breath(self) -> Breath:
        """The breath's shape (InputError when the holds leave no time to breathe)."""
        return breath_shape(self.breaths_per_min, self.inhale_exhale_ratio, self.hold_in_s,
                            self.hold_out_s)

    def text(self) -> str:
        """e.g. '5.5 breaths/min (4.4 s in, 6.5 s out)', as a protocol phase says it."""
        phase = Phase("", "paced", 60.0, self.breaths_per_min, self.breath())
        return phase.pacing_text()


def with_pacing(protocol: Protocol, pacing: Pacing) -> Protocol:
    """The protocol with every paced phase at `pacing` (a constant rate: ramps and the
    "resonance" placeholder give way to the chosen rate)."""
    breath = pacing.breath()
    phases = tuple(replace(phase, breaths_per_min=pacing.breaths_per_min, breath=breath,
                           ramp_to_per_min=None, at_resonance=False) if phase.paced else phase
                   for phase in protocol.phases)
    return replace(protocol, phases=phases, assess_resonance=False)


def with_length(protocol: Protocol, total_s: float) -> Protocol:
    """The protocol lasting `total_s`: its paced phases stretched or shrunk alike, the others
    as they are (InputError when they alone take that long)."""
    paced_s = sum(phase.duration_s for phase in protocol.phases if phase.paced)
    other_s = protocol.duration_s - paced_s
    if paced_s <= 0:
        raise InputError("length", f"{protocol.name} has no paced phase to lengthen")
    if total_s <= other_s:
        raise InputError("length", f"{protocol.name}'s unpaced phases alone take "
                         f"{other_s / 60:g} min: choose more than that")
    factor = (total_s - other_s) / paced_s
    phases = tuple(replace(phase, duration_s=phase.duration_s * factor) if phase.paced else phase
                   for phase in protocol.phases)
    return replace(protocol, phases=phases)


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _number(value: float) -> str:
    """The shortest text that reads back as the same float (an integer without '.0')."""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def protocol_toml(protocol: Protocol) -> str:
    """The protocol as a protocol file (load_protocol_file reads the same phases back)."""
    lines = [f"name = {_toml_string(protocol.name)}"]
    if protocol.description:
        lines.append(f"description = {_toml_string(protocol.description)}")
    if protocol.assess_resonance:
        lines.append("assess_resonance = true")
    for phase in protocol.phases:
        lines += ["", "[[phase]]", f"name = {_toml_string(phase.name)}",
                  f"kind = {_toml_string(phase.kind)}", f"seconds = {_number(phase.duration_s)}"]
        if phase.paced and phase.breaths_per_min is not None:
            rate = _toml_string(RESONANCE) if phase.at_resonance else _number(phase.breaths_per_min)
            lines.append(f"breaths_per_min = {rate}")
            if phase.ramp_to_per_min is not None:
                lines.append(f"ramp_to_breaths_per_min = {_number(phase.ramp_to_per_min)}")
            pacing = Pacing.of_breath(phase.breaths_per_min, phase.breath)
            lines.append(f"inhale_exhale_ratio = {_number(pacing.inhale_exhale_ratio)}")
            for key, value in (("hold_in_s", pacing.hold_in_s), ("hold_out_s", pacing.hold_out_s)):
                if value > 0:
                    lines.append(f"{key} = {_number(value)}")
        if phase.compare != DEFAULT_COMPARISON[phase.kind]:
            lines.append(f"compare = {_toml_string(phase.compare or '')}")
        if phase.guidance:
            lines.append(f"guidance = {_toml_string(phase.guidance)}")
    return "\n".join(lines) + "\n"


def save_protocol(protocol: Protocol, path: Path) -> Protocol:
    """Write the protocol file (atomically, named after the file) and return it as read back.

    InputError for a name that is not a plain file name or that a built-in protocol has (so that
    `--protocol NAME` stays unambiguous), or when the file cannot be written.
    """
    name = path.stem
    if path.suffix != ".toml" or not _NAME.match(name):
        raise InputError(str(path), "a protocol file is NAME.toml, the name letters, digits, "
                         "spaces, '.', '+' or '-'")
    if (bundled_protocol_dir() / path.name).exists():
        raise InputError(str(path), f"{name!r} is a built-in protocol: choose another name")
    text = protocol_toml(replace(protocol, name=name))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".protocol-", suffix=".toml")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(str(path), f"cannot write the protocol ({exc.strerror or exc})") from None
    return load_protocol_file(path)


@dataclass(frozen=True, slots=True)
class UserProtocols:
    """The protocol files in the user's folder: those that read, and why the others do not."""

    protocols: list[Protocol]
    problems: list[str]


def read_user_protocols(folder: Path) -> UserProtocols:
    """Every *.toml in `folder` (none when it does not exist), sorted by name."""
    protocols, problems = [], []
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        try:
            protocols.append(load_protocol_file(path))
        except InputError as exc:
            problems.append(str(exc))
    return UserProtocols(sorted(protocols, key=lambda p: p.name), problems)

