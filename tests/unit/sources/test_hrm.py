"""The 0x2A37 parser and the beat timeline: every flag combination, the spec's layouts, malformed
payloads, fuzzing, and how notifications become timed beats."""

from __future__ import annotations

import contextlib
import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrvcoach.core.beats import Beat, SourceStatus, StatusKind
from hrvcoach.core.errors import InputError
from hrvcoach.sources.hrm import (
    MIN_BEAT_STEP_S,
    HeartRateMeasurement,
    HrmPacketError,
    HrmTimeline,
    parse_hrm,
)


def encode(flags: int, hr: int, energy: int | None = None, rr: tuple[int, ...] = ()) -> bytes:
    """Written from the spec's field table, independently of the parser under test."""
    body = struct.pack("<H" if flags & 0x01 else "<B", hr)
    if flags & 0x08:
        body += struct.pack("<H", energy if energy is not None else 0)
    if flags & 0x10:
        body += b"".join(struct.pack("<H", value) for value in rr)
    return bytes([flags]) + body


# ---- the parser ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("00 48", HeartRateMeasurement(72, None, None, ())),  # uint8 HR, nothing else
        ("01 48 00", HeartRateMeasurement(72, None, None, ())),  # uint16 HR
        ("01 2c 01", HeartRateMeasurement(300, None, None, ())),  # uint16 HR above 255
        ("02 48", HeartRateMeasurement(72, None, None, ())),  # bit1 without bit2: not supported
        ("04 00", HeartRateMeasurement(0, False, None, ())),  # contact supported, not detected
        ("06 48", HeartRateMeasurement(72, True, None, ())),  # contact supported and detected
        ("08 48 10 27", HeartRateMeasurement(72, None, 10000, ())),  # energy expended, kJ
        ("10 48 00 04", HeartRateMeasurement(72, None, None, (1024,))),  # one RR: 1 s
        ("10 48 5b 03 5a 03", HeartRateMeasurement(72, None, None, (859, 858))),  # two RR
        ("16 3c 00 04", HeartRateMeasurement(60, True, None, (1024,))),  # Polar H10 style
        ("19 2c 01 10 27 00 02", HeartRateMeasurement(300, None, 10000, (512,))),
        ("1f 48 00 ff ff 01 00 ff ff", HeartRateMeasurement(72, True, 65535, (1, 65535))),
    ],
)
def test_spec_layouts_decode_to_their_fields(payload, expected):
    assert parse_hrm(bytes.fromhex(payload)) == expected


def test_rr_is_kept_at_full_precision_in_ms():
    measurement = parse_hrm(bytes.fromhex("10 48 5b 03 01 00 ff ff"))
    assert measurement.rr_ms == (859 * 1000 / 1024, 1000 / 1024, 65535 * 1000 / 1024)
    assert measurement.rr_ms[0] == 838.8671875  # not rounded to 839


def test_fakebluez_samples_decode_to_the_fields_they_were_built_from():
    hrm = pytest.importorskip("fakebluez.hrm", reason="fakebluez not installed (needs ../shared)")
    for name, payload in hrm.SAMPLES.items():
        fields = hrm.SAMPLE_FIELDS[name]
        measurement = parse_hrm(payload)
        assert measurement.hr_bpm == fields.bpm, name
        assert measurement.contact == fields.contact, name
        assert measurement.energy_kj == fields.energy_kj, name
        assert measurement.rr_1024 == tuple(fields.rr_1024), name


@pytest.mark.parametrize("flags", range(32))
@pytest.mark.parametrize("rr", [(1,), (1024, 65535), (700, 800, 900, 1000)])
def test_every_flag_combination_decodes(flags, rr):
    hr = 0x1234 if flags & 0x01 else 0xAB
    payload = encode(flags, hr, 0xBEEF, rr)
    measurement = parse_hrm(payload)
    assert measurement.hr_bpm == hr
    assert measurement.energy_kj == (0xBEEF if flags & 0x08 else None)
    assert measurement.rr_1024 == (rr if flags & 0x10 else ())
    expected_contact = {0: None, 2: None, 4: False, 6: True}[flags & 0x06]
    assert measurement.contact == expected_contact


@pytest.mark.parametrize("reserved", [0x20, 0x40, 0x80, 0xE0])
@pytest.mark.parametrize("flags", [0x00, 0x16, 0x1F])
def test_reserved_flag_bits_are_rejected(flags, reserved):
    payload = bytearray(encode(flags, 70, 1, (1000,)))
    payload[0] |= reserved
    with pytest.raises(HrmPacketError) as caught:
        parse_hrm(payload)
    assert (caught.value.offset, caught.value.flag) == (0, "reserved")
    assert "byte 0 (flags bits 5-7, reserved)" in str(caught.value)


@pytest.mark.parametrize(
    ("payload", "offset", "flag", "problem"),
    [
        ("", 0, "flags", "empty payload"),
        ("00", 1, "hr8", "truncated heart rate: needs 1 byte"),
        ("01 48", 1, "hr16", "truncated heart rate: needs 2 bytes"),
        ("08 48 10", 2, "energy", "truncated energy expended"),
        ("09 48 00 10", 3, "energy", "truncated energy expended"),
        ("10 48", 2, "rr", "no RR value follows"),
        ("18 48 10 27", 4, "rr", "no RR value follows"),
        ("10 48 00 04 05", 4, "rr", "truncated RR value"),
        ("16 48 00", 2, "rr", "truncated RR value"),
        ("00 48 00", 2, "no_rr", "1 unexpected byte"),
        ("06 48 00 04", 2, "no_rr", "2 unexpected bytes"),
    ],
)
def test_malformed_payloads_name_the_byte_and_the_flag(payload, offset, flag, problem):
    data = bytes.fromhex(payload)
    with pytest.raises(HrmPacketError) as caught:
        parse_hrm(data)
    error = caught.value
    assert isinstance(error, InputError)
    assert (error.offset, error.flag, error.payload) == (offset, flag, data)
    assert error.where.startswith(f"heart rate packet byte {offset} (")
    assert problem in error.problem
    assert (payload or "empty") in str(error)


@settings(max_examples=2000)
@given(st.binary(max_size=40))
def test_fuzzing_raises_nothing_but_the_packet_error(payload):
    try:
        measurement = parse_hrm(payload)
    except HrmPacketError as exc:
        assert 0 <= exc.offset <= max(len(payload), 1)
        return
    flags = payload[0]
    size = 1 + (2 if flags & 1 else 1) + (2 if flags & 8 else 0) + 2 * len(measurement.rr_1024)
    assert size == len(payload)  # every byte accounted for
    assert bool(measurement.rr_1024) == bool(flags & 0x10)


@given(
    st.integers(0, 31),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=9).map(tuple),
)
def test_any_well_formed_payload_round_trips(flags, hr, energy, rr):
    hr = hr if flags & 1 else hr & 0xFF
    measurement = parse_hrm(encode(flags, hr, energy, rr))
    assert (measurement.hr_bpm, measurement.energy_kj, measurement.rr_1024) == (
        hr, energy if flags & 8 else None, rr if flags & 0x10 else ())


# ---- the timeline -------------------------------------------------------------------------------
def beats(items):
    return [item for item in items if isinstance(item, Beat)]


def kinds(items):
    return [item.kind for item in items if isinstance(item, SourceStatus)]


def test_rr_values_are_back_dated_from_the_receive_time():
    timeline = HrmTimeline()
    timeline.link_up()
    out = timeline.feed(encode(0x16, 70, rr=(512, 614, 717)), 10.0)
    assert [b.time_s for b in out] == pytest.approx([10.0 - 717 / 1024 - 614 / 1024,
                                                     10.0 - 717 / 1024, 10.0])
    assert [b.rr_ms for b in out] == [512 * 1000 / 1024, 614 * 1000 / 1024, 717 * 1000 / 1024]
    assert all(b.contact is True and not b.after_gap for b in out)


def test_beat_times_stay_strictly_increasing_when_notifications_bunch_up():
    timeline = HrmTimeline()
    timeline.link_up()
    first = beats(timeline.feed(encode(0x10, 70, rr=(1024,)), 10.0))
    late = beats(timeline.feed(encode(0x10, 70, rr=(1024, 1024)), 10.01))  # back-dates to 9.01
    times = [b.time_s for b in first + late]
    assert times == pytest.approx([10.0, 10.0 + MIN_BEAT_STEP_S, 10.01])
    assert all(b > a for a, b in itertools.pairwise(times))


def test_packets_without_rr_give_no_beats_and_no_gap():
    timeline = HrmTimeline()
    timeline.link_up()
    assert timeline.feed(encode(0x06, 70), 1.0) == []
    assert beats(timeline.feed(encode(0x16, 70, rr=(1000,)), 2.0))[0].after_gap is False


def test_first_beat_after_a_reconnect_is_marked_and_nothing_before_the_first_connect():
    timeline = HrmTimeline()
    timeline.link_up()
    assert not beats(timeline.feed(encode(0x16, 70, rr=(1000,)), 1.0))[0].after_gap
    timeline.link_up()
    after = beats(timeline.feed(encode(0x16, 70, rr=(1000, 1010)), 9.0))
    assert [b.after_gap for b in after] == [True, False]


def test_contact_loss_is_reported_flagged_and_the_return_marks_a_gap():
    timeline = HrmTimeline()
    timeline.link_up()
    timeline.feed(encode(0x16, 70, rr=(1000,)), 1.0)
    lost = timeline.feed(encode(0x04, 0), 2.0)
    assert kinds(lost) == [StatusKind.CONTACT_LOST] and not beats(lost)
    assert timeline.feed(encode(0x04, 0), 3.0) == []  # reported once
    stale = beats(timeline.feed(encode(0x14, 0, rr=(990,)), 4.0))  # some straps still send RR
    assert [(b.contact, b.usable, b.after_gap) for b in stale] == [(False, False, False)]
    back = timeline.feed(encode(0x16, 70, rr=(1000, 1001)), 5.0)
    assert kinds(back) == [StatusKind.CONTACT_BACK]
    assert [(b.contact, b.after_gap) for b in beats(back)] == [(True, True), (True, False)]


def test_straps_without_contact_support_give_unknown_contact():
    timeline = HrmTimeline()
    timeline.link_up()
    (beat,) = beats(timeline.feed(encode(0x10, 70, rr=(1000,)), 1.0))
    assert beat.contact is None and beat.usable


def test_a_bad_packet_is_reported_once_and_changes_nothing_else():
    timeline = HrmTimeline()
    timeline.link_up()
    timeline.feed(encode(0x16, 70, rr=(1000,)), 1.0)
    out = timeline.feed(bytes.fromhex("16 48 00"), 2.0)
    assert kinds(out) == [StatusKind.BAD_PACKET] and not beats(out)
    assert "byte 2 (flags bit4 set: RR intervals present)" in out[0].message
    (beat,) = beats(timeline.feed(encode(0x16, 70, rr=(1000,)), 3.0))
    assert not beat.after_gap and timeline.bad_packets == 1 and timeline.beats == 2


def test_zero_rr_values_are_skipped_and_mark_the_next_beat():
    timeline = HrmTimeline()
    timeline.link_up()
    out = timeline.feed(encode(0x16, 70, rr=(1000, 0, 1010)), 1.0)
    assert kinds(out) == [StatusKind.BAD_PACKET]
    assert [(b.rr_ms, b.after_gap) for b in beats(out)] == [(1000 * 1000 / 1024, False),
                                                            (1010 * 1000 / 1024, True)]
    timeline.feed(encode(0x16, 70, rr=(0,)), 2.0)
    (beat,) = beats(timeline.feed(encode(0x16, 70, rr=(1000,)), 3.0))
    assert beat.after_gap


def test_the_stale_first_rr_quirk_drops_one_rr_per_connection():
    timeline = HrmTimeline(drop_first_rr_after_connect=True)
    timeline.link_up()
    assert timeline.feed(encode(0x06, 70), 0.5) == []  # no RR yet: nothing to drop
    assert [b.rr_ms for b in beats(timeline.feed(encode(0x16, 70, rr=(2048, 1024)), 1.0))] == [1000.0]
    assert len(beats(timeline.feed(encode(0x16, 70, rr=(1024,)), 2.0))) == 1
    timeline.link_up()
    assert beats(timeline.feed(encode(0x16, 70, rr=(1024,)), 9.0)) == []


packets = st.one_of(
    st.builds(encode, st.integers(0, 31), st.integers(0, 255), st.integers(0, 0xFFFF),
              st.lists(st.integers(0, 3000), min_size=1, max_size=4).map(tuple)),
    st.binary(max_size=12),
)


@given(st.lists(st.tuples(packets, st.floats(0.0, 2.0), st.booleans()), max_size=40))
def test_any_stream_gives_strictly_increasing_times_and_every_rr_once(stream):
    timeline = HrmTimeline()
    timeline.link_up()
    now, delivered, expected = 0.0, [], []
    for payload, dt, reconnect in stream:
        now += dt
        if reconnect:
            timeline.link_up()
        with contextlib.suppress(HrmPacketError):
            expected += [v * 1000 / 1024 for v in parse_hrm(payload).rr_1024 if v]
        delivered += beats(timeline.feed(payload, now))
    assert [b.rr_ms for b in delivered] == expected
    times = [b.time_s for b in delivered]
    assert all(later > earlier for earlier, later in itertools.pairwise(times))
    assert all(t <= now + len(times) * MIN_BEAT_STEP_S for t in times)
