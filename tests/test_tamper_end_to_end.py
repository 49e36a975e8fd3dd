"""Records tampered with in a station's database are caught by the platform.

A real station (pty indicator, HTTP cameras, signing keys) stores passes while
the platform is down; someone deletes one pass and edits the weight of another
in the station's SQLite file; when the platform is back, the next upload shows
a gap and a bad signature as alarms, and every record is kept.
"""

import functools
import json
import random
import sqlite3

import pytest

from zhichao.platform.migrations import run_migrations
from zhichao.sim.demo import (
    UNITS,
    PlatformThread,
    enrol_lanes,
    free_port,
    register_units,
    start_lane,
    stop_lane,
    weigh,
)
from zhichao.sim.traffic import Vehicle

UNIT = UNITS[0]
FAST_UPLOAD = {
    "upload": {"backoff_initial_s": 0.05, "backoff_max_s": 0.3, "idle_poll_s": 0.2}
}


def _truck(plate: str, gross_kg: int) -> Vehicle:
    return Vehicle(plate, plate, "yellow", 3, (1, 2), "truck", gross_kg, gross_kg)


def _tamper(db_path, deleted_id: str, edited_id: str) -> None:
    db = sqlite3.connect(db_path)
    with db:
        db.execute("DELETE FROM records WHERE record_id = ?", (deleted_id,))
        (body,) = db.execute(
            "SELECT body FROM records WHERE record_id = ?", (edited_id,)
        ).fetchone()
        record = json.loads(body)
        record["gross_kg"] -= 3000  # an overloaded pass made to look legal
        record["over_kg"], record["over_rate_pct"] = 0, 0
        record["overloaded"], record["verdict"] = False, "released"
        db.execute(
            "UPDATE records SET body = ? WHERE record_id = ?",
            (json.dumps(record, ensure_ascii=False), edited_id),
        )
    db.close()


def _platform_rows(database_url: str):
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        records = dict(
            conn.execute(
                sa.text("SELECT record_id, verification FROM weighing_records")
            ).all()
        )
        alarms = conn.execute(sa.text("SELECT kind, record_id, seq FROM alarms")).all()
    engine.dispose()
    return records, alarms


async def _wait_for(predicate, timeout_s: float = 30.0):
    import asyncio

    for _ in range(int(timeout_s / 0.25)):
        if predicate():
            return
        await asyncio.sleep(0.25)
    raise AssertionError("condition not reached in time")


@pytest.mark.parametrize(
    "db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_deleted_and_edited_records_raise_alarms_at_the_next_upload(
    db, tmp_path, request
):
    database_url = (
        f"sqlite:///{tmp_path / 'platform.db'}"
        if db == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    run_migrations(database_url)
    register_units(database_url, [UNIT])
    port = free_port("127.0.0.1", 0)
    lane = await start_lane(
        UNIT,
        f"http://127.0.0.1:{port}",  # the platform is not up yet
        tmp_path / "stations",
        random.Random(3),
        settings_extra=FAST_UPLOAD,
        enrol=functools.partial(enrol_lanes, database_url),
    )
    platform = None
    try:
        passes = [
            await weigh(lane, _truck(plate, gross), gross)
            for plate, gross in (
                ("晋E20001", 24_000),
                ("晋E20002", 24_500),
                ("晋E20003", 23_800),
                ("晋E20004", 27_900),
            )
        ]
        verdicts = [p["verdict"] for p in passes]
        assert verdicts == ["released", "released", "released", "held"]
        deleted, after_gap, edited = passes[1], passes[2], passes[3]
        _tamper(lane.station.store.path, deleted["record_id"], edited["record_id"])

        platform = PlatformThread(
            database_url,
            tmp_path / "evidence",
            "127.0.0.1",
            port,
            require_enrolment=True,
        )
        await platform.start()
        lane.station.uploader.wake()
        await _wait_for(lambda: edited["record_id"] in _platform_rows(database_url)[0])
    finally:
        await stop_lane(lane)
        if platform:
            await platform.stop()

    records, alarms = _platform_rows(database_url)
    kinds = {(kind, record_id) for kind, record_id, _ in alarms}

    assert records[passes[0]["record_id"]] == "verified"
    assert deleted["record_id"] not in records
    assert records[after_gap["record_id"]] == "gap"
    assert records[edited["record_id"]] == "bad_signature"
    assert ("bad_signature", edited["record_id"]) in kinds
    assert ("chain_gap", after_gap["record_id"]) in kinds, alarms
