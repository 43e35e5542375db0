"""Every built-in protocol runs end to end on the simulator; the pacer follows the phases."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hrvcoach.core.clock import InstantClock
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import list_protocols, load_protocol
from hrvcoach.session import PhaseStarted, Session, SessionEnded, SessionEvent, Snapshot
from hrvcoach.sources.simulator import SimulatedStrap
from hrvcoach.views.cli.main import main
from hrvcoach.views.headless import HeadlessPrinter
from tests.helpers import REPO

BUILT_IN = [protocol.name for protocol in list_protocols()]


def test_the_issue_s_built_in_protocols_exist():
    assert {"qigong", "coherent-5.5", "morning-check", "resonance-assessment", "box-breathing",
            "slow-ramp", "demo"} <= set(BUILT_IN)
    qigong = load_protocol("qigong")
    assert [(p.kind, p.duration_s, p.breaths_per_min) for p in qigong.phases] == [
        ("baseline", 300.0, None), ("paced", 900.0, 6.0), ("recovery", 300.0, None)]
    assessment = load_protocol("resonance-assessment")
    assert assessment.assess_resonance
    paced = [p for p in assessment.phases if p.paced and p.ramp_to_per_min is None]
    assert [p.breaths_per_min for p in paced] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert all(p.duration_s == 120.0 for p in paced)


@pytest.mark.parametrize("name", BUILT_IN)
async def test_built_in_protocol_runs_end_to_end_on_the_simulator(name: str):
    protocol = load_protocol(name)
    clock = InstantClock()
    events: list[SessionEvent] = []
    out = io.StringIO()
    printer = HeadlessPrinter(out)

    def on_event(event: SessionEvent) -> None:
        events.append(event)
        printer.handle(event)

    source = SimulatedStrap(Pacer.for_protocol(protocol), clock, seed=7)
    ended = await Session(protocol, source, on_event).run()

    assert ended.reason == "duration reached"
    started = [event for event in events if isinstance(event, PhaseStarted)]
    assert [event.index for event in started] == list(range(len(protocol.phases)))
    assert [event.time_s for event in started] == pytest.approx(protocol.phase_starts_s())
    text = out.getvalue()
    for index, phase in enumerate(protocol.phases, start=1):
        assert f"phase {index}: {phase.name}" in text
        if phase.guidance:
            assert phase.guidance in text
    snapshots = [event for event in events if isinstance(event, Snapshot)]
    assert snapshots and isinstance(events[-1], SessionEnded)
    for snapshot in snapshots:  # the pacer follows the phase at every beat
        phase = snapshot.phase
        if phase.breaths_per_min is None:
            assert not snapshot.pacer.paced
        else:
            low = min(phase.breaths_per_min, phase.end_per_min or phase.breaths_per_min)
            high = max(phase.breaths_per_min, phase.end_per_min or phase.breaths_per_min)
            assert snapshot.pacer.paced
            assert low - 1e-9 <= snapshot.pacer.breaths_per_min <= high + 1e-9


def test_ramp_glides_the_rate_and_counts_the_breaths():
    protocol = load_protocol("slow-ramp")
    pacer = Pacer.for_protocol(protocol)
    start, end = 120.0, 720.0  # the 10-minute ramp from 7 to 5 breaths/min
    assert pacer.state_at(start + 1e-6).breaths_per_min == pytest.approx(7.0)
    assert pacer.state_at((start + end) / 2).breaths_per_min == pytest.approx(6.0)
    assert pacer.state_at(end - 1e-6).breaths_per_min == pytest.approx(5.0, abs=1e-6)
    assert pacer.state_at(end - 1e-6).cycles == pytest.approx(60.0, abs=1e-4)  # mean 6/min


def test_box_breathing_holds_after_in_and_out():
    pacer = Pacer.for_protocol(load_protocol("box-breathing"))
    t0 = 120.0  # paced phase start: 4 s in, 4 s hold, 4 s out, 4 s hold
    assert [pacer.state_at(t0 + s).part for s in (1, 5, 9, 13, 17)] == [
        "in", "hold in", "out", "hold out", "in"]


def test_resonance_phases_use_the_given_rate_or_six():
    assert load_protocol("resonance-practice").phases[1].breaths_per_min == 6.0
    practice = load_protocol("resonance-practice", resonance_per_min=5.0)
    assert practice.phases[1].breaths_per_min == 5.0 and practice.phases[1].at_resonance
    assert load_protocol("qigong", resonance_per_min=5.0).phases[1].breaths_per_min == 6.0


def test_protocols_command_lists_every_built_in_with_duration(capsys):
    assert main(["protocols"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(BUILT_IN)
    assert "25:00" in next(line for line in lines if line.startswith("qigong"))
    assert main(["protocols", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {item["name"]: item["duration_s"] for item in listed}["demo"] == 300.0
    assert listed[0]["phases"][0]["kind"] in ("baseline", "paced", "recovery", "free")


def test_protocols_show_prints_the_phases_with_pacing(capsys):
    assert main(["protocols", "show", "box-breathing"]) == 0
    out = capsys.readouterr().out
    assert "3.75 breaths/min (4 s in, 4 s hold, 4 s out, 4 s hold)" in out
    assert "02:00–10:00  box breathing [paced]" in out


BROKEN = {
    "negative.toml": ('[[phase]]\nkind = "baseline"\nminutes = -5\n',
                      "phase[0] (baseline).minutes: must be positive, got -5"),
    "unknown.toml": ('[[phase]]\nkind = "paced"\nminutes = 5\nbreaths_per_min = 6\ntempo = 3\n',
                     "phase[0].tempo: unknown field"),
    "mismatch.toml": ('[[phase]]\nname = "slow"\nkind = "paced"\nminutes = 5\n'
                      'breaths_per_min = 6\ninhale_s = 5\nexhale_s = 7\n',
                      "phase[0] (slow).inhale_s: inhale+holds+exhale = 12 s but 6 breaths/min "
                      "is 10 s per breath"),
    "kind.toml": ('[[phase]]\nkind = "walk"\nminutes = 5\n',
                  "phase[0].kind: must be one of baseline, paced, recovery, free, movement, got 'walk'"),
    "norate.toml": ('[[phase]]\nkind = "paced"\nminutes = 5\n',
                    "phase[0] (paced).breaths_per_min: a paced phase needs a rate"),
    "compare.toml": ('[[phase]]\nkind = "baseline"\nminutes = 5\ncompare = "during"\n',
                     "phase[0] (baseline).compare: must be \"before\" or \"after\""),
    "second.toml": ('[[phase]]\nkind = "baseline"\nminutes = 1\n[[phase]]\nname = "x"\n'
                    'kind = "paced"\nseconds = 60\nbreaths_per_min = "fast"\n',
                    "phase[1] (x).breaths_per_min: must be a number, got 'fast'"),
    "resonance.toml": ('[[phase]]\nkind = "paced"\nminutes = 5\nbreaths_per_min = "resonance"\n'
                       'inhale_s = 4\nexhale_s = 6\n',
                       "phase[0] (paced).inhale_s: a \"resonance\" rate is not known in advance: "
                       "give inhale_exhale_ratio instead of seconds"),
    "assess.toml": ('assess_resonance = true\n[[phase]]\nkind = "paced"\nminutes = 2\n'
                    'breaths_per_min = 6\n',
                    "assess_resonance: needs paced phases at two or more constant rates"),
    "duration.toml": ('[[phase]]\nkind = "free"\n', "phase[0] (free): give exactly one of minutes"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_protocols_check_gives_the_precise_error_and_exit_2(tmp_path: Path, capsys, name):
    body, expected = BROKEN[name]
    path = tmp_path / name
    path.write_text(body)
    assert main(["protocols", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hrvcoach: error: {path}: ")
    assert expected in err
    assert err.count("\n") == 1


def test_protocols_check_accepts_a_good_file(capsys):
    path = REPO / "protocols" / "qigong.toml"
    assert main(["protocols", "check", str(path)]) == 0
    assert "ok — qigong, 3 phases, 25:00" in capsys.readouterr().out
