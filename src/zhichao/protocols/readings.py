"""Readings: what a decoded device frame means, independent of its bytes.

Every protocol module turns its frames into one of these frozen dataclasses.
Higher layers (lane, station) only ever see readings, never raw device bytes.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class WeightStatus(StrEnum):
    OK = "ok"
    OVERLOAD = "overload"  # over range: the weight is unknown, never 0
    UNDERLOAD = "underload"  # under range


class PlateColor(StrEnum):
    """Plate background colour (车牌颜色)."""

    BLUE = "blue"
    YELLOW = "yellow"
    GREEN = "green"  # small new-energy
    YELLOW_GREEN = "yellow_green"  # large new-energy
    WHITE = "white"
    BLACK = "black"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class WeightReading:
    """One indicator frame.

    ``weight_kg`` is None exactly when ``status`` is not OK: an over- or
    under-range frame has no weight and must never be read as 0 kg.
    ``stable`` is the indicator's own motion flag, or None when the format
    carries none.
    """

    weight_kg: float | None
    stable: bool | None
    status: WeightStatus
    raw: bytes
    net: bool = False


@dataclass(frozen=True)
class Picture:
    """A JPEG a camera sent with an event; ``role`` is "plate" or "scene"."""

    name: str
    data: bytes
    role: str
    content_type: str = "image/jpeg"


@dataclass(frozen=True)
class PlateRead:
    """One plate recognition event from an ANPR camera (车牌识别)."""

    plate: str | None  # normalised; None when the camera saw no plate
    color: PlateColor
    camera_time: datetime  # aware, with the camera's own offset
    confidence: int | None = None
    direction: str | None = None
    vehicle_type: str | None = None
    pictures: tuple[Picture, ...] = field(default=(), repr=False)
    camera: str = ""


@dataclass(frozen=True)
class AxleReading:
    """An axle identifier's (轮轴识别器) count for one vehicle."""

    axles: int
    groups: tuple[int, ...] | None = None  # axles per group, front to rear
    raw: bytes = b""
    # tyres per axle, front to rear, where the identifier tells them (轮胎):
    # one letter each, S single, D twin (dual), W wide single
    tyres: str | None = None


class DeckState(StrEnum):
    """Where the truck is, as the position sensors (光幕/地感) tell it."""

    EMPTY = "empty"  # nothing on the deck or across its ends
    PARTLY = "partly"  # something across an end: wheels off the deck
    WHOLLY = "wholly"  # the ends are clear and (if a loop says so) a vehicle is on


@dataclass(frozen=True)
class DeckReading:
    """One debounced state of a lane's position sensors.

    ``inputs`` are the raw input values, in the order the sensor configuration
    lists them, after any inversion (True means blocked / occupied).
    """

    state: DeckState
    inputs: tuple[bool, ...] = ()
