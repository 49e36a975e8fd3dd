"""Business rules of the platform: ingest, station registry, live queries.

Chain verification of an ingested batch is in ``chain_store`` (loading and
writing) and ``verification`` (the rules); enrolment, alarms and heartbeats
in ``registry``.
"""

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker

from zhichao.chain import verify_signature
from zhichao.platform import chain_store as chain
from zhichao.platform.models import (
    Alarm,
    Lane,
    RecordPhoto,
    SourceUnit,
    Station,
    WeighingRecord,
)
from zhichao.platform.schemas import EventIn, RecordIn, validate_record
from zhichao.platform.verification import AlarmKind, LaneKeyInfo, Verification
from zhichao.timeutil import SHANGHAI, utcnow

logger = logging.getLogger(__name__)

INGEST_ATTEMPTS = 5  # a concurrent upload of the same ids costs one retry


class IngestStatus(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    REFUSED = "refused"  # lane not enrolled; the station retries later


@dataclass(frozen=True)
class IngestResult:
    record_id: str | None
    status: IngestStatus
    error: str | None = None
    verification: str | None = None

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "record_id": self.record_id,
            "status": str(self.status),
        }
        if self.error is not None:
            answer["error"] = self.error
        if self.verification is not None:
            answer["verification"] = self.verification
        return answer


@dataclass(frozen=True)
class _Checked:
    raw: Any
    record: RecordIn | EventIn | None
    error: str | None


@dataclass
class _BatchOutcome:
    stored: dict[str, str] = field(default_factory=dict)  # record_id -> status
    refused: dict[str, str] = field(default_factory=dict)  # record_id -> error
    changed: dict[str, str] = field(default_factory=dict)  # same id, new content


def ingest_batch(
    factory: sessionmaker[Session],
    items: Sequence[Any],
    received_at: datetime | None = None,
    require_enrolment: bool = False,
) -> list[IngestResult]:
    """Validate, verify and store a batch in one transaction, committed first.

    Results are in the order of ``items``. A record whose id is already stored,
    or appears earlier in the same batch, is a duplicate. When another upload
    stores some of the same ids at the same moment, the unique constraint stops
    the second insert; the batch is then retried and those ids become duplicates.
    With ``require_enrolment`` a record of a lane with no enrolled key is
    refused (not stored); without it, it is stored as ``unsigned`` or
    ``unenrolled``.
    """
    checked = [_Checked(item, *validate_record(item)) for item in items]
    received_at = received_at or utcnow()

    for attempt in range(1, INGEST_ATTEMPTS + 1):
        try:
            with factory() as session, session.begin():
                outcome = _store_new(session, checked, received_at, require_enrolment)
            break
        except (IntegrityError, chain.StaleLaneIdsError) as err:
            if attempt == INGEST_ATTEMPTS:
                raise
            # a foreign key broken by a stale kept lane id is an IntegrityError too
            chain.forget_lane_ids(session.get_bind())
            if isinstance(err, IntegrityError):
                logger.info("concurrent upload of the same records; retry %s", attempt)
            else:
                logger.warning("%s; lane ids looked up again", err)

    results = _results(checked, outcome)
    _log_batch(results)
    return results


def _store_new(
    session: Session,
    checked: list[_Checked],
    received_at: datetime,
    require_enrolment: bool,
) -> _BatchOutcome:
    """Verify and insert the valid records not stored yet.

    The lanes are locked first, so that the stored ids and contents read next
    are the ones their chain heads were written with.
    """
    outcome = _BatchOutcome()
    candidates: dict[str, _Checked] = {}
    for item in checked:
        if item.record is not None:
            candidates.setdefault(item.record.record_id, item)
    if not candidates:
        return outcome

    names = {(c.record.station_code, c.record.lane_no) for c in candidates.values()}
    lanes = chain.lock_lanes(session, names)
    cands = {rid: chain.candidate(c.record, c.raw) for rid, c in candidates.items()}
    stored = chain.load_matches(
        session, set(candidates), {c.content_hash for c in cands.values()}
    )
    existing = stored.raw_by_id
    changed = {rid for rid, raw in existing.items() if candidates[rid].raw != raw}
    new = [item.record for rid, item in candidates.items() if rid not in existing]
    keys = {name: lane.keys for name, lane in lanes.items() if lane.keys}
    outcome.changed = _changed_copies(session, candidates, changed, keys, received_at)
    if require_enrolment:
        new = _refuse_unenrolled(new, keys, outcome)
    if not new:
        return outcome

    _add_new_lanes(session, lanes, {(r.station_code, r.lane_no) for r in new})
    outcome.stored = chain.store_records(
        session, new, cands, lanes, stored.contents, received_at
    )
    return outcome


def _add_new_lanes(
    session: Session,
    lanes: dict[tuple[str, str], chain.LockedLane],
    names: set[tuple[str, str]],
) -> None:
    """Create the lanes (and stations) of ``names`` not in ``lanes`` yet."""
    missing = names - lanes.keys()
    if not missing:
        return
    for name, (station_id, lane_id) in _ensure_lanes(session, missing).items():
        lanes[name] = chain.LockedLane(station_id, lane_id)


def _changed_copies(
    session: Session,
    candidates: dict[str, _Checked],
    changed: set[str],
    keys: dict[tuple[str, str], list[LaneKeyInfo]],
    received_at: datetime,
) -> dict[str, str]:
    """A retry must repeat the record exactly; a changed copy is an alarm.

    The first copy stays the record; the changed copy is kept in the alarm.
    A changed copy the lane's key signed is a fork (the lane signed two
    contents for one record). One whose signature does not verify with the
    lane's enrolled key is not the lane's: a ``bad_signature`` alarm, so a
    forged upload cannot pass for a fork of an innocent station. With no key
    enrolled there is nothing to tell them apart by: a fork.
    """
    answers = {}
    for record_id in sorted(changed):
        sent = candidates[record_id]
        record = sent.record
        lane_keys = keys.get((record.station_code, record.lane_no))
        forged = lane_keys is not None and not _signed_by_lane(lane_keys, sent)
        logger.warning(
            "record %s sent again with different content%s; the first copy is kept",
            record_id,
            " and a signature that does not verify" if forged else "",
        )
        if forged:
            kind, status = AlarmKind.BAD_SIGNATURE, Verification.BAD_SIGNATURE
            message = (
                f"a different copy of record {record_id} was sent with a "
                "signature that does not verify with the lane's key; the "
                "stored copy is kept"
            )
        else:
            kind, status = AlarmKind.CHAIN_FORK, Verification.FORK
            message = f"record {record_id} sent again with different content"
        session.add(
            Alarm(
                kind=str(kind),
                station_code=record.station_code,
                lane_no=record.lane_no,
                seq=record.seq,
                record_id=record_id,
                message=message,
                detail={"sent_copy": sent.raw},
                raised_at=received_at,
            )
        )
        answers[record_id] = str(status)
    return answers


def _signed_by_lane(keys: list[LaneKeyInfo], sent: _Checked) -> bool:
    """The copy's signature verifies with a key of the lane valid at its time."""
    return any(
        key.covers(sent.record.detected_at)
        and verify_signature(sent.raw, key.public_key)
        for key in keys
    )


def _refuse_unenrolled(new, keys, outcome: _BatchOutcome) -> list:
    kept = []
    for record in new:
        if (record.station_code, record.lane_no) in keys:
            kept.append(record)
        else:
            outcome.refused[record.record_id] = (
                f"lane {record.station_code}-{record.lane_no} is not enrolled"
            )
    return kept


def _results(checked: list[_Checked], outcome: _BatchOutcome) -> list[IngestResult]:
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
        if rid in outcome.refused:
            results.append(
                IngestResult(rid, IngestStatus.REFUSED, outcome.refused[rid])
            )
            continue
        fresh = rid in outcome.stored and rid not in answered
        answered.add(rid)
        status = IngestStatus.STORED if fresh else IngestStatus.DUPLICATE
        verification = outcome.stored.get(rid) if fresh else outcome.changed.get(rid)
        results.append(IngestResult(rid, status, verification=verification))
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
        "batch of %s: %s stored, %s duplicate, %s rejected, %s refused",
        len(results),
        counts[IngestStatus.STORED],
        counts[IngestStatus.DUPLICATE],
        counts[IngestStatus.REJECTED],
        counts[IngestStatus.REFUSED],
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
