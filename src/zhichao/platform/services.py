"""Business rules of the platform: ingest, station registry, live queries."""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker

from zhichao.platform.models import (
    Lane,
    RecordPhoto,
    SourceUnit,
    Station,
    WeighingRecord,
)
from zhichao.platform.schemas import PhotoRef, RecordIn, validate_record
from zhichao.timeutil import SHANGHAI, utcnow

logger = logging.getLogger(__name__)

INGEST_ATTEMPTS = 5  # a concurrent upload of the same ids costs one retry


class IngestStatus(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class IngestResult:
    record_id: str | None
    status: IngestStatus
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "record_id": self.record_id,
            "status": str(self.status),
        }
        if self.error is not None:
            answer["error"] = self.error
        return answer


@dataclass(frozen=True)
class _Checked:
    raw: Any
    record: RecordIn | None
    error: str | None


def ingest_batch(
    factory: sessionmaker[Session],
    items: Sequence[Any],
    received_at: datetime | None = None,
) -> list[IngestResult]:
    """Validate and store a batch in one transaction, committed before returning.

    Results are in the order of ``items``. A record whose id is already stored,
    or appears earlier in the same batch, is a duplicate. When another upload
    stores some of the same ids at the same moment, the unique constraint stops
    the second insert; the batch is then retried and those ids become duplicates.
    """
    checked = [_Checked(item, *validate_record(item)) for item in items]
    received_at = received_at or utcnow()

    for attempt in range(1, INGEST_ATTEMPTS + 1):
        try:
            with factory() as session, session.begin():
                stored = _store_new(session, checked, received_at)
            break
        except IntegrityError:
            if attempt == INGEST_ATTEMPTS:
                raise
            logger.info("concurrent upload of the same records; retry %s", attempt)

    results = _results(checked, stored)
    _log_batch(results)
    return results


def _store_new(
    session: Session, checked: list[_Checked], received_at: datetime
) -> set[str]:
    """Insert the valid records not stored yet; returns the ids inserted."""
    candidates: dict[str, _Checked] = {}
    for item in checked:
        if item.record is not None:
            candidates.setdefault(item.record.record_id, item)
    if not candidates:
        return set()

    existing = _stored_raw(session, candidates)
    _warn_on_changed_copies(candidates, existing)
    new = [item.record for rid, item in candidates.items() if rid not in existing]
    if not new:
        return set()

    lanes = _ensure_lanes(session, {(r.station_code, r.lane_no) for r in new})
    raw_by_id = {rid: item.raw for rid, item in candidates.items()}
    rows = [_record_row(r, lanes, raw_by_id[r.record_id], received_at) for r in new]
    session.execute(sa.insert(WeighingRecord), rows)
    photo_rows = [_photo_row(r.record_id, photo) for r in new for photo in r.photos]
    if photo_rows:
        session.execute(sa.insert(RecordPhoto), photo_rows)
    return {r.record_id for r in new}


def _stored_raw(session: Session, candidates: dict[str, _Checked]) -> dict[str, Any]:
    rows = session.execute(
        sa.select(WeighingRecord.record_id, WeighingRecord.raw).where(
            WeighingRecord.record_id.in_(list(candidates))
        )
    )
    return {record_id: raw for record_id, raw in rows}


def _warn_on_changed_copies(candidates: dict[str, _Checked], stored: dict[str, Any]):
    """A retry must repeat the record exactly; a changed copy may be tampering."""
    for record_id, raw in stored.items():
        if candidates[record_id].raw != raw:
            logger.warning(
                "record %s sent again with different content; the first copy is kept",
                record_id,
            )


def _results(checked: list[_Checked], stored: set[str]) -> list[IngestResult]:
    results = []
    answered: set[str] = set()
    for item in checked:
        if item.record is None:
            results.append(
                IngestResult(
                    _raw_record_id(item.raw), IngestStatus.REJECTED, item.error
                )
            )
            continue
        rid = item.record.record_id
        fresh = rid in stored and rid not in answered
        answered.add(rid)
        status = IngestStatus.STORED if fresh else IngestStatus.DUPLICATE
        results.append(IngestResult(rid, status))
    return results


def _raw_record_id(raw: Any) -> str | None:
    value = raw.get("record_id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) else None


def _log_batch(results: list[IngestResult]) -> None:
    counts = {status: 0 for status in IngestStatus}
    for result in results:
        counts[result.status] += 1
        if result.status is IngestStatus.REJECTED:
            logger.warning("rejected record %s: %s", result.record_id, result.error)
    logger.info(
        "batch of %s: %s stored, %s duplicate, %s rejected",
        len(results),
        counts[IngestStatus.STORED],
        counts[IngestStatus.DUPLICATE],
        counts[IngestStatus.REJECTED],
    )


def _ensure_lanes(
    session: Session, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(station_code, lane_no) -> (station id, lane id), creating what is missing.

    A station code seen for the first time is created unregistered (未登记).
    """
    stations = _ensure_stations(session, {code for code, _ in keys})
    wanted = {(stations[code], lane_no) for code, lane_no in keys}
    found = {
        (lane.station_id, lane.lane_no): lane.id
        for lane in session.scalars(
            sa.select(Lane).where(Lane.station_id.in_({sid for sid, _ in wanted}))
        )
    }
    for station_id, lane_no in sorted(wanted - set(found)):
        lane = Lane(station_id=station_id, lane_no=lane_no)
        session.add(lane)
        session.flush()
        found[(station_id, lane_no)] = lane.id
    return {
        (code, lane_no): (stations[code], found[(stations[code], lane_no)])
        for code, lane_no in keys
    }


def _ensure_stations(session: Session, codes: set[str]) -> dict[str, int]:
    found = dict(
        session.execute(
            sa.select(Station.station_code, Station.id).where(
                Station.station_code.in_(codes)
            )
        ).all()
    )
    for code in sorted(codes - set(found)):
        station = Station(station_code=code, name=code, registered=False)
        session.add(station)
        session.flush()
        found[code] = station.id
        logger.info("station %s first seen; created unregistered", code)
    return found


def _record_row(
    record: RecordIn,
    lanes: dict[tuple[str, str], tuple[int, int]],
    raw: dict[str, Any],
    received_at: datetime,
) -> dict[str, Any]:
    station_id, lane_id = lanes[(record.station_code, record.lane_no)]
    row = record.model_dump(exclude={"photos"})
    row["front_plate_color"] = str(record.front_plate_color)
    row["rear_plate_color"] = str(record.rear_plate_color)
    row.update(station_id=station_id, lane_id=lane_id, received_at=received_at, raw=raw)
    return row


def _photo_row(record_id: str, photo: PhotoRef) -> dict[str, Any]:
    return {"record_id": record_id, **photo.model_dump()}


def register_station(
    session: Session,
    station_code: str,
    name: str,
    unit_name: str,
    unit_kind: str,
    county_code: str,
) -> Station:
    """Enrol a station and its source unit; calling it again changes nothing.

    The unit is found by name within its county, the station by its code; a
    station first created by an upload becomes registered. Flushes, does not
    commit.
    """
    unit = session.scalar(
        sa.select(SourceUnit).where(
            SourceUnit.name == unit_name, SourceUnit.county_code == county_code
        )
    )
    if unit is None:
        unit = SourceUnit(name=unit_name, kind=unit_kind, county_code=county_code)
        session.add(unit)

    station = session.scalar(
        sa.select(Station).where(Station.station_code == station_code)
    )
    if station is None:
        station = Station(station_code=station_code)
        session.add(station)
    station.name = name
    station.unit = unit
    station.registered = True
    session.flush()
    return station


@dataclass(frozen=True)
class DayCounts:
    passes: int
    overloaded: int


def today_counts(session: Session, now: datetime | None = None) -> DayCounts:
    """Passes and overloads detected since midnight Beijing time."""
    local = (now or utcnow()).astimezone(SHANGHAI)
    start = datetime.combine(local.date(), time(0), tzinfo=SHANGHAI)
    end = start + timedelta(days=1)
    in_day = sa.and_(
        WeighingRecord.detected_at >= start, WeighingRecord.detected_at < end
    )
    passes = session.scalar(sa.select(sa.func.count()).where(in_day))
    overloaded = session.scalar(
        sa.select(sa.func.count()).where(in_day, WeighingRecord.overloaded.is_(True))
    )
    return DayCounts(passes=passes or 0, overloaded=overloaded or 0)


def latest_records(
    session: Session, after: int | None = None, limit: int = 50
) -> list[WeighingRecord]:
    """The newest records by arrival, newest first; only those past ``after``."""
    query = (
        sa.select(WeighingRecord)
        .options(joinedload(WeighingRecord.station).joinedload(Station.unit))
        .order_by(WeighingRecord.id.desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(WeighingRecord.id > after)
    return list(session.scalars(query))


def get_record(session: Session, record_id: str) -> WeighingRecord | None:
    """A record with its station, unit and photo references loaded."""
    return session.scalar(
        sa.select(WeighingRecord)
        .where(WeighingRecord.record_id == record_id)
        .options(
            joinedload(WeighingRecord.station).joinedload(Station.unit),
            selectinload(WeighingRecord.photos).joinedload(RecordPhoto.photo),
        )
    )


def reweighed_by(session: Session, record_id: str) -> list[str]:
    """Ids of the later records that re-weigh ``record_id``, oldest first."""
    return list(
        session.scalars(
            sa.select(WeighingRecord.record_id)
            .where(WeighingRecord.reweigh_of == record_id)
            .order_by(WeighingRecord.detected_at)
        )
    )


def existing_ids(session: Session, record_ids: Iterable[str]) -> set[str]:
    """Which of ``record_ids`` are stored already."""
    ids = list(record_ids)
    return set(
        session.scalars(
            sa.select(WeighingRecord.record_id).where(WeighingRecord.record_id.in_(ids))
        )
    )
