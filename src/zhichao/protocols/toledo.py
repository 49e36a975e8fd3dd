"""Mettler Toledo continuous output (托利多连续输出), and indicators that copy it.

Follows Toledo's description of its standard continuous output, as summarised
in docs/devices.md. One frame per display update:

    offset  bytes  meaning
    0       1      STX (02h)
    1       1      status word A: bits 0-2 where the decimal point is
    2       1      status word B: bit 0 net, 1 negative, 2 out of range,
                   3 in motion, 4 kg
    3       1      status word C (not used here)
    4-9     6      displayed weight, digits, no point
    10-15   6      tare, digits, no point
    16      1      CR (0Dh)
    17      1      checksum, when enabled: two's complement of the 7-bit sum
                   of bytes 0-16

The data are 7-bit characters. On a line set to 7E1 read as 8 data bits, wrap
the framer in ``ParityStripper`` (see ``protocols.framing``).
"""

import logging

from zhichao.errors import ChecksumError, ConfigError, FrameError
from zhichao.protocols.framing import DelimitedFramer
from zhichao.protocols.readings import WeightReading, WeightStatus

logger = logging.getLogger(__name__)

STX = 0x02
CR = 0x0D
FRAME_LEN = 17  # without the checksum byte
UNIT_FACTORS = {"kg": 1, "t": 1000}

# SWA bits 0-2 -> power of ten applied to the digits
POINT_CODES = {0: 2, 1: 1, 2: 0, 3: -1, 4: -2, 5: -3, 6: -4}
SWB_NET = 0x01
SWB_NEGATIVE = 0x02
SWB_OUT_OF_RANGE = 0x04
SWB_MOTION = 0x08
SWB_KG = 0x10

_DIGITS = frozenset(b"0123456789")


class ToledoFramer(DelimitedFramer):
    """STX and the next 16 bytes, plus the checksum byte when it is enabled.

    The checksum byte can take any 7-bit value, STX included, so only an STX
    before the CR restarts a frame.
    """

    def __init__(self, checksum: bool = True) -> None:
        super().__init__(
            start=bytes([STX]),
            length=FRAME_LEN + int(checksum),
            restart_within=FRAME_LEN,
        )


def checksum_byte(body: bytes) -> int:
    """Two's complement of the 7-bit sum of ``body``."""
    return -sum(body) & 0x7F


def decode_toledo(
    frame: bytes, unit: str = "kg", checksum: bool = True
) -> WeightReading:
    """Decode one frame; ``unit`` applies when status word B does not say kg."""
    factor = _unit_factor(unit)
    frame = bytes(frame)
    _check_envelope(frame, checksum)

    swa, swb = frame[1], frame[2]  # offsets 1, 2
    weight_digits = frame[4:10]  # offsets 4-9
    tare_digits = frame[10:16]  # offsets 10-15
    if checksum and frame[17] != checksum_byte(frame[:17]):
        raise ChecksumError(
            f"checksum of bytes 0-16 is {checksum_byte(frame[:17]):02X}, "
            f"frame says {frame[17]:02X}"
        )
    point = POINT_CODES.get(swa & 0x07)
    if point is None:
        raise FrameError(f"status word A has no decimal point code 7, got {swa:02X}")
    net = bool(swb & SWB_NET)
    negative = bool(swb & SWB_NEGATIVE)
    if swb & SWB_OUT_OF_RANGE:
        status = WeightStatus.UNDERLOAD if negative else WeightStatus.OVERLOAD
        return WeightReading(None, None, status, raw=frame, net=net)

    magnitude = _number(weight_digits, "weight")
    _number(tare_digits, "tare")
    if swb & SWB_KG:
        factor = 1
    weight = _scaled(magnitude, point, factor)
    return WeightReading(
        weight_kg=-weight if negative else weight,
        stable=not swb & SWB_MOTION,
        status=WeightStatus.OK,
        raw=frame,
        net=net,
    )


def encode_toledo(
    value: float | int | None,
    point_code: int = 2,
    *,
    stable: bool = True,
    net: bool = False,
    status: WeightStatus = WeightStatus.OK,
    tare: int = 0,
    kg_bit: bool = True,
    checksum: bool = True,
) -> bytes:
    """The frame an indicator sends; ``value`` is in display units."""
    if point_code not in POINT_CODES:
        raise ValueError(f"point code must be 0-6, got {point_code}")
    swa = 0x28 | point_code  # bit 5 set, bits 3-4 = count by 1
    swb = 0x20 | (SWB_NET if net else 0) | (SWB_KG if kg_bit else 0)
    swb |= 0 if stable else SWB_MOTION
    digits = 0
    if status is not WeightStatus.OK:
        swb |= SWB_OUT_OF_RANGE
        swb |= SWB_NEGATIVE if status is WeightStatus.UNDERLOAD else 0
    else:
        swb |= SWB_NEGATIVE if value < 0 else 0
        digits = round(abs(value) / 10 ** POINT_CODES[point_code])
    if digits > 999_999 or not 0 <= tare <= 999_999:
        raise ValueError(f"{value} or tare {tare} needs more than six digits")
    body = bytes([STX, swa, swb, 0x20]) + b"%06d%06d" % (digits, tare) + bytes([CR])
    return body + (bytes([checksum_byte(body)]) if checksum else b"")


def _check_envelope(frame: bytes, checksum: bool) -> None:
    length = FRAME_LEN + int(checksum)
    if len(frame) != length:
        raise FrameError(f"a Toledo frame is {length} bytes, got {len(frame)}")
    if frame[0] != STX or frame[16] != CR:
        raise FrameError(
            f"frame must be STX .. CR, got {frame[0]:02X} .. {frame[16]:02X}"
        )
    high = next((i for i, b in enumerate(frame) if b & 0x80), None)
    if high is not None:
        raise FrameError(
            f"byte {high} is not 7-bit data (parity error?): {frame[high]:02X}"
        )


def _number(digits: bytes, what: str) -> int:
    # Leading blanks stand for zeros on some indicators.
    text = digits.lstrip(b" ")
    if not text or not _DIGITS.issuperset(text):
        raise FrameError(f"{what} must be six digits, got {digits.hex(' ')}")
    return int(text)


def _scaled(digits: int, power: int, factor: int) -> int | float:
    if power >= 0:
        return digits * 10**power * factor
    numerator = digits * factor
    denominator = 10**-power
    if numerator % denominator == 0:
        return numerator // denominator
    return numerator / denominator


def _unit_factor(unit: str) -> int:
    try:
        return UNIT_FACTORS[unit]
    except KeyError:
        raise ConfigError(
            f"unit must be one of {', '.join(UNIT_FACTORS)}, got {unit!r}"
        ) from None
