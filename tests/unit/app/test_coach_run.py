"""CoachRun: the user's history is theirs. A resonance assessment measured on a strap becomes the
user's profile; the same assessment of a simulated or replayed heart is shown, never stored."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import numpy as np
import pytest

from hrvcoach.analysis import window_markers
from hrvcoach.app.coach_run import CoachRun, CoachSettings
from hrvcoach.core.markers import EMPTY_MARKERS
from hrvcoach.history.profile import load_profile
from hrvcoach.protocols.pacer import Pacer
from hrvcoach.protocols.protocol import Breath, Phase, Protocol, load_protocol
from hrvcoach.session import SessionEnded, phase_record
from hrvcoach.sources.factory import BleSpec, ReplaySpec, SimulatorSpec, SourceSpec
from hrvcoach.sources.simulator import SimulatedPerson, simulate_beats

ASSESSMENT = load_protocol("resonance-assessment")


def record_assessment(home: Path, spec: SourceSpec, protocol: Protocol = ASSESSMENT):
    """A whole assessment of a person resonating at 5/min, recorded as a run on `spec` records it
    (the beats come from the simulated person, whatever the spec says), then finished."""
    person = SimulatedPerson(resonance_breaths_per_min=5.0)
    beats = list(itertools.takewhile(
        lambda beat: beat.time_s < protocol.duration_s,
        (simulated.beat for simulated in simulate_beats(Pacer.for_protocol(protocol), person,
                                                        seed=4))))
    with CoachRun(home, protocol, spec) as run:
        for index, (phase, start_s) in enumerate(zip(protocol.phases, protocol.phase_starts_s(),
                                                     strict=True)):
            run.recorder.record_phase(phase_record(index, phase, start_s))
        for beat in beats:
            run.recorder.record_beat(beat)
        return run.finish(SessionEnded(beats[-1].time_s, "duration reached", len(beats),
                                       EMPTY_MARKERS, EMPTY_MARKERS))


def test_an_assessment_measured_on_a_strap_becomes_the_users_resonance_rate(tmp_path):
    saved = record_assessment(tmp_path, BleSpec("Polar H10"))
    assert saved.resonance is not None and saved.resonance.saved_to == tmp_path / "profile.json"
    profile = load_profile(tmp_path)
    assert profile.resonance_breaths_per_min == pytest.approx(5.0, abs=0.25)
    assert [score.breaths_per_min for score in profile.scores] == [6.5, 6.0, 5.5, 5.0, 4.5]
    assert profile.session == f"session {saved.session_id}"
    assert (tmp_path / "profile.json").stat().st_mode & 0o077 == 0  # the user's only


@pytest.mark.parametrize("spec", [SimulatorSpec(), ReplaySpec((900.0,) * 10, "rr.csv")],
                         ids=["simulator", "replay"])
def test_an_assessment_of_a_simulated_or_replayed_heart_is_shown_but_not_stored(tmp_path, spec):
    saved = record_assessment(tmp_path, spec)
    assert saved.resonance is not None
    assert saved.resonance.assessment.resonance_breaths_per_min == pytest.approx(5.0, abs=0.25)
    assert saved.resonance.saved_to is None
    assert "not a measurement of you" in saved.resonance.not_saved
    assert load_profile(tmp_path).resonance_breaths_per_min is None
    assert not (tmp_path / "profile.json").exists()


def test_a_pacing_change_reaches_the_simulated_person(tmp_path):
    paced = Protocol("paced", "", (Phase("slow", "paced", 240.0, 6.0, Breath()),))
    with CoachRun(tmp_path, paced, SimulatorSpec(seed=2), CoachSettings(speed=2000.0)) as run:
        session = run.session(lambda event: None)
        session.pacer.retune(0.0, 4.0, Breath())  # as the window's pacing controls do
        run.finish(asyncio.run(session.run()))
        beats = run.store.beats(run.session_id)
    found = window_markers(np.asarray(beats.rr_ms, dtype=np.float64)[-150:])
    assert found.breathing.breaths_per_min == pytest.approx(4.0, abs=0.3)  # not 6: it followed
