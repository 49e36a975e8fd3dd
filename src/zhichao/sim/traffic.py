"""Traffic that looks like a Jincheng coal lane: who drives onto the scale next.

Mostly six-axle combinations (tractor + semi-trailer) loaded close to 49 t,
some three- and four-axle trucks, and a few per cent overloaded. Pure: the
caller supplies the random generator, so a seed reproduces a day's traffic.
"""

import random
from dataclasses import dataclass

from zhichao.protocols.readings import PlateColor

# Letters allowed in plate serials: no I and no O.
_SERIAL_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "0123456789"

# Where Jincheng's trucks come from: mostly 晋E (Jincheng), some neighbours.
_ORIGINS = [
    ("晋", "E", 70),
    ("晋", "A", 6),
    ("晋", "M", 6),
    ("豫", "H", 8),
    ("冀", "D", 5),
]
_ORIGINS += [("晋", "D", 5)]


@dataclass(frozen=True)
class Vehicle:
    """One truck arriving at the lane, with what it really weighs."""

    front_plate: str
    rear_plate: str
    color: PlateColor
    axles: int
    groups: tuple[int, ...]
    kind: str  # "truck" | "combination"
    gross_kg: int
    unloaded_kg: int  # what it weighs after unloading, if it is sent back


# (kind, axles, groups, share, legal limit, empty mass)
_FLEET = [
    ("combination", 6, (1, 2, 3), 78, 49000, 15500),
    ("truck", 3, (1, 2), 9, 25000, 11000),
    ("truck", 4, (2, 2), 9, 31000, 12500),
    ("combination", 5, (1, 1, 3), 4, 43000, 14500),
]


def _serial(rng: random.Random, length: int) -> str:
    chars = [rng.choice(_DIGITS) for _ in range(length)]
    if rng.random() < 0.4:
        chars[rng.randrange(length)] = rng.choice(_SERIAL_LETTERS)
    return "".join(chars)


def make_plate(rng: random.Random, trailer: bool = False) -> str:
    province, city, _ = rng.choices(_ORIGINS, weights=[w for *_, w in _ORIGINS])[0]
    if trailer:
        return f"{province}{city}{_serial(rng, 4)}挂"
    return f"{province}{city}{_serial(rng, 5)}"


def next_vehicle(
    rng: random.Random, overload_share: float = 0.04, *, overloaded: bool | None = None
) -> Vehicle:
    """The next truck; ``overloaded`` forces the outcome, None leaves it to chance."""
    kind, axles, groups, _, limit, empty = rng.choices(
        _FLEET, weights=[row[3] for row in _FLEET]
    )[0]
    front = make_plate(rng)
    rear = make_plate(rng, trailer=True) if kind == "combination" else front
    if overloaded is None:
        overloaded = rng.random() < overload_share
    if overloaded:
        gross = int(limit * rng.uniform(1.03, 1.25))
    else:
        gross = int(limit - abs(rng.gauss(0, limit * 0.025)) - 60)
    gross = max(gross, empty + 1000)
    unloaded = min(gross, int(limit * rng.uniform(0.95, 0.99)))
    return Vehicle(
        front_plate=front,
        rear_plate=rear,
        color=PlateColor.YELLOW,
        axles=axles,
        groups=groups,
        kind=kind,
        gross_kg=_to_division(gross),
        unloaded_kg=_to_division(unloaded),
    )


def _to_division(kg: int, division: int = 20) -> int:
    return int(round(kg / division) * division)
