"""Onbon (仰邦) LED controller framing, carrying GBK screen text.

The envelope follows what is known of Onbon's serial/network framing: a frame
starts with ``A5`` and ends with ``5A``, and every ``A5``, ``A6``, ``5A`` and
``5B`` inside it is replaced by a two-byte escape, so the start and end bytes
never occur inside a frame. A CRC-16 protects the content. The CRC variant
(reflected polynomial 0xA001, initial value 0, no final XOR, that is
CRC-16/ARC) was taken from a vendor engineer's analysis tool and has **not**
been checked against a capture from a real controller; it is the constant
``CRC_VARIANT`` below so that a capture can correct it in one place.

The packet inside the envelope and the text command are zhichao's own plain
design, not taken from a vendor manual (``docs/wire-formats.md``, "Onbon
frames")::

    A5 | escaped( address:2 LE | command:1 | length:2 LE | data | crc:2 LE ) | 5A

    show text (command 0x10): line count:1, then per line  length:1 | GBK bytes

The CRC covers address to the end of data, before escaping.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from zhichao.errors import ChecksumError, EncodingError, FrameError
from zhichao.protocols.display_text import encode_line
from zhichao.protocols.framing import DelimitedFramer

START = 0xA5
END = 0x5A
ESCAPE_START = 0xA6  # A5 -> A6 02, A6 -> A6 01
ESCAPE_END = 0x5B  # 5A -> 5B 02, 5B -> 5B 01
_ESCAPES = {
    START: bytes([ESCAPE_START, 0x02]),
    ESCAPE_START: bytes([ESCAPE_START, 0x01]),
    END: bytes([ESCAPE_END, 0x02]),
    ESCAPE_END: bytes([ESCAPE_END, 0x01]),
}
_UNESCAPES = {(lead, tail): byte for byte, (lead, tail) in _ESCAPES.items()}

CRC_VARIANT = {"poly_reflected": 0xA001, "init": 0x0000, "xor_out": 0x0000}

CMD_SHOW_TEXT = 0x10
ENCODING = "gbk"
HEADER = 5  # address 2, command 1, length 2
MAX_DATA = 1024
MAX_LINE_BYTES = 255
MAX_LINES = 16
# a frame as sent: start, end, and every content byte possibly escaped
MAX_FRAME = 2 + 2 * (HEADER + MAX_DATA + 2)


@dataclass(frozen=True)
class OnbonPacket:
    """The content of one frame, after unescaping and the CRC check."""

    address: int
    command: int
    data: bytes


def crc16(data: bytes, variant: dict = CRC_VARIANT) -> int:
    """CRC-16 with a reflected polynomial, as ``CRC_VARIANT`` describes."""
    crc = variant["init"]
    poly = variant["poly_reflected"]
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc ^ variant["xor_out"]


def escape(content: bytes) -> bytes:
    """Replace every reserved byte by its two-byte escape."""
    out = bytearray()
    for byte in content:
        out += _ESCAPES.get(byte, bytes([byte]))
    return bytes(out)


def unescape(content: bytes) -> bytes:
    """Undo ``escape``; FrameError on a lone escape byte or a reserved byte."""
    out = bytearray()
    index = 0
    while index < len(content):
        byte = content[index]
        if byte in (START, END):
            raise FrameError(f"reserved byte {byte:02X} inside a frame at {index}")
        if byte in (ESCAPE_START, ESCAPE_END):
            pair = (byte, content[index + 1]) if index + 1 < len(content) else None
            if pair not in _UNESCAPES:
                raise FrameError(f"bad escape {content[index : index + 2].hex(' ')}")
            out.append(_UNESCAPES[pair])
            index += 2
            continue
        out.append(byte)
        index += 1
    return bytes(out)


def encode_frame(command: int, data: bytes, address: int = 1) -> bytes:
    """One whole frame, escaped and framed, for ``command`` with ``data``."""
    if not 0 <= address <= 0xFFFF or not 0 <= command <= 0xFF:
        raise EncodingError(f"address {address} or command {command} out of range")
    if len(data) > MAX_DATA:
        raise EncodingError(f"Onbon data is {len(data)} bytes; the limit is {MAX_DATA}")

    content = (
        address.to_bytes(2, "little")
        + bytes([command])
        + len(data).to_bytes(2, "little")
        + data
    )
    content += crc16(content).to_bytes(2, "little")
    return bytes([START]) + escape(content) + bytes([END])


def decode_frame(frame: bytes) -> OnbonPacket:
    """The packet in one whole frame; ChecksumError or FrameError otherwise."""
    if len(frame) < 2 or frame[0] != START or frame[-1] != END:
        raise FrameError(f"not an Onbon frame: {frame[:32].hex(' ')}")
    content = unescape(frame[1:-1])
    if len(content) < HEADER + 2:
        raise FrameError(f"Onbon frame too short: {len(content)} bytes inside")

    body, crc_bytes = content[:-2], content[-2:]
    expected = crc16(body)
    got = int.from_bytes(crc_bytes, "little")
    if got != expected:
        raise ChecksumError(f"Onbon CRC is {got:04X}, content gives {expected:04X}")

    length = int.from_bytes(body[3:5], "little")  # offset 3-4: data length
    if length != len(body) - HEADER:
        raise FrameError(
            f"Onbon length field says {length}, frame holds {len(body) - HEADER}"
        )
    return OnbonPacket(
        address=int.from_bytes(body[0:2], "little"),  # offset 0-1: address
        command=body[2],  # offset 2: command
        data=bytes(body[HEADER:]),
    )


def encode_text(lines: Sequence[str], address: int = 1) -> bytes:
    """The frame that shows ``lines`` (GBK) on the controller at ``address``."""
    if isinstance(lines, str):
        raise EncodingError("screen lines must be a sequence of str, not one str")
    if len(lines) > MAX_LINES:
        raise EncodingError(f"{len(lines)} lines; an Onbon screen takes {MAX_LINES}")

    data = bytearray([len(lines)])
    for line in lines:
        encoded = _encode_line(line)
        data.append(len(encoded))
        data += encoded
    return encode_frame(CMD_SHOW_TEXT, bytes(data), address)


def decode_text(packet: OnbonPacket) -> tuple[str, ...]:
    """The lines a show-text packet carries; FrameError on anything else."""
    if packet.command != CMD_SHOW_TEXT:
        raise FrameError(f"Onbon command {packet.command:02X} is not show text")
    data = packet.data
    if not data:
        raise FrameError("Onbon show-text packet without a line count")

    lines = []
    index = 1
    for number in range(data[0]):
        if index >= len(data):
            raise FrameError(f"Onbon text ends before line {number + 1}")
        size = data[index]
        raw = data[index + 1 : index + 1 + size]
        if len(raw) != size:
            raise FrameError(f"Onbon line {number + 1} is cut short")
        lines.append(_decode_line(raw, number + 1))
        index += 1 + size
    if index != len(data):
        raise FrameError(f"{len(data) - index} bytes after the last Onbon line")
    return tuple(lines)


def decode_screen(frame: bytes) -> tuple[str, ...]:
    """The lines of one whole show-text frame."""
    return decode_text(decode_frame(frame))


class OnbonFramer(DelimitedFramer):
    """Cut a byte stream into ``A5 ... 5A`` frames, resynchronising on ``A5``.

    Escaping keeps ``A5`` and ``5A`` out of a frame's inside, so a frame that
    lost its end is cut at the next ``A5``, and bytes between frames are
    skipped. A frame that lost a byte inside is passed on whole and refused by
    ``decode_frame`` (CRC, length or escape); it never shifts the next frame.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        super().__init__(start=bytes([START]), end=bytes([END]), max_len=max_frame)


def _encode_line(line: str) -> bytes:
    encoded = encode_line(line)
    if len(encoded) > MAX_LINE_BYTES:
        raise EncodingError(
            f"screen line is {len(encoded)} bytes; the limit is {MAX_LINE_BYTES}"
        )
    return encoded


def _decode_line(raw: bytes, number: int) -> str:
    try:
        line = raw.decode(ENCODING)
    except UnicodeDecodeError as err:
        raise FrameError(f"Onbon line {number} is not valid GBK") from err
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in line):
        raise FrameError(f"Onbon line {number} holds a control character")
    return line
