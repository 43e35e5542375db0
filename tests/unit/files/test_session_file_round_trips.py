"""Session files at the edges of what a strap records: the longest RR a strap can send after a
gap, hundreds of beats in one second (a strap's backlog after reconnecting), and exports that
fail half-way (no empty or partial file is left)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrvcoach.core.beats import rr_ms_from_1024
from hrvcoach.core.errors import InputError
from hrvcoach.core.records import BeatColumns, PhaseRecord
from hrvcoach.files.session_files import SessionDocument, SessionMeta, read_recording_file, write_session_file

LONGEST_RR_MS = rr_ms_from_1024(0xFFFF)  # 63999.0234375 ms: a strap's uint16 in 1/1024 s


def document(times: list[float], rr: list[float], gaps: list[bool]) -> SessionDocument:
    n = len(rr)
    return SessionDocument(
        SessionMeta(7, "2026-11-25T07:30:00+01:00", None, "demo", "ble", "Polar H10", "completed", ""),
        [PhaseRecord(0, "settle", "baseline", 0.0, 60.0, compare="before"),
         PhaseRecord(1, "slow breathing", "paced", 60.0, times[-1], 6.0, None, "6 breaths/min")],
        BeatColumns(tuple(times), tuple(rr), (True,) * n, tuple(gaps), (None,) * n), [], {})


@pytest.mark.parametrize("fmt", ["csv", "json", "edf"])
def test_the_longest_rr_a_strap_sends_and_a_burst_of_300_beats_in_a_second_come_back(tmp_path, fmt):
    times = [0.8 * (i + 1) for i in range(60)]
    rr = [800.0] * 60
    burst_start = times[-1] + LONGEST_RR_MS / 1000
    times += [round(burst_start + i / 1024, 4) for i in range(300)]  # clamped strap backlog
    rr += [LONGEST_RR_MS] + [rr_ms_from_1024(820)] * 299
    gaps = [False] * 60 + [True] + [False] * 299
    times += [times[-1] + 0.8 * (i + 1) for i in range(40)]
    rr += [800.0] * 40
    gaps += [False] * 40
    path = write_session_file(document(times, rr, gaps), fmt, tmp_path / f"s.{fmt}")
    back = read_recording_file(path)
    assert [b.rr_ms for b in back.beats] == rr
    assert [b.time_s for b in back.beats] == [round(t, 4) for t in times]
    assert [b.after_gap for b in back.beats] == gaps
    assert [(p.index, p.name, p.kind, p.start_s) for p in back.phases] == [
        (0, "settle", "baseline", 0.0), (1, "slow breathing", "paced", 60.0)]


def test_an_rr_export_keeps_the_intervals_and_a_long_one_comes_back_as_a_gap(tmp_path):
    rr = [800.0] * 20 + [LONGEST_RR_MS] + [810.0] * 20
    times = [sum(rr[: i + 1]) / 1000 for i in range(len(rr))]
    path = write_session_file(document(times, rr, [value > 3000 for value in rr]), "rr",
                              tmp_path / "s.txt")
    back = read_recording_file(path)
    assert [b.rr_ms for b in back.beats] == rr
    assert [i for i, b in enumerate(back.beats) if b.after_gap] == [20]


def test_a_failed_export_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "out" / "s.edf"
    times = [0.8 * (i + 1) for i in range(10)]

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("hrvcoach.files.session_files._write_edf", broken)
    with pytest.raises(InputError, match=r"s.edf: cannot write \(No space left on device\)"):
        write_session_file(document(times, [800.0] * 10, [False] * 10), "edf", target)
    assert list(target.parent.iterdir()) == []  # neither the file nor its temporary
    existing = tmp_path / "keep.csv"
    existing.write_text("the old export\n")
    monkeypatch.setattr("hrvcoach.files.session_files._write_csv", broken)
    with pytest.raises(InputError):
        write_session_file(document(times, [800.0] * 10, [False] * 10), "csv", existing)
    assert existing.read_text() == "the old export\n"


def test_an_export_replaces_a_planted_link_instead_of_following_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "s.json"
    link.symlink_to(victim)
    times = [0.8 * (i + 1) for i in range(10)]
    write_session_file(document(times, [800.0] * 10, [False] * 10), "json", link)
    assert victim.read_text() == "precious" and not link.is_symlink()
    assert Path(link).stat().st_mode & 0o777 == 0o600


def test_breaths_and_movement_come_back_from_json_and_bad_ones_are_named(tmp_path):
    import dataclasses
    import json
    import math

    from hrvcoach.core.raw import BreathRecord, MovementSegment

    times = [0.8 * (i + 1) for i in range(100)]
    base = document(times, [800.0] * 100, [False] * 100)
    breaths = [BreathRecord(10.0, 10.0, 4.0, 35.5, False, 6.0, 0.02),
               BreathRecord(20.0, 9.5, 3.8, math.nan, True, None, None)]
    movement = [MovementSegment(18.0, 31.0, "fidget")]
    path = write_session_file(dataclasses.replace(base, breaths=breaths, movement=movement),
                              "json", tmp_path / "s.json")
    back = read_recording_file(path)
    assert back.movement == movement
    assert [dataclasses.astuple(b)[:3] + dataclasses.astuple(b)[4:] for b in back.breaths] == [
        dataclasses.astuple(b)[:3] + dataclasses.astuple(b)[4:] for b in breaths]
    assert back.breaths[0].depth_mg == 35.5 and math.isnan(back.breaths[1].depth_mg)
    body = json.loads(path.read_text())
    for key, bad, message in (
            ("breaths", {"start_s": 1.0, "duration_s": 0.0, "inhale_s": 0.0}, r"breaths\[0\]: a breath"),
            ("breaths", {"start_s": 1.0, "duration_s": 4.0}, r"breaths\[0\]\.inhale_s: missing"),
            ("movement", {"start_s": 5.0, "end_s": 6.0, "kind": "dance"}, r"movement\[0\]\.kind"),
            ("movement", {"start_s": 5.0, "end_s": 4.0, "kind": "walking"}, r"movement\[0\]: ends")):
        broken = tmp_path / "broken.json"
        broken.write_text(json.dumps({**body, key: [bad]}))
        with pytest.raises(InputError, match=message):
            read_recording_file(broken)
