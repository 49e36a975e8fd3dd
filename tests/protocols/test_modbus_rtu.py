"""Modbus RTU frames: the design example byte for byte, CRC errors refused."""

import contextlib

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from protocol_vectors import VECTORS

from zhichao.errors import ChecksumError, EncodingError, FrameError, ProtocolError
from zhichao.protocols import modbus_rtu as rtu

DATA = yaml.safe_load((VECTORS / "modbus-rtu" / "frames.yaml").read_text("utf-8"))


def test_design_example_byte_for_byte():
    assert rtu.write_coil_request(1, 0, True) == bytes.fromhex(
        "01 05 00 00 ff 00 8c 3a"
    )


@pytest.mark.parametrize("vector", DATA["frames"], ids=lambda v: v["name"])
def test_request_vectors_encode_and_decode(vector):
    raw = bytes.fromhex(vector["hex"])
    frame = rtu.decode_frame(raw)
    assert (frame.unit, frame.function) == (vector["unit"], vector["function"])
    if vector["function"] == rtu.WRITE_SINGLE_COIL:
        assert rtu.parse_write_coil(frame) == (vector["coil"], vector["value"])
        assert (
            rtu.write_coil_request(vector["unit"], vector["coil"], vector["value"])
            == raw
        )
    else:
        assert rtu.parse_read_request(frame) == (vector["start"], vector["count"])
        assert (
            rtu.read_bits_request(
                vector["unit"], vector["function"], vector["start"], vector["count"]
            )
            == raw
        )


@pytest.mark.parametrize("vector", DATA["replies"], ids=lambda v: v["name"])
def test_reply_vectors(vector):
    raw = bytes.fromhex(vector["hex"])
    frame = rtu.decode_frame(raw)
    assert rtu.reply_length(raw[:3], vector["function"]) == len(raw)
    if "exception" in vector:
        with pytest.raises(rtu.ModbusReplyError) as caught:
            rtu.parse_write_coil(frame)
        assert caught.value.code == vector["exception"]
        return
    bits = rtu.parse_read_bits_reply(frame, vector["function"], vector["count"])
    assert list(bits) == vector["bits"]
    assert rtu.read_bits_reply(1, vector["function"], vector["bits"]) == raw


@pytest.mark.parametrize("vector", DATA["bad"], ids=lambda v: v["name"])
def test_bad_frames_are_refused(vector):
    with pytest.raises(FrameError):
        rtu.decode_frame(bytes.fromhex(vector["hex"]))


def test_every_single_bit_flip_is_a_checksum_error():
    raw = rtu.write_coil_request(1, 0, True)
    for index in range(len(raw) * 8):
        damaged = bytearray(raw)
        damaged[index // 8] ^= 1 << (index % 8)
        with pytest.raises(ChecksumError):
            rtu.decode_frame(bytes(damaged))


@pytest.mark.parametrize(
    "call",
    [
        lambda: rtu.write_coil_request(1, 70000, True),
        lambda: rtu.write_coil_request(300, 0, True),
        lambda: rtu.read_bits_request(1, 2, 0, 0),
        lambda: rtu.read_bits_request(1, 5, 0, 1),
    ],
)
def test_impossible_requests_are_refused(call):
    with pytest.raises(EncodingError):
        call()


@pytest.mark.parametrize("vector", DATA["frames"], ids=lambda v: v["name"])
def test_request_framer_every_split_of_every_request_vector(vector):
    raw = bytes.fromhex(vector["hex"])
    for cut in range(len(raw) + 1):
        framer = rtu.RtuRequestFramer()
        assert framer.feed(raw[:cut]) + framer.feed(raw[cut:] + raw) == [raw, raw]
        assert framer.take_discarded() == b""


@pytest.mark.parametrize("vector", DATA["replies"], ids=lambda v: v["name"])
def test_reply_length_is_right_or_unknown_at_every_split(vector):
    # the master reads a reply in pieces and asks how long it is after each
    raw = bytes.fromhex(vector["hex"])
    for cut in range(len(raw) + 1):
        assert rtu.reply_length(raw[:cut], vector["function"]) in (None, len(raw))
    assert rtu.reply_length(raw[:3], vector["function"]) == len(raw)


def test_request_framer_resynchronises_after_noise():
    first = rtu.write_coil_request(1, 0, True)
    second = rtu.read_bits_request(1, 2, 0, 8)
    stream = b"\x00\x07\x01" + first + first[:5] + second
    for cut in range(len(stream) + 1):
        framer = rtu.RtuRequestFramer()
        frames = framer.feed(stream[:cut]) + framer.feed(stream[cut:])
        assert frames == [first, second]


@given(st.binary(max_size=300))
def test_fuzz_decoder_and_request_framer(data):
    framer = rtu.RtuRequestFramer()
    for frame in framer.feed(data):
        parsed = rtu.decode_frame(frame)
        try:
            if parsed.function == rtu.WRITE_SINGLE_COIL:
                rtu.parse_write_coil(parsed)
            else:
                rtu.parse_read_request(parsed)
        except ProtocolError:
            pass
    with contextlib.suppress(ProtocolError):
        rtu.decode_frame(data)


@given(st.integers(0, 247), st.integers(0, 0xFFFF), st.booleans())
def test_fuzz_write_coil_round_trips(unit, coil, on):
    frame = rtu.decode_frame(rtu.write_coil_request(unit, coil, on))
    assert frame.unit == unit and rtu.parse_write_coil(frame) == (coil, on)
