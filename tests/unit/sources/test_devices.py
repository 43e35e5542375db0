"""Strap profiles: the bundled ones load and recognise their straps; bad files name file and field."""

from __future__ import annotations

import tomllib

import pytest

from hrvcoach.core.errors import InputError
from hrvcoach.sources.ble.devices import (
    HEART_RATE_SERVICE_UUID,
    bundled_device_dir,
    list_device_profiles,
    load_device_profile_file,
    match_profile,
    normalize_uuid,
)
from tests.helpers import REPO


def test_every_bundled_profile_loads_with_a_unique_name_and_the_heart_rate_service():
    profiles = list_device_profiles()
    names = [profile.name for profile in profiles]
    assert len(names) == len(set(names)) >= 12
    assert all(HEART_RATE_SERVICE_UUID in profile.service_uuids for profile in profiles)
    assert [profile.name for profile in profiles if profile.is_generic] == ["generic"]
    for path in bundled_device_dir().glob("*.toml"):
        assert load_device_profile_file(path).name == path.stem  # file name == profile name


@pytest.mark.parametrize(
    ("advertised", "profile"),
    [
        ("Polar H10 2B3C4D5E", "polar-h10"),
        ("Polar H9 11223344", "polar-h9"),
        ("Polar H7 0A1B2C3D", "polar-h7"),
        ("Polar OH1 55667788", "polar-oh1"),
        ("Polar Sense 1C1021AB", "polar-verity-sense"),
        ("HRM-Pro:123456", "garmin-hrm-pro"),
        ("HRM-Pro+:123456", "garmin-hrm-pro"),
        ("HRM-Dual:068786", "garmin-hrm-dual"),
        ("TICKR 1A2B", "wahoo-tickr"),
        ("TICKR X 1A2B", "wahoo-tickr"),
        ("TICKR FIT 1234", "wahoo-tickr-fit"),  # the longer pattern wins
        ("COOSPO-808S", "coospo"),
        ("H6M 12345", "coospo"),
        ("Decathlon Dual HR", "decathlon"),
        ("Movesense 220330000123", "movesense"),
        ("polar h10 lower case", "polar-h10"),
        ("Some Other Strap", "generic"),
        (None, "generic"),
        ("", "generic"),
    ],
)
def test_advertised_names_pick_their_profile(advertised, profile):
    assert match_profile(advertised).name == profile


def test_profiles_record_what_a_strap_senses_and_its_quirks():
    profiles = {profile.name: profile for profile in list_device_profiles()}
    assert profiles["polar-h10"].quirks.pmd_ecg and profiles["polar-h10"].sensor == "ecg"
    assert not profiles["polar-h9"].quirks.pmd_ecg
    assert profiles["polar-verity-sense"].sensor == "optical"
    assert profiles["polar-verity-sense"].quirks.rr_intervals == "unknown"
    assert 0x006B in profiles["polar-h10"].manufacturer_ids
    assert not any(profile.quirks.drop_first_rr_after_connect for profile in profiles.values())


def test_profiles_ship_inside_the_wheel():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    force = config["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force["devices"] == "hrvcoach/shipped/devices"


@pytest.mark.parametrize(("text", "uuid"), [
    ("180d", HEART_RATE_SERVICE_UUID), ("0x180D", HEART_RATE_SERVICE_UUID),
    (HEART_RATE_SERVICE_UUID.upper(), HEART_RATE_SERVICE_UUID)])
def test_uuids_are_normalised_to_128_bit_lower_case(text, uuid):
    assert normalize_uuid(text) == uuid


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('name = "x"\nservice_uuids = ["180d"]\ncolour = "red"\n', ": colour: unknown field"),
        ('service_uuids = ["180d"]\nname_patterns = "Polar*"\n',
         ": name_patterns: must be a list of text, got 'Polar*'"),
        ('service_uuids = ["180d"]\nname_patterns = [""]\n', ": name_patterns: patterns must not be empty"),
        ("name_patterns = []\n", ": service_uuids: list at least the Heart Rate Service"),
        ('service_uuids = ["180d", "heart"]\n',
         ": service_uuids[1]: not a 16-bit or 128-bit UUID: 'heart'"),
        ('service_uuids = ["180d"]\nsensor = "laser"\n', ": sensor: must be one of ecg, optical, unknown"),
        ('service_uuids = ["180d"]\nmanufacturer_ids = [70000]\n', ": manufacturer_ids: must be a list"),
        ('service_uuids = ["180d"]\nname = 5\n', ": name: must be text, got 5"),
        ('service_uuids = ["180d"]\nquirks = 1\n', ": quirks: must be a table"),
        ('service_uuids = ["180d"]\n[quirks]\npmd_ecg = "yes"\n',
         ": quirks.pmd_ecg: must be true or false, got 'yes'"),
        ('service_uuids = ["180d"]\n[quirks]\nrr_intervals = "maybe"\n',
         ": quirks.rr_intervals: must be one of yes, no, unknown"),
        ('service_uuids = ["180d"]\n[quirks]\ndrop_first = true\n', ": quirks.drop_first: unknown field"),
        ("service_uuids = [\n", ": not valid TOML"),
    ],
)
def test_bad_profile_files_name_the_file_and_the_field(tmp_path, content, message):
    path = tmp_path / "mine.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_device_profile_file(path)
    assert str(caught.value).startswith(f"{path}")
    assert message in str(caught.value)


def test_a_missing_profile_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such device profile file"):
        load_device_profile_file(tmp_path / "nope.toml")


def test_a_profile_without_a_name_takes_its_file_name(tmp_path):
    path = tmp_path / "my-strap.toml"
    path.write_text('name_patterns = ["Mine*"]\nservice_uuids = ["180d"]\n', encoding="utf-8")
    profile = load_device_profile_file(path)
    assert profile.name == "my-strap" and match_profile("Mine 1", [profile]).name == "my-strap"
    assert match_profile("Other", [profile]).name == "generic"  # a built-in fallback
