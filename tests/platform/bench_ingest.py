"""Measure in-process ingest of signed, chained records: prints records/s.

Not a test (it asserts nothing about time). Run it against PostgreSQL or SQLite:

    .venv/bin/python tests/platform/bench_ingest.py --database-url URL
    .venv/bin/python tests/platform/bench_ingest.py --records 20000 --lanes 20

Each batch is timed from its JSON body (``records.parse_batch``, as the server
does) to its commit. Lanes are enrolled (so every chain and signature is
checked) unless ``--no-enrol`` is given; the verification counts are printed
so a run that verified nothing shows.

Without ``--database-url`` it uses ``ZHICHAO_TEST_PG_URL`` to create and drop a
throw-away database, or a temporary SQLite file when that is not set.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from platform_factories import make_record  # noqa: E402

from zhichao.chain import (  # noqa: E402
    GENESIS_HASH,
    Enrolment,
    StationKey,
    record_hash,
)
from zhichao.platform import registry, services  # noqa: E402
from zhichao.platform.api.records import parse_batch  # noqa: E402
from zhichao.platform.db import make_engine, make_sessionmaker  # noqa: E402
from zhichao.platform.migrations import run_migrations  # noqa: E402

BATCH = 500


def signed_chain(key: StationKey, count: int, lanes: int) -> list[dict]:
    """``count`` signed records spread over ``lanes`` lanes, each lane chained."""
    heads = {f"{n:02d}": (0, GENESIS_HASH) for n in range(1, lanes + 1)}
    records = []
    for index in range(count):
        lane = f"{index % lanes + 1:02d}"
        seq, prev = heads[lane]
        record = make_record(seq=seq + 1, lane=lane, prev_hash=prev)
        record["signature"] = key.sign(record)
        heads[lane] = (seq + 1, record_hash(record))
        records.append(record)
    return records


@contextmanager
def database(url: str | None):
    if url:
        yield url
        return
    base = os.environ.get("ZHICHAO_TEST_PG_URL")
    if not base:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    name = "bench_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def backend_pids(engine) -> list[int]:
    """PostgreSQL backends of this database (to read their CPU from /proc)."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        return list(
            conn.scalars(
                sa.text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database()"
                )
            )
        )


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a local process; 0 when it cannot be read."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def enrol(factory, key: StationKey, lanes: int) -> None:
    with factory() as session, session.begin():
        for n in range(1, lanes + 1):
            registry.enrol_lane(
                session, Enrolment("1405250001", f"{n:02d}", key.public_key)
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--lanes", type=int, default=2)
    parser.add_argument(
        "--enrol", action="store_true", default=True, help="enrol the lanes (default)"
    )
    parser.add_argument("--no-enrol", dest="enrol", action="store_false")
    parser.add_argument("--batch", type=int, default=BATCH)
    args = parser.parse_args()

    key = StationKey.generate()
    records = signed_chain(key, args.records, args.lanes)
    bodies = [
        json.dumps(
            {"records": records[i : i + args.batch]}, ensure_ascii=False
        ).encode()
        for i in range(0, len(records), args.batch)
    ]
    outcomes: Counter = Counter()
    with database(args.database_url) as url:
        run_migrations(url)
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        if args.enrol:
            enrol(factory, key, args.lanes)
        pids = backend_pids(engine)
        db_cpu = sum(cpu_s(pid) for pid in pids)
        started = time.perf_counter()
        cpu = time.process_time()
        for body in bodies:
            items = parse_batch(body, args.batch)
            for result in services.ingest_batch(factory, items):
                outcomes[result.verification or str(result.status)] += 1
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        db_cpu = sum(cpu_s(pid) for pid in pids) - db_cpu
        engine.dispose()
    backend = url.split(":", 1)[0]
    print(
        f"{backend}: {args.records} records in {elapsed:.2f} s = "
        f"{args.records / elapsed:,.0f} records/s "
        f"(this process used {cpu / elapsed:.0%} of one core); CPU per record: "
        f"{cpu / args.records * 1e6:.0f} µs here, "
        f"{db_cpu / args.records * 1e6:.0f} µs in the database server; "
        + ", ".join(f"{name} {n}" for name, n in sorted(outcomes.items()))
    )


if __name__ == "__main__":
    main()
