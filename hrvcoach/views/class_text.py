"""A class as text: the headless printer (one line per participant every ~10 s) and the class
summary (per participant before → after with intervals, and the group's medians)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TextIO

from hrvcoach.core.beats import SourceStatus, StatusKind
from hrvcoach.core.markers import marker
from hrvcoach.session import PhaseStarted, SessionEnded
from hrvcoach.views.qt.coach_state import CoachState  # Qt-free: the coach window's fold
from hrvcoach.views.text import clock_text, number_text, safe_text

if TYPE_CHECKING:
    from hrvcoach.app.class_run import ClassSummary
    from hrvcoach.core.clock import Clock
    from hrvcoach.session import SessionEvent

__all__ = ["REPORT_EVERY_S", "TILE_MARKERS", "ClassPrinter", "summary_lines"]

REPORT_EVERY_S: Final = 10.0
# What a participant's line (and tile) shows besides the connection: catalogue name, short label.
TILE_MARKERS: Final = (("mean_hr_bpm", "HR"), ("rmssd_ms", "RMSSD"), ("p2t_bpm", "swing"),
                       ("coherence_ratio", "coherence"))


class ClassPrinter:
    """The class as text: phase changes once, each participant's status events as they come,
    and one line per participant every `every_s` session seconds (`report_every`)."""

    def __init__(self, out: TextIO, names: list[str], *, every_s: float = REPORT_EVERY_S) -> None:
        self._out = out
        self.names = names
        self.every_s = every_s
        self.states = [CoachState(keep_s=5.0, trend_names=(), trend_points=2) for _ in names]
        self._phase_shown = -1
        self._width = max(len(name) for name in names)

    def _print(self, line: str) -> None:
        print(line, file=self._out, flush=True)

    def handle(self, index: int, event: SessionEvent) -> None:
        self.states[index].handle(event)
        who = self.names[index].ljust(self._width)
        match event:
            case PhaseStarted(time_s=time_s, index=phase_index, phase=phase) if \
                    phase_index > self._phase_shown:
                self._phase_shown = phase_index
                pacing = (f"pacer {phase.breaths_per_min:g} breaths/min"
                          if phase.breaths_per_min is not None else "breathe freely")
                self._print(f"{clock_text(time_s)}  ── phase {phase_index + 1}: {safe_text(phase.name)} "
                            f"({phase.kind}, {clock_text(phase.duration_s)}, {pacing})")
            case SourceStatus(kind=kind, time_s=time_s, message=message) if \
                    kind is not StatusKind.BATTERY:
                self._print(f"{clock_text(time_s)}  {who}  [{kind.value}] {safe_text(message)}")
            case SessionEnded(time_s=time_s, reason=reason, beats=beats):
                self._print(f"{clock_text(time_s)}  {who}  session ended ({reason}): {beats} beats")

    def line(self, index: int) -> str:
        """One participant now: HR, RMSSD, breath swing, coherence, connection and signal."""
        state = self.states[index]
        values = []
        for name, words in TILE_MARKERS:
            spec = marker(name)
            unit = f" {spec.unit}" if spec.unit not in ("", "ratio") else ""
            values.append(f"{words} {number_text(getattr(state.markers, name), spec.card_digits):>4}"
                          f"{unit}")
        connection, _role = state.source_state()  # a quiet strap: "no beats for N s"
        return (f"{self.names[index].ljust(self._width)}  {'  '.join(values)}  · {connection}"
                f" · signal {state.signal}")

    async def report_every(self, clock: Clock) -> None:
        """Every `every_s` of session time, one line per participant (until cancelled)."""
        next_s = self.every_s
        while True:
            await clock.sleep_until(next_s)
            for index in range(len(self.names)):
                self._print(f"{clock_text(next_s)}  {self.line(index)}")
            next_s += self.every_s


def summary_lines(summary: ClassSummary, *, labels: bool = True) -> list[str]:
    """The class summary as text: a line per participant, then the group's medians."""
    lines = [f"class {summary.class_id} ({summary.protocol}): before → after, 95 % intervals"]
    names = [f"{row.pseudonym} {row.label}".strip() if labels else row.pseudonym
             for row in summary.rows]
    width = max(len(name) for name in names)
    for name, row in zip(names, summary.rows, strict=True):
        if row.comparison is None:
            lines.append(f"  {name.ljust(width)}  {row.n_beats} beats; no comparison: {row.note}")
            continue
        parts = []
        for key in ("rmssd_ms", "mean_hr_bpm"):
            change = row.change(key)
            assert change is not None
            spec = change.spec
            parts.append(f"{spec.label} {number_text(change.before, spec.digits)} → "
                         f"{number_text(change.after, spec.digits)} {spec.unit} ({change.verdict()})")
        shaky = " — unreliable" if row.comparison.before.unreliable or \
            row.comparison.after.unreliable else ""
        lines.append(f"  {name.ljust(width)}  {';  '.join(parts)}{shaky}")
    group = []
    for medians in summary.group:
        spec = marker(medians.name)
        if medians.n == 0:
            continue
        unit = "%" if spec.relative else spec.unit
        median = f"{medians.change:+.{0 if spec.relative else spec.digits}f}".replace("-", "−")
        group.append(f"{spec.label} {number_text(medians.before, spec.digits)} → "
                     f"{number_text(medians.after, spec.digits)} {spec.unit} (median change "
                     f"{median} {unit}; {medians.clearly_calmer} of {medians.n} clearly calmer)")
    if group:
        lines.append(f"  group median: {';  '.join(group)}")
    return lines


