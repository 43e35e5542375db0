"""Reading RR files: one value per line (ms or s), CSV with a header, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hrvcoach.core.errors import InputError
from hrvcoach.files.rr_files import read_rr_file
from tests.helpers import real_recording


def write(tmp_path: Path, text: str, name: str = "rr.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_plain_ms_per_line_with_comments_and_blank_lines(tmp_path):
    recording = read_rr_file(write(tmp_path, "# strap export\n800\n\n812.5\n790\n"))
    assert recording.rr_ms.tolist() == [800.0, 812.5, 790.0]
    assert recording.line_numbers.tolist() == [2, 4, 5]
    assert recording.units_read == "ms"


def test_seconds_are_detected_and_forced_units_must_still_give_heartbeats(tmp_path):
    path = write(tmp_path, "0.8\n0.8125\n0.79\n")
    assert read_rr_file(path).rr_ms.tolist() == pytest.approx([800.0, 812.5, 790.0])
    assert read_rr_file(path, units="s").rr_ms.tolist() == pytest.approx([800.0, 812.5, 790.0])
    with pytest.raises(InputError, match=r"the median RR is 0.8 ms, not a heartbeat.*wrong units"):
        read_rr_file(path, units="ms")


def test_csv_with_an_rr_ms_column_and_an_empty_first_cell(tmp_path):
    path = write(tmp_path, "t_s,rr_ms,hr\n0.0,,75\n0.8,800,75\n1.6,810.25,74\n", "rr.csv")
    assert read_rr_file(path).rr_ms.tolist() == [800.0, 810.25]


def test_column_option_picks_a_column_by_name_or_number(tmp_path):
    path = write(tmp_path, "a;b\n1;900\n2;910\n", "x.csv")
    assert read_rr_file(path, column="b").rr_ms.tolist() == [900.0, 910.0]
    assert read_rr_file(path, column="2").rr_ms.tolist() == [900.0, 910.0]


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("800\n810\nabc\n", ":3", "not a number: 'abc'"),
        ("800\n-5\n", ":2", "finite number >= 0"),
        ("time,value\n1,800\n", ":1", "no RR column among time, value"),
        ("1,800\n2,810\n", ":1", "2 columns and no header"),
        ("x,rr_ms\n1,800\n810\n", ":3", "missing RR column 2"),
        ("# only a comment\n", "", "no RR values"),
    ],
)
def test_bad_files_name_file_line_and_problem(tmp_path, text, where, problem):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        read_rr_file(path)
    assert str(caught.value).startswith(f"{path}{where}")
    assert problem in str(caught.value)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_rr_file(tmp_path / "absent.txt")


def test_real_files_in_ms_and_in_seconds_read_the_same_values():
    ms_per_line = read_rr_file(real_recording("polar_rri_bartels_hrv/original/rest_rri.txt"))
    table = read_rr_file(real_recording("polar_rri_bartels_hrv/rest_rri_rr.csv"))
    assert ms_per_line.rr_ms.size == 910
    np.testing.assert_allclose(ms_per_line.rr_ms, table.rr_ms)
    seconds = read_rr_file(real_recording("physionet_rr_rhrvbook/nsr2db/nsr001_rr_secs.txt"),
                           heartbeats=False)  # its first value is a 226-s offset
    assert seconds.units_read == "s"
    assert 300.0 < float(np.median(seconds.rr_ms)) < 2000.0


def test_kubios_rr_export_with_hash_header_lines(tmp_path):
    # the layout of Kubios' "SIGNAL/SERIES EXPORT" RR text: '#' header lines, one RR per line
    text = ("# SIGNAL/SERIES EXPORT - KUBIOS\n# File:\t\t\t\tsample\n# Sampling rate: \tn/a\n"
            "766.000\n727.000\n789.000\n")
    recording = read_rr_file(write(tmp_path, text, "export.txt"))
    assert recording.rr_ms.tolist() == [766.0, 727.0, 789.0]
    assert recording.line_numbers.tolist() == [4, 5, 6]


KUBIOS_REPORT = """HRV ANALYSIS RESULTS - 13-Sep-2018 13:15:19
Kubios HRV Standard
3.1.0.1

RESULTS FOR A SINGLE SAMPLE

Results Overview              ,
  Stress index:               ,      7.7198,            ,

RR INTERVAL DATA and SPECTRUM ESTIMATES,
                              ,    SAMPLE 1,            ,            ,            ,
                              ,     RR Data,            ,FFT spectrum,            ,
                              ,        Time, RR interval,   Frequency,         PSD,
                              ,         (s),         (s),        (Hz),   (ms^2/Hz),
                              ,       0.766,       0.766,       0.000,   5942.2394,
                              ,       1.532,       0.766,       0.003,  44995.6734,
                              ,       2.259,       0.727,       0.007, 123127.9213,
                              ,            ,            ,       0.010, 383079.1304,

"""


def test_kubios_results_text_gives_its_rr_interval_column(tmp_path):
    recording = read_rr_file(write(tmp_path, KUBIOS_REPORT, "report.txt"))
    assert recording.rr_ms.tolist() == pytest.approx([766.0, 766.0, 727.0])
    assert recording.units_read == "s"
    assert recording.line_numbers.tolist() == [15, 16, 17]
    broken = KUBIOS_REPORT.replace("       0.727,", "       0.7x7,")
    with pytest.raises(InputError, match=r"report.txt:17: RR is not a number: '0.7x7'"):
        read_rr_file(write(tmp_path, broken, "report.txt"))


def test_polar_hrm_rr_data_reads_the_same_as_its_csv_conversion():
    hrm = read_rr_file(real_recording("polar_rri_bartels_hrv/original/exercise_rri.hrm"))
    table = read_rr_file(real_recording("polar_rri_bartels_hrv/exercise_rri_rr.csv"))
    assert hrm.rr_ms.size == 4117 and hrm.units_read == "ms"
    np.testing.assert_array_equal(hrm.rr_ms, table.rr_ms)
    assert hrm.line_numbers[0] == 83  # the first line after [HRData] (line 82)


HRM = "[Params]\nVersion=106\nInterval={interval}\n\n[Note]\n\n[HRData]\n{data}\n"


@pytest.mark.parametrize(
    ("interval", "data", "where", "problem"),
    [
        ("5", "62\n63\n", ":3", "Interval=5: this Polar HRM file holds heart rate samples"),
        ("238", "800\n8x0\n", ":9", "RR is not a number: '8x0'"),
        ("238", "", "", "no RR values in the [HRData] section"),
    ],
)
def test_bad_polar_hrm_files_name_file_line_and_problem(tmp_path, interval, data, where, problem):
    path = write(tmp_path, HRM.format(interval=interval, data=data), "session.hrm")
    with pytest.raises(InputError) as caught:
        read_rr_file(path)
    assert str(caught.value).startswith(f"{path}{where}")
    assert problem in str(caught.value)


def test_polar_hrm_extra_columns_are_ignored(tmp_path):
    path = write(tmp_path, HRM.format(interval="238", data="800\t120\t85\n810\t121\t86"), "x.hrm")
    assert read_rr_file(path).rr_ms.tolist() == [800.0, 810.0]


@pytest.mark.parametrize(("bad_line", "cell", "problem"), [
    (7, "nan", "RR must be a finite number >= 0, got 'nan'"),
    (70_001, "8OO", "RR is not a number: '8OO'"),  # in the second batch the reader parses
    (100_000, "-5", "RR must be a finite number >= 0, got '-5'"),
])
def test_a_long_file_names_its_first_bad_line_and_reads_every_good_one(tmp_path, bad_line, cell,
                                                                        problem):
    rng = np.random.default_rng(bad_line)
    rr = np.round(800 + rng.normal(0, 40, 100_000), 3)
    path = tmp_path / "day.txt"
    path.write_text("".join(f"{value!r}\n" for value in rr.tolist()))
    back = read_rr_file(path)
    assert back.rr_ms.tolist() == rr.tolist() and back.line_numbers[-1] == 100_000
    lines = path.read_text().splitlines()
    lines[bad_line - 1] = cell
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        read_rr_file(path)
    assert str(caught.value) == f"{path}:{bad_line}: {problem}"
