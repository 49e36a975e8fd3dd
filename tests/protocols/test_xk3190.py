import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from protocol_vectors import load_vectors

from zhichao import errors
from zhichao.errors import ChecksumError, ConfigError, FrameError, ProtocolError
from zhichao.protocols.readings import WeightStatus
from zhichao.protocols.xk3190 import (
    DISCARD_LIMIT,
    FRAME_LEN,
    Tf0Framer,
    decode_tf0,
    encode_tf0,
)

VECTORS = load_vectors("xk3190-tf0")
GOOD = [v for v in VECTORS if "expect" in v]
BAD = [v for v in VECTORS if "error" in v]
WHOLE = [v for v in VECTORS if v["raw"][:1] == b"\x02" and v["raw"][-1:] == b"\x03"]
M20 = bytes.fromhex("022B30303230303032314203")
M49 = bytes.fromhex("022B30343933383030314403")


def ids(vectors):
    return [v["name"] for v in vectors]


def test_vectors_cover_the_cases_asked_for():
    names = set(ids(VECTORS))
    assert {"manual-20.00", "manual-49380", "bad-xor", "short-frame"} <= names
    assert all(v["source"] in ("manual example", "constructed") for v in VECTORS)


@pytest.mark.parametrize("vector", GOOD, ids=ids(GOOD))
def test_decode_vector(vector):
    reading = decode_tf0(vector["raw"], vector["unit"])

    assert reading.weight_kg == vector["expect"]["weight_kg"]
    assert reading.stable is vector["expect"]["stable"]
    assert reading.status == WeightStatus(vector["expect"]["status"])
    assert reading.raw == vector["raw"]


@pytest.mark.parametrize("vector", BAD, ids=ids(BAD))
def test_decode_bad_vector_raises_the_named_error(vector):
    kind = getattr(errors, vector["error"])

    with pytest.raises(kind) as caught:
        decode_tf0(vector["raw"], vector["unit"])

    assert type(caught.value) is kind
    assert "got" in str(caught.value) or "frame says" in str(caught.value)


def test_checksum_message_gives_both_values():
    frame = M20[:9] + b"1C" + M20[11:]
    with pytest.raises(ChecksumError, match="XOR of bytes 1-8 is 1B, frame says 1C"):
        decode_tf0(frame)


def test_manual_frames_decode_to_the_manual_values():
    assert decode_tf0(M20).weight_kg == 20
    assert decode_tf0(M49).weight_kg == 49380
    assert decode_tf0(M49, "t").weight_kg == 49_380_000


@pytest.mark.parametrize("unit", ["g", "KG", "", "lb"])
def test_unknown_unit_is_a_config_error(unit):
    with pytest.raises(ConfigError, match="kg, t"):
        decode_tf0(M20, unit)


@pytest.mark.parametrize(
    ("value", "decimals", "frame"),
    [
        (20.0, 2, M20),
        (49380, 0, M49),
        (-150, 0, bytes.fromhex("022D30303031353030313903")),
    ],
)
def test_encode_matches_manual_and_vectors(value, decimals, frame):
    assert encode_tf0(value, decimals) == frame


@pytest.mark.parametrize("vector", GOOD, ids=ids(GOOD))
def test_encode_reproduces_each_good_vector(vector):
    raw = vector["raw"]
    decimals = raw[8] - 0x30
    shown = int(raw[2:8]) / 10**decimals * (-1 if raw[1:2] == b"-" else 1)
    if shown == 0 and raw[1:2] == b"-":
        pytest.skip("minus zero is not produced by the encoder")

    assert encode_tf0(shown, decimals) == raw


@pytest.mark.parametrize(("value", "decimals"), [(1_000_000, 0), (100.0, 4), (1, 5)])
def test_encode_refuses_what_does_not_fit(value, decimals):
    with pytest.raises(ValueError):
        encode_tf0(value, decimals)


def test_encode_rounds_to_the_display():
    assert decode_tf0(encode_tf0(12.345, 2)).weight_kg == 12.35


# --- framer ---------------------------------------------------------------


@pytest.mark.parametrize("vector", WHOLE, ids=ids(WHOLE))
def test_framer_every_split_yields_the_frame_once(vector):
    raw = vector["raw"]
    for cut in range(len(raw) + 1):
        framer = Tf0Framer()

        first = framer.feed(raw[:cut])
        second = framer.feed(raw[cut:])

        assert first + second == [raw], cut
        assert (first == []) == (cut < len(raw))
        assert framer.take_discarded() == b""


def test_framer_byte_by_byte():
    framer = Tf0Framer()
    out = [f for b in M20 + M49 for f in framer.feed(bytes([b]))]
    assert out == [M20, M49]


def test_framer_two_frames_in_one_read():
    assert Tf0Framer().feed(M20 + M49) == [M20, M49]


def test_framer_garbage_before_and_between_frames():
    framer = Tf0Framer()

    frames = framer.feed(b"\xff\x00ab" + M20 + b"\r\n" + M49 + b"zz")

    assert frames == [M20, M49]
    assert framer.take_discarded() == b"\xff\x00ab\r\nzz"
    assert framer.take_discarded() == b""


def test_framer_stream_opened_mid_frame_discards_the_fragment():
    framer = Tf0Framer()
    fragment = M49[7:]  # b"00" + checksum + ETX of a frame whose start was missed

    frames = framer.feed(fragment + M49)

    assert frames == [M49]
    assert framer.take_discarded() == fragment


def test_framer_new_stx_drops_the_partial_run():
    framer = Tf0Framer()

    frames = framer.feed(M20[:6] + M49)

    assert frames == [M49]
    assert framer.take_discarded() == M20[:6]


def test_framer_overlong_run_is_discarded():
    framer = Tf0Framer()
    overlong = b"\x02" + b"+" * 40

    frames = framer.feed(overlong + M20)

    assert frames == [M20]
    assert framer.take_discarded() == overlong


def test_framer_short_run_is_a_candidate_the_decoder_refuses():
    framer = Tf0Framer()
    [short] = framer.feed(b"\x02+00\x03")
    with pytest.raises(FrameError, match="12 bytes"):
        decode_tf0(short)


def test_framer_flush_moves_the_unfinished_frame_to_discarded():
    framer = Tf0Framer()
    assert framer.feed(M20[:5]) == []
    framer.flush()
    assert framer.take_discarded() == M20[:5]
    assert framer.feed(M20[5:]) == []


def test_framer_never_decodes_a_weight_from_a_fragment():
    # Every tail of a frame, followed by the next frame's start, gives nothing.
    for start in range(1, FRAME_LEN):
        framer = Tf0Framer()
        assert framer.feed(M49[start:] + M49[:5]) == []


def test_discarded_bytes_are_bounded_but_counted():
    framer = Tf0Framer()
    framer.feed(b"x" * (DISCARD_LIMIT * 3))
    assert len(framer.take_discarded()) == DISCARD_LIMIT
    assert framer.discarded_total == DISCARD_LIMIT * 3


# --- fuzz -----------------------------------------------------------------

_FRAMEISH = st.lists(
    st.one_of(
        st.binary(max_size=20),
        st.sampled_from([M20, M49, b"\x02", b"\x03", M20[:7], M49[5:]]),
    ),
    max_size=30,
)


@given(st.binary(max_size=64), st.sampled_from(["kg", "t"]))
def test_fuzz_decoder_raises_only_protocol_errors(data, unit):
    try:
        reading = decode_tf0(data, unit)
    except ProtocolError:
        return
    assert reading.status is WeightStatus.OK
    assert isinstance(reading.weight_kg, int | float)


@given(st.binary(min_size=9, max_size=9))
def test_fuzz_decoder_on_framed_bodies(body):
    with contextlib.suppress(ProtocolError):
        decode_tf0(b"\x02" + body + b"\x03")


@given(_FRAMEISH)
def test_fuzz_framer_is_bounded_and_loses_no_byte(pieces):
    framer = Tf0Framer()
    out = []
    discarded = b""
    for piece in pieces:
        frames = framer.feed(piece)
        for frame in frames:
            assert frame[:1] == b"\x02" and frame[-1:] == b"\x03"
            assert 2 <= len(frame) <= FRAME_LEN
        out += frames
        discarded += framer.take_discarded()
        assert len(framer._pending) < FRAME_LEN
    framer.flush()
    discarded += framer.take_discarded()

    assert sum(map(len, out)) + len(discarded) == sum(map(len, pieces))


@given(_FRAMEISH, st.integers(min_value=1, max_value=13))
def test_fuzz_framer_output_does_not_depend_on_read_sizes(pieces, size):
    stream = b"".join(pieces)
    whole = Tf0Framer().feed(stream)
    framer = Tf0Framer()
    split = [
        f
        for i in range(0, len(stream), size)
        for f in framer.feed(stream[i : i + size])
    ]
    assert split == whole
