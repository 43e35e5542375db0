"""The PMD wire format: frames from a real H10's layout, control point answers, settings, fuzzing,
and the strap's clock on the session clock."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrvcoach.core.errors import InputError
from hrvcoach.sources.ble.pmd import (
    PmdFrame,
    PmdFrameError,
    SensorClock,
    decode_frame,
    decode_response,
    features,
    parse_settings,
    start_request,
)

STAMP = 599_616_000_123_456_789  # ns since 2000-01-01: 2019-01-01 + 0.12 s


def frame(mtype: int, frame_type: int, samples: bytes, stamp: int = STAMP) -> bytes:
    """Written from the layout table, independently of the decoder under test."""
    return bytes([mtype]) + struct.pack("<Q", stamp) + bytes([frame_type]) + samples


def test_an_ecg_frame_gives_its_microvolts_and_the_last_samples_stamp():
    samples = b"".join(v.to_bytes(3, "little", signed=True) for v in (-20, 1200, -8_388_608, 7))
    assert decode_frame(frame(0, 0, samples)) == PmdFrame("ecg", STAMP, (-20, 1200, -8_388_608, 7))


@pytest.mark.parametrize(("frame_type", "fmt"), [(0, "<bbb"), (1, "<hhh")])
def test_an_accelerometer_frame_gives_x_y_z_in_milli_g(frame_type, fmt):
    values = [(1, -2, 3), (-40, 100, 12)] if frame_type == 0 else [(0, 966, 259), (-15, 1001, -300)]
    body = b"".join(struct.pack(fmt, *xyz) for xyz in values)
    decoded = decode_frame(frame(2, frame_type, body))
    assert decoded.stream == "acc" and decoded.n_samples == 2
    assert decoded.values == tuple(v for xyz in values for v in xyz)


def test_fakebluez_frames_decode_to_what_it_encoded():
    pmd = pytest.importorskip("fakebluez.pmd", reason="fakebluez (../shared/tools) not installed")
    ecg = list(range(-36, 37))
    assert decode_frame(pmd.encode_frame(pmd.ECG, STAMP, ecg)).values == tuple(ecg)
    acc = [(i, -i, 1000 + i) for i in range(36)]
    assert decode_frame(pmd.encode_frame(pmd.ACC, STAMP, acc)).values == tuple(
        v for xyz in acc for v in xyz)


@pytest.mark.parametrize(
    ("payload", "offset", "words"),
    [
        (b"", 0, "10-byte header"),
        (frame(0, 0, b"")[:9], 9, "10-byte header"),
        (frame(0, 0, b""), 10, "no samples"),
        (frame(1, 0, b"\0\0\0"), 0, "measurement type 1"),
        (frame(0, 1, b"\0\0\0"), 9, "ECG frame type 1"),
        (frame(2, 0x80, b"\0" * 6), 9, "delta-compressed"),
        (frame(2, 3, b"\0" * 6), 9, "ACC frame type 3"),
        (frame(0, 0, b"\0" * 4), 13, "1 byte(s) left over"),
        (frame(2, 1, b"\0" * 8), 16, "2 byte(s) left over"),
    ],
)
def test_a_malformed_frame_names_the_byte_at_fault(payload, offset, words):
    with pytest.raises(PmdFrameError) as caught:
        decode_frame(payload)
    assert caught.value.offset == offset and words in str(caught.value)
    assert isinstance(caught.value, InputError)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=250))
def test_any_bytes_decode_or_raise_a_frame_error_only(payload):
    try:
        decoded = decode_frame(payload)
    except PmdFrameError:
        return
    channels = 3 if decoded.stream == "acc" else 1
    assert len(decoded.values) % channels == 0 and decoded.n_samples >= 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(1 << 23), (1 << 23) - 1), min_size=1, max_size=73),
       st.integers(0, (1 << 64) - 1))
def test_every_ecg_value_and_stamp_round_trips(values, stamp):
    body = b"".join(v.to_bytes(3, "little", signed=True) for v in values)
    assert decode_frame(frame(0, 0, body, stamp)) == PmdFrame("ecg", stamp, tuple(values))


def test_control_point_answers_and_the_settings_they_offer():
    answer = decode_response(bytes.fromhex("f0 01 02 00 00 00 04 19 00 32 00 64 00 c8 00 01 01 10 00"
                                           " 02 03 02 00 04 00 08 00"))
    assert answer is not None and answer.ok and (answer.op, answer.measurement) == (1, 2)
    assert parse_settings(answer.parameters) == {0: (25, 50, 100, 200), 1: (16,), 2: (2, 4, 8)}
    failed = decode_response(bytes.fromhex("f0 02 00 0d 00"))
    assert failed is not None and failed.status_text == "device in charger"
    assert decode_response(bytes.fromhex("0f 05 00")) is None  # the feature read, not an answer
    assert features(bytes.fromhex("0f 05") + bytes(15)) == {0, 2}
    assert features(b"") == frozenset()
    assert parse_settings(bytes.fromhex("00 02 82 00")) == {}  # truncated: nothing trusted


def test_start_asks_for_one_value_of_each_setting():
    assert start_request(0, {0: 130, 1: 14}) == bytes.fromhex("02 00 00 01 82 00 01 01 0e 00")


def test_the_sensor_clock_takes_the_least_delayed_frame_and_follows_jumps():
    clock = SensorClock()
    assert clock.offset_s(100.0, 5.3) == (pytest.approx(-94.7), False)
    assert clock.offset_s(100.5, 5.75)[0] == pytest.approx(-94.75)  # less delayed: taken
    assert clock.offset_s(101.0, 6.4)[0] == pytest.approx(-94.75)  # more delayed: not
    # the session stood still for 20 s while the strap went on: the offset follows at once
    assert clock.offset_s(122.0, 7.3) == (pytest.approx(-114.7), False)
    # the session clock jumped 30 s ahead of the strap's: the old frames are forgotten
    assert clock.offset_s(123.0, 38.3) == (pytest.approx(-84.7), True)
