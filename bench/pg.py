"""PostgreSQL helpers: throw-away databases, server version, backend processes."""

import uuid
from contextlib import contextmanager

import psycopg
import sqlalchemy as sa


def dsn(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL."""
    return (
        sa.engine.make_url(url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


@contextmanager
def scratch_database(base_url: str, prefix: str = "bench"):
    """A new empty database on the server of ``base_url``; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn(base_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base_url.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with psycopg.connect(dsn(base_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_version(url: str) -> str:
    with psycopg.connect(dsn(url)) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def settings(url: str) -> dict:
    names = ("fsync", "synchronous_commit", "shared_buffers", "max_wal_size")
    with psycopg.connect(dsn(url)) as conn:
        return {n: conn.execute(f"SHOW {n}").fetchone()[0] for n in names}


def backend_pids(url: str) -> list[int]:
    """Server processes serving connections to this URL's database."""
    with psycopg.connect(dsn(url)) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]
