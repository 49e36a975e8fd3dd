"""Generic line indicators: ``ST,GS,+0049380kg`` and CR LF, one line per update.

Many Chinese indicators (and the "continuous ASCII" mode of several imported
ones) send the weight as a text line:

    field    meaning
    ST/US/OL stable, unstable (in motion), over range
    GS/NT    gross or net
    +0049380 sign and the displayed value, with its point when it has one
    kg / t   the unit shown

The fields are separated by commas; spaces between the sign and the digits are
accepted. A line has no start marker, so the framer drops everything up to the
first line end of a stream.
"""

import logging
import re

from zhichao.errors import ConfigError, FrameError
from zhichao.protocols.framing import DelimitedFramer
from zhichao.protocols.readings import WeightReading, WeightStatus

logger = logging.getLogger(__name__)

MAX_LINE = 48
UNIT_FACTORS = {"kg": 1, "t": 1000}
STATES = {"ST": True, "US": False}

_LINE = re.compile(
    rb"(?P<state>ST|US|OL),(?P<mode>GS|NT),(?P<sign>[+-])(?P<value>[0-9. ]{1,10})"
    rb" *(?P<unit>kg|t)?"
)
_NUMBER = re.compile(rb"[0-9]+(\.[0-9]{1,4})?")


class AsciiLineFramer(DelimitedFramer):
    """Lines ending in LF (a CR before it is part of the line ending)."""

    def __init__(self) -> None:
        super().__init__(end=b"\n", max_len=MAX_LINE)


def decode_ascii_line(frame: bytes, unit: str = "kg") -> WeightReading:
    """Decode one line; ``unit`` applies when the line names no unit."""
    if unit not in UNIT_FACTORS:
        raise ConfigError(
            f"unit must be one of {', '.join(UNIT_FACTORS)}, got {unit!r}"
        )
    frame = bytes(frame)
    match = _LINE.fullmatch(frame.rstrip(b"\r\n"))
    if match is None or not frame.endswith(b"\n"):
        raise FrameError(f"not an ST,GS,+0000000kg line: {frame[:MAX_LINE]!r}")

    net = match["mode"] == b"NT"
    state = match["state"].decode()
    if state == "OL":
        return WeightReading(None, None, WeightStatus.OVERLOAD, raw=frame, net=net)
    value = match["value"].replace(b" ", b"")
    if not _NUMBER.fullmatch(value):
        raise FrameError(f"weight must be digits with at most one point, got {value!r}")
    factor = UNIT_FACTORS[(match["unit"] or unit.encode()).decode()]
    weight = _scaled(value, factor)
    return WeightReading(
        weight_kg=-weight if match["sign"] == b"-" else weight,
        stable=STATES[state],
        status=WeightStatus.OK,
        raw=frame,
        net=net,
    )


def encode_ascii_line(
    value: float | int | None,
    *,
    stable: bool = True,
    net: bool = False,
    status: WeightStatus = WeightStatus.OK,
    decimals: int = 0,
) -> bytes:
    """One line as an indicator sends it; ``value`` in kg as displayed."""
    mode = b"NT" if net else b"GS"
    if status is not WeightStatus.OK:
        return b"OL," + mode + b",+9999999kg\r\n"
    state = b"ST" if stable else b"US"
    sign = b"-" if value < 0 else b"+"
    shown = f"{abs(value):0{8 if decimals else 7}.{decimals}f}"
    return state + b"," + mode + b"," + sign + shown.encode() + b"kg\r\n"


def _scaled(value: bytes, factor: int) -> int | float:
    whole, _, fraction = value.partition(b".")
    numerator = int(whole + fraction) * factor
    denominator = 10 ** len(fraction)
    if numerator % denominator == 0:
        return numerator // denominator
    return numerator / denominator
