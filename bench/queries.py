"""Queries at 1 and 10 million records: live feed, today's counts, a record page,
plate search, and the product's period statistics
(``zhichao.platform.statistics.station_statistics``) for 30 days and a year,
unscoped, for a county and for one station, before and after a VACUUM (an
index-only scan skips a row only on pages VACUUM marked all-visible).

The database is filled fast: each lane's first record goes through the ingest
API (so stations, lanes and every column are as the platform makes them), then
``COPY`` adds the rest, built from that stored row with the varying fields
replaced. The model's plain indexes are dropped during the load and rebuilt
after it, then the table is analysed.
"""

import asyncio
import json
import random
import statistics
import time
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import sqlalchemy as sa

from bench import pg
from bench.ingest import BATCH, lane_bodies, post_all
from bench.platform_db import enrol, prepare_database
from bench.records import LIMITS, fill_chain, make_lanes
from bench.server import PlatformServer
from zhichao.sim.traffic import make_plate
from zhichao.timeutil import utcnow

BENCH_PASSWORD = "bench password 1"

ROWS_PER_STATION = 5_000
SPAN_DAYS = 365
VARYING = (
    "record_id",
    "station_id",
    "lane_id",
    "station_code",
    "lane_no",
    "seq",
    "detected_at",
    "entered_at",
    "front_plate",
    "rear_plate",
    "gross_kg",
    "limit_kg",
    "over_kg",
    "over_rate_pct",
    "overloaded",
    "verdict",
    "axles",
    "received_at",
    "raw",
)


def _template(conn) -> tuple[list[str], dict, dict]:
    """Column names, one stored row (text values) and its raw record."""
    columns = [
        c
        for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE "
            "table_name = 'weighing_records' AND column_name <> 'id' "
            "ORDER BY ordinal_position"
        )
    ]
    data = bytearray()
    with conn.cursor().copy(
        f"COPY (SELECT {', '.join(columns)} FROM weighing_records "
        "ORDER BY id LIMIT 1) TO STDOUT"
    ) as cp:
        for chunk in cp:
            data += chunk
    values = data.decode().rstrip("\n").split("\t")
    row = dict(zip(columns, values, strict=True))
    raw = json.loads(row["raw"].replace("\\\\", "\\"))
    return columns, row, raw


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def fill(
    db_url: str, work: Path, rows: int, first_station: int, rng: random.Random
) -> dict:
    """Add ``rows`` records from new stations, spread over the last year."""
    stations = max(1, rows // ROWS_PER_STATION)
    lanes = make_lanes(stations * 2, first=first_station)
    for lane in lanes:
        fill_chain(lane, 1, rng=rng)
    enrol(db_url, lanes)
    with PlatformServer(
        db_url, work / "evidence", log_path=work / "server.log"
    ) as server:
        asyncio.run(post_all(server.url, lane_bodies(lanes, BATCH), 4))

    start = time.perf_counter()
    with psycopg.connect(pg.dsn(db_url)) as conn:
        columns, row, raw = _template(conn)
        ids = {
            (code, no): (sid, lid)
            for code, no, sid, lid in conn.execute(
                "SELECT s.station_code, l.lane_no, s.id, l.id FROM lanes l "
                "JOIN stations s ON s.id = l.station_id"
            )
        }
        plates = [make_plate(rng) for _ in range(max(100, rows // 20))]
        trailers = [make_plate(rng, trailer=True) for _ in range(len(plates))]
        keys = [(lane.station_code, lane.lane_no) for lane in lanes]
        end = utcnow()
        step = timedelta(days=SPAN_DAYS) / rows
        begin = end - timedelta(days=SPAN_DAYS)
        raw_fmt = _raw_format(raw)
        fixed = {c: row[c] for c in columns if c not in VARYING}
        order = list(columns)

        def lines():
            for k in range(rows - len(lanes)):
                lane_index = k % len(keys)
                code, no = keys[lane_index]
                seq = k // len(keys) + 2
                detected = begin + step * k
                values = _vary(
                    code, no, seq, detected, ids[(code, no)], rng, plates, trailers
                )
                values["raw"] = _escape(raw_fmt % _raw_args(values))
                values.update(fixed)
                yield "\t".join(values[c] for c in order) + "\n"

        defs = _drop_plain_indexes(conn)
        with conn.cursor().copy(
            f"COPY weighing_records ({', '.join(columns)}) FROM STDIN"
        ) as cp:
            chunk: list[str] = []
            for line in lines():
                chunk.append(line)
                if len(chunk) >= 20_000:
                    cp.write("".join(chunk).encode())
                    chunk.clear()
            if chunk:
                cp.write("".join(chunk).encode())
        conn.commit()
        copied = time.perf_counter() - start
        for definition in defs:
            conn.execute(definition)
        conn.commit()
        conn.execute("ANALYZE weighing_records")
        conn.commit()
    total = time.perf_counter() - start
    return {
        "rows_added": rows,
        "stations_added": stations,
        "copy_s": round(copied, 1),
        "copy_rows_per_s": round(rows / copied, 1),
        "with_index_rebuild_s": round(total, 1),
    }


def _vary(code, no, seq, detected, ids, rng, plates, trailers) -> dict:
    axles = rng.choice((6, 6, 6, 6, 3, 4, 5))
    limit = LIMITS[axles]
    gross = int(limit * rng.uniform(0.85, 1.0)) // 20 * 20
    if rng.random() < 0.04:
        gross = int(limit * rng.uniform(1.03, 1.3)) // 20 * 20
    over = max(0, gross - limit)
    rate = round(over * 100 / limit, 2)
    stamp = detected.strftime("%Y%m%dT%H%M%SZ")
    plate = rng.choice(plates)
    when = detected.isoformat(timespec="milliseconds")
    return {
        "record_id": f"{code}-{no}-{stamp}-{seq:06d}",
        "station_id": str(ids[0]),
        "lane_id": str(ids[1]),
        "station_code": code,
        "lane_no": no,
        "seq": str(seq),
        "detected_at": when,
        "entered_at": (detected - timedelta(seconds=25)).isoformat(
            timespec="milliseconds"
        ),
        "front_plate": plate,
        "rear_plate": rng.choice(trailers) if axles >= 5 else plate,
        "gross_kg": str(gross),
        "limit_kg": str(limit),
        "over_kg": str(over),
        "over_rate_pct": repr(float(rate)),
        "overloaded": "t" if over > 0 else "f",
        "verdict": "held" if over > 0 else "released",
        "axles": str(axles),
        "received_at": when,
    }


RAW_FIELDS = (
    "record_id",
    "seq",
    "detected_at",
    "front_plate",
    "rear_plate",
    "gross_kg",
    "limit_kg",
    "over_kg",
    "over_rate_pct",
    "verdict",
)


def _raw_format(raw: dict) -> str:
    """The stored record as a %-format string with the varying fields as holes."""
    marked = dict(raw)
    for i, name in enumerate(RAW_FIELDS):
        marked[name] = f"@@{i}@@"
    text = json.dumps(marked, ensure_ascii=False).replace("%", "%%")
    for i, name in enumerate(RAW_FIELDS):
        quoted = name not in ("seq", "gross_kg", "limit_kg", "over_kg", "over_rate_pct")
        hole = '"%s"' if quoted else "%s"
        text = text.replace(f'"@@{i}@@"', hole)
    return text


def _raw_args(values: dict) -> tuple:
    return tuple(values[name] for name in RAW_FIELDS)


def _drop_plain_indexes(conn) -> list[str]:
    """Drop the indexes no constraint owns; return the statements to rebuild them."""
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i "
        "WHERE i.tablename = 'weighing_records' AND NOT EXISTS ("
        "SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    ).fetchall()
    for name, _ in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


# -- timing ---------------------------------------------------------------


def _time(fn, repeats: int) -> dict:
    fn()  # warm the caches and the connection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return {
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))] * 1000, 2),
    }


SQL = {
    "plate_search_front": (
        "SELECT record_id, detected_at, gross_kg FROM weighing_records "
        "WHERE front_plate = :plate ORDER BY detected_at DESC LIMIT 50"
    ),
    "plate_search_front_or_rear": (
        "SELECT record_id, detected_at, gross_kg FROM weighing_records "
        "WHERE front_plate = :plate OR rear_plate = :plate "
        "ORDER BY detected_at DESC LIMIT 50"
    ),
    "month_by_station": (
        "SELECT station_id, count(*), count(*) FILTER (WHERE overloaded) "
        "FROM weighing_records WHERE detected_at >= :since GROUP BY station_id"
    ),
    "month_overload_bands": (
        "SELECT CASE WHEN over_rate_pct <= 20 THEN 1 WHEN over_rate_pct <= 50 "
        "THEN 2 WHEN over_rate_pct <= 100 THEN 3 ELSE 4 END AS band, count(*) "
        "FROM weighing_records WHERE overloaded AND detected_at >= :since "
        "GROUP BY band"
    ),
}


def measure(db_url: str, work: Path, repeats: int, rng: random.Random) -> dict:
    from zhichao.platform import services
    from zhichao.platform.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    out: dict = {}
    with engine.connect() as conn:
        plate = conn.execute(
            sa.text("SELECT front_plate FROM weighing_records ORDER BY id LIMIT 1")
        ).scalar()
        newest = conn.execute(sa.text("SELECT max(id) FROM weighing_records")).scalar()
        sample = [
            rid
            for (rid,) in conn.execute(
                sa.text(
                    "SELECT record_id FROM weighing_records TABLESAMPLE SYSTEM (1) "
                    "LIMIT 200"
                )
            )
        ] or [
            conn.execute(
                sa.text("SELECT record_id FROM weighing_records LIMIT 1")
            ).scalar()
        ]
    since = utcnow() - timedelta(days=30)
    params = {"plate": plate, "since": since}

    from zhichao.platform.auth import create_user
    from zhichao.platform.models import User

    with factory() as session, session.begin():
        # the pages and the read API answer a signed-in officer only; the
        # account is made once, at the first size measured
        if session.scalar(sa.select(User).where(User.username == "bench")) is None:
            create_user(session, "bench", BENCH_PASSWORD, "admin", "000000")

    with factory() as session:
        out["today_counts"] = _time(lambda: services.today_counts(session), repeats)
        for name, sql in SQL.items():
            out[name] = _time(
                lambda sql=sql: session.execute(sa.text(sql), params).all(), repeats
            )
            out[name]["plan"] = _plan(session, sql, params)
        session.rollback()

    with (
        PlatformServer(
            db_url, work / "evidence", log_path=work / "server.log"
        ) as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        client.post(
            "/login",
            data={"username": "bench", "password": BENCH_PASSWORD, "next": "/"},
        )
        pages = {
            "overview_live_feed_api": lambda: client.get("/api/v1/records"),
            "live_feed_poll": lambda: client.get(f"/api/v1/records?after={newest - 5}"),
            "live_page": lambda: client.get("/"),
            "record_page": lambda: client.get(f"/records/{rng.choice(sample)}"),
        }
        for name, fn in pages.items():
            status = fn().status_code
            out[name] = {**_time(fn, repeats), "status": status}
        out["statistics_api_30_days"] = _time(
            lambda: client.get("/api/v1/statistics", params=_days(30)), repeats
        )

    out.update(_statistics(engine, factory, repeats, "as_loaded"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        start = time.perf_counter()
        conn.execute(sa.text("VACUUM weighing_records"))
        out["vacuum_s"] = round(time.perf_counter() - start, 1)
    out.update(_statistics(engine, factory, repeats, "vacuumed"))
    engine.dispose()
    return out


def _days(days: int) -> dict[str, str]:
    """The last ``days`` Beijing days up to today, as the API's parameters."""
    from zhichao.platform.statistics import today_in_shanghai

    today = today_in_shanghai()
    return {"from": (today - timedelta(days=days - 1)).isoformat(), "to": str(today)}


def _statistics(engine, factory, repeats: int, state: str) -> dict:
    """The service function's time and plan for 30 days and a year, for every
    station, a county (a prefix filter) and one station (an operator)."""
    from datetime import date

    from zhichao.platform import statistics
    from zhichao.platform.auth import Scope, scope_session

    with engine.connect() as conn:
        code = conn.execute(sa.text("SELECT min(station_code) FROM stations")).scalar()
        visible = conn.execute(
            sa.text(
                "SELECT relallvisible::float / greatest(relpages, 1) FROM pg_class "
                "WHERE relname = 'weighing_records'"
            )
        ).scalar()
    scopes = {
        "all": None,
        "county": Scope(prefix=code[:6]),
        "station": Scope(prefix=None, stations=frozenset({code})),
    }
    out: dict = {f"statistics_{state}_all_visible_share": round(visible, 3)}
    for days in (30, 366):
        span = _days(days)
        period = statistics.Period(
            date.fromisoformat(span["from"]), date.fromisoformat(span["to"])
        )
        for who, scope in scopes.items():
            name = f"statistics_{days}_days_{who}_{state}"
            with factory() as session:
                if scope is not None:
                    scope_session(session, scope)
                out[name] = _time(
                    lambda s=session, p=period: statistics.station_statistics(s, p),
                    repeats,
                )
                session.rollback()
            out[name]["plan"] = _statistics_plan(engine, period, scope)
    return out


def _statistics_plan(engine, period, scope) -> list[str]:
    """EXPLAIN ANALYZE of the counting query, with the scope's filter added as
    ``zhichao.platform.auth`` adds it."""
    from zhichao.platform.models import WeighingRecord
    from zhichao.platform.statistics import count_query

    query = count_query(period)
    if scope is not None:
        query = query.where(scope.clause(WeighingRecord.station_code))
    compiled = query.compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) " + str(compiled),
            compiled.params,
        ).all()
    return [row[0].strip() for row in rows]


def _plan(session, sql: str, params: dict) -> str:
    rows = session.execute(sa.text("EXPLAIN " + sql), params).all()
    scans = [r[0].strip().lstrip("-> ").split("  ")[0] for r in rows if "Scan" in r[0]]
    return "; ".join(scans)


def bench_queries(db_url: str, work: Path, size) -> dict:
    rng = random.Random(11)
    prepare_database(db_url)
    out: dict = {}
    done, first = 0, 7000
    for target in size.query_rows:
        loaded = fill(db_url, work, target - done, first, rng)
        first += (target - done) // ROWS_PER_STATION + 1
        done = target
        out[str(target)] = {"load": loaded}
        try:
            out[str(target)].update(measure(db_url, work, size.query_repeats, rng))
        except Exception as err:  # keep what was measured at the smaller sizes
            out[str(target)]["error"] = f"{type(err).__name__}: {err}"
    return out
