"""Ingest: records/s batched and single-request, beside a raw load of the same rows.

The platform runs under uvicorn in its own process; the load generator posts
pre-encoded bodies with aiohttp, each lane's records in ``seq`` order from one
connection, as stations do. The reference is PostgreSQL ``COPY`` (or, on
SQLite, one ``executemany`` transaction) of the same rows into a table of the
same shape (same columns, indexes and foreign keys).
"""

import asyncio
import json
import logging
import sqlite3
import time
from collections import Counter
from pathlib import Path

import aiohttp
import psycopg

from bench import pg, profile
from bench.cpu import CpuWindow
from bench.platform_db import enrol, prepare_database
from bench.records import fill_chain, make_lanes
from bench.server import PlatformServer

logger = logging.getLogger(__name__)

BATCH = 500


def encode(records: list[dict]) -> bytes:
    return json.dumps({"records": records}, ensure_ascii=False).encode()


def lane_bodies(lanes, per_request: int) -> list[list[bytes]]:
    return [
        [
            encode(lane.records[i : i + per_request])
            for i in range(0, len(lane.records), per_request)
        ]
        for lane in lanes
    ]


async def post_all(url: str, bodies: list[list[bytes]], concurrency: int) -> Counter:
    """Post every lane's bodies in order; lanes spread over ``concurrency`` clients."""
    statuses: Counter = Counter()
    queue: asyncio.Queue = asyncio.Queue()
    for lane in bodies:
        queue.put_nowait(lane)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=300)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            while not queue.empty():
                lane = queue.get_nowait()
                for body in lane:
                    async with session.post(
                        f"{url}/api/v1/records", data=body, headers=headers
                    ) as reply:
                        if reply.status != 200:
                            statuses[f"http_{reply.status}"] += 1
                            continue
                        answer = await reply.json()
                    for result in answer["results"]:
                        statuses[result["status"]] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def run_phase(server, db_url, bodies, concurrency, count) -> dict:
    db_pids = pg.backend_pids(db_url) if db_url.startswith("postgresql") else []
    with CpuWindow(server.pid, db_pids) as cpu:
        statuses = asyncio.run(post_all(server.url, bodies, concurrency))
    return {
        "records": count,
        "requests": sum(len(lane) for lane in bodies),
        "concurrency": concurrency,
        "records_per_s": round(count / cpu.wall_s, 1),
        "requests_per_s": round(sum(len(b) for b in bodies) / cpu.wall_s, 1),
        "statuses": dict(statuses),
        **cpu.as_json(),
    }


def bench_ingest(db_url: str, work: Path, size, *, workers: int, do_profile: bool):
    """Batched and single-request ingest on one database, and its raw reference."""
    batched = make_lanes(size.ingest_lanes, first=0)
    per_lane = size.ingest_records // size.ingest_lanes
    single = make_lanes(size.single_lanes, first=1000)
    warm = make_lanes(2, first=3000)
    spare = make_lanes(4, first=4000)
    solo = make_lanes(8, first=4100)
    t = time.perf_counter()
    for lane in batched:
        fill_chain(lane, per_lane)
    for lane in single:
        fill_chain(lane, size.single_requests // size.single_lanes)
    for lane in warm + spare:
        fill_chain(lane, 1000)
    for lane in solo:
        fill_chain(lane, 100)
    made_s = time.perf_counter() - t
    count = per_lane * len(batched)

    prepare_database(db_url)
    enrolled = enrol(db_url, batched + single + warm + spare + solo)
    result = {
        "backend": db_url.split(":", 1)[0].split("+")[0],
        "server_workers": workers,
        "records_signed_per_s_client": round(
            (count + size.single_requests + 6800) / made_s, 1
        ),
        "lanes_enrolled": enrolled,
    }
    with PlatformServer(
        db_url, work / "evidence", workers=workers, log_path=work / "server.log"
    ) as server:
        asyncio.run(post_all(server.url, lane_bodies(warm, BATCH), 2))
        result["batched"] = run_phase(
            server, db_url, lane_bodies(batched, BATCH), size.concurrency, count
        )
        result["single"] = run_phase(
            server,
            db_url,
            lane_bodies(single, 1),
            size.single_concurrency,
            size.single_requests,
        )
        if do_profile and profile.available():
            out = work / f"profile-ingest-{result['backend']}.txt"
            with profile.Sampler(server.pid, out):
                asyncio.run(post_all(server.url, lane_bodies(spare, BATCH), 4))
            result["profile_batched"] = profile.summarise(out)
            out = work / f"profile-single-{result['backend']}.txt"
            with profile.Sampler(server.pid, out):
                asyncio.run(post_all(server.url, lane_bodies(solo, 1), 8))
            result["profile_single"] = profile.summarise(out)

    if result["backend"] == "postgresql":
        result["reference"] = copy_reference(db_url)
    else:
        result["reference"] = sqlite_reference(db_url)
    ref = result["reference"]["rows_per_s"]
    result["ratio_batched_to_reference"] = round(
        result["batched"]["records_per_s"] / ref, 3
    )
    return result


# -- the raw reference ----------------------------------------------------
#
# The rows are the ones the platform stored, read back, so the reference loads
# exactly what the platform wrote, whatever columns this version has.


def copy_reference(db_url: str) -> dict:
    """COPY the stored rows into a same-shaped table; rows/s of the COPY alone."""
    with psycopg.connect(pg.dsn(db_url)) as conn:
        conn.execute(
            "CREATE TABLE bench_copy (LIKE weighing_records INCLUDING DEFAULTS "
            "INCLUDING INDEXES INCLUDING CONSTRAINTS)"
        )
        for (definition,) in conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'weighing_records'::regclass AND contype = 'f'"
        ).fetchall():
            conn.execute(f"ALTER TABLE bench_copy ADD {definition}")
        columns = ", ".join(
            c
            for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE "
                "table_name = 'weighing_records' AND column_name <> 'id' "
                "ORDER BY ordinal_position"
            )
        )
        data = bytearray()
        with conn.cursor().copy(
            f"COPY (SELECT {columns} FROM weighing_records) TO STDOUT"
        ) as cp:
            for chunk in cp:
                data += chunk
        rows = data.count(b"\n")
        conn.commit()

        start = time.perf_counter()
        with conn.cursor().copy(f"COPY bench_copy ({columns}) FROM STDIN") as cp:
            for i in range(0, len(data), 1 << 20):
                cp.write(bytes(data[i : i + (1 << 20)]))
        conn.commit()
        wall = time.perf_counter() - start
        conn.execute("DROP TABLE bench_copy")
        conn.commit()
    return {
        "method": "COPY into a table of the same columns, indexes and foreign keys",
        "rows": rows,
        "wall_s": round(wall, 3),
        "rows_per_s": round(rows / wall, 1),
    }


def sqlite_reference(db_url: str) -> dict:
    """One executemany transaction of the stored rows into a same-shaped table."""
    path = db_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    ddl = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'weighing_records' "
            "AND sql IS NOT NULL"
        )
    ]
    for sql in ddl:
        conn.execute(
            sql.replace("weighing_records", "bench_copy").replace(
                "CREATE INDEX ix_", "CREATE INDEX bench_ix_"
            )
        )
    columns = [row[1] for row in conn.execute("PRAGMA table_info(weighing_records)")]
    columns = ", ".join(c for c in columns if c != "id")
    rows = conn.execute(f"SELECT {columns} FROM weighing_records").fetchall()
    marks = ", ".join("?" for _ in columns.split(", "))

    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(f"INSERT INTO bench_copy ({columns}) VALUES ({marks})", rows)
    conn.execute("COMMIT")
    wall = time.perf_counter() - start
    conn.execute("DROP TABLE bench_copy")
    conn.close()
    return {
        "method": "one executemany transaction into a table of the same shape",
        "rows": len(rows),
        "wall_s": round(wall, 3),
        "rows_per_s": round(len(rows) / wall, 1),
    }
