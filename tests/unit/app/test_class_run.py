"""The class run's rules: who may be in a class, which strap is whose, the group's medians."""

from __future__ import annotations

import asyncio

import pytest

from hrvcoach.app.class_run import ClassRun, Participant, resolve_straps
from hrvcoach.app.coach_run import CoachSettings
from hrvcoach.core.errors import DeviceError, InputError
from hrvcoach.protocols.protocol import load_protocol
from hrvcoach.sources.ble.devices import match_profile
from hrvcoach.sources.ble.scan import FoundStrap
from hrvcoach.sources.factory import BleSpec, SimulatorSpec

STRAPS = [FoundStrap("Polar H10 2B3C4D5E", "E4:9E:1A:2B:3C:4D", -50, match_profile("Polar H10"), True),
          FoundStrap("Polar H10 2C3D4E5F", "E4:9E:1A:2C:3D:4E", -55, match_profile("Polar H10"), True),
          FoundStrap("HRM-Dual:068786", "C1:02:03:04:05:06", -70, match_profile("HRM-Dual"), True)]


@pytest.fixture
def in_range(monkeypatch):
    async def fake_scan(timeout_s: float):  # stands in for the radio
        return STRAPS

    monkeypatch.setattr("hrvcoach.sources.ble.scan.scan", fake_scan)


def test_each_device_names_one_strap_by_address_name_or_part(in_range):
    found = asyncio.run(resolve_straps(["2C3D4E5F", "E4:9E:1A:2B:3C:4D", "HRM-Dual"], 1.0))
    assert found == [("E4:9E:1A:2C:3D:4E", "Polar H10 2C3D4E5F"),
                     ("E4:9E:1A:2B:3C:4D", "Polar H10 2B3C4D5E"),
                     ("C1:02:03:04:05:06", "HRM-Dual:068786")]


@pytest.mark.parametrize(("wanted", "error", "message"), [
    (["Polar H10"], InputError, "'Polar H10' matches 2 straps"),
    (["2B3C4D5E", "polar h10 2b3c4d5e"], InputError, "name the same strap (E4:9E:1A:2B:3C:4D)"),
    (["Wahoo"], DeviceError, "no strap matching 'Wahoo'"),
])
def test_a_device_naming_none_several_or_a_taken_strap_is_refused(in_range, wanted, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        asyncio.run(resolve_straps(wanted, 1.0))


def test_a_class_refuses_shared_straps_and_a_one_person_protocol_before_recording(tmp_path):
    demo = load_protocol("demo")
    twice = [Participant("Anna", BleSpec("E4:9E:1A:2B:3C:4D")),
             Participant("Ben", BleSpec("E4:9E:1A:2B:3C:4D"))]
    with pytest.raises(InputError, match="two participants cannot share one strap"):
        ClassRun(tmp_path, demo, twice, CoachSettings())
    with pytest.raises(InputError, match="assesses one person's resonance rate"):
        ClassRun(tmp_path, load_protocol("resonance-assessment"),
                 [Participant("Anna", SimulatorSpec())], CoachSettings())
    assert not (tmp_path / "hrvcoach.db").exists()  # nothing was recorded


def test_six_straps_are_allowed_with_a_notice_about_the_adapter(tmp_path):
    straps = [Participant(f"P{i}", BleSpec(f"E4:9E:1A:2B:3C:{i:02X}")) for i in range(6)]
    with ClassRun(tmp_path, load_protocol("demo"), straps, CoachSettings()) as run:
        assert any("about 5 LE connections per adapter" in notice for notice in run.notices)
        assert len({member.session_id for member in run.members}) == 6
        assert run.store.class_members(run.class_id) == run.members
