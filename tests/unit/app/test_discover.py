"""Finding the recordings of a batch: files as given, folders searched recursively for the
formats hrvcoach reads, globs, WFDB records without extension, each recording once."""

from __future__ import annotations

import pytest

from hrvcoach.app.batch import find_recordings
from hrvcoach.core.errors import InputError


@pytest.fixture
def study(tmp_path):
    for name in ("s01/rest.csv", "s01/notes.md", "s02/day.txt", "s02/100.hea", "s02/100.atr",
                 "s02/100.dat", "s03/holter.EDF", "s03/.hidden.csv", ".cache/x.csv", "top.hrm"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("800\n")
    return tmp_path


def test_a_folder_gives_the_recordings_under_it_in_sorted_order(study):
    found = find_recordings([str(study)])
    assert [path.removeprefix(f"{study}/") for path in found] == [
        "s01/rest.csv", "s02/100.hea", "s02/day.txt", "s03/holter.EDF", "top.hrm"]


def test_files_are_taken_as_given_globs_expanded_and_duplicates_dropped(study):
    notes = str(study / "s01" / "notes.md")
    found = find_recordings([notes, str(study / "s0*" / "*.csv"), str(study / "s01" / "rest.csv"),
                             str(study / "**" / "*.hea")])
    assert found == [notes, str(study / "s01" / "rest.csv"), str(study / "s02" / "100.hea")]


def test_a_wfdb_record_may_be_named_without_its_extension(study):
    assert find_recordings([str(study / "s02" / "100")]) == [str(study / "s02" / "100")]


@pytest.mark.parametrize(
    ("argument", "problem"),
    [("absent.csv", "no such file or folder"), ("*.nothing", "matches no recording"),
     ("empty", "no recordings in this folder")],
)
def test_a_path_that_names_no_recording_is_an_input_error(tmp_path, argument, problem):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=problem) as caught:
        find_recordings([str(tmp_path / argument)])
    assert caught.value.where == str(tmp_path / argument)
