"""Protocol files: the built-in ones load, bad ones are refused naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrvcoach.core.errors import InputError
from hrvcoach.protocols.bundled import bundled_protocol_dir
from hrvcoach.protocols.protocol import list_protocols, load_protocol, load_protocol_file


def test_built_in_protocols_load_with_positive_durations():
    protocols = {protocol.name: protocol for protocol in list_protocols()}
    assert {"demo", "qigong"} <= set(protocols)
    assert protocols["demo"].duration_s == 300.0
    assert protocols["qigong"].duration_s == 25 * 60.0
    assert [phase.kind for phase in protocols["qigong"].phases] == ["baseline", "paced", "recovery"]
    qigong_paced = protocols["qigong"].phases[1]
    assert qigong_paced.breath.inhale == pytest.approx(0.4)
    assert qigong_paced.breath.exhale == pytest.approx(0.6)


def test_protocol_folder_is_found_without_knowing_the_checkout():
    assert (bundled_protocol_dir() / "demo.toml").is_file()


def test_phase_at_maps_session_time_to_phases():
    demo = load_protocol("demo")
    assert demo.phase_at(0.0)[0] == 0
    assert demo.phase_at(60.0)[:3:2] == (1, 60.0)
    assert demo.phase_at(299.0)[0] == 2
    assert demo.phase_at(1000.0)[0] == 2  # past the end: the last phase goes on


@pytest.mark.parametrize(
    ("body", "where", "problem"),
    [
        ('[[phase]]\nkind = "paced"\nminutes = -5\nbreaths_per_min = 6\n',
         "phase[0] (paced).minutes", "must be positive"),
        ('[[phase]]\nkind = "nap"\nminutes = 5\n', "phase[0].kind", "must be one of"),
        ('[[phase]]\nkind = "baseline"\nminutes = 5\ncolour = "red"\n', "phase[0].colour",
         "unknown field"),
        ('[[phase]]\nkind = "paced"\nminutes = 1\nbreaths_per_min = 6\ninhale_s = 4\nexhale_s = 4\n',
         "phase[0] (paced).inhale_s", "6 breaths/min is 10 s per breath"),
        ('[[phase]]\nkind = "baseline"\nminutes = 1\nbreaths_per_min = 6\n',
         "phase[0] (baseline).breaths_per_min", "only a paced phase"),
        ('name = "x"\n', ": phase", "at least one [[phase]]"),
        ("[[phase]\n", "", "not valid TOML"),
    ],
)
def test_bad_protocol_files_name_file_field_and_problem(tmp_path: Path, body, where, problem):
    path = tmp_path / "mine.toml"
    path.write_text(body)
    with pytest.raises(InputError) as caught:
        load_protocol_file(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert where in message
    assert problem in message
    assert "\n" not in message


def test_unknown_protocol_name_lists_the_built_in_ones():
    with pytest.raises(InputError, match=r"unknown protocol 'nope'.*demo"):
        load_protocol("nope")
