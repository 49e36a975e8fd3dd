"""Yaohua XK3190 weighing indicators (耀华 XK3190-A9, A9+, A23p, A26).

Continuous output mode tF=0, as described in the indicator's user manual: the
indicator sends the displayed weight over and over, one 12-byte frame each time.

    offset  bytes  meaning
    0       1      STX (02h)
    1       1      sign, '+' or '-'
    2-7     6      weight digits, highest first, no decimal point
    8       1      number of decimals, one ASCII digit
    9-10    2      XOR of bytes 1-8, as two ASCII hex digits (upper case)
    11      1      ETX (03h)

The format carries no motion flag and no over-range code: stability is the
lane's decision, never the frame's.
"""

import logging
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from operator import xor

from zhichao.errors import ChecksumError, ConfigError, FrameError
from zhichao.protocols.readings import WeightReading, WeightStatus

logger = logging.getLogger(__name__)

STX = 0x02
ETX = 0x03
FRAME_LEN = 12
MAX_DECIMALS = 4
DISCARD_LIMIT = 4096  # bytes of discarded input kept for take_discarded()
UNIT_FACTORS = {"kg": 1, "t": 1000}

_DIGITS = frozenset(b"0123456789")
_HEX_DIGITS = b"0123456789ABCDEF"


class Tf0Framer:
    """Cuts a tF=0 byte stream into candidate frames (STX .. ETX).

    It holds at most one frame's worth of bytes. A new STX before the ETX
    restarts the frame (the partial run is discarded); a run of 12 bytes with
    no ETX is discarded whole. Bytes outside any frame, including a fragment at
    the start of a stream opened mid-frame, are discarded and can be collected
    with :meth:`take_discarded` (at most ``DISCARD_LIMIT`` bytes are kept
    between two calls; ``discarded_total`` counts them all).
    """

    def __init__(self) -> None:
        self._pending = b""  # an open frame: starts with STX, shorter than 12
        self._discarded = bytearray()
        self.discarded_total = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return the frames they complete, in order."""
        buf = self._pending + bytes(data)
        self._pending = b""
        frames: list[bytes] = []
        pos = 0
        while pos < len(buf):
            start = buf.find(STX, pos)
            if start < 0:
                self._discard(buf[pos:])
                break
            self._discard(buf[pos:start])
            pos = self._cut(buf, start, frames)
        return frames

    def take_discarded(self) -> bytes:
        """Return the bytes skipped since the last call, and forget them."""
        taken = bytes(self._discarded)
        self._discarded.clear()
        return taken

    def flush(self) -> None:
        """End of stream: an unfinished frame becomes discarded bytes."""
        self._discard(self._pending)
        self._pending = b""

    def _cut(self, buf: bytes, start: int, frames: list[bytes]) -> int:
        """Handle the run that begins with the STX at ``start``; return next pos."""
        window_end = start + FRAME_LEN
        end = buf.find(ETX, start + 1, window_end)
        restart = buf.find(STX, start + 1, window_end)
        if restart >= 0 and (end < 0 or restart < end):
            self._discard(buf[start:restart])
            return restart
        if end >= 0:
            frames.append(buf[start : end + 1])
            return end + 1
        if len(buf) >= window_end:
            self._discard(buf[start:window_end])  # overlong: no ETX in 12 bytes
            return window_end
        self._pending = buf[start:]
        return len(buf)

    def _discard(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.discarded_total += len(chunk)
        room = DISCARD_LIMIT - len(self._discarded)
        if room > 0:
            self._discarded += chunk[:room]


def decode_tf0(frame: bytes, unit: str = "kg") -> WeightReading:
    """Decode one tF=0 frame; ``unit`` is what the indicator displays (kg or t).

    Raises FrameError for a malformed frame and ChecksumError for a wrong XOR.
    """
    factor = _unit_factor(unit)
    frame = bytes(frame)
    _check_envelope(frame)

    sign = frame[1]  # offset 1
    digits = frame[2:8]  # offsets 2-7
    decimals = frame[8]  # offset 8
    check = frame[9:11]  # offsets 9-10
    if sign not in b"+-":
        raise FrameError(f"sign byte must be '+' or '-', got 0x{sign:02X}")
    if not _DIGITS.issuperset(digits):
        raise FrameError(f"weight must be six ASCII digits, got {digits.hex(' ')}")
    if not 0x30 <= decimals <= 0x30 + MAX_DECIMALS:
        raise FrameError(
            f"decimals byte must be an ASCII digit 0-{MAX_DECIMALS}, "
            f"got 0x{decimals:02X}"
        )
    _check_xor(frame[1:9], check)

    weight = _scaled(int(digits), decimals - 0x30, factor)
    weight = -weight if sign == ord("-") else weight
    return WeightReading(
        weight_kg=weight, stable=None, status=WeightStatus.OK, raw=frame
    )


def encode_tf0(value: float | int, decimals: int = 0) -> bytes:
    """Build the frame an indicator sends when it displays ``value``.

    ``value`` is the displayed number (20.00 with ``decimals=2``); it is rounded
    half up to ``decimals`` places, as the display would show it.
    """
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be 0-{MAX_DECIMALS}, got {decimals}")
    scaled = Decimal(str(value)).scaleb(decimals).quantize(Decimal(1), ROUND_HALF_UP)
    magnitude = abs(int(scaled))
    if magnitude > 999_999:
        raise ValueError(f"{value} with {decimals} decimals needs more than six digits")

    sign = b"-" if value < 0 else b"+"
    body = sign + b"%06d" % magnitude + str(decimals).encode("ascii")
    return bytes([STX]) + body + _xor_hex(body) + bytes([ETX])


def _unit_factor(unit: str) -> int:
    try:
        return UNIT_FACTORS[unit]
    except KeyError:
        raise ConfigError(
            f"unit must be one of {', '.join(UNIT_FACTORS)}, got {unit!r}"
        ) from None


def _check_envelope(frame: bytes) -> None:
    if len(frame) != FRAME_LEN:
        raise FrameError(
            f"a tF=0 frame is {FRAME_LEN} bytes STX..ETX, got {len(frame)}"
        )
    if frame[0] != STX:
        raise FrameError(f"frame must start with STX (02), got {frame[0]:02X}")
    if frame[-1] != ETX:
        raise FrameError(f"frame must end with ETX (03), got {frame[-1]:02X}")


def _check_xor(body: bytes, check: bytes) -> None:
    if any(c not in _HEX_DIGITS for c in check):
        raise FrameError(
            f"checksum must be two upper-case ASCII hex digits, got {check.hex(' ')}"
        )
    expected = _xor_hex(body)
    if check != expected:
        raise ChecksumError(
            f"XOR of bytes 1-8 is {expected.decode()}, frame says {check.decode()}"
        )


def _xor_hex(body: bytes) -> bytes:
    return b"%02X" % reduce(xor, body, 0)


def _scaled(digits: int, decimals: int, factor: int) -> int | float:
    """digits / 10**decimals * factor, exact when the result is whole."""
    numerator = digits * factor
    denominator = 10**decimals
    if numerator % denominator == 0:
        return numerator // denominator
    return numerator / denominator
