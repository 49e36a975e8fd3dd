"""Rows written by ``insert_rows``'s typed COPY are stored as psycopg's own COPY
stored them, value for value, on a real PostgreSQL."""

import random
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest
import sqlalchemy as sa

from zhichao.platform.chain_store import _json_text, insert_rows
from zhichao.platform.db import make_engine, make_sessionmaker
from zhichao.platform.migrations import run_migrations
from zhichao.platform.models import LaneEvent, RecordPhoto, WeighingRecord

pytestmark = pytest.mark.postgres

ODD_TEXT = [
    "",
    "\\N",
    "a\tb",
    "line\nbreak",
    "cr\rlf\r\n",
    "back\\slash\\",
    "\b\f\v",
    '"quoted" {braces} [1,2]',
    "《超限运输车辆行驶公路管理规定》第三条",
    "晋E6789挂",
    "\U0001f69a truck",
    "\u2028\u00a0\x7f\x01",
]
ODD_JSON = [
    None,
    [],
    {},
    [7000, 11000, 2**63 - 1],
    ["超限", "a\tb", "\\"],
    {"url": "http://x/y?a=1&b=2", "n": 2**70, "f": 6.12, "z": None},
    {"nested": [{"k": "\n"}, -0.0, 1e-300]},
]
FLOATS = [0.0, -0.0, 6.12, 0.01, 100.0, 5e-324, 1e-300, 1.7976931348623157e308]
FLOATS += [float("inf"), 123456789.12, 0.1 + 0.2]
OFFSETS = [
    UTC,
    timezone(timedelta(hours=8)),
    timezone(timedelta(hours=-3, minutes=-30)),
]


def a_time(rng: random.Random) -> datetime:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
        seconds=rng.randrange(10**8), microseconds=rng.randrange(10**6)
    )
    return at.astimezone(rng.choice(OFFSETS))


def a_value(column: sa.Column, rng: random.Random):
    if isinstance(column.type, sa.JSON):
        return rng.choice(ODD_JSON)
    if column.nullable and rng.random() < 0.2:
        return None
    kind = getattr(column.type, "impl", column.type).python_type
    if kind is str:
        text = rng.choice(ODD_TEXT) + rng.choice(ODD_TEXT)
        return text[: column.type.length]
    if kind is bool:
        return rng.random() < 0.5
    if kind is int:
        big = isinstance(column.type, sa.BigInteger)
        top = 2**63 - 1 if big else 2**31 - 1
        return rng.choice([0, 1, -1, top, -top - 1, rng.randrange(10**6)])
    if kind is float:
        return rng.choice(FLOATS)
    if kind is datetime:
        return a_time(rng)
    raise AssertionError(f"no values for {column.name} ({column.type})")


def make_rows(table: sa.Table, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    names = [c.name for c in table.c if c.name != "id"]
    rows = []
    for index in range(count):
        row = {name: a_value(table.c[name], rng) for name in names}
        row["record_id"] = f"r-{index:05d}-{row.get('record_id') or ''}"[:64]
        rows.append(row)
    return rows


def copy_as_psycopg_does(dbapi, name: str, table: sa.Table, rows) -> None:
    """The reference: psycopg's COPY choosing a dumper by each value's type."""
    names = list(rows[0])
    with (
        dbapi.cursor() as cursor,
        cursor.copy(f"COPY {name} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [
                    _json_text(row[n])
                    if isinstance(table.c[n].type, sa.JSON)
                    else row[n]
                    for n in names
                ]
            )


def as_text(connection, name: str, table: sa.Table) -> list[tuple]:
    """Every stored value as PostgreSQL writes it, floats as their 8 bytes."""
    columns = [c.name for c in table.c if c.name != "id"]
    shown = [
        f"float8send({c})" if isinstance(table.c[c].type, sa.Float) else f"{c}::text"
        for c in columns
    ]
    query = f"SELECT {', '.join(shown)} FROM {name} ORDER BY record_id"
    return [tuple(row) for row in connection.exec_driver_sql(query)]


@pytest.mark.parametrize(
    "model", [WeighingRecord, LaneEvent, RecordPhoto], ids=lambda m: m.__tablename__
)
def test_typed_copy_stores_what_psycopg_copy_stores(pg_url, model):
    run_migrations(pg_url)
    engine = make_engine(pg_url)
    table = model.__table__
    rows = make_rows(table, 300, seed=len(table.name))
    mine = table.to_metadata(sa.MetaData(), name=f"mine_{table.name}")
    with engine.begin() as connection:
        for name in (mine.name, f"theirs_{table.name}"):
            connection.exec_driver_sql(
                f"CREATE TABLE {name} (LIKE {table.name} INCLUDING DEFAULTS "
                "INCLUDING IDENTITY)"
            )

    with make_sessionmaker(engine)() as session, session.begin():
        insert_rows(session, mine, rows)
        dbapi = session.connection().connection.driver_connection
        copy_as_psycopg_does(dbapi, f"theirs_{table.name}", table, rows)

    with engine.connect() as connection:
        stored = as_text(connection, mine.name, table)
        reference = as_text(connection, f"theirs_{table.name}", table)
        back = connection.execute(sa.select(mine).order_by(mine.c.record_id)).all()
    engine.dispose()
    assert len(stored) == len(rows)
    assert stored == reference
    for row, read in zip(rows, back, strict=True):
        read = read._mapping
        for name, value in row.items():
            if isinstance(table.c[name].type, sa.JSON) or value != value:
                continue
            assert read[name] == value, name


def test_a_unique_violation_in_copy_is_an_integrity_error(pg_url):
    run_migrations(pg_url)
    engine = make_engine(pg_url)
    table = RecordPhoto.__table__
    (row,) = make_rows(table, 1, seed=1)
    copy = table.to_metadata(sa.MetaData(), name="photo_copy")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE photo_copy (LIKE record_photos INCLUDING ALL)"
        )
        connection.exec_driver_sql(
            "CREATE UNIQUE INDEX photo_copy_once ON photo_copy (record_id)"
        )

    sessions = make_sessionmaker(engine)
    with (
        pytest.raises(sa.exc.IntegrityError) as caught,
        sessions() as session,
        session.begin(),
    ):
        insert_rows(session, copy, [row, dict(row)])
    engine.dispose()
    assert isinstance(caught.value.orig, psycopg.errors.UniqueViolation)
