"""Chain verification of an ingested batch against the database.

Loads what ``verification.verify_lane`` needs with a fixed number of queries
per batch (lane heads, content hashes, and stored records only for the seqs a
batch reaches below a lane's head), then inserts the records with their
``verification``, the alarms, the changed statuses and the new heads.
"""

import hashlib
import json
import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from zhichao.chain import (
    NOT_PLAIN,
    SIGNATURE_FIELD,
    canonical_bytes,
    encode_plain,
    plain_json,
)
from zhichao.platform.models import (
    Alarm,
    Lane,
    LaneEvent,
    RecordPhoto,
    WeighingRecord,
)
from zhichao.platform.schemas import EventIn, PhotoRef, RecordIn
from zhichao.platform.verification import (
    Candidate,
    LaneKeyInfo,
    LaneOutcome,
    LaneState,
    Link,
    seqs_to_load,
    verify_lane,
)

logger = logging.getLogger(__name__)

# left out of the content hash: a replay repeats everything but these
CHAIN_FIELDS = ("record_id", "seq", "prev_hash", "signature")
CHAIN_MODELS = (WeighingRecord, LaneEvent)

LaneIds = dict[tuple[str, str], tuple[int, int]]


def among(session: Session, column, values) -> sa.ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``= ANY(array)``, one parameter.

    A batch asks about hundreds of ids or hashes at once: expanding them into
    one bound parameter each costs more than the query does.
    """
    values = list(values)
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    array = postgresql.ARRAY(column.type)
    return column == sa.any_(sa.bindparam(None, values, type_=array))


def content_hash(raw: dict[str, Any]) -> str:
    """SHA-256 of the canonical encoding without the chain fields."""
    return record_hashes(raw)[1]


def record_hashes(raw: dict[str, Any]) -> tuple[str, str]:
    """(record hash, content hash) of a record.

    Equal to ``zhichao.chain.record_hash`` and to the hash of the canonical
    encoding without the chain fields (tests hold them together); the fast
    encoder's checks run once for both.
    """
    plain = plain_json(raw)
    full = encode_plain(
        NOT_PLAIN
        if plain is NOT_PLAIN
        else {k: v for k, v in plain.items() if k != SIGNATURE_FIELD}
    )
    content = encode_plain(
        NOT_PLAIN
        if plain is NOT_PLAIN
        else {k: v for k, v in plain.items() if k not in CHAIN_FIELDS}
    )
    if full is None or content is None:
        full = canonical_bytes(raw)
        content = canonical_bytes(
            {k: v for k, v in raw.items() if k not in CHAIN_FIELDS}
        )
    return hashlib.sha256(full).hexdigest(), hashlib.sha256(content).hexdigest()


def store_records(
    session: Session,
    new: list[RecordIn | EventIn],
    raw_by_id: dict[str, Any],
    lanes: LaneIds,
    keys: dict[tuple[str, str], list[LaneKeyInfo]],
    received_at: datetime,
) -> dict[str, str]:
    """Verify and insert ``new``; returns record_id -> verification."""
    cands = _candidates(new, raw_by_id)
    by_lane: dict[int, list[Candidate]] = defaultdict(list)
    for record in new:
        by_lane[lanes[(record.station_code, record.lane_no)][1]].append(
            cands[record.record_id]
        )
    labels = {lane_id: f"{code}-{no}" for (code, no), (_, lane_id) in lanes.items()}
    lane_keys = {lane_id: keys.get(key, []) for key, (_, lane_id) in lanes.items()}

    heads = _lock_heads(session, set(by_lane))
    states = {
        lane_id: LaneState(labels[lane_id], lane_keys[lane_id], *heads[lane_id])
        for lane_id in by_lane
    }
    _load_stored(session, states, by_lane)
    _load_contents(session, states, by_lane)
    outcomes = {
        lane_id: verify_lane(states[lane_id], lane_cands)
        for lane_id, lane_cands in by_lane.items()
    }

    statuses = {
        rid: s.value for o in outcomes.values() for rid, s in o.statuses.items()
    }
    _insert(session, new, cands, lanes, statuses, received_at)
    _write_outcomes(session, states, outcomes, received_at)
    return statuses


def _candidates(new, raw_by_id) -> dict[str, Candidate]:
    cands = {}
    for record in new:
        raw = raw_by_id[record.record_id]
        full_hash, same_content = record_hashes(raw)
        cands[record.record_id] = Candidate(
            record_id=record.record_id,
            seq=record.seq,
            prev_hash=record.prev_hash,
            signature=record.signature,
            detected_at=record.detected_at,
            raw=raw,
            record_hash=full_hash,
            content_hash=same_content,
        )
    return cands


def _lock_heads(session: Session, lane_ids: set[int]):
    """Each lane's (head_seq, head_hash), the rows locked until commit.

    Locking the lanes (in id order) keeps two batches of one lane from judging
    the same head at once; SQLite's BEGIN IMMEDIATE already serialises writers.
    """
    rows = session.execute(
        sa.select(Lane.id, Lane.head_seq, Lane.head_hash)
        .where(Lane.id.in_(lane_ids))
        .order_by(Lane.id)
        .with_for_update()
    )
    return {lane_id: (seq or 0, head) for lane_id, seq, head in rows}


def _load_stored(session: Session, states, by_lane) -> None:
    """Stored records at the seqs each lane's batch reaches below its head."""
    wanted = {
        lane_id: seqs_to_load(states[lane_id].head_seq, states[lane_id].head_hash, c)
        for lane_id, c in by_lane.items()
    }
    wanted = {lane_id: seqs for lane_id, seqs in wanted.items() if seqs}
    if not wanted:
        return
    all_seqs = set().union(*wanted.values())
    for model in CHAIN_MODELS:
        rows = session.execute(
            sa.select(
                model.lane_id,
                model.record_id,
                model.seq,
                model.prev_hash,
                model.record_hash,
                model.verification,
            ).where(
                among(session, model.lane_id, wanted),
                among(session, model.seq, all_seqs),
            )
        )
        for lane_id, record_id, seq, prev_hash, rhash, verification in rows:
            if seq in wanted[lane_id]:
                states[lane_id].stored.setdefault(seq, []).append(
                    Link(record_id, seq, prev_hash, rhash, verification)
                )


def _load_contents(session: Session, states, by_lane) -> None:
    """Stored records with the same content as a new one (replays)."""
    lane_of = {c.content_hash: lane_id for lane_id, cs in by_lane.items() for c in cs}
    for model in CHAIN_MODELS:
        rows = session.execute(
            sa.select(model.lane_id, model.content_hash, model.record_id).where(
                among(session, model.content_hash, lane_of)
            )
        )
        for lane_id, chash, record_id in rows:
            state = states.get(lane_id)
            if state is not None:
                state.contents.setdefault(chash, record_id)


def _insert(session, new, cands, lanes: LaneIds, statuses, received_at) -> None:
    passes, events, photos = [], [], []
    for record in new:
        cand = cands[record.record_id]
        station_id, lane_id = lanes[(record.station_code, record.lane_no)]
        # the validated fields as they are (model_dump would copy them again)
        row = {k: v for k, v in record.__dict__.items() if k != "photos"}
        row.update(
            station_id=station_id,
            lane_id=lane_id,
            received_at=received_at,
            raw=cand.raw,
            record_hash=cand.record_hash,
            content_hash=cand.content_hash,
            verification=statuses[record.record_id],
        )
        if isinstance(record, EventIn):
            row.pop("kind")
            events.append(row)
            continue
        row["front_plate_color"] = str(record.front_plate_color)
        row["rear_plate_color"] = str(record.rear_plate_color)
        passes.append(row)
        photos.extend(_photo_row(record.record_id, p) for p in record.photos)
    for model, rows in ((WeighingRecord, passes), (LaneEvent, events)):
        if rows:
            insert_rows(session, model.__table__, rows)
    if photos:
        insert_rows(session, RecordPhoto.__table__, photos)


def insert_rows(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys, in the session's transaction.

    On PostgreSQL through ``COPY`` (a multi-row ``INSERT`` of a batch costs
    several times more in statement building and parameter binding); elsewhere
    as one ``executemany``. A unique violation is an ``IntegrityError`` either
    way, so a concurrent upload of the same ids is retried as before.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    names = list(rows[0])
    columns = [(name, isinstance(table.c[name].type, sa.JSON)) for name in names]
    statement = (
        f"COPY {table.name} ({', '.join(names)}) FROM STDIN"  # names from the model
    )
    dbapi = connection.connection.driver_connection
    dumps = _json_text
    try:
        with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(
                    [
                        dumps(row[name]) if is_json else row[name]
                        for name, is_json in columns
                    ]
                )
    except psycopg.IntegrityError as err:
        raise sa.exc.IntegrityError(statement, None, err) from err


def _json_text(value: Any) -> str:
    """A JSON column's text (the value is read back as JSON, not compared as text)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # beyond orjson (an int over 64 bits)
        return json.dumps(value)


def _photo_row(record_id: str, photo: PhotoRef) -> dict[str, Any]:
    return {"record_id": record_id, **photo.model_dump()}


def _write_outcomes(session, states, outcomes: dict[int, LaneOutcome], received_at):
    alarms, heads = [], []
    for lane_id, outcome in outcomes.items():
        state = states[lane_id]
        code, lane_no = state.label.split("-")
        for alarm in outcome.alarms:
            logger.warning("chain alarm %s: %s", alarm.kind, alarm.message)
            alarms.append(
                {
                    "kind": str(alarm.kind),
                    "station_code": code,
                    "lane_no": lane_no,
                    "seq": alarm.seq,
                    "record_id": alarm.record_id,
                    "message": alarm.message,
                    "detail": alarm.detail,
                    "raised_at": received_at,
                }
            )
        for record_id, status in outcome.updates.items():
            for model in CHAIN_MODELS:
                session.execute(
                    sa.update(model)
                    .where(model.record_id == record_id)
                    .values(verification=str(status))
                )
        heads.append(
            dict(id=lane_id, head_seq=outcome.head_seq, head_hash=outcome.head_hash)
        )
    if alarms:
        session.execute(sa.insert(Alarm), alarms)
    session.execute(sa.update(Lane), heads)
