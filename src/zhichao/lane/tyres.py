"""The rules inputs a lane can take from the axle identifier's groups and tyres.

Art. 3 para. 2 item (2) lowers the limit by 3,000 kg for each axle of a two- or
three-axle group (drive axles excepted) or of a semi-trailer or full trailer
that runs on single tyres per side (单胎), unless they are standard wide tyres
(加宽轮胎). The identifier reports groups front to rear and a tyre letter per
axle (``S`` single, ``D`` twin, ``W`` wide single), but not which axle is driven.
So the lane counts only axles it can place without guessing:

- the vehicle must be a combination (汽车列车): the rear plate says so, or it has
  5 or more axles, which no Art. 3 truck has;
- its first group is the tractor's steering axle(s) and its second group the
  tractor's drive group; neither counts;
- every axle behind them is a trailer axle and counts.

A truck's single-tyred rear axle is not counted, since a tag axle and a drive
axle look the same to the identifier (the pass is flagged instead); nor is
anything counted when the identifier sends no tyres: the verdict is then as if
every axle were twin-tyred.
"""

from dataclasses import dataclass

from zhichao.protocols.readings import AxleReading

SINGLE, TWIN, WIDE = "S", "D", "W"
MIN_COMBINATION_AXLES = 5  # Art. 3 has no truck with more than 4 axles
NOT_COUNTED = "single_tyres_not_counted"


@dataclass(frozen=True)
class TyreInputs:
    """What the rules take from the tyres: ``VehicleInput`` fields and a flag."""

    single_tyre_axles: int = 0
    wide_tyres: bool = False
    flags: tuple[str, ...] = ()


def tyre_inputs(reading: AxleReading | None, kind: str | None) -> TyreInputs:
    """The single-tyre count and wide-tyre flag the rules can be given."""
    if not _usable(reading):
        return TyreInputs()

    if not _is_combination(reading, kind):
        # a twin-steer truck may show its second steering axle as a group of
        # its own, so only the rearmost group tells of a single-tyred axle
        rear = reading.tyres[reading.axles - reading.groups[-1] :]
        if len(reading.groups) > 1 and SINGLE in rear:
            return TyreInputs(flags=(NOT_COUNTED,))
        return TyreInputs()

    tractor = reading.groups[0] + reading.groups[1]
    trailer = reading.tyres[tractor:]
    singles, wides = trailer.count(SINGLE), trailer.count(WIDE)
    if singles:
        # wide singles lower nothing, and the rules' wide_tyres would excuse all
        return TyreInputs(single_tyre_axles=singles)
    if wides:
        return TyreInputs(single_tyre_axles=wides, wide_tyres=True)
    return TyreInputs()


def axle_config(reading: AxleReading | None) -> dict:
    """The record members for the groups and tyres, present only when given."""
    if reading is None or reading.groups is None:
        return {}
    members = {"axle_groups": list(reading.groups)}
    if reading.tyres is not None:
        members["axle_tyres"] = reading.tyres
    return members


def _usable(reading: AxleReading | None) -> bool:
    if reading is None or reading.groups is None or reading.tyres is None:
        return False
    # the decoder guarantees this; a reading built elsewhere may not
    return (
        len(reading.groups) >= 1
        and sum(reading.groups) == reading.axles == len(reading.tyres)
        and set(reading.tyres) <= {SINGLE, TWIN, WIDE}
    )


def _is_combination(reading: AxleReading, kind: str | None) -> bool:
    if len(reading.groups) < 3:
        return False
    return kind == "combination" or reading.axles >= MIN_COMBINATION_AXLES
