"""Backlog: many stations come back online at once, each with a full queue.

Each lane has a real station store (``StationStore``, SQLite) holding its
queued records and a real ``Uploader``; all uploaders drain at once against
one platform. Afterwards the platform must hold every record exactly once and
every store must have nothing pending.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

from bench import pg
from bench.cpu import CpuWindow
from bench.platform_db import enrol, prepare_database
from bench.records import fill_chain, make_lanes
from bench.server import PlatformServer
from zhichao.errors import UploadError
from zhichao.station.store import StationStore
from zhichao.station.uploader import Uploader

RETRY_PAUSE_S = 0.5


def fill_stores(work: Path, lanes) -> list[StationStore]:
    """One store per lane, its records added one by one as a lane adds them."""

    def fill(lane) -> StationStore:
        store = StationStore(work / "stations" / f"{lane.name}.db")
        for record in lane.records:
            store.add_record(record, lane.key)
        return store

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(fill, lanes))


async def drain(url: str, stores: list[StationStore]) -> dict:
    failures = busy = 0
    limits = httpx.Limits(max_connections=len(stores), max_keepalive_connections=64)

    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:

        async def one(store: StationStore) -> None:
            nonlocal failures, busy
            uploader = Uploader(store, url)
            while True:
                try:
                    if not await uploader.upload_once(client):
                        return
                except UploadError as err:
                    # as the uploader's own loop: a busy answer's Retry-After
                    if err.retry_after_s is not None:
                        busy += 1
                        await asyncio.sleep(err.retry_after_s)
                    else:
                        failures += 1
                        await asyncio.sleep(RETRY_PAUSE_S)

        await asyncio.gather(*(one(store) for store in stores))
    return {"upload_failures_retried": failures, "busy_answers": busy}


def check_platform(db_url: str, lanes) -> dict:
    expected = sum(len(lane.records) for lane in lanes)
    with psycopg.connect(pg.dsn(db_url)) as conn:
        total, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT record_id) FROM weighing_records"
        ).fetchone()
        per_lane = conn.execute(
            "SELECT station_code, lane_no, count(*), count(DISTINCT seq), "
            "min(seq), max(seq) FROM weighing_records GROUP BY 1, 2"
        ).fetchall()
    complete = sum(1 for _, _, n, d, lo, hi in per_lane if n == d == hi and lo == 1)
    return {
        "expected": expected,
        "stored": total,
        "distinct_record_ids": distinct,
        "lanes_complete": complete,
        "lost": expected - distinct,
        "duplicates": total - distinct,
    }


def bench_backlog(db_url: str, work: Path, size, *, workers: int) -> dict:
    lanes = make_lanes(size.backlog_lanes, first=6000)
    t = time.perf_counter()
    for lane in lanes:
        fill_chain(lane, size.backlog_per_lane)
    stores = fill_stores(work, lanes)
    setup_s = time.perf_counter() - t

    prepare_database(db_url)
    enrol(db_url, lanes)
    with PlatformServer(
        db_url, work / "evidence", workers=workers, log_path=work / "server.log"
    ) as server:
        db_pids = pg.backend_pids(db_url)
        with CpuWindow(server.pid, db_pids) as cpu:
            outcome = asyncio.run(drain(server.url, stores))
    pending = sum(store.queue_depth()["records"] for store in stores)
    for store in stores:
        store.close()
    check = check_platform(db_url, lanes)
    records = size.backlog_lanes * size.backlog_per_lane
    return {
        "lanes": size.backlog_lanes,
        "records_per_lane": size.backlog_per_lane,
        "records": records,
        "drain_s": round(cpu.wall_s, 2),
        "records_per_s": round(records / cpu.wall_s, 1),
        "station_pending_after": pending,
        "setup_s": round(setup_s, 1),
        **outcome,
        **check,
        **cpu.as_json(),
    }
