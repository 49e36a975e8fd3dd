"""Several plate events for one pass become one read (车牌合并).

A camera often reports one truck more than once: a snapshot group
(Dahua ``CountInGroup``), a re-trigger as the truck stops, the same event
through two firmware paths. ``PlateMerger`` folds them, per camera position
(front, rear, entry, exit), by this rule:

- Events from one position belong to the same pass while they arrive within
  ``window_s`` of the first event of the pass (lane time, not camera time:
  camera clocks drift). A later event starts a new pass for that position.
- The best read is the one with the highest confidence; a read with a plate
  beats one without; a read without a confidence counts below any
  confidence; on a tie the earlier read stays.
- Every picture of every event of the pass is kept, in arrival order.
- A read whose plate differs from the best is not dropped: the best read of
  each other plate is kept as an alternative, so a record can show that the
  camera was unsure.

Pure: no clock of its own, no I/O; the lane passes its monotonic time in.
"""

import dataclasses
from dataclasses import dataclass, field

from zhichao.protocols.readings import Picture, PlateRead

DEFAULT_WINDOW_S = 3.0


@dataclass(frozen=True)
class MergedRead:
    """One position's plate for one pass, from one or more camera events."""

    position: str
    best: PlateRead
    alternatives: tuple[PlateRead, ...] = ()  # best read of each other plate
    pictures: tuple[Picture, ...] = field(default=(), repr=False)
    events: int = 1
    first_at: float = 0.0  # lane monotonic time of the first event
    last_at: float = 0.0

    @property
    def plate(self) -> str | None:
        return self.best.plate

    @property
    def read(self) -> PlateRead:
        """The best read carrying every picture of the pass."""
        return dataclasses.replace(self.best, pictures=self.pictures)


def _rank(read: PlateRead) -> tuple[int, int]:
    has_plate = 0 if read.plate is None else 1
    confidence = -1 if read.confidence is None else read.confidence
    return has_plate, confidence


class PlateMerger:
    """Folds each position's camera events of one pass into a MergedRead."""

    def __init__(self, window_s: float = DEFAULT_WINDOW_S) -> None:
        if window_s <= 0:
            raise ValueError("the merge window must be above 0 s")
        self.window_s = window_s
        self._passes: dict[str, MergedRead] = {}

    def add(self, position: str, read: PlateRead, now: float) -> MergedRead:
        """Fold one event in; returns the position's read for the pass so far."""
        current = self.current(position, now)
        if current is None:
            merged = MergedRead(
                position, read, (), read.pictures, 1, first_at=now, last_at=now
            )
        else:
            merged = _fold(current, read, now)
        self._passes[position] = merged
        return merged

    def current(self, position: str, now: float) -> MergedRead | None:
        """The position's read if its pass is still open at ``now``."""
        merged = self._passes.get(position)
        if merged is None or now - merged.first_at > self.window_s:
            return None
        return merged

    def latest(self, position: str) -> MergedRead | None:
        """The position's last read, open or not (until ``reset``)."""
        return self._passes.get(position)

    def reset(self, position: str | None = None) -> None:
        """Forget one position's pass (or all), e.g. once a record used it."""
        if position is None:
            self._passes.clear()
        else:
            self._passes.pop(position, None)


def _fold(current: MergedRead, read: PlateRead, now: float) -> MergedRead:
    best = current.best
    candidates = [best, *current.alternatives]
    if _rank(read) > _rank(best):
        best = read
    others: dict[str | None, PlateRead] = {}
    for candidate in [*candidates, read]:
        if candidate.plate is None or candidate.plate == best.plate:
            continue  # no plate read is no disagreement
        kept = others.get(candidate.plate)
        if kept is None or _rank(candidate) > _rank(kept):
            others[candidate.plate] = candidate
    return MergedRead(
        position=current.position,
        best=best,
        alternatives=tuple(others.values()),
        pictures=current.pictures + read.pictures,
        events=current.events + 1,
        first_at=current.first_at,
        last_at=now,
    )
