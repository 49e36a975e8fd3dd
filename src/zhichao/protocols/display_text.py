"""Plain screen text over TCP, zhichao's own framing for LED screens.

Vendor LED controllers (Onbon and others) each have their own framing; this is
the simple one that zhichao's simulated screen speaks and that a site adapter
can translate to. Described byte for byte in ``docs/wire-formats.md`` ("Screen
text over TCP")::

    STX (0x02) + GBK(line 1) + LF + GBK(line 2) + ... + ETX (0x03)

GBK encodes ASCII as itself and every other character as two bytes whose lead
byte is 0x81-0xFE and trail byte 0x40-0xFE, so 0x02, 0x03 and 0x0A can only come
from the control characters themselves, which the text may not contain. That
lets a receiver resynchronise on the next STX after a damaged frame.
"""

from collections.abc import Sequence

from zhichao.errors import EncodingError, FrameError
from zhichao.protocols.framing import DelimitedFramer

STX = 0x02
ETX = 0x03
LF = 0x0A
ENCODING = "gbk"
MAX_FRAME = 1024  # bytes, STX and ETX included


def encode_screen(lines: Sequence[str]) -> bytes:
    """The frame that shows ``lines``; EncodingError when it cannot be sent.

    No lines (or one empty line) is a blank screen.
    """
    if isinstance(lines, str):
        raise EncodingError("screen lines must be a sequence of str, not one str")
    for line in lines:
        _check_text(line)

    payload = b"\n".join(_encode_line(line) for line in lines)
    frame = bytes([STX]) + payload + bytes([ETX])
    if len(frame) > MAX_FRAME:
        raise EncodingError(
            f"screen frame is {len(frame)} bytes; the limit is {MAX_FRAME}"
        )
    return frame


def decode_screen(frame: bytes) -> tuple[str, ...]:
    """The lines one whole frame carries; FrameError on anything else."""
    if len(frame) < 2 or frame[0] != STX or frame[-1] != ETX:
        raise FrameError(f"not a screen frame: {frame[:32].hex(' ')}")
    payload = frame[1:-1]
    if STX in payload or ETX in payload:
        raise FrameError("screen frame holds a second STX or ETX")

    try:
        text = payload.decode(ENCODING)
    except UnicodeDecodeError as err:
        raise FrameError(f"screen frame is not valid GBK at byte {err.start}") from err
    if not text:
        return ()

    lines = tuple(text.split("\n"))
    for line in lines:
        if _control_character(line) is not None:
            raise FrameError(f"screen line {line!r} holds a control character")
    return lines


class ScreenFramer(DelimitedFramer):
    """Cut a byte stream into STX ... ETX frames, resynchronising on STX.

    Bytes outside a frame, a frame cut short by the next STX, and a frame longer
    than ``MAX_FRAME`` are discarded, so a lost byte never shifts the next frame.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        super().__init__(start=bytes([STX]), end=bytes([ETX]), max_len=max_frame)


def encode_line(line: str) -> bytes:
    """One screen line in GBK; EncodingError when a screen cannot show it.

    Shared by the screen framings: a line must be text, hold no control
    character, and have a GBK code for every character.
    """
    _check_text(line)
    return _encode_line(line)


def _check_text(line: str) -> None:
    if not isinstance(line, str):
        raise EncodingError(f"screen line {line!r} is not text")
    bad = _control_character(line)
    if bad is not None:
        raise EncodingError(
            f"screen line {line!r} holds control character U+{ord(bad):04X}; "
            "give each line separately"
        )


def _encode_line(line: str) -> bytes:
    try:
        return line.encode(ENCODING)
    except UnicodeEncodeError as err:
        char = line[err.start]
        raise EncodingError(
            f"screen line {line!r}: character {char!r} (U+{ord(char):04X}) "
            "has no GBK code; the screen cannot show it"
        ) from err


def _control_character(line: str) -> str | None:
    for char in line:
        if ord(char) < 0x20 or ord(char) == 0x7F:
            return char
    return None
