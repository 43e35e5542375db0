"""The specs that name a source, and `open_source`, which builds the source a spec names and
imports only its implementation (bleak only for a strap), as bleak picks its backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hrvcoach.core.clock import Clock
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.sources.base import Source

__all__ = ["BleSpec", "ReplaySpec", "SimulatorSpec", "SourceSpec", "open_source"]


@dataclass(frozen=True, slots=True)
class SimulatorSpec:
    """The simulated strap, worn by a simulated person who breathes along with the pacer."""

    seed: int = 1
    resonance_breaths_per_min: float = 5.5
    artifacts_per_min: float = 0.0
    kind: Literal["simulator"] = "simulator"

    @property
    def label(self) -> str:
        return "simulated strap"


@dataclass(frozen=True, slots=True)
class ReplaySpec:
    """A recorded RR series played back in session time."""

    rr_ms: tuple[float, ...]
    name: str  # the file's name, for the status line and the store
    kind: Literal["replay"] = "replay"

    @property
    def label(self) -> str:
        return f"replay of {self.name}"


@dataclass(frozen=True, slots=True)
class BleSpec:
    """A Bluetooth LE heart-rate strap, by address, name or a unique part of the name."""

    device: str
    scan_timeout_s: float = 20.0
    give_up_after_s: float | None = 300.0
    raw: bool = True  # the strap's raw ECG and accelerometer, when it offers them (Polar PMD)
    kind: Literal["ble"] = "ble"

    @property
    def label(self) -> str:
        return ""  # the strap names itself once connected


SourceSpec = SimulatorSpec | ReplaySpec | BleSpec


def open_source(spec: SourceSpec, clock: Clock, pacer: Pacer) -> Source:
    """The source a spec asks for, importing only its implementation (bleak only for a strap)."""
    match spec:
        case SimulatorSpec():
            from hrvcoach.sources.simulator import SimulatedPerson, SimulatedStrap

            person = SimulatedPerson(resonance_breaths_per_min=spec.resonance_breaths_per_min)
            return SimulatedStrap(pacer, clock, person, seed=spec.seed,
                                  artifacts_per_min=spec.artifacts_per_min)
        case ReplaySpec():
            import numpy as np

            from hrvcoach.sources.replay import ReplaySource

            return ReplaySource(np.asarray(spec.rr_ms, dtype=np.float64), clock, name=spec.name)
        case BleSpec():
            from hrvcoach.sources.ble.source import BleSource

            return BleSource(spec.device, clock, scan_timeout_s=spec.scan_timeout_s,
                             give_up_after_s=spec.give_up_after_s, raw=spec.raw)
