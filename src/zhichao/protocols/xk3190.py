"""Yaohua XK3190 weighing indicators (耀华 XK3190-A9, A9+, A23p, A26, A12(E)).

Four output formats, following the indicators' user manuals (as summarised in
docs/devices.md); each has a framer, a decoder and an encoder.

Continuous output mode tF=0: the indicator sends the displayed weight over and
over, one 12-byte frame each time.

    offset  bytes  meaning
    0       1      STX (02h)
    1       1      sign, '+' or '-'
    2-7     6      weight digits, highest first, no decimal point
    8       1      number of decimals, one ASCII digit
    9-10    2      XOR of bytes 1-8, as two ASCII hex digits (upper case)
    11      1      ETX (03h)

The format carries no motion flag and no over-range code: stability is the
lane's decision, never the frame's.

Command mode tF=1: the host asks, ``STX addr cmd XH XL ETX`` (address 'A' for
indicator 1; 'B' gross, 'D' net), and the indicator answers with the tF=0
weight field behind the address and command:

    offset  bytes  meaning
    0       1      STX
    1       1      address, 'A' for 1
    2       1      command echoed, 'B' gross or 'D' net
    3-10    8      sign, six digits, number of decimals (as tF=0 bytes 1-8)
    11-12   2      XOR of bytes 1-10, two ASCII hex digits
    13      1      ETX

The '=' format (A23p, A26): '=' then the seven displayed characters, point
included, lowest digit first, then a sign byte '0' (positive) or '-'. It has no
checksum and no end marker: the next '=' starts the next frame.

XK3190-A12(E): 'W', 'G' (gross) or 'N' (net), seven characters of the displayed
value with its point ('OL' over range, 'LO' under range), 'kg', the XOR of the
bytes from 'W' to 'kg' as two ASCII hex digits, CR LF.
"""

import logging
from decimal import ROUND_HALF_UP, Decimal
from functools import reduce
from operator import xor

from zhichao.errors import ChecksumError, ConfigError, FrameError
from zhichao.protocols.framing import DISCARD_LIMIT as DISCARD_LIMIT
from zhichao.protocols.framing import DelimitedFramer
from zhichao.protocols.readings import WeightReading, WeightStatus

logger = logging.getLogger(__name__)

STX = 0x02
ETX = 0x03
FRAME_LEN = 12
TF1_REPLY_LEN = 14
TF1_REQUEST_LEN = 6
TF1_COMMANDS = {"gross": ord("B"), "net": ord("D")}
EQ_FRAME_LEN = 9
EQ_START = ord("=")
A12_FRAME_LEN = 15
MAX_DECIMALS = 4
UNIT_FACTORS = {"kg": 1, "t": 1000}

_DIGITS = frozenset(b"0123456789")
_HEX_DIGITS = b"0123456789ABCDEF"


class Tf0Framer(DelimitedFramer):
    """Cuts a tF=0 byte stream into candidate frames (STX .. ETX).

    It holds at most one frame's worth of bytes. A new STX before the ETX
    restarts the frame (the partial run is discarded); a run of 12 bytes with
    no ETX is discarded whole. Bytes outside any frame, including a fragment at
    the start of a stream opened mid-frame, are discarded and can be collected
    with :meth:`take_discarded` (at most ``DISCARD_LIMIT`` bytes are kept
    between two calls; ``discarded_total`` counts them all).
    """

    def __init__(self) -> None:
        super().__init__(start=bytes([STX]), end=bytes([ETX]), max_len=FRAME_LEN)


def decode_tf0(frame: bytes, unit: str = "kg") -> WeightReading:
    """Decode one tF=0 frame; ``unit`` is what the indicator displays (kg or t).

    Raises FrameError for a malformed frame and ChecksumError for a wrong XOR.
    """
    factor = _unit_factor(unit)
    frame = bytes(frame)
    _check_envelope(frame, FRAME_LEN, "tF=0")

    field = frame[1:9]  # offsets 1-8: sign, six digits, decimals
    check = frame[9:11]  # offsets 9-10
    weight = _weight_field(field, factor)
    _check_xor(field, check, "1-8")
    return WeightReading(
        weight_kg=weight, stable=None, status=WeightStatus.OK, raw=frame
    )


def _weight_field(field: bytes, factor: int) -> int | float:
    """Sign, six digits and the number of decimals, as tF=0 and tF=1 carry them."""
    sign, digits, decimals = field[0], field[1:7], field[7]
    if sign not in b"+-":
        raise FrameError(f"sign byte must be '+' or '-', got 0x{sign:02X}")
    if not _DIGITS.issuperset(digits):
        raise FrameError(f"weight must be six ASCII digits, got {digits.hex(' ')}")
    if not 0x30 <= decimals <= 0x30 + MAX_DECIMALS:
        raise FrameError(
            f"decimals byte must be an ASCII digit 0-{MAX_DECIMALS}, "
            f"got 0x{decimals:02X}"
        )
    weight = _scaled(int(digits), decimals - 0x30, factor)
    return -weight if sign == ord("-") else weight


def encode_tf0(value: float | int, decimals: int = 0) -> bytes:
    """Build the frame an indicator sends when it displays ``value``.

    ``value`` is the displayed number (20.00 with ``decimals=2``); it is rounded
    half up to ``decimals`` places, as the display would show it.
    """
    body = _encode_weight_field(value, decimals)
    return bytes([STX]) + body + _xor_hex(body) + bytes([ETX])


def _encode_weight_field(value: float | int, decimals: int) -> bytes:
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be 0-{MAX_DECIMALS}, got {decimals}")
    scaled = Decimal(str(value)).scaleb(decimals).quantize(Decimal(1), ROUND_HALF_UP)
    magnitude = abs(int(scaled))
    if magnitude > 999_999:
        raise ValueError(f"{value} with {decimals} decimals needs more than six digits")
    sign = b"-" if value < 0 else b"+"
    return sign + b"%06d" % magnitude + str(decimals).encode("ascii")


def _unit_factor(unit: str) -> int:
    try:
        return UNIT_FACTORS[unit]
    except KeyError:
        raise ConfigError(
            f"unit must be one of {', '.join(UNIT_FACTORS)}, got {unit!r}"
        ) from None


def _check_envelope(frame: bytes, length: int, kind: str) -> None:
    if len(frame) != length:
        raise FrameError(f"a {kind} frame is {length} bytes STX..ETX, got {len(frame)}")
    if frame[0] != STX:
        raise FrameError(f"frame must start with STX (02), got {frame[0]:02X}")
    if frame[-1] != ETX:
        raise FrameError(f"frame must end with ETX (03), got {frame[-1]:02X}")


def _check_xor(body: bytes, check: bytes, covered: str) -> None:
    if any(c not in _HEX_DIGITS for c in check):
        raise FrameError(
            f"checksum must be two upper-case ASCII hex digits, got {check.hex(' ')}"
        )
    expected = _xor_hex(body)
    if check != expected:
        raise ChecksumError(
            f"XOR of bytes {covered} is {expected.decode()}, "
            f"frame says {check.decode()}"
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


# --- command mode tF=1 ------------------------------------------------------


class Tf1Framer(DelimitedFramer):
    """Cuts tF=1 replies (STX .. ETX, 14 bytes) out of the stream."""

    def __init__(self) -> None:
        super().__init__(start=bytes([STX]), end=bytes([ETX]), max_len=TF1_REPLY_LEN)


def address_byte(address: int) -> int:
    """Indicator address 1-26 as the letter the protocol sends ('A' for 1)."""
    if not 1 <= address <= 26:
        raise ValueError(f"indicator address must be 1-26, got {address}")
    return ord("A") + address - 1


def encode_tf1_request(address: int = 1, command: str = "gross") -> bytes:
    """The poll the host sends: STX, address, command, XOR as two hex, ETX."""
    body = bytes([address_byte(address), _tf1_command(command)])
    return bytes([STX]) + body + _xor_hex(body) + bytes([ETX])


def decode_tf1_request(frame: bytes) -> tuple[int, str]:
    """(address, command) of a poll; for simulated indicators."""
    frame = bytes(frame)
    _check_envelope(frame, TF1_REQUEST_LEN, "tF=1 request")
    _check_xor(frame[1:3], frame[3:5], "1-2")
    address, command = frame[1], frame[2]
    names = {v: k for k, v in TF1_COMMANDS.items()}
    if not ord("A") <= address <= ord("Z") or command not in names:
        raise FrameError(f"not a weight request: {frame[1:3].hex(' ')}")
    return address - ord("A") + 1, names[command]


def encode_tf1_reply(
    value: float | int, decimals: int = 0, address: int = 1, command: str = "gross"
) -> bytes:
    """The indicator's answer to a poll, for ``value`` as displayed."""
    body = bytes([address_byte(address), _tf1_command(command)])
    body += _encode_weight_field(value, decimals)
    return bytes([STX]) + body + _xor_hex(body) + bytes([ETX])


def decode_tf1(
    frame: bytes, unit: str = "kg", address: int | None = None
) -> WeightReading:
    """Decode one tF=1 reply; with ``address``, a reply from another is refused."""
    factor = _unit_factor(unit)
    frame = bytes(frame)
    _check_envelope(frame, TF1_REPLY_LEN, "tF=1 reply")

    addr, command = frame[1], frame[2]  # offsets 1, 2
    field = frame[3:11]  # offsets 3-10
    if not ord("A") <= addr <= ord("Z"):
        raise FrameError(f"address must be a letter A-Z, got 0x{addr:02X}")
    if command not in TF1_COMMANDS.values():
        raise FrameError(
            f"command must be 'B' (gross) or 'D' (net), got 0x{command:02X}"
        )
    weight = _weight_field(field, factor)
    _check_xor(frame[1:11], frame[11:13], "1-10")
    if address is not None and addr != address_byte(address):
        raise FrameError(
            f"reply from indicator {chr(addr)}, expected {chr(address_byte(address))}"
        )
    return WeightReading(
        weight_kg=weight,
        stable=None,
        status=WeightStatus.OK,
        raw=frame,
        net=command == TF1_COMMANDS["net"],
    )


def _tf1_command(command: str) -> int:
    try:
        return TF1_COMMANDS[command]
    except KeyError:
        raise ValueError(f"command must be gross or net, got {command!r}") from None


# --- the '=' format -----------------------------------------------------------


class EqFramer(DelimitedFramer):
    """Cuts '=' frames: '=' and the eight bytes after it."""

    def __init__(self) -> None:
        super().__init__(start=bytes([EQ_START]), length=EQ_FRAME_LEN)


def decode_eq(frame: bytes, unit: str = "kg") -> WeightReading:
    """Decode one '=' frame (digits lowest first, then the sign byte)."""
    factor = _unit_factor(unit)
    frame = bytes(frame)
    if len(frame) != EQ_FRAME_LEN or frame[0] != EQ_START:
        raise FrameError(f"an '=' frame is '=' and 8 bytes, got {frame.hex(' ')}")

    shown = frame[1:8][::-1]  # offsets 1-7, lowest digit first
    sign = frame[8]  # offset 8
    if sign not in b"0-":
        raise FrameError(f"sign byte must be '0' or '-', got 0x{sign:02X}")
    weight = _displayed_value(shown, factor)
    weight = -weight if sign == ord("-") else weight
    return WeightReading(
        weight_kg=weight, stable=None, status=WeightStatus.OK, raw=frame
    )


def encode_eq(value: float | int, decimals: int = 0) -> bytes:
    """The '=' frame for ``value`` as displayed with ``decimals`` places."""
    shown = _shown(abs(value), decimals)
    return b"=" + shown[::-1] + (b"-" if value < 0 else b"0")


# --- XK3190-A12(E) ----------------------------------------------------------


class A12Framer(DelimitedFramer):
    """Cuts A12 frames: 'W' through CR LF, 15 bytes."""

    def __init__(self) -> None:
        super().__init__(start=b"W", end=b"\r\n", max_len=A12_FRAME_LEN)


def decode_a12(frame: bytes, unit: str = "kg") -> WeightReading:
    """Decode one A12 frame; the frame names its unit, ``unit`` is not used."""
    _unit_factor(unit)
    frame = bytes(frame)
    if len(frame) != A12_FRAME_LEN or frame[:1] != b"W" or frame[-2:] != b"\r\n":
        raise FrameError(
            f"an A12 frame is 'W' .. CR LF, {A12_FRAME_LEN} bytes, got {len(frame)}"
        )

    mode = frame[1]  # offset 1: G gross, N net
    shown = frame[2:9]  # offsets 2-8
    frame_unit = frame[9:11]  # offsets 9-10
    if mode not in b"GN":
        raise FrameError(f"mode must be 'G' or 'N', got 0x{mode:02X}")
    if frame_unit != b"kg":
        raise FrameError(f"unit must be 'kg', got {frame_unit.hex(' ')}")
    _check_xor(frame[:11], frame[11:13], "0-10")

    net = mode == ord("N")
    status = {b"OL": WeightStatus.OVERLOAD, b"LO": WeightStatus.UNDERLOAD}.get(
        shown.strip(b" ")
    )
    if status is not None:
        return WeightReading(None, None, status, raw=frame, net=net)
    negative = shown.lstrip(b" ").startswith(b"-")
    digits = shown.replace(b"-", b" ", 1) if negative else shown
    weight = _displayed_value(digits.lstrip(b" ").rjust(7, b"0"), 1)
    return WeightReading(
        weight_kg=-weight if negative else weight,
        stable=None,
        status=WeightStatus.OK,
        raw=frame,
        net=net,
    )


def encode_a12(
    value: float | int | None,
    decimals: int = 0,
    *,
    net: bool = False,
    status: WeightStatus = WeightStatus.OK,
) -> bytes:
    """An A12 frame for ``value`` kg as displayed, or for an OL/LO display."""
    if status is WeightStatus.OVERLOAD:
        shown = b"     OL"
    elif status is WeightStatus.UNDERLOAD:
        shown = b"     LO"
    else:
        shown = _shown(abs(value), decimals)
        if value < 0:
            shown = b"-" + shown[1:]
    body = b"W" + (b"N" if net else b"G") + shown + b"kg"
    return body + _xor_hex(body) + b"\r\n"


def _shown(magnitude: float | int, decimals: int) -> bytes:
    """Seven characters as the display shows them, point included."""
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be 0-{MAX_DECIMALS}, got {decimals}")
    text = str(
        Decimal(str(magnitude)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    )
    if len(text) > 7:
        raise ValueError(f"{magnitude} does not fit in seven characters")
    return text.rjust(7, "0").encode("ascii")


def _displayed_value(shown: bytes, factor: int) -> int | float:
    """Seven display characters, digits with at most one point, as a number."""
    whole, point, fraction = shown.partition(b".")
    if not whole or not _DIGITS.issuperset(whole + fraction) or b"." in fraction:
        raise FrameError(f"displayed value must be digits and a point, got {shown!r}")
    if point and not fraction:
        raise FrameError(f"a point needs digits after it, got {shown!r}")
    if len(fraction) > MAX_DECIMALS:
        raise FrameError(f"at most {MAX_DECIMALS} decimals, got {shown!r}")
    return _scaled(int(whole + fraction), len(fraction), factor)
