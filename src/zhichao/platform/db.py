"""Database engine and sessions: SQLite by default, PostgreSQL by URL."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL connections a process keeps open, and how many more it may open
# under load. Uploads run in the server's thread pool (40 threads), so 20 + 20
# covers them without opening and closing connections under a burst; two
# worker processes then stay within PostgreSQL's default of 100 connections.
POOL_SIZE = 20
POOL_OVERFLOW = 20


class UTCDateTime(sa.types.TypeDecorator):
    """An instant, always aware and in UTC on the Python side.

    PostgreSQL keeps it as ``timestamptz``; SQLite, which has no time zones,
    keeps the UTC wall time, so ordering and range queries stay correct.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every instant must carry its offset")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(database_url: str) -> Engine:
    """Create an engine; for a SQLite file, create its folder and tune it."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(
            url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW
        )

    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}
    )
    sa.event.listen(engine, "connect", _tune_sqlite)
    sa.event.listen(engine, "begin", _begin_immediate)
    return engine


def _tune_sqlite(dbapi_connection, _record) -> None:
    # The driver's own transaction handling is turned off so that every
    # transaction starts with BEGIN IMMEDIATE (below): a transaction that reads
    # and then writes would otherwise fail at once with "database is locked"
    # when another writer got there first, instead of waiting its turn.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _begin_immediate(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
