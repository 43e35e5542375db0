"""The user's own protocols: pacing from the window's controls, written as TOML that reads back
to the same phases, found by name in the data folder, listed with the problems of bad files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hrvcoach.core.errors import InputError
from hrvcoach.protocols.custom import (
    Pacing,
    protocol_toml,
    read_user_protocols,
    save_protocol,
    with_length,
    with_pacing,
)
from hrvcoach.protocols.protocol import list_protocols, load_protocol, load_protocol_file


def assert_same_phases(read, written) -> None:
    assert len(read.phases) == len(written.phases)
    for got, want in zip(read.phases, written.phases, strict=True):
        assert (got.name, got.kind, got.guidance, got.compare, got.at_resonance) == (
            want.name, want.kind, want.guidance, want.compare, want.at_resonance)
        assert got.duration_s == pytest.approx(want.duration_s, rel=1e-12)
        if want.breaths_per_min is None:
            assert got.breaths_per_min is None
            continue
        assert got.breaths_per_min == pytest.approx(want.breaths_per_min, rel=1e-12)
        assert got.ramp_to_per_min == (pytest.approx(want.ramp_to_per_min, rel=1e-12)
                                       if want.ramp_to_per_min is not None else None)
        for part in ("inhale", "hold_in", "exhale", "hold_out"):
            assert getattr(got.breath, part) == pytest.approx(getattr(want.breath, part), abs=1e-12)


@pytest.mark.parametrize("name", [p.name for p in list_protocols()])
def test_every_built_in_protocol_written_as_toml_reads_back_the_same(name, tmp_path: Path):
    protocol = load_protocol(name)
    path = tmp_path / "copy.toml"
    path.write_text(protocol_toml(protocol))
    read = load_protocol_file(path)
    assert_same_phases(read, protocol)
    assert (read.description, read.assess_resonance) == (protocol.description,
                                                        protocol.assess_resonance)


def test_pacing_from_the_controls_makes_the_breath_and_its_text():
    pacing = Pacing(5.0, inhale_exhale_ratio=0.5, hold_in_s=2.0, hold_out_s=1.0)
    breath = pacing.breath()  # 12 s: 3 s of holds, 9 s split 1:2
    assert (breath.inhale, breath.hold_in, breath.exhale, breath.hold_out) == pytest.approx(
        (3 / 12, 2 / 12, 6 / 12, 1 / 12))
    assert pacing.text() == "5 breaths/min (3 s in, 2 s hold, 6 s out, 1 s hold)"
    assert Pacing.of_breath(5.0, breath) == pytest.approx(pacing)
    with pytest.raises(InputError, match="no time to breathe"):
        Pacing(10.0, hold_in_s=4.0, hold_out_s=2.0).breath()


def test_saved_pacing_round_trips_and_the_cli_finds_it_by_name(tmp_path: Path):
    qigong = load_protocol("qigong")
    mine = with_length(with_pacing(qigong, Pacing(5.5, 0.8, hold_in_s=1.0)), 20 * 60.0)
    folder = tmp_path / "protocols"
    saved = save_protocol(mine, folder / "evening 5.5.toml")
    assert saved.name == "evening 5.5"
    assert_same_phases(saved, mine)
    found = load_protocol("evening 5.5", user_dir=folder)
    assert_same_phases(found, mine)
    assert found.duration_s == pytest.approx(20 * 60.0)
    assert found.phases[1].duration_s == pytest.approx(10 * 60.0)  # 5 + 10 + 5 minutes
    assert found.phases[1].pacing_text() == Pacing(5.5, 0.8, 1.0).text()


def test_with_pacing_paces_every_paced_phase_and_ends_ramps_and_assessment():
    assessment = load_protocol("resonance-assessment")
    paced = with_pacing(assessment, Pacing(6.0))
    assert not paced.assess_resonance
    assert {p.breaths_per_min for p in paced.phases if p.paced} == {6.0}
    ramp = with_pacing(load_protocol("slow-ramp"), Pacing(5.0))
    assert all(p.ramp_to_per_min is None for p in ramp.phases)
    assert [p.duration_s for p in ramp.phases] == [p.duration_s for p in
                                                    load_protocol("slow-ramp").phases]


def test_a_length_its_unpaced_phases_cannot_fit_is_refused():
    with pytest.raises(InputError, match="unpaced phases alone take 10 min"):
        with_length(load_protocol("qigong"), 9 * 60.0)


def test_a_saved_protocol_may_not_take_a_built_in_name_or_an_odd_file_name(tmp_path: Path):
    demo = load_protocol("demo")
    with pytest.raises(InputError, match="built-in"):
        save_protocol(demo, tmp_path / "qigong.toml")
    with pytest.raises(InputError, match=r"NAME\.toml"):
        save_protocol(demo, tmp_path / "../x/.hidden.toml")
    with pytest.raises(InputError, match=r"NAME\.toml"):
        save_protocol(demo, tmp_path / "mine.txt")


def test_user_protocols_are_listed_and_a_bad_file_is_named_with_its_problem(tmp_path: Path):
    save_protocol(replace(load_protocol("demo"), description="mine"), tmp_path / "a.toml")
    (tmp_path / "broken.toml").write_text("[[phase]]\nkind = 'paced'\nminutes = 'ten'\n")
    found = read_user_protocols(tmp_path)
    assert [p.name for p in found.protocols] == ["a"]
    assert len(found.problems) == 1 and "broken.toml" in found.problems[0]
    assert "minutes" in found.problems[0]
    assert read_user_protocols(tmp_path / "missing") == type(found)([], [])


def test_toml_strings_keep_quotes_and_backslashes(tmp_path: Path):
    demo = load_protocol("demo")
    odd = replace(demo, description='say "hm" \\ then\nbreathe')
    path = tmp_path / "odd.toml"
    path.write_text(protocol_toml(odd))
    assert load_protocol_file(path).description == odd.description
