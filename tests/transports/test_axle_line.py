import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhichao.errors import EncodingError, FrameError
from zhichao.protocols.axle_line import (
    MAX_LINE,
    AxleLineFramer,
    decode_axle_line,
    encode_axle_line,
)
from zhichao.protocols.framing import DISCARD_LIMIT
from zhichao.protocols.readings import AxleReading

from .vectors import load, unhex

VECTORS = load("axle_line", "lines.yaml")
GOOD = VECTORS["good"]
BAD = VECTORS["bad"]


def _frames(chunks: list[bytes]) -> tuple[list[bytes], bytes]:
    framer = AxleLineFramer()
    frames = [frame for chunk in chunks for frame in framer.feed(chunk)]
    return frames, framer.take_discarded()


@pytest.mark.parametrize("vector", GOOD, ids=lambda v: v["name"])
def test_good_vector_decodes(vector):
    frame = unhex(vector["hex"])
    groups = tuple(vector["groups"]) if vector["groups"] else None

    reading = decode_axle_line(frame)

    tyres = vector.get("tyres")
    assert reading == AxleReading(vector["axles"], groups, raw=frame, tyres=tyres)
    assert encode_axle_line(reading) == frame


@pytest.mark.parametrize("vector", BAD, ids=lambda v: v["name"])
def test_bad_vector_is_frame_error(vector):
    with pytest.raises(FrameError):
        decode_axle_line(vector["text"].encode("ascii"))


@pytest.mark.parametrize("vector", GOOD, ids=lambda v: v["name"])
def test_framer_split_at_every_byte(vector):
    frame = unhex(vector["hex"])
    for cut in range(len(frame) + 1):
        frames, discarded = _frames([frame[:cut], frame[cut:]])
        assert frames == [frame], cut
        assert discarded == b""


def test_framer_one_byte_at_a_time_back_to_back():
    stream = b"".join(unhex(v["hex"]) for v in GOOD)

    frames, discarded = _frames([bytes([byte]) for byte in stream])

    assert frames == [unhex(v["hex"]) for v in GOOD]
    assert discarded == b""


@pytest.mark.parametrize(
    ("stream", "expected", "discarded"),
    [
        (b"noise AXLE,2\r\n", [b"AXLE,2\r\n"], b"noise "),
        (b"AXLE,3\r\n\x00\xffAXLE,2\r\n", [b"AXLE,3\r\n", b"AXLE,2\r\n"], b"\x00\xff"),
        (b"AXLE,6,1-AXLE,2\r\n", [b"AXLE,2\r\n"], b"AXLE,6,1-"),
        (b"AXAXLE,2\r\n", [b"AXLE,2\r\n"], b"AX"),
        (b"\r\n\r\nAXLE,2\r\n", [b"AXLE,2\r\n"], b"\r\n\r\n"),
    ],
)
def test_framer_garbage_before_and_between(stream, expected, discarded):
    assert _frames([stream]) == (expected, discarded)


def test_framer_oversized_line_is_discarded_and_next_line_kept():
    long_line = b"AXLE," + b"9" * (MAX_LINE * 3) + b"\r\n"

    frames, discarded = _frames([long_line, b"AXLE,4,2-2\r\n"])

    assert frames == [b"AXLE,4,2-2\r\n"]
    assert discarded == long_line


def test_framer_buffer_stays_bounded_without_terminator():
    framer = AxleLineFramer()
    framer.feed(b"AXLE,")
    for _ in range(100):
        assert framer.feed(b"1" * 50) == []
    assert len(framer._pending) <= MAX_LINE
    assert framer.feed(b"\r\nAXLE,2\r\n") == [b"AXLE,2\r\n"]
    # every skipped byte is counted; the bytes kept for the log are bounded
    assert framer.discarded_total == 5 + 100 * 50 + 2
    assert framer.take_discarded() == (b"AXLE," + b"1" * 5000)[:DISCARD_LIMIT]


def test_framer_keeps_partial_prefix_at_end_of_chunk():
    framer = AxleLineFramer()
    assert framer.feed(b"xxxAXL") == []
    assert framer.feed(b"E,2\r\n") == [b"AXLE,2\r\n"]
    assert framer.take_discarded() == b"xxx"


@pytest.mark.parametrize(
    "reading",
    [
        AxleReading(0),
        AxleReading(21),
        AxleReading(6, (1, 2, 2)),
        AxleReading(2, ()),
        AxleReading(2, (0, 2)),
        AxleReading(2, None, tyres="SD"),
        AxleReading(2, (1, 1), tyres="S"),
        AxleReading(2, (1, 1), tyres="SX"),
        AxleReading(2, (1, 1), tyres=""),
    ],
)
def test_encode_refuses_impossible_reading(reading):
    with pytest.raises(EncodingError):
        encode_axle_line(reading)


_groups = st.lists(st.integers(1, 5), min_size=1, max_size=6).filter(
    lambda g: sum(g) <= 20
)
_tyred = _groups.flatmap(
    lambda g: st.text("SDW", min_size=sum(g), max_size=sum(g)).map(
        lambda t: AxleReading(sum(g), tuple(g), tyres=t)
    )
)
_readings = st.one_of(
    st.integers(1, 20).map(AxleReading),
    _groups.map(lambda g: AxleReading(sum(g), tuple(g))),
    _tyred,
)


@given(_readings)
def test_fuzz_axle_round_trip(reading):
    line = encode_axle_line(reading)

    decoded = decode_axle_line(line)

    assert (decoded.axles, decoded.groups) == (reading.axles, reading.groups)
    assert decoded.tyres == reading.tyres
    assert decoded.raw == line


@given(st.binary(max_size=300))
def test_fuzz_axle_decoder_only_raises_frame_error(data):
    try:
        reading = decode_axle_line(data)
    except FrameError:
        return
    assert encode_axle_line(reading) == data


_lines = _readings.map(lambda r: (True, encode_axle_line(r)))
# Noise without "A" cannot start or imitate a line, so every line must survive.
_noise = st.binary(max_size=20).map(lambda b: (False, b.replace(b"A", b"")))


@given(st.lists(st.one_of(_lines, _noise)), st.data())
def test_fuzz_axle_framer_finds_every_intact_line(tagged, data):
    parts = [part for _, part in tagged]
    stream = b"".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunks = [
        stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)
    ]

    frames, discarded = _frames(chunks)

    assert frames == [part for is_line, part in tagged if is_line]
    assert discarded == b"".join(part for is_line, part in tagged if not is_line)


@given(st.lists(st.binary(max_size=40), max_size=10))
def test_fuzz_axle_framer_accounts_for_every_byte(chunks):
    framer = AxleLineFramer()

    frames = [frame for chunk in chunks for frame in framer.feed(chunk)]

    for frame in frames:
        assert frame.startswith(b"AXLE,") and frame.endswith(b"\n")
        assert len(frame) <= MAX_LINE
    kept = len(framer._pending)
    assert kept <= MAX_LINE
    total = sum(map(len, frames)) + len(framer.take_discarded()) + kept
    assert total == sum(map(len, chunks))


def test_flush_moves_unfinished_line_to_discarded():
    framer = AxleLineFramer()
    assert framer.feed(b"AXLE,6,1-") == []

    framer.flush()

    assert framer.take_discarded() == b"AXLE,6,1-"
    assert framer.feed(b"2-3\r\nAXLE,2\r\n") == [b"AXLE,2\r\n"]
