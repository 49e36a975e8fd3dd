"""Photos: records with four evidence JPEGs each, beside a raw write of the bytes.

The platform receives the record batch and then each photo by ``PUT`` (as the
station's uploader sends them); the reference writes the same bytes to files
on the same disk, each flushed with ``fsync``.
"""

import asyncio
import hashlib
import os
import time
from pathlib import Path

import aiohttp

from bench import pg
from bench.cpu import CpuWindow
from bench.ingest import encode
from bench.platform_db import enrol, prepare_database
from bench.records import fill_chain, make_lanes
from bench.server import PlatformServer

PHOTOS_PER_RECORD = 4


async def upload(url: str, lanes, photos: dict, concurrency: int) -> dict:
    counts = {"records": 0, "photos_created": 0, "other": 0}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        sem = asyncio.Semaphore(concurrency)

        async def one_record(record) -> None:
            async with sem:
                async with session.post(
                    f"{url}/api/v1/records",
                    data=encode([record]),
                    headers={"Content-Type": "application/json"},
                ) as reply:
                    await reply.read()
                    counts["records"] += reply.status == 200
                for ref in record["photos"]:
                    async with session.put(
                        f"{url}/api/v1/photos/{ref['sha256']}",
                        data=photos[ref["sha256"]],
                        headers={"Content-Type": "image/jpeg"},
                    ) as reply:
                        await reply.read()
                        if reply.status == 201:
                            counts["photos_created"] += 1
                        else:
                            counts["other"] += 1

        await asyncio.gather(*(one_record(r) for lane in lanes for r in lane.records))
    return counts


def raw_write(folder: Path, photos: list[bytes]) -> float:
    """Seconds to write and fsync every photo to its own file."""
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i, data in enumerate(photos):
        with open(folder / f"{i:06d}.jpg", "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return time.perf_counter() - start


def bench_photos(db_url: str, work: Path, size, *, workers: int) -> dict:
    lanes = make_lanes(4, first=5000)
    per_lane = max(1, size.photo_records // len(lanes))
    made = []
    for lane in lanes:
        made += fill_chain(
            lane,
            per_lane,
            photos_per_record=PHOTOS_PER_RECORD,
            photo_bytes=size.photo_bytes,
        )
    by_hash = {hashlib.sha256(data).hexdigest(): data for data in made}
    records = per_lane * len(lanes)
    total_bytes = sum(len(b) for b in made)

    prepare_database(db_url)
    enrol(db_url, lanes)
    evidence = work / "evidence"
    with PlatformServer(
        db_url, evidence, workers=workers, log_path=work / "server.log"
    ) as server:
        db_pids = pg.backend_pids(db_url)
        with CpuWindow(server.pid, db_pids) as cpu:
            counts = asyncio.run(upload(server.url, lanes, by_hash, size.concurrency))
    raw_s = raw_write(work / "raw", made)
    return {
        "records": records,
        "photos": len(made),
        "photo_bytes": size.photo_bytes,
        "counts": counts,
        "records_per_s": round(records / cpu.wall_s, 1),
        "mb_per_s": round(total_bytes / cpu.wall_s / 1e6, 1),
        "raw_write_fsync_mb_per_s": round(total_bytes / raw_s / 1e6, 1),
        "ratio_to_raw": round(raw_s / cpu.wall_s, 3),
        **cpu.as_json(),
    }
