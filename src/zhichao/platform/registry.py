"""Lane enrolment (keys), alarms, heartbeats and the stations' online state."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhichao.chain import Enrolment, key_fingerprint
from zhichao.errors import ZhichaoError
from zhichao.platform import devices
from zhichao.platform.models import (
    Alarm,
    Lane,
    LaneEvent,
    LaneKey,
    Station,
    StationHeartbeat,
    StationStatus,
    WeighingRecord,
)
from zhichao.timeutil import utcnow

logger = logging.getLogger(__name__)


class EnrolmentError(ZhichaoError):
    """An enrolment the platform cannot make as asked (e.g. a key is in use)."""


@dataclass(frozen=True)
class EnrolResult:
    key: LaneKey
    replaced: LaneKey | None
    already: bool  # the same key was enrolled already: nothing changed


def active_key(session: Session, station_code: str, lane_no: str) -> LaneKey | None:
    return session.scalar(
        sa.select(LaneKey).where(
            LaneKey.station_code == station_code,
            LaneKey.lane_no == lane_no,
            LaneKey.replaced_at.is_(None),
        )
    )


def enrol_lane(
    session: Session,
    enrolment: Enrolment,
    replace: bool = False,
    via: str = "cli",
    now: datetime | None = None,
) -> EnrolResult:
    """Enrol a lane's public key; flushes, does not commit.

    A lane with a different key enrolled already needs ``replace``: the old key
    is marked replaced (it keeps verifying the records detected before now).
    """
    from zhichao.platform.services import _ensure_lanes

    now = now or utcnow()
    code, lane_no = enrolment.station_code, enrolment.lane_no
    current = active_key(session, code, lane_no)
    if current is not None and current.public_key == enrolment.public_key:
        return EnrolResult(current, None, already=True)
    if current is not None and not replace:
        raise EnrolmentError(
            f"lane {code}-{lane_no} is enrolled already with key "
            f"{current.fingerprint}; replacing it needs --replace "
            "(or 确认更换 on the page)"
        )

    (_, lane_id) = _ensure_lanes(session, {(code, lane_no)})[(code, lane_no)]
    if current is not None:
        current.replaced_at = now
        logger.warning(
            "lane %s-%s: key %s replaced", code, lane_no, current.fingerprint
        )
    key = LaneKey(
        lane_id=lane_id,
        station_code=code,
        lane_no=lane_no,
        public_key=enrolment.public_key,
        fingerprint=key_fingerprint(enrolment.public_key),
        enrolled_at=now,
        enrolled_via=via,
    )
    session.add(key)
    session.flush()
    logger.info("lane %s-%s enrolled, key %s", code, lane_no, key.fingerprint)
    return EnrolResult(key, current, already=False)


def lane_keys(session: Session, limit: int = 500) -> list[LaneKey]:
    """Every enrolled key, current and replaced, newest first."""
    return list(
        session.scalars(sa.select(LaneKey).order_by(LaneKey.id.desc()).limit(limit))
    )


# -- alarms ---------------------------------------------------------------


ALARM_OPEN = "open"
ALARM_ACKNOWLEDGED = "acknowledged"
ALARM_CLOSED = "closed"
ALARM_VIEWS = ("unresolved", "closed", "all")
MAX_ALARM_NOTE = 2000


class AlarmError(ZhichaoError, ValueError):
    """An alarm cannot be handled as asked; the message says why."""


def _alarm_view(query, view: str):
    if view == "unresolved":
        return query.where(Alarm.status != ALARM_CLOSED)
    if view == "closed":
        return query.where(Alarm.status == ALARM_CLOSED)
    return query


def latest_alarms(session: Session, limit: int = 100, view: str = "all") -> list[Alarm]:
    """The newest alarms; ``view`` is ``unresolved``, ``closed`` or ``all``."""
    query = _alarm_view(sa.select(Alarm), view)
    return list(session.scalars(query.order_by(Alarm.id.desc()).limit(limit)))


def alarm_count(session: Session, view: str = "unresolved") -> int:
    """How many alarms are not closed (or of another ``view``)."""
    query = _alarm_view(sa.select(sa.func.count()).select_from(Alarm), view)
    return session.scalar(query) or 0


def handle_alarm(
    session: Session,
    alarm_id: int,
    action: str,
    username: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Alarm | None:
    """Acknowledge (确认) or close (关闭) an alarm; None if it is not visible.

    Acknowledging says someone is looking at it (a note is optional);
    closing needs a note saying what was found or done, added on a new line
    after the acknowledgement's. A closed alarm stays closed. Flushes, does
    not commit.
    """
    # a SELECT, not session.get: the jurisdiction filter applies to it
    alarm = session.scalar(sa.select(Alarm).where(Alarm.id == alarm_id))
    if alarm is None:
        return None
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_ALARM_NOTE:
        raise AlarmError(f"note: at most {MAX_ALARM_NOTE} characters (说明过长)")
    if alarm.status == ALARM_CLOSED:
        raise AlarmError(f"alarm {alarm_id} is closed already (告警已关闭)")
    if action == "acknowledge":
        if alarm.status == ALARM_ACKNOWLEDGED:
            raise AlarmError(f"alarm {alarm_id} is acknowledged already (已确认)")
        alarm.status = ALARM_ACKNOWLEDGED
    elif action == "close":
        if note is None:
            raise AlarmError(
                "note: say what was found or done before closing (关闭须填写处理说明)"
            )
        alarm.status = ALARM_CLOSED
    else:
        raise AlarmError(f"action must be acknowledge or close, not {action!r}")
    alarm.handled_by = username
    alarm.handled_at = now or utcnow()
    if note is not None:  # an acknowledgement's note is kept when closing
        alarm.note = note if alarm.note is None else f"{alarm.note}\n{note}"
    session.flush()
    return alarm


def alarms_of(session: Session, record_id: str) -> list[Alarm]:
    return list(
        session.scalars(
            sa.select(Alarm).where(Alarm.record_id == record_id).order_by(Alarm.id)
        )
    )


def known_kind(session: Session, record_id: str) -> str | None:
    """``pass`` or ``event`` when the record is stored, else None."""
    for kind, model in (("pass", WeighingRecord), ("event", LaneEvent)):
        found = session.scalar(sa.select(model.id).where(model.record_id == record_id))
        if found is not None:
            return kind
    return None


def get_event(session: Session, record_id: str) -> LaneEvent | None:
    return session.scalar(sa.select(LaneEvent).where(LaneEvent.record_id == record_id))


# -- heartbeats -----------------------------------------------------------


def store_heartbeat(
    session: Session,
    beat: Any,
    raw: dict[str, Any],
    history: int,
    received_at: datetime | None = None,
) -> int:
    """Keep the latest heartbeat of the station and its history; returns skew ms.

    ``beat`` is a validated ``HeartbeatIn``. Skew is the station's clock minus
    the platform's at arrival. The history keeps the newest ``history`` rows per
    station; the devices it reports go into the device register
    (``devices.record_heartbeat``). Flushes, does not commit.
    """
    from zhichao.platform.services import _ensure_stations

    received_at = received_at or utcnow()
    station_id = _ensure_stations(session, {beat.station_code})[beat.station_code]
    skew_ms = round((beat.clock - received_at).total_seconds() * 1000)
    values = {
        "received_at": received_at,
        "sent_at": beat.sent_at,
        "clock": beat.clock,
        "skew_ms": skew_ms,
        "software_version": beat.software_version,
        "queue_records": beat.queue.records,
        "queue_photos": beat.queue.photos,
        "disk_free_bytes": beat.disk_free_bytes,
        "lanes": [lane.model_dump(mode="json") for lane in beat.lanes],
    }
    status = session.get(StationStatus, station_id, with_for_update=True)
    if status is None:
        session.add(StationStatus(station_id=station_id, **values))
    else:
        for name, value in values.items():
            setattr(status, name, value)
    # after the status row: on PostgreSQL its lock keeps two heartbeats of the
    # station from upserting the same devices at once
    devices.record_heartbeat(session, station_id, beat.lanes, received_at)
    session.add(
        StationHeartbeat(
            station_id=station_id, received_at=received_at, skew_ms=skew_ms, raw=raw
        )
    )
    session.flush()
    _prune(session, station_id, history)
    return skew_ms


def _prune(session: Session, station_id: int, history: int) -> None:
    oldest_kept = session.scalar(
        sa.select(StationHeartbeat.id)
        .where(StationHeartbeat.station_id == station_id)
        .order_by(StationHeartbeat.id.desc())
        .offset(history - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        session.execute(
            sa.delete(StationHeartbeat).where(
                StationHeartbeat.station_id == station_id,
                StationHeartbeat.id < oldest_kept,
            )
        )


def heartbeat_history(session: Session, station_code: str, limit: int = 100):
    return list(
        session.scalars(
            sa.select(StationHeartbeat)
            .join(Station, Station.id == StationHeartbeat.station_id)
            .where(Station.station_code == station_code)
            .order_by(StationHeartbeat.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class StationView:
    station: Station
    status: StationStatus | None
    online: bool
    age_s: int | None
    lanes: list[str]
    enrolled_lanes: list[str]


def station_views(
    session: Session, offline_after_s: int, now: datetime | None = None
) -> list[StationView]:
    """Every station with its latest heartbeat and whether it is online now."""
    now = now or utcnow()
    statuses = {s.station_id: s for s in session.scalars(sa.select(StationStatus))}
    lanes: dict[int, list[str]] = {}
    for station_id, lane_no in session.execute(
        sa.select(Lane.station_id, Lane.lane_no).order_by(Lane.lane_no)
    ):
        lanes.setdefault(station_id, []).append(lane_no)
    enrolled: dict[str, list[str]] = {}
    for code, lane_no in session.execute(
        sa.select(LaneKey.station_code, LaneKey.lane_no)
        .where(LaneKey.replaced_at.is_(None))
        .order_by(LaneKey.lane_no)
    ):
        enrolled.setdefault(code, []).append(lane_no)

    views = []
    for station in session.scalars(sa.select(Station).order_by(Station.station_code)):
        status = statuses.get(station.id)
        age = None if status is None else (now - status.received_at)
        views.append(
            StationView(
                station=station,
                status=status,
                online=age is not None and age <= timedelta(seconds=offline_after_s),
                age_s=None if age is None else max(0, int(age.total_seconds())),
                lanes=lanes.get(station.id, []),
                enrolled_lanes=enrolled.get(station.station_code, []),
            )
        )
    return views
