"""`hrvcoach analyze` on a study folder: every format in one table, an error row for a broken file,
the same table from one process, two processes, a Dask LocalCluster and a real `dask scheduler`
with a `dask worker`; --nn-only against mitdb 100's annotated normal-to-normal intervals."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hrvcoach.analysis import analyze, rmssd_ms
from hrvcoach.app.batch import cluster
from hrvcoach.files.recordings import ReadOptions, read_rr_series
from hrvcoach.views.cli.main import main
from tests.helpers import cli_env, mitdb_ecg_60s, real_recording, run_cli, write_ecg_edf

BROKEN_ERROR = "broken.csv:3: RR is not a number: 'abc'"


def kubios_report(rr_s: list[float]) -> str:
    """A Kubios HRV results text around real RR intervals (its RR INTERVAL DATA layout)."""
    lines = ["HRV ANALYSIS RESULTS - 13-Sep-2018 13:15:19", "Kubios HRV Standard", "",
             "RR INTERVAL DATA and SPECTRUM ESTIMATES,",
             "                              ,    SAMPLE 1,            ,",
             "                              ,     RR Data,            ,",
             "                              ,        Time, RR interval,",
             "                              ,         (s),         (s),"]
    times = np.cumsum(rr_s)
    lines += [f"{'':30},{t:12.3f},{rr:12.3f}," for t, rr in zip(times, rr_s, strict=True)]
    return "\n".join(lines) + "\n\n"


@pytest.fixture
def study(tmp_path) -> Path:
    """One recording in each format hrvcoach reads, and a broken one."""
    folder = tmp_path / "study"
    (folder / "wfdb").mkdir(parents=True)
    shutil.copy(real_recording("polar_rri_bartels_hrv/original/rest_rri.txt"), folder / "rest.txt")
    shutil.copy(real_recording("polar_h10_breathing_10min/rr.csv"), folder / "breathing.csv")
    shutil.copy(real_recording("polar_rri_bartels_hrv/original/exercise_rri.hrm"), folder / "exercise.hrm")
    rr_ms = np.loadtxt(real_recording("pyhrv_samples/nsrdb_nni_5min_rr.csv"), delimiter=",",
                       skiprows=1, usecols=-1)
    (folder / "kubios.txt").write_text(kubios_report([round(rr / 1000, 3) for rr in rr_ms]))
    for name in ("100.hea", "100.atr"):
        shutil.copy(real_recording(f"mitdb_100/{name}"), folder / "wfdb" / name)
    ecg, rate_hz = mitdb_ecg_60s()
    write_ecg_edf(folder / "holter.edf", ecg, rate_hz)
    (folder / "broken.csv").write_text("time,rr_ms\n0,800\n1,abc\n")
    return folder


EXPECTED = {  # file -> (format, origin)
    "breathing.csv": ("rr", "RR in ms"),
    "broken.csv": ("rr", ""),
    "exercise.hrm": ("rr", "RR in ms"),
    "holter.edf": ("edf", "ECG 'ECG MLII' at 360 Hz: 74 R-peaks"),
    "kubios.txt": ("rr", "RR in s"),
    "rest.txt": ("rr", "RR in ms"),
    "wfdb/100.hea": ("wfdb", "WFDB 100.atr: 2273 beats at 360 Hz"),
}


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_a_study_folder_gives_one_row_per_recording_and_an_error_row_for_the_broken_one(
        study, tmp_path):
    out = tmp_path / "results.csv"
    result = run_cli("analyze", str(study), "-o", str(out), "--jobs", "2", home=tmp_path)
    assert result.returncode == 1  # one recording failed
    assert result.stderr.strip() == f"hrvcoach: error: {study / BROKEN_ERROR}"
    rows = read_csv(out.read_text())
    by_file = {str(Path(row["file"]).relative_to(study)): row for row in rows}
    assert len(rows) == len(by_file) == 7
    assert {name: (row["format"], row["origin"]) for name, row in by_file.items()} == EXPECTED
    assert by_file["broken.csv"]["error"] == str(study / BROKEN_ERROR)
    assert by_file["broken.csv"]["rmssd_ms"] == ""
    for name, row in by_file.items():
        if name == "broken.csv":
            continue
        assert row["error"] == ""
        series = read_rr_series(study / name, ReadOptions())
        whole = analyze(series.rr_ms).whole.markers  # the same recording analysed here
        assert float(row["rmssd_ms"]) == whole.time.rmssd_ms, name
        assert float(row["mean_hr_bpm"]) == whole.time.mean_hr_bpm, name
        assert row["hf_valid"] == str(whole.breathing.hf_valid)


def test_the_ecg_row_has_the_markers_of_the_annotated_beats(study, tmp_path):
    out = tmp_path / "ecg.json"
    assert main(["analyze", str(study / "holter.edf"), "--no-correct", "-o", str(out)]) == 0
    (row,) = json.loads(out.read_text())
    samples = np.loadtxt(real_recording("mitdb_100/100_beats_rr.csv"), delimiter=",", skiprows=1,
                         usecols=0)
    annotated = np.diff(samples[samples < 60 * 360]) / 360 * 1000
    expected = analyze(annotated[1:], correct=False).whole.markers.time  # the first beat is missed
    assert row["mean_hr_bpm"] == pytest.approx(expected.mean_hr_bpm, abs=0.05)
    assert row["rmssd_ms"] == pytest.approx(expected.rmssd_ms, rel=0.03)


def tables(study: Path, tmp_path: Path, *options: str) -> tuple[bytes, bytes]:
    """The CSV and Parquet tables of the study, with windows, run as `options` say."""
    name = "-".join(option.strip("-").replace(":", "").replace("/", "") for option in options)
    csv_file, parquet_file = tmp_path / f"{name}.csv", tmp_path / f"{name}.parquet"
    for out in (csv_file, parquet_file):
        assert main(["analyze", str(study), "--window", "120", "-o", str(out), *options]) == 1
    return csv_file.read_bytes(), parquet_file.read_bytes()


def test_one_process_two_processes_and_a_dask_local_cluster_give_identical_tables(
        study, tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    alone = tables(study, tmp_path, "--jobs", "1")
    pooled = tables(study, tmp_path, "--jobs", "2")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        clustered = tables(study, tmp_path, "--scheduler", cluster.scheduler_address)
    assert pooled == alone
    assert clustered == alone
    rows = read_csv(alone[0].decode())
    wholes = [row for row in rows if row["window"] == ""]
    assert len(wholes) == 7
    for whole in wholes:
        windows = [row for row in rows if row["file"] == whole["file"] and row["window"] != ""]
        expected = 0 if whole["error"] else math.ceil(float(whole["duration_s"]) / 120.0)
        assert [int(row["window"]) for row in windows] == list(range(1, expected + 1))


def test_analyze_runs_on_a_real_dask_scheduler_and_worker(study, tmp_path):
    pytest.importorskip("distributed")
    dask = Path(sys.executable).with_name("dask")
    address_file = tmp_path / "scheduler.json"
    env = cli_env(tmp_path)
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", address_file], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        started.append(subprocess.Popen(
            [dask, "worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
             "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        out = tmp_path / "cluster.csv"
        result = run_cli("analyze", str(study), "--scheduler", address, "-o", str(out), home=tmp_path)
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert result.returncode == 1, result.stderr
    local = tmp_path / "local.csv"
    assert run_cli("analyze", str(study), "-o", str(local), home=tmp_path).returncode == 1
    assert out.read_bytes() == local.read_bytes()


def test_an_unreachable_scheduler_is_one_line_and_exit_1(study, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    code = main(["analyze", str(study / "rest.txt"), "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 1
    assert "--scheduler tcp://127.0.0.1:9: cannot reach the Dask scheduler" in capsys.readouterr().err


@pytest.mark.parametrize("address", ["foo", "tcp://localhost", "tcp://[::1", "tcp://h:x"])
def test_a_scheduler_address_that_is_no_address_is_refused_at_once(study, tmp_path, address):
    # Dask failed late on these and its half-made client held the exit for 20 s, with a
    # traceback from Client.__del__
    result = run_cli("analyze", str(study / "rest.txt"), "--scheduler", address, home=tmp_path,
                     timeout=15)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"hrvcoach: error: --scheduler: {address!r}: give the scheduler's address as "
        "tcp://HOST:PORT"]


def test_nn_only_on_mitdb_100_gives_the_rmssd_of_its_annotated_normal_to_normal_intervals(capsys):
    with real_recording("mitdb_100/100_beats_rr.csv").open() as rows:
        normal = [float(row["rr_ms"]) for row in csv.DictReader(rows) if row["nn_interval"] == "True"]
    assert main(["analyze", str(real_recording("mitdb_100/100.hea")), "--nn-only",
                 "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["origin"] == "WFDB 100.atr: 2273 beats at 360 Hz, 2204 normal-to-normal intervals"
    assert row["rmssd_ms"] == pytest.approx(rmssd_ms(np.asarray(normal)), rel=0.01)
    assert json.loads(row["settings"])["correct"] is False  # the labels replace the detector


def test_json_reports_of_a_batch_name_the_failed_file_and_its_reason(study, capsys):
    code = main(["analyze", str(study / "rest.txt"), str(study / "broken.csv"), "--json"])
    assert code == 1
    reports = json.loads(capsys.readouterr().out)
    assert reports[0]["file"] == str(study / "rest.txt") and reports[0]["n_beats"] == 910
    assert reports[1] == {"file": str(study / "broken.csv"), "error": str(study / BROKEN_ERROR)}


def test_an_output_file_without_a_table_extension_needs_a_format(study, tmp_path, capsys):
    code = main(["analyze", str(study / "rest.txt"), "-o", str(tmp_path / "out.dat")])
    assert code == 2
    assert "name it .csv, .json or .parquet, or give --format" in capsys.readouterr().err
    assert main(["analyze", str(study / "rest.txt"), "-o", str(tmp_path / "out.dat"),
                 "--format", "csv"]) == 0
    assert read_csv((tmp_path / "out.dat").read_text())[0]["n_beats"] == "910"


def test_a_parquet_table_holds_the_csv_numbers_and_the_settings_in_its_metadata(study, tmp_path,
                                                                                capsys):
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    assert main(["analyze", str(study / "rest.txt"), "--format", "parquet"]) == 2
    assert "writes a file: name it with -o FILE.parquet" in capsys.readouterr().err
    for suffix in ("csv", "parquet"):
        assert main(["analyze", str(study), "--window", "300", "-o", str(tmp_path / f"t.{suffix}")]) == 1
    table = pyarrow_parquet.read_table(tmp_path / "t.parquet")
    rows = read_csv((tmp_path / "t.csv").read_text())
    assert table.column_names == list(rows[0])
    assert table.column("rmssd_ms").to_pylist() == [float(r["rmssd_ms"]) if r["rmssd_ms"] else None
                                                    for r in rows]
    assert table.column("window").type == "int64"
    metadata = {key.decode(): value.decode() for key, value in table.schema.metadata.items()}
    assert metadata == {"hrvcoach_version": rows[0]["hrvcoach_version"],
                        "settings": rows[0]["settings"], "settings_hash": rows[0]["settings_hash"]}


def test_analysing_an_rr_file_loads_no_library_it_does_not_use(tmp_path):
    code = ("import sys\nfrom hrvcoach.views.cli.main import main\n"
            f"main(['analyze', {str(real_recording('polar_h10_breathing_10min/rr.csv'))!r}, "
            f"'-o', {str(tmp_path / 'out.csv')!r}])\n"
            "unused = ('wfdb', 'pyedflib', 'neurokit2', 'pandas', 'rich', 'distributed', 'pyarrow',"
            " 'matplotlib', 'PySide6', 'bleak', 'sqlite3')\n"
            "print(sorted(name for name in unused if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"
