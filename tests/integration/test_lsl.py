"""`--lsl` end to end: hrvcoach as a process, received on this machine by pylsl inlets (as
LabRecorder would), compared with what hrvcoach recorded."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hrvcoach.protocols.protocol import load_protocol
from tests.ble_fixtures import RECORDING, SPEED, StrapWorld, quantized, read_rr_ms, run_hrvcoach
from tests.helpers import cli_env, real_recording, recorded
from tests.lsl_fixtures import LslReceiver, Received

STREAMS = ["hrvcoach RR", "hrvcoach RR artifacts", "hrvcoach HR", "hrvcoach Markers"]
TOLERANCE_S = 0.010  # a beat's timestamp against its time on the LSL clock


def check_streams_against_the_recording(streams: dict[str, Received], home: Path,
                                        speed: float) -> list[dict[str, str]]:
    """Every recorded beat arrived once, in order, stamped within 10 ms of its time on the LSL
    clock (session time 0 is the session_start marker's timestamp); returns the recorded rows."""
    rows = recorded(home)
    rr = streams["hrvcoach RR"]
    assert rr.column(0) == [float(row["rr_ms"]) for row in rows]
    flags = [int(value) for value in rr.column(1)]
    assert [flag & 1 for flag in flags] == [int(row["after_gap"]) for row in rows]
    events = streams["hrvcoach Markers"].events()
    (start,) = [stamp for stamp, event in events if event["event"] == "session_start"]
    beat_times = [start + float(row["time_s"]) / speed for row in rows]
    errors = [abs(stamp - when) for stamp, when in zip(rr.stamps, beat_times, strict=True)]
    assert max(errors) < TOLERANCE_S, max(errors)
    assert rr.stamps == sorted(rr.stamps)
    assert streams["hrvcoach HR"].stamps == rr.stamps
    # no timestamp from the future: each was pushed after its beat happened
    assert all(stamp <= got + 1e-3 for stamp, got in zip(rr.stamps, rr.received_at, strict=True))
    assert rr.channels()[0] == {"label": "rr_ms", "unit": "ms", "type": "RR"}
    assert streams["hrvcoach HR"].channels()[2] == {"label": "rmssd_ms", "unit": "ms", "type": "HRV"}
    return rows


def phase_events(streams: dict[str, Received]) -> list[tuple[float, dict]]:
    return [(stamp, event) for stamp, event in streams["hrvcoach Markers"].events()
            if event["event"] == "phase_start"]


def test_demo_lsl_streams_every_recorded_beat_once_in_order_at_its_own_time(tmp_path):
    speed = 40.0
    process = subprocess.Popen(
        [sys.executable, "-m", "hrvcoach", "demo", "--headless", "--lsl", "--lsl-wait", "30",
         "--speed", str(speed), "--duration", "250", "--seed", "5", "--sim-artifacts", "2"],
        env=cli_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        receiver = LslReceiver("hrvcoach-simulator-seed-5", STREAMS)
        _out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    streams = receiver.stop()
    assert process.returncode == 0, err
    assert "LSL streams: hrvcoach RR, hrvcoach RR artifacts, hrvcoach HR, hrvcoach Markers" in err
    rows = check_streams_against_the_recording(streams, tmp_path, speed)
    assert len(rows) > 230  # 250 s of the demo: its three phases

    phases = phase_events(streams)
    protocol = load_protocol("demo")
    assert [event["name"] for _stamp, event in phases] == [p.name for p in protocol.phases]
    (start,) = [s for s, e in streams["hrvcoach Markers"].events() if e["event"] == "session_start"]
    for stamp, event in phases:
        assert abs(stamp - (start + event["session_time_s"] / speed)) < TOLERANCE_S
    assert [s for s, _e in phases] == sorted(s for s, _e in phases)
    assert streams["hrvcoach Markers"].events()[-1][1]["event"] == "session_end"
    assert streams["hrvcoach RR artifacts"].samples  # --sim-artifacts 2 over 4 minutes


async def test_coach_lsl_on_the_fake_strap_stamps_each_beat_with_its_own_time(
        ble_world: StrapWorld, tmp_path):
    """A strap reports a beat up to a second after it happened: its timestamp is when it
    happened. The source_id is the strap's address, found from its name before streaming."""
    recording = read_rr_ms(real_recording(RECORDING))
    process = asyncio.create_task(run_hrvcoach(
        "coach", "--headless", "--device", "Polar H10", "--lsl", "--lsl-wait", "30",
        "--duration", "90", "--speed", str(SPEED), home=tmp_path, timeout_s=120))
    receiver = await asyncio.to_thread(LslReceiver, ble_world.strap.address, STREAMS)
    await ble_world.strap.wait_subscribed(timeout=30)
    replay = ble_world.strap.start_replay(recording, speed=SPEED)
    code, _out, err = await process
    replay.cancel()
    streams = await asyncio.to_thread(receiver.stop)
    assert code == 0, err
    assert f"using Polar H10 2B3C4D5E ({ble_world.strap.address})" in err
    rows = check_streams_against_the_recording(streams, tmp_path, SPEED)
    assert len(rows) >= 60
    assert [float(row["rr_ms"]) for row in rows] == quantized(recording[:len(rows)])
    info = streams["hrvcoach RR"].info
    assert info.source_id() == ble_world.strap.address
    assert info.desc().child("acquisition").child_value("serial_number") == ble_world.strap.address
    statuses = [event["status"] for _stamp, event in streams["hrvcoach Markers"].events()
                if event["event"] == "status"]
    assert statuses[:3] == ["scanning", "connecting", "connected"]
    assert len(phase_events(streams)) == 2  # 90 s of the demo: settle, then slow breathing


async def test_coach_lsl_streams_a_polar_straps_ecg_and_accelerometer_as_it_recorded_them(
        ble_world: StrapWorld, tmp_path):
    """With the strap's raw data: ECG (µV, 130 Hz) and ACC (x y z mG, 50 Hz) streams carry every
    sample the session recorded, in order, each chunk stamped by its samples' own times."""
    from fakebluez import Person

    from hrvcoach.store import Store

    raw = ["hrvcoach ECG", "hrvcoach ACC"]
    process = asyncio.create_task(run_hrvcoach(
        "coach", "--headless", "--device", "Polar H10", "--lsl", "--lsl-wait", "30",
        "--duration", "90", "--speed", str(SPEED), home=tmp_path, timeout_s=120))
    receiver = await asyncio.to_thread(LslReceiver, ble_world.strap.address, STREAMS + raw)
    await ble_world.strap.wait_subscribed(timeout=30)
    ble_world.strap.start_person(Person(seed=4), speed=SPEED)
    code, _out, err = await process
    ble_world.strap.stop_stream()
    streams = await asyncio.to_thread(receiver.stop)
    assert code == 0, err
    check_streams_against_the_recording(streams, tmp_path, SPEED)
    ecg, acc = streams["hrvcoach ECG"], streams["hrvcoach ACC"]
    assert ecg.info.nominal_srate() == 130.0 and acc.info.nominal_srate() == 50.0
    assert ecg.channels() == [{"label": "ecg", "unit": "microvolts", "type": "ECG"}]
    assert [(c["label"], c["unit"]) for c in acc.channels()] == [("x", "mG"), ("y", "mG"),
                                                                 ("z", "mG")]
    with Store.open(tmp_path, recover=False) as store:  # HRVCOACH_HOME
        (session,) = store.sessions()
        stored_ecg = store.raw_chunks(session.id, "ecg")
        stored_acc = store.raw_chunks(session.id, "acc")
    assert ecg.column(0) == [float(v) for chunk in stored_ecg for v in chunk.values]
    assert len(ecg.column(0)) > 0.6 * 90 * 130  # most of the 90 s (the streams start late)
    assert [v for _stamp, values in acc.samples for v in values] == [
        float(v) for chunk in stored_acc for v in chunk.values]
    # each chunk's last sample is stamped with its own time on the LSL clock (liblsl spaces the
    # chunk's earlier samples back from it by the nominal rate)
    events = streams["hrvcoach Markers"].events()
    (start,) = [stamp for stamp, event in events if event["event"] == "session_start"]
    last_sample = np.cumsum([chunk.n_samples for chunk in stored_ecg]) - 1
    stamps = np.asarray(ecg.stamps)[last_sample]
    own = [start + (c.start_s + (c.n_samples - 1) / c.rate_hz) / SPEED for c in stored_ecg]
    assert np.max(np.abs(stamps - own)) < TOLERANCE_S
    assert np.median(np.diff(ecg.stamps)) == pytest.approx(1 / 130, rel=1e-3)
