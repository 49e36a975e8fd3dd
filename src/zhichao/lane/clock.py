"""The lane's clock: monotonic seconds for timing, aware UTC instants for records."""

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from zhichao.timeutil import utcnow


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...  # aware, UTC


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return utcnow()


class ManualClock:
    """A clock that moves only when told to; for tests and replays."""

    def __init__(self, start: datetime | None = None, monotonic: float = 0.0) -> None:
        self._now = start or datetime(2026, 6, 17, 22, 0, 0, tzinfo=UTC)
        self._monotonic = monotonic

    def monotonic(self) -> float:
        return self._monotonic

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._now += timedelta(seconds=seconds)
