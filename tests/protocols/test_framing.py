"""The shared framer on its own: markers of several bytes near the length limit."""

import pytest

from zhichao.protocols.framing import DelimitedFramer


def _cut(framer: DelimitedFramer, chunks: list[bytes]) -> tuple[list[bytes], bytes]:
    frames = [frame for chunk in chunks for frame in framer.feed(chunk)]
    return frames, framer.take_discarded()


def _line_framer() -> DelimitedFramer:
    return DelimitedFramer(start=b"AXLE,", end=b"\n", max_len=16)


# "AXLE,123456789\r" is 15 bytes: the next prefix begins inside the 16-byte
# limit of the first line and ends past it.
LOST_END = b"AXLE,123456789\r"


@pytest.mark.parametrize("cut", range(len(LOST_END) + 9))
def test_a_prefix_that_begins_inside_the_limit_restarts_the_frame(cut):
    stream = LOST_END + b"AXLE,2\r\n"

    frames, discarded = _cut(_line_framer(), [stream[:cut], stream[cut:]])

    assert frames == [b"AXLE,2\r\n"]
    assert discarded == LOST_END


def test_a_partial_prefix_at_the_limit_is_kept_for_the_next_bytes():
    framer = _line_framer()

    assert framer.feed(LOST_END + b"AXL") == []
    assert framer.feed(b"E,2\r\n") == [b"AXLE,2\r\n"]
    assert framer.take_discarded() == LOST_END


def test_an_overlong_frame_is_still_cut_at_the_limit():
    frames, discarded = _cut(_line_framer(), [b"AXLE," + b"9" * 20 + b"\r\nAXLE,3\r\n"])

    assert frames == [b"AXLE,3\r\n"]
    assert discarded == b"AXLE," + b"9" * 20 + b"\r\n"


def test_fixed_length_frames_ignore_a_marker_that_runs_past_their_end():
    framer = DelimitedFramer(start=b"\x02\x02", length=6)

    frames, discarded = _cut(framer, [b"\x02\x02123\x02\x02\x02abcd"])

    assert frames == [b"\x02\x02123\x02", b"\x02\x02abcd"]
    assert discarded == b""
