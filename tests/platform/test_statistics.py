"""Period statistics: counts per station over Beijing-time days, late records,
jurisdiction, and the period parameters, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from people import add_user, sign_in
from platform_factories import make_record

from zhichao.platform import services
from zhichao.platform.statistics import (
    MAX_DAYS,
    Period,
    PeriodError,
    parse_period,
    this_month,
)
from zhichao.timeutil import SHANGHAI

OWN, SIBLING, OTHER = "1405250001", "1405250002", "1405810001"
UNITS = {OWN: "甲煤业有限公司", SIBLING: "乙砂石厂", OTHER: "丙洗煤厂"}
COUNTIES = {OWN: "140525", SIBLING: "140525", OTHER: "140581"}

# the Beijing day 2026-06-17 is 2026-06-16T16:00Z to 2026-06-17T16:00Z
DAY = "2026-06-17"
MIDNIGHT = datetime(2026, 6, 16, 16, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)
LIMIT = 49_000


def _gross(rate_pct: float) -> int:
    return round(LIMIT * (1 + rate_pct / 100))


def _upload(app, records):
    with TestClient(app) as station:
        answer = station.post("/api/v1/records", json={"records": records})
    assert answer.status_code == 200, answer.text
    assert {r["status"] for r in answer.json()["results"]} == {"stored"}, answer.text


def _register(app, *codes):
    with app.state.sessions() as session, session.begin():
        for code in codes:
            services.register_station(
                session,
                code,
                f"站{code[-4:]}",
                UNITS[code],
                "coal_mine",
                COUNTIES[code],
            )


def _stats(client, **params):
    answer = client.get("/api/v1/statistics", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _by_code(body):
    return {row["station_code"]: row for row in body["stations"]}


# -- counting ---------------------------------------------------------------

# (offset from the day's start, gross kg, tolerance kg): the edges of the
# Beijing day and of every band
DAY_EDGE = [
    (-MS, 40_000, 0),  # 23:59:59.999 on the 16th, Beijing: not counted
    (timedelta(0), 40_000, 0),  # 00:00:00.000 on the 17th
    (timedelta(hours=1), _gross(20), 0),  # exactly 20 %: the first band
    (timedelta(hours=2), _gross(20) + 5, 0),  # 20.01 %: the second
    (timedelta(hours=3), _gross(50), 0),  # exactly 50 %: the second
    (timedelta(hours=4), _gross(100), 0),  # exactly 100 %: the third
    (timedelta(hours=5), _gross(100) + 5, 0),  # 100.01 %: the fourth
    (timedelta(hours=6), LIMIT + 500, 1_000),  # over the limit, within tolerance
    (timedelta(days=1) - MS, _gross(10), 0),  # 23:59:59.999 on the 17th
    (timedelta(days=1), _gross(10), 0),  # 00:00 on the 18th: not counted
]


def _day_edge_records(code):
    return [
        make_record(
            seq=n + 1,
            station=code,
            detected=MIDNIGHT + offset,
            gross_kg=gross,
            limit_kg=LIMIT,
            tolerance_kg=tolerance,
        )
        for n, (offset, gross, tolerance) in enumerate(DAY_EDGE)
    ]


def test_counts_follow_the_beijing_day_and_the_bands(app, client):
    _upload(app, _day_edge_records(OWN))
    _register(app, OWN)

    body = _stats(client, **{"from": DAY, "to": DAY})

    assert body["from"] == body["to"] == DAY
    assert body["days"] == 1
    assert body["start"] == "2026-06-16T16:00:00.000Z"
    assert body["end"] == "2026-06-17T16:00:00.000Z"
    (row,) = body["stations"]
    assert row["station_code"] == OWN
    assert row["station_name"] == "站0001"
    assert row["unit_name"] == UNITS[OWN]
    assert row["passes"] == 8
    assert row["overloaded"] == 6
    assert row["overloaded_pct"] == 75.0
    assert row["bands"] == {
        "up_to_20": 2,  # 20 % and the 10 % one at 23:59:59.999
        "20_to_50": 2,
        "50_to_100": 1,
        "over_100": 1,
    }
    assert body["totals"] == {k: v for k, v in row.items() if k in body["totals"]}


def test_each_day_of_a_longer_period(app, client):
    _upload(app, _day_edge_records(OWN))

    before = _stats(client, **{"from": "2026-06-16", "to": "2026-06-16"})
    after = _stats(client, **{"from": "2026-06-18", "to": "2026-06-18"})
    both = _stats(client, **{"from": "2026-06-16", "to": "2026-06-18"})

    assert _by_code(before)[OWN]["passes"] == 1
    assert _by_code(after)[OWN]["passes"] == 1
    assert _by_code(both)[OWN]["passes"] == len(DAY_EDGE)
    assert both["days"] == 3


def test_late_records_count_in_the_day_they_were_detected(app, client):
    """A station out for three days sends its backlog: the past days' counts
    grow as soon as the records are stored, whenever they arrive."""
    first = MIDNIGHT - timedelta(days=3)  # Beijing 2026-06-14
    seen = make_record(
        seq=1, station=OWN, detected=first + timedelta(hours=8), gross_kg=40_000
    )
    _upload(app, [seen])
    period = {"from": "2026-06-14", "to": "2026-06-17"}
    assert _stats(client, **period)["totals"]["passes"] == 1

    backlog = [
        make_record(
            seq=2 + n,
            station=OWN,
            detected=first + timedelta(days=1 + n // 4, hours=9 + n % 4),
            gross_kg=_gross(30) if n % 2 else 40_000,
            limit_kg=LIMIT,
        )
        for n in range(12)
    ]
    _upload(app, backlog)

    totals = _stats(client, **period)["totals"]
    assert totals["passes"] == 13
    assert totals["overloaded"] == 6
    assert totals["bands"]["20_to_50"] == 6
    for day in ("2026-06-15", "2026-06-16", "2026-06-17"):
        assert _stats(client, **{"from": day, "to": day})["totals"]["passes"] == 4


def test_a_station_without_records_is_listed_with_zeros(app, client):
    _register(app, OWN)

    body = _stats(client, **{"from": DAY, "to": DAY})

    (row,) = body["stations"]
    assert row["passes"] == row["overloaded"] == 0
    assert row["overloaded_pct"] is None
    assert set(row["bands"].values()) == {0}
    assert body["totals"]["passes"] == 0


def test_default_period_is_this_month_in_beijing(client):
    before = datetime.now(SHANGHAI).date()
    body = _stats(client)
    after = datetime.now(SHANGHAI).date()

    months = {this_month(before), this_month(after)}
    assert (date.fromisoformat(body["from"]), date.fromisoformat(body["to"])) in {
        (m.first, m.last) for m in months
    }


# -- jurisdiction -------------------------------------------------------------


@pytest.fixture
def three_counties_of_records(app):
    for n, code in enumerate((OWN, SIBLING, OTHER)):
        records = [
            make_record(
                seq=k + 1,
                station=code,
                detected=MIDNIGHT + timedelta(hours=1, minutes=k),
                gross_kg=_gross(25) if k < n + 1 else 40_000,
                limit_kg=LIMIT,
            )
            for k in range(3 + n)
        ]
        _upload(app, records)
    _register(app, OWN, SIBLING, OTHER)
    add_user(app.state.sessions, "county", "officer", "140525")
    add_user(app.state.sessions, "other_county", "officer", "140581")
    add_user(app.state.sessions, "city", "supervisor", "140500")
    add_user(app.state.sessions, "taiyuan", "supervisor", "140100")
    add_user(app.state.sessions, "op", "operator", "140525", OWN)


@pytest.mark.parametrize(
    ("username", "visible"),
    [
        ("county", {OWN, SIBLING}),
        ("other_county", {OTHER}),
        ("city", {OWN, SIBLING, OTHER}),
        ("taiyuan", set()),
        ("op", {OWN}),
    ],
)
def test_each_sees_only_their_jurisdiction(
    app, three_counties_of_records, username, visible
):
    passes = {OWN: 3, SIBLING: 4, OTHER: 5}
    overloaded = {OWN: 1, SIBLING: 2, OTHER: 3}
    with TestClient(app) as client:
        sign_in(client, username)
        body = _stats(client, **{"from": DAY, "to": DAY})
        page = client.get(f"/statistics?from={DAY}&to={DAY}")

    rows = _by_code(body)
    assert set(rows) == visible
    for code in visible:
        assert rows[code]["passes"] == passes[code]
        assert rows[code]["overloaded"] == overloaded[code]
        assert rows[code]["bands"]["20_to_50"] == overloaded[code]
    assert body["totals"]["passes"] == sum(passes[c] for c in visible)
    assert body["totals"]["overloaded"] == sum(overloaded[c] for c in visible)
    assert page.status_code == 200
    for code in {OWN, SIBLING, OTHER}:
        assert (code in page.text) == (code in visible), code
        assert (UNITS[code] in page.text) == (code in visible), code


# -- parameters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"from": "2026-13-01"}, ["from=", "YYYY-MM-DD"]),
        ({"to": "yesterday"}, ["to=", "YYYY-MM-DD"]),
        ({"from": "20261201"}, ["from=", "YYYY-MM-DD"]),
        ({"from": "2026-02-30", "to": "2026-03-01"}, ["from=", "not a date"]),
        ({"from": "2026-06-18", "to": "2026-06-17"}, ["before", "from=2026-06-18"]),
        ({"from": "2025-01-01", "to": "2026-01-02"}, ["367 days", "at most 366"]),
        ({"from": "x" * 41}, ["from"]),
    ],
)
def test_a_bad_period_is_refused_with_a_reason(client, params, words):
    answer = client.get("/api/v1/statistics", params=params)
    page = client.get("/statistics", params=params)

    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] in ("invalid_period", "invalid_request")
    for word in words:
        assert word in error["message"], error
    assert page.status_code == 422
    if error["code"] == "invalid_period":  # else FastAPI's check of the length
        assert 'id="stats-error"' in page.text
        assert words[-1] in page.text


def test_a_year_of_366_days_is_allowed(client):
    body = _stats(client, **{"from": "2024-01-01", "to": "2024-12-31"})
    assert body["days"] == MAX_DAYS == 366


def test_parse_period_defaults_and_month_ends():
    assert parse_period(None, None, date(2026, 2, 10)) == Period(
        date(2026, 2, 1), date(2026, 2, 28)
    )
    assert parse_period(None, None, date(2024, 2, 29)).last == date(2024, 2, 29)
    assert parse_period(None, None, date(2026, 12, 31)) == Period(
        date(2026, 12, 1), date(2026, 12, 31)
    )
    assert parse_period("2026-12-05", None, date(2026, 12, 3)).first == date(
        2026, 12, 5
    )
    with pytest.raises(PeriodError, match="to=2026-11-30 is before"):
        parse_period(None, "2026-11-30", date(2026, 12, 3))


def test_period_bounds_are_beijing_midnights():
    period = Period(date(2026, 6, 17), date(2026, 6, 17))
    assert period.start.astimezone(UTC) == MIDNIGHT
    assert period.end.astimezone(UTC) == MIDNIGHT + timedelta(days=1)


# -- the index -----------------------------------------------------------------


def test_the_index_holds_every_column_the_count_reads(app, db_url):
    """With sequential and bitmap scans off, PostgreSQL can still answer the
    scoped count from the index alone; a column the index lacks would make
    that impossible."""
    import sqlalchemy as sa

    from zhichao.platform.auth import Scope
    from zhichao.platform.models import WeighingRecord
    from zhichao.platform.statistics import count_query

    engine = app.state.engine
    indexes = {i["name"]: i for i in sa.inspect(engine).get_indexes("weighing_records")}
    assert indexes["ix_weighing_records_statistics"]["column_names"] == [
        "detected_at",
        "station_code",
        "overloaded",
        "over_rate_pct",
    ]
    if engine.dialect.name != "postgresql":
        return
    period = Period(date(2026, 6, 1), date(2026, 6, 30))
    query = count_query(period).where(
        Scope(prefix="140525").clause(WeighingRecord.station_code)
    )
    compiled = query.compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        plan = "\n".join(
            row[0]
            for row in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
        )
        options = conn.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'weighing_records'"
        ).scalar()
    assert "Index Only Scan using ix_weighing_records_statistics" in plan, plan
    # autovacuum marks the newest records all-visible sooner than by default
    assert "autovacuum_vacuum_insert_scale_factor=0.01" in options
