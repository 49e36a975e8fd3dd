"""Alembic: upgrade to head and back to base, and the models match the schema."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from zhichao.platform.db import make_engine
from zhichao.platform.migrations import (
    alembic_config,
    current_revision,
    downgrade,
    run_migrations,
)
from zhichao.platform.models import Base

TABLES = {
    "source_units",
    "stations",
    "lanes",
    "weighing_records",
    "photos",
    "record_photos",
    "lane_keys",
    "lane_events",
    "alarms",
    "station_status",
    "station_heartbeats",
    "regions",
    "vehicles",
    "vehicle_pairs",
    "users",
    "web_sessions",
    "login_failures",
    "api_tokens",
    "audit_log",
    "lane_devices",
}


def head_revision(url):
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def table_names(url):
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(db_url):
    run_migrations(db_url)
    assert current_revision(db_url) == head_revision(db_url)
    assert table_names(db_url) == TABLES

    downgrade(db_url, "base")
    assert current_revision(db_url) is None
    assert table_names(db_url) == set()

    run_migrations(db_url)
    run_migrations(db_url)  # at head already: nothing to do
    assert table_names(db_url) == TABLES


def test_models_match_migrations(db_url):
    run_migrations(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()

    assert diff == []


def test_record_indexes_exist(db_url):
    run_migrations(db_url)
    engine = make_engine(db_url)
    try:
        indexes = sa.inspect(engine).get_indexes("weighing_records")
    finally:
        engine.dispose()

    columns = {tuple(index["column_names"]) for index in indexes}
    assert {("detected_at",), ("station_id", "detected_at")} <= columns
    assert ("overloaded", "detected_at") in columns


def test_upgrade_from_0001_keeps_records(db_url):
    run_migrations(db_url, "0001")
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO stations (station_code, name, registered) "
                    "VALUES ('1405250001', 'a', false)"
                )
            )
        run_migrations(db_url)
        with engine.connect() as conn:
            heads = conn.execute(sa.text("SELECT count(*) FROM lanes")).scalar()
        columns = {
            c["name"] for c in sa.inspect(engine).get_columns("weighing_records")
        }
    finally:
        engine.dispose()

    assert heads == 0
    assert {"verification", "record_hash", "content_hash"} <= columns
