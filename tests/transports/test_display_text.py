import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhichao.errors import EncodingError, FrameError
from zhichao.protocols.display_text import (
    MAX_FRAME,
    ScreenFramer,
    decode_screen,
    encode_screen,
)

from .vectors import load, unhex

VECTORS = load("display_text", "frames.yaml")
GOOD = VECTORS["good"]
BAD = VECTORS["bad"]


def _frames(chunks: list[bytes]) -> tuple[list[bytes], bytes]:
    framer = ScreenFramer()
    frames = [frame for chunk in chunks for frame in framer.feed(chunk)]
    return frames, framer.take_discarded()


def test_plate_and_over_limit_round_trip_in_gbk():
    lines = ("鲁A1234挂", "超限12.3吨")

    frame = encode_screen(lines)

    assert frame == unhex(
        "02 c2 b3 41 31 32 33 34 b9 d2 0a b3 ac cf de 31 32 2e 33 b6 d6 03"
    )
    assert decode_screen(frame) == lines


@pytest.mark.parametrize("vector", GOOD, ids=lambda v: v["name"])
def test_good_vector(vector):
    frame = unhex(vector["hex"])

    assert decode_screen(frame) == tuple(vector["lines"])
    assert encode_screen(vector["lines"]) == frame


@pytest.mark.parametrize("vector", BAD, ids=lambda v: v["name"])
def test_bad_vector_is_frame_error(vector):
    with pytest.raises(FrameError):
        decode_screen(unhex(vector["hex"]))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["价格€5"], r"U\+20AC"),
        (["😀"], "no GBK code"),
        (["a\nb"], "control character"),
        (["\x02"], "control character"),
        ("鲁A1234挂", "sequence of str"),
        (["字" * 600], "limit is"),
    ],
)
def test_encode_refuses_text_the_screen_cannot_carry(lines, message):
    with pytest.raises(EncodingError, match=message):
        encode_screen(lines)


@pytest.mark.parametrize("vector", GOOD, ids=lambda v: v["name"])
def test_framer_split_at_every_byte(vector):
    frame = unhex(vector["hex"])
    for cut in range(len(frame) + 1):
        assert _frames([frame[:cut], frame[cut:]]) == ([frame], b""), cut


def test_framer_back_to_back_with_garbage_between():
    frames = [unhex(v["hex"]) for v in GOOD]
    stream = b"\xff\x00" + b"zz".join(frames) + b"\x03"

    found, discarded = _frames([bytes([byte]) for byte in stream])

    assert found == frames
    assert discarded == b"\xff\x00" + b"zz" * (len(frames) - 1) + b"\x03"


@pytest.mark.parametrize("lost", ["first", "middle", "last"])
def test_frame_that_lost_a_byte_does_not_shift_the_next(lost):
    damaged = encode_screen(["鲁A1234挂", "超限12.3吨"])
    index = {"first": 0, "middle": 5, "last": len(damaged) - 1}[lost]
    damaged = damaged[:index] + damaged[index + 1 :]
    following = [encode_screen(["请下磅卸货"]), encode_screen(["京A12345", "放行"])]

    found, _ = _frames([damaged + b"".join(following)])

    assert found[-2:] == following
    assert [decode_screen(frame) for frame in found[-2:]] == [
        ("请下磅卸货",),
        ("京A12345", "放行"),
    ]


def test_framer_oversized_frame_is_discarded_and_buffer_bounded():
    framer = ScreenFramer()
    framer.feed(b"\x02")
    for _ in range(50):
        assert framer.feed(b"A" * 100) == []
    assert len(framer._pending) <= MAX_FRAME

    assert framer.feed(b"\x03" + encode_screen(["OK"])) == [encode_screen(["OK"])]


_line = st.text(st.characters(codec="gbk", exclude_categories=("Cc",)), max_size=20)
_screens = st.lists(_line, max_size=4).filter(lambda lines: lines != [""])


@given(_screens)
def test_fuzz_screen_round_trip(lines):
    assert decode_screen(encode_screen(lines)) == tuple(lines)


@given(st.binary(max_size=200))
def test_fuzz_screen_decoder_only_raises_frame_error(data):
    try:
        lines = decode_screen(b"\x02" + data + b"\x03")
    except FrameError:
        return
    assert decode_screen(encode_screen(lines)) == lines


@given(st.lists(st.tuples(st.booleans(), _screens, st.binary(max_size=10))), st.data())
def test_fuzz_screen_framer_resyncs(items, data):
    stream = bytearray()
    expected = []
    for intact, lines, noise in items:
        frame = encode_screen(lines)
        if not intact and len(frame) > 2:
            drop = data.draw(st.integers(0, len(frame) - 1))
            frame = frame[:drop] + frame[drop + 1 :]
        elif intact:
            expected.append(frame)
        stream += frame + noise.replace(b"\x02", b"")
    stream += encode_screen(["end"])

    found, _ = _frames([bytes(stream)])

    # Every intact frame comes out whole and in order, whatever was lost before it.
    remaining = iter(found)
    assert all(any(frame == other for other in remaining) for frame in expected)
    assert found[-1] == encode_screen(["end"])


def test_flush_moves_unfinished_frame_to_discarded():
    framer = ScreenFramer()
    assert framer.feed(b"\x02\xc2\xb3") == []

    framer.flush()

    assert framer.take_discarded() == b"\x02\xc2\xb3"
    assert framer.feed(b"A\x03\x02B\x03") == [b"\x02B\x03"]
