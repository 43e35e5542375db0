"""The store keeps a strap's raw data and what the body analysis found: chunks back exactly, in
order per stream, committed with the beats; breaths and movement; `raw_data` on the session."""

from __future__ import annotations

from hrvcoach.core.beats import Beat
from hrvcoach.core.raw import BreathRecord, MovementSegment, RawChunk
from hrvcoach.core.records import PhaseRecord
from hrvcoach.store import Store, StoreRecorder


def test_raw_chunks_breaths_and_movement_come_back_as_recorded(tmp_path):
    ecg = [RawChunk("ecg", 1.0 + i * 73 / 130, 130.0, tuple(range(-36 + i, 37 + i)),
                    599_616_000_000_000_000 + i, after_gap=i == 0) for i in range(3)]
    acc = [RawChunk("acc", 1.2, 50.0, (0, 966, 259, -8_388_608, 8_388_607, 1), 7)]
    breath = BreathRecord(3.0, 10.0, 4.1, 38.5, False, 6.0, 0.02)
    with Store.open(tmp_path) as store:
        recorder = StoreRecorder(store, protocol="qigong-moving", source="ble")
        recorder.record_raw(ecg[0])
        recorder.record_beat(Beat(1000.0, 1.5, True))
        for chunk in (*ecg[1:], *acc):
            recorder.record_raw(chunk)
        recorder.record_phase(PhaseRecord(0, "form", "movement", 0.0, 60.0))
        recorder.record_body(breath)
        recorder.record_body(MovementSegment(20.0, 50.5, "gentle"))
        recorder.close("completed", "duration reached")
        session = recorder.session_id
        assert store.raw_chunks(session, "ecg") == ecg
        assert store.raw_chunks(session, "acc") == acc
        assert store.breaths(session) == [breath]
        assert store.movement(session) == [MovementSegment(20.0, 50.5, "gentle")]
        assert store.phases(session)[0].kind == "movement"
        assert store.session(session).raw_data
        other = StoreRecorder(store, protocol="demo", source="simulator")
        other.record_beat(Beat(1000.0, 1.0))
        other.close("completed", "duration reached")
        assert not store.session(other.session_id).raw_data
