"""Axle identifier (轮轴识别器) line format, zhichao's own.

Axle identifiers differ by vendor; this is the plain line format that zhichao's
simulated identifier speaks and that a site adapter can translate to. It is
described byte for byte in ``docs/wire-formats.md`` ("Axle identifier line
format"). One ASCII line per vehicle::

    AXLE,<count>[,<group>-<group>-...]\\r\\n

``count`` is the number of axles (1-20, no leading zero); the optional groups
are the axles per group from front to rear and must sum to ``count``.
"""

import re

from zhichao.errors import EncodingError, FrameError
from zhichao.protocols.readings import AxleReading

PREFIX = b"AXLE,"
TERMINATOR = b"\r\n"
MAX_LINE = 64  # bytes, terminator included; a longer line is garbage
MAX_AXLES = 20

_NUMBER = rb"[1-9][0-9]?"
_LINE = re.compile(
    rb"AXLE,(?P<count>" + _NUMBER + rb")"
    rb"(?:,(?P<groups>" + _NUMBER + rb"(?:-" + _NUMBER + rb")*))?\r\n"
)


class AxleLineFramer:
    """Cut a byte stream into ``AXLE,...\\r\\n`` lines.

    A frame starts at ``AXLE,`` and ends at the first LF after it. Bytes before
    a prefix, a line that is cut short by the next prefix, and a line longer
    than ``MAX_LINE`` are discarded, so one damaged line never shifts the next.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buffer = bytearray()
        self._discarded = bytearray()
        self._max_line = max_line

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        while (frame := self._next_frame()) is not None:
            frames.append(frame)
        return frames

    def take_discarded(self) -> bytes:
        discarded = bytes(self._discarded)
        self._discarded.clear()
        return discarded

    def flush(self) -> None:
        """End of stream: an unfinished frame becomes discarded bytes."""
        self._discard(len(self._buffer))

    def _next_frame(self) -> bytes | None:
        if not self._align_to_prefix():
            return None

        end = self._buffer.find(b"\n")
        restart = self._buffer.find(PREFIX, 1)
        if restart != -1 and (end == -1 or restart < end):
            self._discard(restart)  # this line lost its end
            return self._next_frame()
        if end == -1:
            if len(self._buffer) > self._max_line:
                self._discard(len(self._buffer) - _partial_prefix_length(self._buffer))
            return None
        if end + 1 > self._max_line:
            self._discard(end + 1)
            return self._next_frame()

        frame = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return frame

    def _align_to_prefix(self) -> bool:
        """Drop bytes before the next prefix; keep a possible partial prefix."""
        start = self._buffer.find(PREFIX)
        if start == -1:
            keep = _partial_prefix_length(self._buffer)
            self._discard(len(self._buffer) - keep)
            return False
        self._discard(start)
        return True

    def _discard(self, count: int) -> None:
        self._discarded += self._buffer[:count]
        del self._buffer[:count]


def _partial_prefix_length(buffer: bytearray) -> int:
    for size in range(min(len(PREFIX) - 1, len(buffer)), 0, -1):
        if buffer.endswith(PREFIX[:size]):
            return size
    return 0


def decode_axle_line(frame: bytes) -> AxleReading:
    """Turn one whole line into an ``AxleReading``; FrameError on anything else."""
    match = _LINE.fullmatch(frame)
    if match is None:
        raise FrameError(f"not an axle line: {frame[:MAX_LINE].hex(' ')}")

    axles = int(match["count"])
    groups = None
    if match["groups"] is not None:
        groups = tuple(int(part) for part in match["groups"].split(b"-"))

    problem = _check_counts(axles, groups)
    if problem:
        raise FrameError(f"axle line {frame!r}: {problem}")
    return AxleReading(axles=axles, groups=groups, raw=bytes(frame))


def encode_axle_line(reading: AxleReading) -> bytes:
    """The line an identifier sends for ``reading``; EncodingError if impossible."""
    problem = _check_counts(reading.axles, reading.groups)
    if problem:
        raise EncodingError(f"cannot encode axle reading: {problem}")

    line = b"AXLE,%d" % reading.axles
    if reading.groups is not None:
        line += b"," + b"-".join(b"%d" % group for group in reading.groups)
    return line + TERMINATOR


def _check_counts(axles: int, groups: tuple[int, ...] | None) -> str:
    if not 1 <= axles <= MAX_AXLES:
        return f"axle count {axles} is outside 1-{MAX_AXLES}"
    if groups is None:
        return ""
    if not groups or any(not 1 <= group <= MAX_AXLES for group in groups):
        return f"axle groups {groups} must each be 1-{MAX_AXLES}"
    if sum(groups) != axles:
        return f"axle groups {groups} do not sum to the count {axles}"
    return ""
