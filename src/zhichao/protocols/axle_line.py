"""Axle identifier (轮轴识别器) line format, zhichao's own.

Axle identifiers differ by vendor; this is the plain line format that zhichao's
simulated identifier speaks and that a site adapter can translate to. It is
described byte for byte in ``docs/wire-formats.md`` ("Axle identifier line
format"). One ASCII line per vehicle::

    AXLE,<count>[,<group>-<group>-...[,<tyres>]]\\r\\n

``count`` is the number of axles (1-20, no leading zero); the optional groups
are the axles per group from front to rear and must sum to ``count``; the
optional tyres, after the groups, are one letter per axle from front to rear
(``S`` single, ``D`` twin, ``W`` wide single).
"""

import re

from zhichao.errors import EncodingError, FrameError
from zhichao.protocols.framing import DelimitedFramer
from zhichao.protocols.readings import AxleReading

PREFIX = b"AXLE,"
TERMINATOR = b"\r\n"
MAX_LINE = 80  # bytes, terminator included; a longer line is garbage
MAX_AXLES = 20
TYRE_TYPES = "SDW"  # single, twin (dual), wide single

_NUMBER = rb"[1-9][0-9]?"
_LINE = re.compile(
    rb"AXLE,(?P<count>" + _NUMBER + rb")"
    rb"(?:,(?P<groups>" + _NUMBER + rb"(?:-" + _NUMBER + rb")*)"
    rb"(?:,(?P<tyres>[SDW]+))?)?\r\n"
)


class AxleLineFramer(DelimitedFramer):
    """Cut a byte stream into ``AXLE,...\\r\\n`` lines.

    A frame starts at ``AXLE,`` and ends at the first LF after it. Bytes before
    a prefix, a line that is cut short by the next prefix, and a line longer
    than ``MAX_LINE`` are discarded, so one damaged line never shifts the next.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        super().__init__(start=PREFIX, end=b"\n", max_len=max_line)


def decode_axle_line(frame: bytes) -> AxleReading:
    """Turn one whole line into an ``AxleReading``; FrameError on anything else."""
    match = _LINE.fullmatch(frame)
    if match is None:
        raise FrameError(f"not an axle line: {frame[:MAX_LINE].hex(' ')}")

    axles = int(match["count"])
    groups = None
    if match["groups"] is not None:
        groups = tuple(int(part) for part in match["groups"].split(b"-"))

    tyres = match["tyres"].decode("ascii") if match["tyres"] else None

    problem = _check_counts(axles, groups, tyres)
    if problem:
        raise FrameError(f"axle line {frame!r}: {problem}")
    return AxleReading(axles=axles, groups=groups, raw=bytes(frame), tyres=tyres)


def encode_axle_line(reading: AxleReading) -> bytes:
    """The line an identifier sends for ``reading``; EncodingError if impossible."""
    problem = _check_counts(reading.axles, reading.groups, reading.tyres)
    if problem:
        raise EncodingError(f"cannot encode axle reading: {problem}")

    line = b"AXLE,%d" % reading.axles
    if reading.groups is not None:
        line += b"," + b"-".join(b"%d" % group for group in reading.groups)
    if reading.tyres is not None:
        line += b"," + reading.tyres.encode("ascii")
    return line + TERMINATOR


def _check_counts(
    axles: int, groups: tuple[int, ...] | None, tyres: str | None = None
) -> str:
    if not 1 <= axles <= MAX_AXLES:
        return f"axle count {axles} is outside 1-{MAX_AXLES}"
    if tyres is not None:
        if groups is None:
            return "tyres are sent only after the axle groups"
        if len(tyres) != axles or not tyres or set(tyres) - set(TYRE_TYPES):
            return f"tyres {tyres!r} must be one of S, D, W for each of {axles} axles"
    if groups is None:
        return ""
    if not groups or any(not 1 <= group <= MAX_AXLES for group in groups):
        return f"axle groups {groups} must each be 1-{MAX_AXLES}"
    if sum(groups) != axles:
        return f"axle groups {groups} do not sum to the count {axles}"
    return ""
