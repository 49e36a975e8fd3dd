"""``zhichao devices``: look at device bytes without a lane.

``zhichao devices decode`` turns a capture of an indicator's output (a file, or
stdin with ``-``) into one JSON line per frame, so an installer can check a
scale's format and settings on site.
"""

import json
import logging
import re
from collections.abc import Iterator
from typing import BinaryIO

import click

from zhichao.errors import ProtocolError
from zhichao.protocols.readings import WeightReading
from zhichao.protocols.registry import (
    ScaleProtocol,
    get_scale_protocol,
    scale_protocol_names,
)
from zhichao.protocols.xk3190 import UNIT_FACTORS

logger = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
PIECE_SIZE = 1024  # below every framer's discard limit, so nothing is lost
GARBAGE_LINE_LIMIT = 4096  # a longer run of garbage is reported over several lines

# Split points: before every STX and after every ETX, so that each piece fed to
# the framer completes at most one frame, and only as its last step.
_PIECES = re.compile(rb"[^\x02\x03]*\x03|\x02[^\x02\x03]*\x03?|[^\x02\x03]+")


@click.group()
def devices() -> None:
    """Inspect device bytes (设备数据): decode captures from indicators."""


@devices.command()
@click.option(
    "--protocol",
    "protocol_name",
    required=True,
    type=click.Choice(scale_protocol_names()),
    help="The indicator's output format, as set on the indicator.",
)
@click.option(
    "--unit",
    type=click.Choice(sorted(UNIT_FACTORS)),
    default="kg",
    show_default=True,
    help="The unit the indicator displays.",
)
@click.argument("file", type=click.File("rb"))
def decode(protocol_name: str, unit: str, file: BinaryIO) -> None:
    """Decode raw indicator bytes from FILE (- for stdin), one JSON line per frame."""
    protocol = get_scale_protocol(protocol_name)
    for line in decode_stream(protocol, unit, _chunks(file)):
        click.echo(json.dumps(line, ensure_ascii=False))


def decode_stream(
    protocol: ScaleProtocol, unit: str, chunks: Iterator[bytes]
) -> Iterator[dict]:
    """Yield one dict per frame or per run of discarded bytes, in stream order."""
    framer = protocol.new_framer()
    garbage = bytearray()
    for piece in _pieces(chunks):
        frames = framer.feed(piece)
        garbage += framer.take_discarded()
        if frames or len(garbage) >= GARBAGE_LINE_LIMIT:
            yield from _garbage_lines(garbage)
        for frame in frames:
            yield _frame_line(protocol, frame, unit)
    framer.flush()
    garbage += framer.take_discarded()
    yield from _garbage_lines(garbage)


def _pieces(chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        for piece in _PIECES.findall(chunk):
            for start in range(0, len(piece), PIECE_SIZE):
                yield piece[start : start + PIECE_SIZE]


def _garbage_lines(garbage: bytearray) -> Iterator[dict]:
    """Report and clear the discarded bytes collected so far."""
    for start in range(0, len(garbage), GARBAGE_LINE_LIMIT):
        yield _discarded_line(bytes(garbage[start : start + GARBAGE_LINE_LIMIT]))
    garbage.clear()


def _chunks(file: BinaryIO) -> Iterator[bytes]:
    while chunk := file.read(CHUNK_SIZE):
        yield chunk


def _frame_line(protocol: ScaleProtocol, frame: bytes, unit: str) -> dict:
    try:
        reading = protocol.decode(frame, unit)
    except ProtocolError as err:
        return {"error": str(err), "raw": frame.hex()}
    return _reading_line(reading)


def _reading_line(reading: WeightReading) -> dict:
    return {
        "weight_kg": reading.weight_kg,
        "stable": reading.stable,
        "status": str(reading.status),
        "raw": reading.raw.hex(),
    }


def _discarded_line(data: bytes) -> dict:
    return {"error": f"{len(data)} bytes outside any frame", "raw": data.hex()}
