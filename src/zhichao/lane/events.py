"""What a lane is told (events) and what it asks the station to do (actions).

Events carry no time of their own: the lane reads its clock when it handles one.
Actions come back from ``Lane.handle`` in the order the station must run them;
after a StoreRecord fails the station runs nothing more and sends StoreFailed.
"""

from dataclasses import dataclass, field

from zhichao.protocols.readings import (
    AxleReading,
    DeckReading,
    Picture,
    PlateRead,
    WeightReading,
)

# camera positions a PlateEvent may name
FRONT = "front"
REAR = "rear"
ENTRY = "entry"
EXIT = "exit"


@dataclass(frozen=True)
class WeightEvent:
    reading: WeightReading


@dataclass(frozen=True)
class PlateEvent:
    read: PlateRead
    position: str  # FRONT | REAR | ENTRY | EXIT


@dataclass(frozen=True)
class AxleEvent:
    reading: AxleReading


@dataclass(frozen=True)
class DeckEvent:
    """The position sensors' debounced view of the deck changed."""

    reading: DeckReading


@dataclass(frozen=True)
class Tick:
    """Sent a few times a second so that timeouts fire without new frames."""


@dataclass(frozen=True)
class StoreFailed:
    """The station could not store the record it was given."""

    record_id: str


@dataclass(frozen=True)
class RecordEvent:
    """Something the lane's chain must record that is not a pass (docs/protocol.md,
    "Events"): a device fault, a configuration change, a pruned photo.

    The lane gives it the next sequence number, so passes and events share one
    counter, and answers with a StoreRecord.
    """

    event_type: str
    detail: dict = field(default_factory=dict)
    flags: tuple[str, ...] = ()


# what an operator may do at the station's operator page (OperatorEvent.action)
REWEIGH = "reweigh"  # cancel the current decision and weigh again
MANUAL_PLATE = "manual_plate"  # the plate of the truck on the deck, typed in
MANUAL_AXLES = "manual_axles"  # its axle count, typed in
RELEASE = "release"  # open the barrier for a held truck
OPERATOR_ACTIONS = (REWEIGH, MANUAL_PLATE, MANUAL_AXLES, RELEASE)


@dataclass(frozen=True)
class OperatorEvent:
    """An operator's action on the lane (docs/station.md, "Operator page").

    The lane records it first, as an event record ``operator_<action>`` with
    the operator, the reason and what was done, then acts on it.
    """

    action: str  # one of OPERATOR_ACTIONS
    operator: str
    reason: str
    plate: str | None = None  # MANUAL_PLATE: a validated plate
    plate_color: str = "unknown"  # MANUAL_PLATE: a PlateColor value
    axles: int | None = None  # MANUAL_AXLES


Event = (
    WeightEvent
    | PlateEvent
    | AxleEvent
    | DeckEvent
    | Tick
    | StoreFailed
    | RecordEvent
    | OperatorEvent
)


@dataclass(frozen=True)
class StoreRecord:
    """Write the record durably (and keep its pictures) before anything else."""

    record: dict
    pictures: tuple[Picture, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class ShowText:
    lines: tuple[str, ...]


@dataclass(frozen=True)
class OpenBarrier:
    pass


Action = StoreRecord | ShowText | OpenBarrier
