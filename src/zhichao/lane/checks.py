"""Cheating and fault checks of one lane (作弊与故障检查), pure and clock-free.

The lane (``machine.py``) feeds these helpers its monotonic time and the facts
of each pass; they say which flag a pass carries and which event the lane's
chain must record. docs/lane.md, "Cheating and fault checks", lists them.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from zhichao.lane.plates import MergedRead
from zhichao.lane.record import TRAILER_SUFFIX
from zhichao.lane.stability import StabilityConfig, StabilityDetector, StabilityKind
from zhichao.protocols.readings import WeightReading

logger = logging.getLogger(__name__)

# flags on a pass record
WEIGHT_JUMP = "weight_jump"
TWO_VEHICLES = "two_vehicles"
PLATE_MISMATCH = "plate_mismatch"
UNKNOWN_PAIR = "unknown_pair"
QUICK_REWEIGH = "quick_reweigh"
SCALE_NOT_ZEROED = "scale_not_zeroed"
AXLE_MISMATCH = "axle_mismatch"

# event types in the lane's chain
EVENT_WEIGHT_JUMP = "weight_jump"
LEFT_WITHOUT_WEIGHING = "left_without_weighing"
OVERLOADED_LEFT = "overloaded_left"
ZERO_NOT_RETURNED = "zero_not_returned"

# (tractor plate, trailer plate) -> True known, False not known, None no idea
KnownPairs = Callable[[str, str], bool | None]
# plate -> the axle count the vehicle is known to have, or None
KnownAxles = Callable[[str], int | None]


def plate_flags(
    front: str | None, rear: str | None, known_pairs: KnownPairs | None
) -> list[str]:
    """``plate_mismatch`` for a single truck whose plates differ; ``unknown_pair``
    for a combination whose tractor/trailer pair a lookup says is not known."""
    if front is None or rear is None:
        return []
    if rear.endswith(TRAILER_SUFFIX):
        if known_pairs is not None and known_pairs(front, rear) is False:
            return [UNKNOWN_PAIR]
        return []
    return [PLATE_MISMATCH] if front != rear else []


def axle_flags(
    plate: str | None, axles: int | None, known_axles: KnownAxles | None
) -> list[str]:
    """``axle_mismatch`` when the counted axles differ from the known ones."""
    if plate is None or axles is None or known_axles is None:
        return []
    known = known_axles(plate)
    if known is not None and known != axles:
        logger.info("plate %s: %s axles counted, %s known", plate, axles, known)
        return [AXLE_MISMATCH]
    return []


def plate_alternatives(merged: dict[str, MergedRead]) -> list[dict]:
    """Other plates the cameras read for the pass, position by position."""
    return [
        {
            "position": position,
            "plate": alt.plate,
            "confidence": alt.confidence,
        }
        for position, read in merged.items()
        for alt in read.alternatives
    ]


@dataclass(frozen=True)
class Jump:
    """The settled weight stepped from ``from_kg`` to ``to_kg`` with no movement."""

    from_kg: int
    to_kg: int
    at: float


class JumpWatch:
    """Watches the settled weight of a truck on the deck (遥控器作弊).

    Each time the weight settles (by the lane's stability rules) it is a new
    level. A level more than ``jump_kg`` away from the previous one, with no
    movement reported in between (a deck, plate or axle event), is a Jump.
    """

    def __init__(self, stability: StabilityConfig, jump_kg: int | None) -> None:
        self.jump_kg = jump_kg
        self._detector = StabilityDetector(stability)
        self.level_kg: int | None = None
        self._moved = False
        self._on = False

    def start(self, t: float) -> None:
        """A truck came onto the deck: no level yet."""
        self._detector.reset(t)
        self.level_kg = None
        self._moved = False
        self._on = True

    def stop(self) -> None:
        self._on = False
        self.level_kg = None

    def moved(self) -> None:
        self._moved = True

    def add(self, t: float, reading: WeightReading) -> Jump | None:
        if not self._on or self.jump_kg is None:
            return None
        result = self._detector.add(t, reading)
        if result is None:
            return None
        self._detector.reset(t)
        if result.kind is not StabilityKind.STABLE:
            return None
        previous, self.level_kg = self.level_kg, result.weight_kg
        moved, self._moved = self._moved, False
        if previous is None or moved:
            return None
        if abs(result.weight_kg - previous) <= self.jump_kg:
            return None
        logger.warning(
            "settled weight jumped from %s to %s kg with no movement",
            previous,
            result.weight_kg,
        )
        return Jump(previous, result.weight_kg, t)


@dataclass(frozen=True)
class Weighed:
    record_id: str
    at: float  # lane monotonic time of the decision
    overloaded: bool


class PassMemory:
    """The lane's recent decided passes by plate, once their truck has left.

    ``released`` answers the quick re-weighing check and the exit camera;
    ``held`` the exit camera's "an overloaded truck left".
    """

    def __init__(self, keep_s: float) -> None:
        self.keep_s = keep_s
        self._last: dict[str, Weighed] = {}

    def remember(self, plates, weighed: Weighed) -> None:
        for plate in plates:
            if plate:
                self._last[plate] = weighed

    def last(self, plate: str | None, now: float) -> Weighed | None:
        """The plate's latest decision, if not older than ``keep_s``."""
        self._last = {p: w for p, w in self._last.items() if now - w.at <= self.keep_s}
        return self._last.get(plate) if plate else None

    def forget(self, plate: str) -> None:
        self._last.pop(plate, None)


def exit_finding(
    last: Weighed | None,
    now: float,
    exit_window_s: float,
    reweigh_window_s: float,
) -> str | None:
    """What a plate at the exit camera means, given its latest decision.

    None: a passing weighing let it through within ``exit_window_s``.
    ``overloaded_left``: its latest decision held it (within
    ``reweigh_window_s``) and no released re-weighing followed.
    ``left_without_weighing``: no such decision (逃检).
    """
    if last is not None and last.overloaded and now - last.at <= reweigh_window_s:
        return OVERLOADED_LEFT
    if last is not None and not last.overloaded and now - last.at <= exit_window_s:
        return None
    return LEFT_WITHOUT_WEIGHING
