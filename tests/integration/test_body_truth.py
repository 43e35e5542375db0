"""Coach sessions on fakebluez's simulated person through unmodified bleak, checked against the
strap's truth file: the measured breath, the pacer followed or not, movement found and left out
of the vagal markers. The session runs in the test's loop (CoachRun, its store and recorder) at
SPEED simulated seconds per real second."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hrvcoach.app.coach_run import CoachRun, CoachSettings
from hrvcoach.protocols.protocol import Phase, Protocol, load_protocol
from hrvcoach.sources.factory import BleSpec
from hrvcoach.store import Store
from tests.integration.test_ble import STRAP

SPEED = 20.0


@dataclass
class Coached:
    store: Store
    session_id: int
    truth: dict[str, Any]
    offset_s: float  # session time = strap time + offset_s
    body_t0_s: float  # session time of the person's body time 0

    def to_session(self, strap_s: float) -> float:
        return strap_s + self.offset_s


def clock_offset_s(store: Store, session_id: int, base_ns: int) -> float:
    """Session minus strap time, from the stored chunks' own timestamps (median over chunks)."""
    offsets = [c.start_s - ((c.sensor_ns - base_ns) / 1e9 - (c.n_samples - 1) / c.rate_hz)
               for c in store.raw_chunks(session_id, "acc")]
    return statistics.median(offsets)


async def coach_person(world: Any, home: Path, protocol: Protocol, *, seed: int,
                       breathing: str, movement: tuple[str, ...] = (),
                       head_free_s: float = 0.0) -> Coached:
    """Coach `protocol` on the person. `breathing` starts with a free segment lasting until
    session time head_free_s (it is shortened by the time connecting took) when head_free_s."""
    from fakebluez import Person

    strap = world.strap
    run = CoachRun(home, protocol, BleSpec(STRAP), CoachSettings(speed=SPEED))
    session = run.session(lambda event: None)
    task = asyncio.ensure_future(session.run())
    await strap.wait_subscribed(timeout=15)
    t0 = run.clock.now()
    if head_free_s:
        breathing = f"{head_free_s - t0:.3f}:free,{breathing}"
    person = Person(seed=seed, breathing=breathing, movement=[
        _shifted(m, -t0) for m in movement])
    strap.start_person(person, speed=SPEED)
    ended = await asyncio.wait_for(task, protocol.duration_s / SPEED + 60)
    strap.stop_stream()
    run.finish(ended)
    truth = strap.truth()
    offset = clock_offset_s(run.store, run.session_id, truth["sensor_time_base_ns"])
    return Coached(run.store, run.session_id, truth, offset, t0)


def _shifted(movement: str, by_s: float) -> str:
    start, duration, kind = movement.split(":")
    return f"{float(start) + by_s:.3f}:{duration}:{kind}"


def phase_of(protocol: Protocol, index: int) -> tuple[float, float]:
    starts = protocol.phase_starts_s()
    return starts[index], starts[index] + protocol.phases[index].duration_s


async def test_the_measured_breath_matches_the_truth_free_paced_and_off_the_pacer(ble_world,
                                                                                   tmp_path):
    """Free (~14/min), 6/min following the pacer, then 4.5/min while the pacer stays at 6."""
    protocol = Protocol("breath-check", "", (
        Phase("free", "baseline", 150.0, compare="before"),
        Phase("six", "paced", 240.0, 6.0, _breath(6.0)),
        Phase("six again", "paced", 240.0, 6.0, _breath(6.0), compare="after"),
    ))
    coached = await coach_person(ble_world, tmp_path, protocol, seed=11,
                                 breathing="240:6,400:4.5", head_free_s=150.0)
    store, session = coached.store, coached.session_id
    breaths = store.breaths(session)
    truth_onsets = np.array([coached.to_session(b["onset_s"]) for b in coached.truth["breaths"]])
    markers = store.markers(session)
    for index, truth_rate in ((0, None), (1, 6.0), (2, 4.5)):
        start, end = phase_of(protocol, index)
        start += 30.0  # the breath settles into a new rhythm
        mine = [b for b in coached.truth["breaths"]
                if start <= coached.to_session(b["onset_s"]) and
                coached.to_session(b["onset_s"] + b["duration_s"]) <= end]
        truth = 60.0 * len(mine) / sum(b["duration_s"] for b in mine)
        measured = [b for b in breaths if start <= b.onset_s and b.onset_s + b.duration_s <= end]
        rate = 60.0 * len(measured) / sum(b.duration_s for b in measured)
        assert abs(rate - truth) <= 0.3, (index, rate, truth)
        if truth_rate is not None:
            assert abs(truth - truth_rate) < 0.2
        else:
            assert 11.5 < truth < 17.0
        assert abs(markers[index]["breathing_rate_measured"] - truth) <= 0.5
    # onsets: within 0.5 s of the truth for >= 95 % of the (still) breaths
    errors = np.array([min(abs(truth_onsets - b.onset_s)) for b in breaths if b.onset_s > 30])
    assert len(errors) > 60 and np.mean(errors <= 0.5) >= 0.95, np.sort(errors)[-10:]
    # adherence: near 1 while the person follows the 6/min pacer, low when they breathe at 4.5
    assert markers[1]["pacer_adherence"] >= 0.9
    assert markers[2]["pacer_adherence"] <= 0.2
    assert 0.5 < markers[1]["inhale_exhale_ratio"] < 0.9  # the person's 0.4 of a breath
    assert markers[0]["still_fraction"] == 1.0 and not store.movement(session)
    # the measured rate stands for the assumed one: HF is not valid at 6/min nor at 4.5/min
    assert markers[1]["breaths_per_min"] == markers[1]["breathing_rate_measured"]
    assert markers[1]["hf_valid"] is False and markers[0]["hf_valid"] is True
    # heart and breath: the simulated heart follows the breath 0.5 s later, -3° per breath/min
    # (the beats timed by the ECG's R-peaks: the strap's own arrive up to a second late)
    for index in (0, 1, 2):
        expected = -360.0 * 0.5 * markers[index]["breathing_rate_measured"] / 60.0
        assert abs(markers[index]["heart_breath_phase_deg"] - expected) < 8.0
    assert markers[1]["heart_breath_coherence"] > 0.8


def _breath(rate: float) -> Any:
    from hrvcoach.protocols.protocol import breath_shape

    return breath_shape(rate, 2 / 3)


async def test_qigong_moving_finds_the_form_and_leaves_it_out_of_the_vagal_markers(ble_world,
                                                                                   tmp_path):
    protocol = load_protocol("qigong-moving")
    protocol = dataclasses.replace(protocol, phases=tuple(
        dataclasses.replace(p, duration_s=150.0) for p in protocol.phases))
    form_start, form_end = phase_of(protocol, 1)
    coached = await coach_person(
        ble_world, tmp_path, protocol, seed=12, breathing="150:6,300:free",
        head_free_s=300.0,
        movement=(f"{form_start}:{form_end - form_start}:qigong", "520:40:fidget"))
    store, session = coached.store, coached.session_id
    found = store.movement(session)
    truth = [(coached.to_session(m["start_s"]), coached.to_session(m["start_s"] + m["duration_s"]),
              m["kind"]) for m in coached.truth["movement"]]
    assert len(found) == len(truth) == 2, (found, truth)
    for segment, (start, end, kind) in zip(found, truth, strict=True):
        overlap = min(end, segment.end_s) - max(start, segment.start_s)
        union = max(end, segment.end_s) - min(start, segment.start_s)
        assert overlap / union >= 0.9, (segment, start, end)
        assert segment.kind == {"qigong": "gentle", "fidget": "fidget", "walk": "walking"}[kind]
    # no still minute called moving
    for minute in range(int(protocol.duration_s // 60)):
        a, b = minute * 60.0, minute * 60.0 + 60.0
        truly_moving = any(s < b and e > a for s, e, _ in truth)
        if not truly_moving:
            assert not any(m.start_s < b and m.end_s > a for m in found), (a, found)
    markers = store.markers(session)
    assert markers[1]["still_fraction"] < 0.1 and markers[0]["still_fraction"] == 1.0
    assert markers[1]["hr_rise_bpm"] > 5.0  # the form raised the heart rate (model: 12 bpm)
    assert markers[1].get("rmssd_ms") is None  # a moving form reports no vagal markers
    assert 0.6 < markers[3]["still_fraction"] < 1.0 and markers[3]["moving_s"] > 30
    # the comparison (still baseline -> still recovery with a fidget) leaves it out and says so
    from hrvcoach.history.compare import compare
    from hrvcoach.views.cli.history import comparison_json

    result = compare(store, session)
    assert result.before.moving_s == 0 and result.after.moving_s == markers[3]["moving_s"]
    assert f"movement left out, {markers[3]['moving_s']:.0f} s after" in result.verdict()
    # (its still part, under 2 minutes in this shortened protocol, is called short: unreliable)
    assert "short: 1." in result.verdict()
    assert comparison_json(result)["after"]["moving_excluded_s"] > 30


async def test_ecg_r_peaks_fall_on_the_true_beats_and_catch_the_beats_the_rr_got_wrong(
        ble_world, tmp_path):
    """R-peaks of the stored ECG within one sample of the truth's beats; a missed beat and an
    extra one slipped into the strap's 0x2A37 RR are found by the beat-by-beat comparison."""
    from hrvcoach.analysis.ecg import compare_rr, ecg_stretches, r_peaks

    strap = ble_world.strap
    send_hr = strap.send_hr
    packets = {"n": 0}
    carried: list[float] = []
    injected: list[str] = []
    misses, extras = [60, 140], [100, 180]  # from these packets on (a packet may hold 0-2 RR)

    async def rr_with_mistakes(bpm: int, rr_ms: Any = None, contact: Any = True) -> Any:
        packets["n"] += 1
        rr = list(rr_ms or [])
        if carried and rr:  # the beat the strap missed: its interval joins the next one
            rr[0] += carried.pop()
            injected.append("missed")
        elif misses and packets["n"] >= misses[0] and len(rr) == 1:  # this beat goes unreported
            misses.pop(0)
            carried.append(rr.pop())
        elif extras and packets["n"] >= extras[0] and rr:  # one beat reported as two: extra
            extras.pop(0)
            rr = [rr[0] * 0.45, rr[0] * 0.55, *rr[1:]]
            injected.append("extra")
        return await send_hr(bpm, rr, contact)

    strap.send_hr = rr_with_mistakes
    protocol = Protocol("ecg-check", "", (Phase("rest", "baseline", 240.0, compare="before"),))
    coached = await coach_person(ble_world, tmp_path, protocol, seed=13, breathing="600:free",
                                 movement=("120:40:qigong",))
    store, session = coached.store, coached.session_id
    base = coached.truth["sensor_time_base_ns"]
    truth_beats = np.array([b["t_s"] for b in coached.truth["beats"]])
    found_s, errors = [], []
    for stretch in ecg_stretches(store.raw_chunks(session, "ecg")):
        peaks = r_peaks(stretch.values_uv, stretch.rate_hz) / stretch.rate_hz
        strap_s = (stretch.sensor_ns - base) / 1e9 + peaks  # on the strap's clock
        if strap_s.size < 3:
            continue
        inner = (strap_s > strap_s[0] + 1) & (strap_s < strap_s[-1] - 1)
        errors += [float(min(abs(truth_beats - t))) for t in strap_s[inner]]
        lo, hi = strap_s[0] + 1, strap_s[-1] - 1
        found_s += [t for t in truth_beats if lo < t < hi]
    errors_a = np.array(errors)
    assert len(errors_a) >= 0.99 * len(found_s) > 150  # every true beat found, nothing else
    assert np.mean(errors_a <= 1 / 130) >= 0.99, np.sort(errors_a)[-5:]
    # the comparison with the strap's RR
    beats = store.beats(session)
    stretches = ecg_stretches(store.raw_chunks(session, "ecg"))
    peaks_s = np.concatenate([s.start_s + r_peaks(s.values_uv, s.rate_hz) / s.rate_hz
                              for s in stretches])
    result = compare_rr(peaks_s, np.array(beats.time_s), np.array(beats.rr_ms), beats.after_gap)
    assert sorted(injected) == ["extra", "extra", "missed", "missed"]
    assert result.count("missed") == 2 and result.count("extra") == 2
    assert result.count("differs") == 0
    assert result.count("agrees") >= len(beats) - 8
    markers = store.markers(session)
    assert markers[0]["ecg_missed_beats"] == 2 and markers[0]["ecg_extra_beats"] == 2
    # the baseline's markers come from its still stretches: the trend says how much was left out
    from hrvcoach.history.trends import load_trends

    (day,) = load_trends(store).days
    assert day.moving_s == markers[0]["moving_s"] and 30 < day.moving_s < 55  # the 40-s form
    assert day.to_json()["moving_excluded_s"] == round(day.moving_s, 1)


async def test_a_session_with_raw_data_exports_ecg_and_accelerometer_to_edf_and_json(
        ble_world, tmp_path):
    import pyedflib

    from hrvcoach.history.exporting import export_session
    from tests.helpers import run_cli

    protocol = Protocol("export-check", "", (Phase("rest", "baseline", 90.0, compare="before"),))
    coached = await coach_person(ble_world, tmp_path, protocol, seed=14, breathing="600:free",
                                 movement=("40:20:walk",))
    store, session = coached.store, coached.session_id
    edf = export_session(store, session, "edf", tmp_path / "session.edf")
    reader = pyedflib.EdfReader(str(edf))
    try:
        labels = reader.getSignalLabels()
        assert labels == ["RR", "ECG", "ACC X", "ACC Y", "ACC Z"]
        assert [reader.getSampleFrequency(i) for i in range(5)] == [4, 130, 50, 50, 50]
        assert [reader.getPhysicalDimension(i) for i in range(5)] == ["ms", "uV", "mG", "mG", "mG"]
        ecg = reader.readSignal(1)
        acc_y = reader.readSignal(3)
    finally:
        reader.close()
    stored = store.raw_chunks(session, "ecg")
    chunk = stored[len(stored) // 2]
    first = round(chunk.start_s * 130)  # laid down per stretch: within a few samples of this
    assert any(np.allclose(ecg[k:k + chunk.n_samples], chunk.values, atol=0.5)
               for k in range(first - 20, first + 21))
    assert 900 < np.median(acc_y[acc_y != 0]) < 1010  # gravity, upright: about 1 G on y
    # analyze reads the ECG of that EDF+ (files.ecg_files, analysis.ecg's R-peaks) and gives
    # back the session's RR, interval for interval, within one ECG sample
    from hrvcoach.files.recordings import ReadOptions, read_rr_series

    analysed = read_rr_series(edf, ReadOptions()).rr_ms
    session_rr = np.array(store.beats(session).rr_ms)
    one_sample_ms = 1000 / 130

    def agree(i: int, j: int, n: int) -> bool:
        return i + n <= len(analysed) and j + n <= len(session_rr) and bool(np.all(
            np.abs(analysed[i:i + n] - session_rr[j:j + n]) <= one_sample_ms))

    matched = unmatched = 0
    k: int | None = None  # the session interval the next analysed one should be
    for i, value in enumerate(analysed):
        if value > 3000.0:  # across a hole in the ECG (raw data starting): find our place again
            k = None
            continue
        if k is None:
            k = next((j for j in range(len(session_rr)) if agree(i, j, 4)), None)
        if k is not None and not agree(i, k, 1):  # a beat more or less: resynchronise nearby
            k = next((j for j in range(max(k - 2, 0), k + 3) if agree(i, j, 3)), k)
        if k is not None and agree(i, k, 1):
            matched += 1
        else:
            unmatched += 1
        k = None if k is None else k + 1
    assert matched > 60 and unmatched <= 0.02 * matched, (matched, unmatched)
    done = run_cli("analyze", str(edf), "--json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_beats"] == len(analysed)
    json_path = export_session(store, session, "json", tmp_path / "session.json")
    document = json.loads(json_path.read_text())
    assert document["movement"] and document["movement"][0]["kind"] == "walking"
    assert {"start_s", "duration_s", "inhale_s"} <= set(document["breaths"][0])
    assert {"breathing_rate_measured", "pacer_adherence", "still_fraction"} <= set(
        document["markers"]["0"])
    sessions = json.loads(run_cli("sessions", "--json", home=tmp_path).stdout)
    assert [s["raw_data"] for s in sessions] == [True]
    # the JSON imports back with its breaths and movement: the same still-only markers
    elsewhere = tmp_path / "elsewhere"
    done = run_cli("import", str(json_path), home=elsewhere)
    assert done.returncode == 0, done.stderr
    with Store.open(elsewhere) as imported:
        (info,) = imported.sessions()
        assert imported.movement(info.id) == store.movement(session)
        assert [(b.onset_s, b.duration_s, b.inhale_s, b.moving, b.paced_per_min)
                for b in imported.breaths(info.id)] == [
            (b.onset_s, b.duration_s, b.inhale_s, b.moving, b.paced_per_min)
            for b in store.breaths(session)]
        again = imported.markers(info.id)[0]
    for name in ("rmssd_ms", "moving_s", "still_fraction", "breathing_rate_measured"):
        assert again[name] == pytest.approx(store.markers(session)[0][name], rel=1e-9), name


async def test_a_resonance_block_the_person_did_not_follow_is_marked_and_not_chosen(ble_world,
                                                                                    tmp_path):
    """Pacer at 6.5, 7.5 and 4.5/min; in the 6.5 block the person breathes at their own 5.5
    (the fake person's resonance): the swing is largest there, but the accelerometer shows the
    pacer was not followed, so that block is marked and the rate is chosen among the others."""
    from hrvcoach.history.assessment import assess_session
    from hrvcoach.history.profile import load_profile
    from hrvcoach.views.cli.protocols import print_scores

    protocol = Protocol("assessment-check", "", (
        Phase("settle", "baseline", 60.0),
        Phase("6.5", "paced", 150.0, 6.5, _breath(6.5)),
        Phase("7.5", "paced", 150.0, 7.5, _breath(7.5)),
        Phase("4.5", "paced", 150.0, 4.5, _breath(4.5)),
    ), assess_resonance=True)
    coached = await coach_person(ble_world, tmp_path, protocol, seed=15,
                                 breathing="150:5.5,150:7.5,160:4.5", head_free_s=60.0)
    assessment = assess_session(coached.store, coached.session_id, protocol)
    by_rate = {s.breaths_per_min: s for s in assessment.scores}
    assert set(by_rate) == {6.5, 7.5, 4.5}
    assert by_rate[6.5].pacer_followed is False and by_rate[6.5].pacer_adherence < 0.3
    assert by_rate[7.5].pacer_followed and by_rate[4.5].pacer_followed
    assert by_rate[7.5].pacer_adherence >= 0.8 and by_rate[4.5].pacer_adherence >= 0.8
    for rate in (7.5, 4.5):  # the heart follows the breath 0.5 s later in the model
        assert abs(by_rate[rate].heart_breath_phase_deg - (-3.0 * rate)) < 10.0
    best_followed = max((by_rate[7.5], by_rate[4.5]), key=lambda s: s.resonance_score)
    assert assessment.resonance_breaths_per_min == best_followed.breaths_per_min
    # Scored without the body's evidence, the 6.5 block (the heart swung at the person's own
    # 5.5) usually wins on amplitude alone; how often depends on where the fake person's
    # schedule falls against the session's blocks, which moves with the machine's timing (under
    # load in CI the 7.5 block won once), so it is not asserted here: the choice above is.
    profile = load_profile(tmp_path)  # the coach saved it with its evidence
    assert profile.resonance_breaths_per_min == assessment.resonance_breaths_per_min
    assert [s.pacer_followed for s in profile.scores] == [False, True, True]
    table = io.StringIO()
    print_scores(profile.scores, table)
    assert "not followed: not trusted" in table.getvalue().splitlines()[2]
    best_line = 3 if best_followed.breaths_per_min == 7.5 else 4
    assert "← best" in table.getvalue().splitlines()[best_line]
