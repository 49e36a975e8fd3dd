"""Chain verification of an ingested batch against the database.

Loads what ``verification.verify_lane`` needs with a fixed number of queries
per batch: one locks the lanes and reads their heads and enrolled keys, one
finds the stored records with the batch's ids or contents, and only a batch
that reaches below a lane's head reads the stored records at those seqs. Then
it inserts the records with their ``verification``, the alarms, the changed
statuses and the new heads.

Lane and station ids never change once created, so each process keeps them
per engine (``lane_ids``); the lock checks each id against its lane and a
stale entry (a database made anew under a running process) is dropped and
the batch retried. Keys are never kept: they come with the lock, so a key
replaced in another process stops verifying with the next batch after the
replacement commits.
"""

import functools
import hashlib
import json
import logging
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
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
    LaneKey,
    RecordPhoto,
    Station,
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

LaneName = tuple[str, str]  # (station_code, lane_no)

# engine -> (station_code, lane_no) -> (station id, lane id), committed lanes only
_LANE_IDS: "weakref.WeakKeyDictionary[Engine, dict[LaneName, tuple[int, int]]]" = (
    weakref.WeakKeyDictionary()
)


class StaleLaneIdsError(Exception):
    """A kept lane id no longer names its lane; the batch is tried again."""


@dataclass
class LockedLane:
    """A lane of the batch, its row locked: ids, chain head and enrolled keys."""

    station_id: int
    lane_id: int
    head_seq: int = 0
    head_hash: str | None = None
    keys: list[LaneKeyInfo] = field(default_factory=list)


@dataclass
class StoredMatches:
    """Stored records that share an id or a content hash with the batch."""

    raw_by_id: dict[str, Any] = field(default_factory=dict)
    # lane id -> content hash -> a record id with that content
    contents: dict[int, dict[str, str]] = field(default_factory=dict)


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


def _any_of(column, name: str, dialect: str) -> sa.ColumnElement[bool]:
    """``among`` for a statement built once: the values come as parameter ``name``."""
    if dialect != "postgresql":
        return column.in_(sa.bindparam(name, expanding=True))
    array = postgresql.ARRAY(column.type)
    return column == sa.any_(sa.bindparam(name, type_=array))


@dataclass(frozen=True)
class _Statements:
    """The statements every batch runs, built and compiled once per dialect.

    Building a select costs several times its round trip on this path; a
    statement kept is compiled once and then only executed.
    """

    lock: sa.Select
    matches: sa.CompoundSelect


@functools.cache
def _statements(dialect: str) -> _Statements:
    lanes, stations, keys = Lane.__table__, Station.__table__, LaneKey.__table__
    lock = (
        sa.select(
            lanes.c.id,
            lanes.c.station_id,
            stations.c.station_code,
            lanes.c.lane_no,
            lanes.c.head_seq,
            lanes.c.head_hash,
            keys.c.public_key,
            keys.c.replaced_at,
        )
        .select_from(
            lanes.join(stations, stations.c.id == lanes.c.station_id).outerjoin(
                keys,
                sa.and_(
                    keys.c.station_code == stations.c.station_code,
                    keys.c.lane_no == lanes.c.lane_no,
                ),
            )
        )
        .where(_any_of(lanes.c.id, "lane_ids", dialect))
        .order_by(lanes.c.id, keys.c.id.desc())
        .with_for_update(of=lanes)
    )
    matches = sa.union_all(
        *(
            sa.select(t.c.record_id, t.c.lane_id, t.c.content_hash, t.c.raw).where(
                sa.or_(
                    _any_of(t.c.record_id, "record_ids", dialect),
                    _any_of(t.c.content_hash, "content_hashes", dialect),
                )
            )
            for t in (model.__table__ for model in CHAIN_MODELS)
        )
    )
    return _Statements(lock, matches)


def _kept(session: Session) -> tuple[_Statements, sa.Connection]:
    """The kept statements for the session's database, and its connection."""
    connection = session.connection()
    return _statements(connection.dialect.name), connection


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
    if plain is not NOT_PLAIN:
        # one copy, trimmed in two steps (cheaper than two filtered copies)
        body = dict(plain)
        body.pop(SIGNATURE_FIELD, None)
        full = encode_plain(body)
        for name in CHAIN_FIELDS:
            body.pop(name, None)
        content = encode_plain(body)
        if full is not None and content is not None:
            return _hex(full), _hex(content)
    full = canonical_bytes(raw)
    content = canonical_bytes({k: v for k, v in raw.items() if k not in CHAIN_FIELDS})
    return _hex(full), _hex(content)


def _hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lane_ids(session: Session, names: set[LaneName]) -> dict[LaneName, tuple[int, int]]:
    """(station id, lane id) of each existing lane of ``names``; none is created.

    Kept per engine after the first look-up: a lane's ids never change.
    """
    known = _LANE_IDS.setdefault(session.get_bind(), {})
    missing = names - known.keys()
    if missing:
        rows = session.execute(
            sa.select(Station.station_code, Lane.lane_no, Station.id, Lane.id)
            .join(Lane, Lane.station_id == Station.id)
            .where(among(session, Station.station_code, {c for c, _ in missing}))
        )
        known.update(((code, no), (sid, lid)) for code, no, sid, lid in rows)
    return {name: known[name] for name in names if name in known}


def forget_lane_ids(engine: Engine) -> None:
    """Drop the lane ids kept for ``engine`` (after a failed batch)."""
    _LANE_IDS.pop(engine, None)


def lock_lanes(session: Session, names: set[LaneName]) -> dict[LaneName, LockedLane]:
    """The existing lanes of ``names``, locked until commit, with heads and keys.

    One statement: the lane rows (locked in id order, so that two batches of a
    lane never judge the same head at once; SQLite's BEGIN IMMEDIATE already
    serialises writers) joined to every key enrolled for the lane, newest
    first. Raises ``StaleLaneIdsError`` when a kept id names another lane or
    none.
    """
    ids = {lane_id: name for name, (_, lane_id) in lane_ids(session, names).items()}
    if not ids:
        return {}
    kept, connection = _kept(session)
    rows = connection.execute(kept.lock, {"lane_ids": list(ids)})
    locked: dict[LaneName, LockedLane] = {}
    for lane_id, station_id, code, lane_no, seq, head, key, replaced_at in rows:
        name = (code, lane_no)
        if ids.get(lane_id) != name:
            forget_lane_ids(session.get_bind())
            raise StaleLaneIdsError(f"lane id {lane_id} is not lane {code}-{lane_no}")
        lane = locked.get(name)
        if lane is None:
            lane = locked[name] = LockedLane(station_id, lane_id, seq or 0, head)
        if key is not None:
            lane.keys.append(LaneKeyInfo(key, replaced_at))
    if len(locked) != len(ids):
        forget_lane_ids(session.get_bind())
        raise StaleLaneIdsError("a kept lane id names no lane")
    return locked


def load_matches(
    session: Session, record_ids: set[str], content_hashes: set[str]
) -> StoredMatches:
    """Stored records with one of the ids (their raw) or contents (their id).

    One statement over both tables of the chain.
    """
    kept, connection = _kept(session)
    rows = connection.execute(
        kept.matches,
        {"record_ids": list(record_ids), "content_hashes": list(content_hashes)},
    )
    found = StoredMatches()
    for record_id, lane_id, chash, raw in rows:
        if record_id in record_ids:
            found.raw_by_id.setdefault(record_id, raw)
        if chash in content_hashes:
            found.contents.setdefault(lane_id, {}).setdefault(chash, record_id)
    return found


def store_records(
    session: Session,
    new: list[RecordIn | EventIn],
    cands: dict[str, Candidate],
    lanes: dict[LaneName, LockedLane],
    contents: dict[int, dict[str, str]],
    received_at: datetime,
) -> dict[str, str]:
    """Verify and insert ``new``; returns record_id -> verification.

    ``lanes`` holds every lane of ``new``, locked; ``contents`` the stored
    content hashes of ``load_matches``.
    """
    by_lane: dict[int, list[Candidate]] = defaultdict(list)
    states: dict[int, LaneState] = {}
    for record in new:
        lane = lanes[(record.station_code, record.lane_no)]
        by_lane[lane.lane_id].append(cands[record.record_id])
        if lane.lane_id not in states:
            states[lane.lane_id] = LaneState(
                f"{record.station_code}-{record.lane_no}",
                lane.keys,
                lane.head_seq,
                lane.head_hash,
                contents=dict(contents.get(lane.lane_id, {})),
            )

    _load_stored(session, states, by_lane)
    outcomes = {
        lane_id: verify_lane(states[lane_id], lane_cands)
        for lane_id, lane_cands in by_lane.items()
    }

    statuses = {
        rid: s.value for o in outcomes.values() for rid, s in o.statuses.items()
    }
    heads = _moved_heads(states, outcomes)
    rows = _rows(new, cands, lanes, statuses, received_at)
    if not _insert_one_moving_head(session, rows, heads):
        _insert(session, rows)
        _move_heads(session, heads)
    _write_outcomes(session, states, outcomes, received_at)
    return statuses


def candidate(record: RecordIn | EventIn, raw: Any) -> Candidate:
    """A valid record with its hashes, ready for ``verify_lane``."""
    full_hash, same_content = record_hashes(raw)
    return Candidate(
        record_id=record.record_id,
        seq=record.seq,
        prev_hash=record.prev_hash,
        signature=record.signature,
        detected_at=record.detected_at,
        raw=raw,
        record_hash=full_hash,
        content_hash=same_content,
    )


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


def _rows(new, cands, lanes, statuses, received_at) -> dict[sa.Table, list[dict]]:
    """The rows to insert, by table: passes, events and photo references."""
    passes, events, photos = [], [], []
    for record in new:
        cand = cands[record.record_id]
        lane = lanes[(record.station_code, record.lane_no)]
        # the validated fields as they are (model_dump would copy them again)
        row = record.__dict__.copy()
        row.pop("photos", None)
        row.update(
            station_id=lane.station_id,
            lane_id=lane.lane_id,
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
    tables = {
        WeighingRecord.__table__: passes,
        LaneEvent.__table__: events,
        RecordPhoto.__table__: photos,
    }
    return {table: rows for table, rows in tables.items() if rows}


def _insert(session, rows: dict[sa.Table, list[dict]]) -> None:
    for table, table_rows in rows.items():
        insert_rows(session, table, table_rows)


def _insert_one_moving_head(session, rows, heads: list[dict]) -> bool:
    """On PostgreSQL, one record and its lane's new head in a single statement.

    A station that sends each record as it weighs makes one such request per
    record; a ``COPY`` and an ``UPDATE`` would be three round trips instead of
    one. Returns False (nothing written) for anything else.
    """
    if len(rows) != 1 or len(heads) > 1:
        return False
    ((table, table_rows),) = rows.items()
    if len(table_rows) != 1 or table is RecordPhoto.__table__:
        return False
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return False
    (row,) = table_rows
    statement = _insert_statement(table, tuple(row), moves_head=bool(heads))
    params = {f"new_{name}": value for name, value in row.items()}
    connection.execute(statement, params | (heads[0] if heads else {}))
    return True


@functools.cache
def _insert_statement(table: sa.Table, names: tuple[str, ...], moves_head: bool):
    # parameters named after no column: SQLAlchemy would add a parameter named
    # like a column of ``lanes`` (station_id) to the head's UPDATE as well
    statement = sa.insert(table).values(
        {name: sa.bindparam(f"new_{name}") for name in names}
    )
    if moves_head:
        statement = statement.add_cte(_move_head_statement().cte("moved_head"))
    return statement


@functools.cache
def _move_head_statement() -> sa.Update:
    lanes = Lane.__table__
    return (
        sa.update(lanes)
        .where(lanes.c.id == sa.bindparam("moved_lane"))
        .values(
            head_seq=sa.bindparam("moved_seq"), head_hash=sa.bindparam("moved_hash")
        )
    )


def _moved_heads(states, outcomes: dict[int, LaneOutcome]) -> list[dict]:
    """Parameters of ``_move_head_statement`` for each lane whose head moved."""
    return [
        {"moved_lane": lane_id, "moved_seq": o.head_seq, "moved_hash": o.head_hash}
        for lane_id, o in outcomes.items()
        if (o.head_seq, o.head_hash)
        != (states[lane_id].head_seq, states[lane_id].head_hash)
    ]


def _move_heads(session: Session, heads: list[dict]) -> None:
    if heads:
        session.connection().execute(_move_head_statement(), heads)


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
    types = _copy_types(table, tuple(names))
    dbapi = connection.connection.driver_connection
    dumps = _json_text
    try:
        with dbapi.cursor() as cursor, cursor.copy(statement) as copy:
            if types:
                copy.set_types(types)
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


# the text each kind of column's values are written as in COPY: a JSON column
# gets its text from _json_text, so it is written as text
_COPY_TYPE_OF = {str: "text", int: "int8", bool: "bool", float: "float8"}


@functools.cache
def _copy_types(table: sa.Table, names: tuple[str, ...]) -> list[str] | None:
    """The types to dump ``names`` of ``table`` with in ``COPY``, or None.

    Told the types, psycopg picks each column's dumper once instead of once per
    value (a tenth of the formatting); the text written is the same. None when a
    column is of a kind not listed: psycopg then picks by each value's type.
    """
    types = []
    for name in names:
        column_type = table.c[name].type
        if isinstance(column_type, sa.JSON):
            types.append("text")
            continue
        python_type = getattr(column_type, "impl", column_type).python_type
        if python_type is datetime:
            types.append("timestamptz")
        elif python_type in _COPY_TYPE_OF:
            types.append(_COPY_TYPE_OF[python_type])
        else:
            return None
    return types


def _json_text(value: Any) -> str:
    """A JSON column's text (the value is read back as JSON, not compared as text)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:  # beyond orjson (an int over 64 bits)
        return json.dumps(value)


def _photo_row(record_id: str, photo: PhotoRef) -> dict[str, Any]:
    return {"record_id": record_id, **photo.model_dump()}


def _write_outcomes(session, states, outcomes: dict[int, LaneOutcome], received_at):
    """Alarms and changed statuses, a statement for each kind."""
    alarms = []
    updates: dict[str, list[str]] = defaultdict(list)  # status -> record ids
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
            updates[str(status)].append(record_id)
    if alarms:
        session.execute(sa.insert(Alarm), alarms)
    for status, record_ids in sorted(updates.items()):
        for model in CHAIN_MODELS:
            session.execute(
                sa.update(model)
                .where(among(session, model.record_id, record_ids))
                .values(verification=status)
            )
