"""Onbon frames: vectors, stuffing, CRC, and a framer that never shifts."""

import contextlib

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from protocol_vectors import VECTORS

from zhichao.errors import ChecksumError, EncodingError, FrameError, ProtocolError
from zhichao.protocols import onbon

DATA = yaml.safe_load((VECTORS / "onbon" / "frames.yaml").read_text("utf-8"))
GOOD = [(v["name"], bytes.fromhex(v["hex"]), tuple(v["lines"])) for v in DATA["good"]]
BAD = [(v["name"], bytes.fromhex(v["hex"]), v["error"]) for v in DATA["bad"]]


@pytest.mark.parametrize(("name", "raw", "lines"), GOOD, ids=[g[0] for g in GOOD])
def test_good_vectors_decode_and_encode_byte_for_byte(name, raw, lines):
    assert onbon.decode_screen(raw) == lines
    assert onbon.encode_text(lines) == raw


@pytest.mark.parametrize(("name", "raw", "error"), BAD, ids=[b[0] for b in BAD])
def test_bad_vectors_are_refused(name, raw, error):
    with pytest.raises(FrameError, match=error):
        onbon.decode_screen(raw)


def test_screen_text_goes_out_as_gbk():
    frame = onbon.encode_text(["鲁A1234挂 超限12.3吨"])
    packet = onbon.decode_frame(frame)

    assert packet.data[2:] == "鲁A1234挂 超限12.3吨".encode("gbk")
    assert bytes.fromhex("c2 b3") in frame and bytes.fromhex("b9 d2") in frame
    assert onbon.encode_text(["京A12345"])[8:16] == bytes.fromhex(
        "be a9 41 31 32 33 34 35"
    )


@pytest.mark.parametrize(
    ("byte", "escaped"),
    [(0xA5, "a6 02"), (0xA6, "a6 01"), (0x5A, "5b 02"), (0x5B, "5b 01"), (0x41, "41")],
)
def test_every_stuffing_case_round_trips(byte, escaped):
    assert onbon.escape(bytes([byte])) == bytes.fromhex(escaped)
    assert onbon.unescape(bytes.fromhex(escaped)) == bytes([byte])
    frame = onbon.encode_frame(0x10, bytes([byte, byte]))
    assert 0xA5 not in frame[1:-1] and 0x5A not in frame[1:-1]
    assert onbon.decode_frame(frame).data == bytes([byte, byte])


@pytest.mark.parametrize("bad", ["a6", "a6 03", "5b", "5b 00", "a6 a6 01"])
def test_broken_escapes_are_refused(bad):
    with pytest.raises(FrameError):
        onbon.unescape(bytes.fromhex(bad))


def test_crc_variant_is_arc():
    # CRC-16/ARC check value over "123456789" is BB3D
    assert onbon.CRC_VARIANT == {"poly_reflected": 0xA001, "init": 0, "xor_out": 0}
    assert onbon.crc16(b"123456789") == 0xBB3D


def test_corrupt_crc_is_a_checksum_error():
    raw = bytearray(GOOD[0][1])
    raw[-2] ^= 0x01
    with pytest.raises(ChecksumError):
        onbon.decode_frame(bytes(raw))


@pytest.mark.parametrize("text", ["😀", "€", "a\tb"])
def test_text_it_cannot_carry_is_refused(text):
    with pytest.raises(EncodingError):
        onbon.encode_text([text])


def test_one_string_instead_of_lines_is_refused():
    with pytest.raises(EncodingError):
        onbon.encode_text("京A12345")


def _stream():
    return b"".join(raw for _, raw, _ in GOOD)


def test_framer_every_split_gives_every_frame():
    stream = _stream()
    for cut in range(len(stream) + 1):
        framer = onbon.OnbonFramer()
        frames = framer.feed(stream[:cut]) + framer.feed(stream[cut:])
        assert [onbon.decode_screen(f) for f in frames] == [g[2] for g in GOOD]
        assert framer.take_discarded() == b""


def test_a_lost_byte_is_rejected_and_never_shifts_the_next_frames():
    frames = [raw for _, raw, _ in GOOD]
    for lost in range(len(frames[0])):
        damaged = frames[0][:lost] + frames[0][lost + 1 :]
        framer = onbon.OnbonFramer()
        shown = []
        for frame in framer.feed(b"\x00\xff" + damaged + b"".join(frames[1:])):
            try:
                shown.append(onbon.decode_screen(frame))
            except ProtocolError:
                shown.append("refused")
        good_after = [g[2] for g in GOOD[1:]]
        assert shown[-len(good_after) :] == good_after
        assert GOOD[0][2] not in shown
        assert set(shown[: -len(good_after)]) <= {"refused"}


def test_framer_drops_oversized_input():
    framer = onbon.OnbonFramer(max_frame=64)
    assert framer.feed(b"\xa5" + b"\x41" * 100) == []
    assert framer.feed(GOOD[0][1]) == [GOOD[0][1]]


@given(
    st.lists(
        st.text(
            st.characters(codec="gbk", min_codepoint=0x20, exclude_characters="\x7f")
        ),
        max_size=6,
    )
)
def test_fuzz_text_round_trips(lines):
    lines = [line[:100] for line in lines]
    assert onbon.decode_screen(onbon.encode_text(lines)) == tuple(lines)


@given(st.binary(max_size=600), st.integers(0, 10))
def test_fuzz_deframer_and_decoder_only_raise_protocol_errors(data, chunks):
    framer = onbon.OnbonFramer()
    step = max(1, len(data) // (chunks + 1))
    frames = []
    for index in range(0, len(data), step):
        frames += framer.feed(data[index : index + step])
    framer.flush()
    for frame in frames:
        assert frame[0] == onbon.START and frame[-1] == onbon.END
        with contextlib.suppress(ProtocolError):
            onbon.decode_screen(frame)


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_fuzz_garbage_never_hides_a_good_frame(before, after):
    framer = onbon.OnbonFramer()
    frames = framer.feed(before + GOOD[1][1] + after)
    assert GOOD[1][1] in frames
