"""The headless coach: one line per phase change and every ~10 session seconds, then a summary;
a source gone quiet and a recording that cannot be written are said at once, and again every
~10 s while they last. Text from a strap or a file is printed without its control characters."""

from __future__ import annotations

from typing import TextIO

from hrvcoach.core.beats import SourceStatus, StatusKind
from hrvcoach.session import (
    PhaseStarted,
    RecordingTrouble,
    SessionEnded,
    SessionEvent,
    Snapshot,
    SourceSilent,
)
from hrvcoach.views.text import NO_VALUE, clock_text, number_text, safe_text

REPORT_EVERY_S = 10.0


def _number(value: float, digits: int = 1) -> str:
    return f"{number_text(value, digits):>5}"


class HeadlessPrinter:
    """Prints session events as plain text lines to `out`."""

    def __init__(self, out: TextIO, *, every_s: float = REPORT_EVERY_S) -> None:
        self._out = out
        self._every_s = every_s
        self._next_report_s = every_s
        self._silent_s: float | None = None  # how long the source has been quiet, when it is
        self._silence_told_s = 0.0
        self._not_valid: tuple[str, ...] = ()  # the gate's reasons last printed
        self._explained_provisional = False

    def _print(self, line: str) -> None:
        print(line, file=self._out, flush=True)

    def handle(self, event: SessionEvent) -> None:
        match event:
            case Snapshot(time_s=time_s) if self._silent_s is not None:
                self._print(f"{clock_text(time_s)}  beats again, after {self._silent_s:.0f} s "
                            "without")
                self._silent_s = None
        match event:
            case PhaseStarted(time_s=time_s, index=index, phase=phase):
                pacing = (f"pacer {phase.breaths_per_min:g} breaths/min"
                          if phase.breaths_per_min is not None else "breathe freely")
                self._print(f"{clock_text(time_s)}  ── phase {index + 1}: {safe_text(phase.name)} "
                            f"({phase.kind}, {clock_text(phase.duration_s)}, {pacing})")
                if phase.guidance:
                    self._print(f"        {safe_text(phase.guidance)}")
            case Snapshot() as snapshot:
                self._gate(snapshot)
                if snapshot.time_s >= self._next_report_s:
                    self._next_report_s = (snapshot.time_s // self._every_s + 1) * self._every_s
                    self._progress(snapshot)
            case SourceStatus(kind=StatusKind.RAW_DATA, time_s=time_s, message=message):
                self._print(f"{clock_text(time_s)}  {message}")
            case SourceStatus(kind=kind, time_s=time_s, message=message) if kind not in (
                StatusKind.ENDED,
            ):
                self._print(f"{clock_text(time_s)}  [{kind.value}] {safe_text(message)}")
            case SourceSilent(time_s=time_s, silent_s=silent_s):
                first = self._silent_s is None
                self._silent_s = silent_s
                if first or silent_s - self._silence_told_s >= self._every_s:
                    self._silence_told_s = silent_s
                    self._print(f"{clock_text(time_s)}  no beats for {silent_s:.0f} s: is the "
                                "strap on, with skin contact?")
            case RecordingTrouble(time_s=time_s, message=message, resolved=resolved):
                word = "recording" if resolved else "RECORDING PROBLEM"
                self._print(f"{clock_text(time_s)}  [{word}] {safe_text(message)}")
            case SessionEnded() as ended:
                self._not_valid = ()
                before = ended.first_phase_markers.rmssd_ms
                after = ended.last_markers.rmssd_ms
                self._print(f"{clock_text(ended.time_s)}  session ended ({ended.reason}): "
                            f"{ended.beats} beats")
                self._print(f"        RMSSD end of first phase {_number(before).strip()} ms "
                            f"→ last 60 s {_number(after).strip()} ms; "
                            f"HR {_number(ended.last_markers.mean_hr_bpm).strip()} bpm")

    def _gate(self, snapshot: Snapshot) -> None:
        """Say when the rhythm-quality gate fails, why, and when it passes again."""
        reasons = snapshot.not_valid_because
        if reasons == self._not_valid:
            return
        if reasons:
            self._print(f"{clock_text(snapshot.time_s)}  ✗ {'; '.join(reasons)}: vagal markers "
                        "are not shown")
        else:
            self._print(f"{clock_text(snapshot.time_s)}  ✓ the rhythm is regular again: HRV valid")
        self._not_valid = reasons

    def _progress(self, snapshot: Snapshot) -> None:
        """One line: HR, RMSSD (— while HRV is not valid; * while a correction nearby is not
        final yet) and the pacer."""
        markers = snapshot.markers
        rate = snapshot.pacer.breaths_per_min
        pacer = f"{rate:4.1f}/min" if rate is not None else "   free"
        rmssd = _number(markers.rmssd_ms) if markers.hrv_valid else f"{NO_VALUE:>5}"
        mark = " *" if markers.provisional and markers.hrv_valid else ""
        self._print(f"{clock_text(snapshot.time_s)}  HR {_number(markers.mean_hr_bpm)} bpm"
                    f"  RMSSD {rmssd} ms  pacer {pacer}{mark}")
        if mark and not self._explained_provisional:
            self._print("        * provisional: a correction nearby is not final yet")
            self._explained_provisional = True
