"""Period statistics (统计): passes, overloaded passes and the overload-rate bands
of each station in the caller's jurisdiction, for a range of Beijing-time days.

A period is inclusive of both days and is turned into one range of UTC instants
(``detected_at``): from midnight Asia/Shanghai of the first day to midnight after
the last. The counts are read from the records themselves in one grouped query,
so a record that arrives late (a station's backlog after an outage) is counted
in the day it was detected, as soon as it is stored. Migration 0008's index
``(detected_at, station_code, overloaded, over_rate_pct)`` lets PostgreSQL
answer it from the index alone; the jurisdiction filter of
``zhichao.platform.auth`` (on ``station_code``) reads the same index.

The overload rate (超限率) of a pass is ``over_rate_pct``; a station's share of
overloaded passes (超限车辆占比) is ``overloaded / passes``. The bands count the
overloaded passes by their overload rate: up to 20 %, over 20 up to 50 %, over
50 up to 100 %, over 100 %.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from zhichao.errors import ZhichaoError
from zhichao.platform.models import Station, WeighingRecord
from zhichao.timeutil import SHANGHAI, iso_utc, utcnow

MAX_DAYS = 366  # a leap year; longer periods are refused
# (name, lowest rate excluded, highest rate included); None: no bound
BANDS: tuple[tuple[str, float | None, float | None], ...] = (
    ("up_to_20", None, 20.0),
    ("20_to_50", 20.0, 50.0),
    ("50_to_100", 50.0, 100.0),
    ("over_100", 100.0, None),
)
BAND_NAMES = tuple(name for name, _, _ in BANDS)


class PeriodError(ZhichaoError):
    """A period a person asked for that cannot be counted; the message says
    which parameter is wrong and why."""


@dataclass(frozen=True)
class Period:
    """Beijing-time days ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        """Midnight Asia/Shanghai at the start of ``first``."""
        return datetime.combine(self.first, time(0), tzinfo=SHANGHAI)

    @property
    def end(self) -> datetime:
        """Midnight Asia/Shanghai after ``last`` (excluded)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def this_month(today: date) -> Period:
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(first, following - timedelta(days=1))


def today_in_shanghai(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(SHANGHAI).date()


def _parse_day(name: str, text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(
            f"{name}={text!r}: not a date; write YYYY-MM-DD, e.g. 2026-12-01"
            " (日期格式应为 YYYY-MM-DD)"
        ) from None
    if len(text) != 10:  # fromisoformat also takes 20261201 and 2026-W49-1
        raise PeriodError(
            f"{name}={text!r}: write the date as YYYY-MM-DD, e.g. 2026-12-01"
            " (日期格式应为 YYYY-MM-DD)"
        )
    return value


def parse_period(
    first: str | None, last: str | None, today: date | None = None
) -> Period:
    """The period of ``from`` and ``to`` (YYYY-MM-DD, Beijing days, inclusive).

    A missing ``from`` is the first day of this month, a missing ``to`` the last
    day of this month (Asia/Shanghai). PeriodError for a bad date, a ``to``
    before ``from``, or more than MAX_DAYS days.
    """
    month = this_month(today or today_in_shanghai())
    start = _parse_day("from", first) if first else month.first
    end = _parse_day("to", last) if last else month.last
    if end < start:
        raise PeriodError(
            f"to={end.isoformat()} is before from={start.isoformat()}:"
            " the last day must not come before the first (结束日期早于开始日期)"
        )
    period = Period(start, end)
    if period.days > MAX_DAYS:
        raise PeriodError(
            f"from={start.isoformat()} to={end.isoformat()} is {period.days} days;"
            f" ask for at most {MAX_DAYS} days at a time (统计区间最长 {MAX_DAYS} 天)"
        )
    return period


@dataclass
class Counts:
    """Passes, overloaded passes and the overloaded passes by band."""

    passes: int = 0
    overloaded: int = 0
    bands: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BAND_NAMES, 0))

    @property
    def overloaded_pct(self) -> float | None:
        """Overloaded passes as a percentage of passes; None without passes."""
        if not self.passes:
            return None
        return round(self.overloaded * 100 / self.passes, 2)

    def add(self, other: "Counts") -> None:
        self.passes += other.passes
        self.overloaded += other.overloaded
        for name in BAND_NAMES:
            self.bands[name] += other.bands[name]

    def as_json(self) -> dict[str, Any]:
        return {
            "passes": self.passes,
            "overloaded": self.overloaded,
            "overloaded_pct": self.overloaded_pct,
            "bands": dict(self.bands),
        }


@dataclass(frozen=True)
class StationCounts:
    station_code: str
    station_name: str
    unit_name: str | None
    counts: Counts

    def as_json(self) -> dict[str, Any]:
        return {
            "station_code": self.station_code,
            "station_name": self.station_name,
            "unit_name": self.unit_name,
        } | self.counts.as_json()


@dataclass(frozen=True)
class Statistics:
    period: Period
    stations: list[StationCounts]
    totals: Counts

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.period.first.isoformat(),
            "to": self.period.last.isoformat(),
            "days": self.period.days,
            "timezone": "Asia/Shanghai",
            "start": iso_utc(self.period.start),
            "end": iso_utc(self.period.end),
            "stations": [station.as_json() for station in self.stations],
            "totals": self.totals.as_json(),
        }


def _band_clause(low: float | None, high: float | None) -> sa.ColumnElement[bool]:
    rate = WeighingRecord.over_rate_pct
    parts = [WeighingRecord.overloaded.is_(True)]
    if low is not None:
        parts.append(rate > low)
    if high is not None:
        parts.append(rate <= high)
    return sa.and_(*parts)


def count_query(period: Period) -> sa.Select:
    """Station code, passes, overloaded and each band's count, grouped by
    station, of the records detected in ``period``."""
    overloaded = WeighingRecord.overloaded.is_(True)
    return (
        sa.select(
            WeighingRecord.station_code,
            sa.func.count(),
            sa.func.count().filter(overloaded),
            *(
                sa.func.count().filter(_band_clause(low, high))
                for _, low, high in BANDS
            ),
        )
        .where(
            WeighingRecord.detected_at >= period.start,
            WeighingRecord.detected_at < period.end,
        )
        .group_by(WeighingRecord.station_code)
    )


def count_by_station(session: Session, period: Period) -> dict[str, Counts]:
    """The counts of each station code with records in ``period``, in one
    grouped query over the records (scoped by the session's jurisdiction)."""
    found: dict[str, Counts] = {}
    for code, passes, over, *bands in session.execute(count_query(period)):
        found[code] = Counts(passes, over, dict(zip(BAND_NAMES, bands, strict=True)))
    return found


def station_statistics(session: Session, period: Period) -> Statistics:
    """Every station the session may see, with its counts for ``period`` (zero
    for a station without records), by station code; and the totals."""
    counts = count_by_station(session, period)
    stations = session.scalars(
        sa.select(Station)
        .options(joinedload(Station.unit))
        .order_by(Station.station_code)
    ).all()

    rows = [
        StationCounts(
            station.station_code,
            station.name,
            station.unit.name if station.unit else None,
            counts.get(station.station_code, Counts()),
        )
        for station in stations
    ]
    totals = Counts()
    for row in rows:
        totals.add(row.counts)
    return Statistics(period, rows, totals)
