"""`hrvcoach class` as a process against three fake straps on one radio (fakebluez), and the
class on simulated straps: sessions linked by a class id, each with its own strap's beats only."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from hrvcoach.store import Store
from tests.ble_fixtures import SPEED, quantized, run_hrvcoach, take_strap_off
from tests.helpers import run_cli

MEAN_HR_BPM = (52.0, 68.0, 84.0)  # one per strap: a crossed beat would stand out
LABELS = ("Anna", "Ben", "Cleo")


@pytest.fixture
async def three_straps(ble_bus: Any) -> AsyncIterator[list[Any]]:
    """Three simulated Polar H10s on one virtual radio behind one fake BlueZ (this test's loop)."""
    from bumble.link import LocalLink
    from fakebluez import FakeBlueZ, HeartRateStrap, polar_identity

    link = LocalLink()
    bluez = FakeBlueZ(link)
    straps = [HeartRateStrap(link, *polar_identity(i), seed=20 + i) for i in range(3)]
    await bluez.start()
    for strap in straps:
        await strap.power_on()
    try:
        yield straps
    finally:
        for strap in straps:
            strap.stop_stream()
        await bluez.stop()


def sent_rr_ms(strap: Any) -> list[float]:
    """The RR of every beat the strap sent to its subscriber, as hrvcoach receives it (ms)."""
    return quantized([beat["rr_ms"] for beat in strap.truth()["beats"]
                      if beat["sent"] and beat["rr_ms"] is not None])


async def test_class_headless_on_three_straps_records_each_strap_as_its_own_session(
        three_straps, tmp_path):
    from fakebluez import Person

    straps = three_straps
    devices = ",".join(strap.name.split()[-1] for strap in straps)  # "2B3C4D5E,..." (name parts)
    process = asyncio.create_task(run_hrvcoach(
        "class", "--headless", "--devices", devices, "--labels", ",".join(LABELS),
        "--speed", str(SPEED), "--scan-timeout", "2", home=tmp_path, timeout_s=150))
    await asyncio.gather(*(strap.wait_subscribed(timeout=60) for strap in straps))
    people = [Person(seed=strap.seed, mean_hr=hr) for strap, hr in zip(straps, MEAN_HR_BPM,
                                                                         strict=True)]
    for strap, person in zip(straps, people, strict=True):
        strap.start_person(person, speed=SPEED)
    taken = straps[1]
    await taken.clock.sleep_until(taken.clock.now() + 40)
    await take_strap_off(taken)  # Ben's strap comes off for ~30 simulated seconds
    await taken.clock.sleep_until(taken.clock.now() + 30)
    others_before = [len(sent_rr_ms(strap)) for strap in (straps[0], straps[2])]
    await taken.put_on()
    await taken.wait_subscribed(timeout=30)
    taken.start_person(people[1], speed=SPEED)  # the same body goes on
    code, out, err = await process
    assert code == 0, err

    with Store.open(tmp_path) as store:
        members = store.class_members(1)
        assert [(m.participant, m.pseudonym) for m in members] == [
            ("Anna", "P1"), ("Ben", "P2"), ("Cleo", "P3")]
        for member, strap in zip(members, straps, strict=True):
            beats = store.beats(member.session_id)
            sent = sent_rr_ms(strap)
            recorded = list(beats.rr_ms)
            assert len(recorded) > 150
            gaps = [i for i, gap in enumerate(beats.after_gap) if gap]
            if strap is taken:
                (gap,) = gaps  # the beat after the strap came back, and only that one
                assert recorded[:gap] == sent[:gap]
                resumed = next(k for k in range(gap, gap + 4)
                               if sent[k:k + 20] == recorded[gap:gap + 20])
                assert recorded[gap:] == sent[resumed:resumed + len(recorded) - gap]
                annotations = [a.kind for a in store.annotations(member.session_id)]
                assert "reconnecting" in annotations and annotations.count("connected") == 2
            else:
                assert gaps == []
                assert recorded == sent[:len(recorded)]  # exactly its own strap's, in order
            mean_hr = 60_000 * len(recorded) / sum(recorded)
            assert abs(mean_hr - MEAN_HR_BPM[straps.index(strap)]) < 7
    # the others went on while Ben's strap was off: their beats kept coming
    assert all(len(sent_rr_ms(strap)) > before + 20
               for strap, before in zip((straps[0], straps[2]), others_before, strict=True))

    lines = out.splitlines()
    reports = [line for line in lines if "HR" in line and "RMSSD" in line and "signal" in line]
    assert {line.split()[1] for line in reports} == {"P1", "P2", "P3"}
    assert any("P2 Ben" in line and "[reconnecting]" in line for line in lines)
    summary = lines[lines.index(next(line for line in lines if line.startswith("class 1 (demo)"))):]
    for name in ("P1 Anna", "P2 Ben", "P3 Cleo"):
        assert any(line.strip().startswith(name) and "RMSSD" in line for line in summary), summary
    assert any("group median" in line for line in summary)


def test_a_simulated_class_summarizes_and_exports_with_pseudonyms_only(tmp_path: Path):
    home, export = tmp_path / "home", tmp_path / "export"
    done = run_cli("--data-dir", str(home), "class", "--simulate", "3", "--labels",
                   ",".join(LABELS), "--headless", "--speed", "120", "--export", str(export),
                   "--export-format", "json", "--lsl", home=home)
    assert done.returncode == 0, done.stderr
    assert "class 1: 3 participants, demo" in done.stdout
    for index in (1, 2, 3):  # each participant's streams, named by pseudonym
        assert (f"LSL streams: hrvcoach P{index} RR, hrvcoach P{index} RR artifacts, hrvcoach "
                f"P{index} HR, hrvcoach P{index} Markers (source_id hrvcoach-simulator-seed-"
                f"{index})") in done.stderr
    files = sorted(path.name for path in export.iterdir())
    assert files == ["class-1-P1.json", "class-1-P2.json", "class-1-P3.json",
                     "class-1-summary.json"]
    for path in export.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not any(label in text for label in LABELS), path.name
    summary = json.loads((export / "class-1-summary.json").read_text(encoding="utf-8"))
    assert [p["participant"] for p in summary["participants"]] == ["P1", "P2", "P3"]
    rmssd = [p["rmssd_ms"] for p in summary["participants"]]
    group = summary["group_median"]["rmssd_ms"]
    assert group["n"] == 3
    assert group["before"] == pytest.approx(sorted(r["before"] for r in rmssd)[1])
    assert group["median_change"] == pytest.approx(sorted(r["pct"] for r in rmssd)[1])

    again = run_cli("--data-dir", str(home), "class-summary", "1", "--json", home=home)
    assert again.returncode == 0, again.stderr
    stored = json.loads(again.stdout)
    assert [p["label"] for p in stored["participants"]] == list(LABELS)
    assert stored["group_median"] == summary["group_median"]


@pytest.mark.parametrize(("args", "message"), [
    (["--simulate", "3", "--labels", "A,B"], "--labels: 2 labels for 3 participants"),
    (["--simulate", "2", "--labels", "A,A"], "--labels: each participant needs a label"),
    (["--simulate", "2", "--protocol", "resonance-assessment"],
     "--protocol: resonance-assessment assesses one person's resonance rate"),
])
def test_bad_class_arguments_exit_2_with_one_line(tmp_path, args, message):
    done = run_cli("class", "--headless", *args, home=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"hrvcoach: error: {message}") and done.stderr.count("\n") == 1


def test_an_export_folder_that_is_a_file_is_refused_before_the_class_runs(tmp_path):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine\n")
    done = run_cli("class", "--headless", "--simulate", "2", "--speed", "600", "--duration", "30",
                   "--export", str(taken), home=tmp_path / "home")
    assert done.returncode == 2
    assert done.stderr == f"hrvcoach: error: --export: {taken}: is a file; give a folder for the export\n"
    assert "P1" not in done.stdout and taken.read_text() == "mine\n"  # no class ran


def test_a_participant_the_busy_machine_delays_is_not_stopped_as_away(tmp_path, monkeypatch, capsys):
    # at 600x a machine busy for 30 ms puts a strap 18 session seconds behind; with a grace of
    # 5 session seconds only, such a participant was stopped as "away" (15 of 25 classes on a
    # machine running six busy loops; 0 of 25 with the grace in real time too)
    from hrvcoach.sources.simulator import SimulatedStrap
    from hrvcoach.views.cli.main import main

    beats = SimulatedStrap.beats

    async def late_beats(self: SimulatedStrap) -> AsyncIterator[Any]:
        delayed = False
        async for item in beats(self):
            if self._seed == 2 and not delayed and item.time_s > 25.0:
                await asyncio.sleep(0.03)  # real seconds: 18 s of this class's session
                delayed = True
            yield item

    monkeypatch.setattr(SimulatedStrap, "beats", late_beats)
    code = main(["--data-dir", str(tmp_path / "home"), "class", "--simulate", "2", "--headless",
                 "--speed", "600", "--duration", "30"])
    out = capsys.readouterr().out
    assert code == 0
    assert "strap was away" not in out
    with Store.open(tmp_path / "home") as store:
        assert [info.status for info in store.sessions()] == ["completed", "completed"]
