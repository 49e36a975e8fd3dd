"""Traffic that looks like a Jincheng coal lane: who drives onto the scale next.

Mostly six-axle combinations (tractor + semi-trailer) loaded close to 49 t,
some three- and four-axle trucks, and a few per cent overloaded. The coal
combinations run twin tyres; a rare semi-trailer runs wide singles (which
lower nothing) or plain single tyres (each such axle takes 3,000 kg off the
limit, so it loads to 40 t). The axle identifier tells the tyres for most
passes, not all (mud and spray on its sensors). Pure: the caller supplies the
random generator, so a seed reproduces a day's traffic.
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
    tyres: str | None = None  # as the axle identifier reports them, if it does


TYRES_REPORTED = 0.9  # share of passes whose tyres the identifier tells

# (kind, axles, groups, tyres, share, legal limit, empty mass)
_FLEET = [
    ("combination", 6, (1, 2, 3), "SDDDDD", 76, 49000, 15500),
    ("combination", 6, (1, 2, 3), "SDDWWW", 1, 49000, 14800),
    ("combination", 6, (1, 2, 3), "SDDSSS", 1, 40000, 14000),
    ("truck", 3, (1, 2), "SDD", 9, 25000, 11000),
    ("truck", 4, (2, 2), "SSDD", 9, 31000, 12500),
    ("combination", 5, (1, 1, 3), "SDDDD", 4, 43000, 14500),
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
    kind, axles, groups, tyres, _, limit, empty = rng.choices(
        _FLEET, weights=[row[4] for row in _FLEET]
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
    # a forced overload is judged on its tyres, so the lane does hold it
    reported = rng.random() < TYRES_REPORTED or overloaded
    return Vehicle(
        front_plate=front,
        rear_plate=rear,
        color=PlateColor.YELLOW,
        axles=axles,
        groups=groups,
        kind=kind,
        gross_kg=_to_division(gross),
        unloaded_kg=_to_division(unloaded),
        tyres=tyres if reported else None,
    )


def _to_division(kg: int, division: int = 20) -> int:
    return int(round(kg / division) * division)
