"""Record upload (POST /api/v1/records) on SQLite and PostgreSQL."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from platform_factories import make_record

from zhichao.platform import services
from zhichao.platform.models import Station, WeighingRecord

URL = "/api/v1/records"


def post(client, *records):
    response = client.post(URL, json={"records": list(records)})
    assert response.status_code == 200, response.text
    return response.json()


def statuses(answer):
    return [result["status"] for result in answer["results"]]


def stored_rows(sessions):
    with sessions() as session:
        return list(
            session.scalars(sa.select(WeighingRecord).order_by(WeighingRecord.id))
        )


def test_stored_then_duplicate(client, sessions):
    first, second = make_record(seq=1), make_record(seq=2, gross_kg=30_000)

    answer = post(client, first, second)
    again = post(client, second, first)

    assert statuses(answer) == ["stored", "stored"]
    assert [r["record_id"] for r in answer["results"]] == [
        first["record_id"],
        second["record_id"],
    ]
    assert statuses(again) == ["duplicate", "duplicate"]
    assert len(stored_rows(sessions)) == 2


def test_same_id_twice_in_one_batch_is_one_row(client, sessions):
    record = make_record(seq=7)

    answer = post(client, record, record)

    assert statuses(answer) == ["stored", "duplicate"]
    assert len(stored_rows(sessions)) == 1


def test_rejected_record_does_not_stop_the_rest(client, sessions):
    good, bad = make_record(seq=1), make_record(seq=2)
    bad["gross_kg"] = "heavy"

    answer = post(client, bad, good)

    assert statuses(answer) == ["rejected", "stored"]
    assert answer["results"][0]["record_id"] == bad["record_id"]
    assert answer["results"][0]["error"].startswith("gross_kg: ")
    assert [row.record_id for row in stored_rows(sessions)] == [good["record_id"]]


def test_every_field_is_stored(client, sessions):
    record = make_record(
        seq=3,
        axle_weights_kg=[7000, 9000, 9000, 9000, 9000, 9000],
        flags=["unknown_configuration"],
        video={
            "channel": 2,
            "start": "2026-06-17T22:06:20Z",
            "end": "2026-06-17T22:06:40Z",
        },
        reweigh_of=make_record(seq=1)["record_id"],
    )

    post(client, record)

    (row,) = stored_rows(sessions)
    for field in (
        "front_plate",
        "rear_plate",
        "gross_kg",
        "limit_kg",
        "over_kg",
        "basis",
    ):
        assert getattr(row, field) == record[field]
    assert row.over_rate_pct == pytest.approx(6.12)
    assert row.overloaded is True
    assert row.flags == ["unknown_configuration"]
    assert row.axle_weights_kg == record["axle_weights_kg"]
    assert row.video == record["video"]
    assert row.reweigh_of == record["reweigh_of"]
    assert row.raw == record
    assert row.received_at.tzinfo is not None


def test_server_time_is_utc_now(client):
    before = datetime.now(UTC)

    answer = post(client, make_record())

    server_time = datetime.fromisoformat(answer["server_time"].replace("Z", "+00:00"))
    assert answer["server_time"].endswith("Z")
    assert abs((server_time - before).total_seconds()) < 5


def _set(**fields):
    return lambda record: record.update(fields)


def _drop(field):
    return lambda record: record.pop(field)


REJECTIONS = [
    (
        "float mass",
        _set(gross_kg=52000.5),
        "gross_kg: must be an integer number of kilograms",
    ),
    ("whole float", _set(gross_kg=52000.0), "gross_kg: must be an integer number"),
    ("bool mass", _set(limit_kg=True), "limit_kg: must be an integer number"),
    ("negative", _set(tolerance_kg=-20), "tolerance_kg: must not be negative"),
    ("missing", _drop("basis"), "basis: is required"),
    ("no offset", _set(detected_at="2026-06-17T22:06:31.499"), "detected_at: "),
    ("entered no offset", _set(entered_at="2026-06-17 22:06:11"), "entered_at: "),
    ("photo no offset", None, "photos[0].captured_at: "),
    ("short plate", _set(front_plate="晋E1234"), "front_plate: "),
    ("no province", _set(front_plate="XE123456"), "front_plate: "),
    ("letter O", _set(rear_plate="晋E12O45"), "rear_plate: "),
    ("bad colour", _set(front_plate_color="purple"), "front_plate_color: "),
    ("over_kg", _set(over_kg=2999), "over_kg: "),
    ("rate", _set(over_rate_pct=6.13), "over_rate_pct: "),
    ("rate text", _set(over_rate_pct="6.12"), "over_rate_pct: "),
    ("overloaded", _set(overloaded=False), "overloaded: "),
    (
        "record id",
        _set(record_id="1405250001-01-20260617T220630Z-000001"),
        "record_id: ",
    ),
    ("kind", _set(kind="video"), "kind: "),
    ("schema", _set(schema_version=2), "schema_version: "),
    ("verdict", _set(verdict="maybe"), "verdict: "),
    ("station code", _set(station_code="14052500"), "station_code: "),
    ("photo hash", _set(photos=[{"sha256": "ABC"}]), "photos[0].sha256: "),
]


@pytest.mark.parametrize(
    ("change", "error"),
    [(c, e) for _, c, e in REJECTIONS],
    ids=[n for n, *_ in REJECTIONS],
)
def test_rejected(client, sessions, change, error):
    record = make_record(seq=1)
    if change is None:
        record["photos"] = [
            {
                "sha256": "a" * 64,
                "role": "plate",
                "camera": "f",
                "captured_at": "2026-06-18T06:06:30",
            }
        ]
    else:
        change(record)

    answer = post(client, record)

    (result,) = answer["results"]
    assert result["status"] == "rejected"
    assert result["error"].startswith(error), result["error"]
    assert stored_rows(sessions) == []


def test_record_that_is_not_an_object_is_rejected(client):
    answer = post(client, "not a record", make_record())

    assert statuses(answer) == ["rejected", "stored"]
    assert answer["results"][0]["record_id"] is None


def test_tolerance_decides_refusal_not_over_kg(client, sessions):
    record = make_record(gross_kg=49_020, tolerance_kg=40)

    answer = post(client, record)

    assert statuses(answer) == ["stored"]
    (row,) = stored_rows(sessions)
    assert (row.over_kg, row.overloaded, row.over_rate_pct) == (20, False, 0.04)


def test_camera_offset_is_stored_in_utc_and_shown_in_beijing_time(client, sessions):
    record = make_record(
        seq=123, detected=datetime(2026, 6, 17, 22, 6, 30, 499000, tzinfo=UTC)
    )
    record["detected_at"] = "2026-06-18T06:06:30.499+08:00"
    assert record["record_id"] == "1405250001-01-20260617T220630Z-000123"

    post(client, record)

    (row,) = stored_rows(sessions)
    assert row.detected_at == datetime(2026, 6, 17, 22, 6, 30, 499000, tzinfo=UTC)
    feed = client.get(URL).json()["records"][0]
    assert feed["detected_at"] == "2026-06-17T22:06:30.499Z"
    assert feed["detected_at_local"] == "2026-06-18 06:06:30"
    assert "2026-06-18 06:06:30" in client.get("/").text
    assert (
        "2026-06-18 06:06:30.499" in client.get(f"/records/{record['record_id']}").text
    )


def test_utc_instant_in_the_database_itself(client, sessions):
    record = make_record(seq=5)
    record["detected_at"] = "2026-06-18T06:06:35.499+08:00"
    post(client, record)

    with sessions() as session:
        raw = session.execute(
            sa.text("SELECT detected_at FROM weighing_records")
        ).scalar()
    if isinstance(raw, str):  # SQLite keeps the UTC wall time as text
        assert raw.startswith("2026-06-17 22:06:35.499")
    else:
        assert raw.astimezone(UTC) == datetime(
            2026, 6, 17, 22, 6, 35, 499000, tzinfo=UTC
        )


PLATES = [
    ("粤B12345D", "yellow_green", None, "unknown"),
    ("京AD12345", "green", None, "unknown"),
    ("鲁A12345", "yellow", "鲁A1234挂", "yellow"),
    ("晋E12345", "blue", "晋E12345", "blue"),
]


@pytest.mark.parametrize(("front", "front_color", "rear", "rear_color"), PLATES)
def test_plates_survive_unchanged(
    client, sessions, front, front_color, rear, rear_color
):
    record = make_record(
        front_plate=front,
        front_plate_color=front_color,
        rear_plate=rear,
        rear_plate_color=rear_color,
    )

    assert statuses(post(client, record)) == ["stored"]

    with sessions() as session:
        db_plates = session.execute(
            sa.text("SELECT front_plate, rear_plate FROM weighing_records")
        ).one()
    assert tuple(db_plates) == (front, rear)
    feed = client.get(URL).json()["records"][0]
    assert (feed["front_plate"], feed["rear_plate"]) == (front, rear)
    for page in (
        client.get("/").text,
        client.get(f"/records/{record['record_id']}").text,
    ):
        assert f">{front}<" in page
        if rear:
            assert f">{rear}<" in page


def test_unknown_station_is_created_unregistered(client, sessions):
    post(client, make_record(station="1405259999"))

    with sessions() as session:
        station = session.scalar(sa.select(Station))
    assert (station.station_code, station.registered) == ("1405259999", False)
    assert "未登记" in client.get("/").text
    assert client.get(URL).json()["records"][0]["station_registered"] is False


def test_register_station_is_idempotent(client, sessions):
    post(client, make_record())
    with sessions() as session, session.begin():
        for _ in range(2):
            services.register_station(
                session, "1405250001", "一号磅站", "晋城某煤矿", "coal_mine", "140525"
            )

    with sessions() as session:
        stations = list(session.scalars(sa.select(Station)))
        assert len(stations) == 1
        assert stations[0].registered is True
        assert stations[0].unit.name == "晋城某煤矿"
    page = client.get("/").text
    assert "晋城某煤矿" in page
    assert "未登记" not in page


def test_feed_cursor_returns_only_new_records(client):
    post(client, make_record(seq=1), make_record(seq=2))
    first = client.get(URL).json()

    post(client, make_record(seq=3, gross_kg=20_000))
    newer = client.get(URL, params={"after": first["cursor"]}).json()
    none = client.get(URL, params={"after": newer["cursor"]}).json()

    assert [r["record_id"][-6:] for r in first["records"]] == ["000002", "000001"]
    assert [r["record_id"][-6:] for r in newer["records"]] == ["000003"]
    assert none["records"] == [] and none["cursor"] == newer["cursor"]


def test_today_counts_use_beijing_day(sessions, client):
    day = datetime(2026, 6, 17, 16, 30, tzinfo=UTC)  # 00:30 on the 18th in Beijing
    post(
        client,
        make_record(seq=1, detected=datetime(2026, 6, 17, 15, 59, tzinfo=UTC)),
        make_record(seq=2, detected=datetime(2026, 6, 17, 16, 1, tzinfo=UTC)),
        make_record(
            seq=3, detected=datetime(2026, 6, 17, 16, 2, tzinfo=UTC), gross_kg=1000
        ),
    )

    with sessions() as session:
        counts = services.today_counts(session, now=day)

    assert (counts.passes, counts.overloaded) == (2, 1)


def test_concurrent_uploads_of_one_batch_store_each_record_once(
    app, server_url, sessions
):
    batch = {"records": [make_record(seq=n) for n in range(1, 41)]}
    body = json.dumps(batch)

    def upload(_):
        with httpx.Client(base_url=server_url, timeout=60) as http:
            return http.post(
                URL, content=body, headers={"content-type": "application/json"}
            )

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(upload, range(8)))

    assert [a.status_code for a in answers] == [200] * 8
    stored = [statuses(a.json()).count("stored") for a in answers]
    assert sum(stored) == 40
    for answer in answers:
        assert set(statuses(answer.json())) <= {"stored", "duplicate"}
    rows = stored_rows(sessions)
    assert len(rows) == 40
    assert len({row.record_id for row in rows}) == 40


def test_record_page_links_reweighing_both_ways(client):
    held = make_record(seq=1, gross_kg=55_000)
    again = make_record(seq=2, gross_kg=48_800, reweigh_of=held["record_id"])
    orphan = make_record(seq=3, reweigh_of=make_record(seq=99)["record_id"])
    post(client, held, again, orphan)

    held_page = client.get(f"/records/{held['record_id']}").text
    again_page = client.get(f"/records/{again['record_id']}").text
    orphan_page = client.get(f"/records/{orphan['record_id']}").text

    assert f'href="/records/{again["record_id"]}"' in held_page
    assert f'href="/records/{held["record_id"]}"' in again_page
    assert "平台尚未收到" in orphan_page
    assert "平台尚未收到" not in again_page


@pytest.mark.parametrize(
    ("flag", "label"),
    [
        ("no_axle_count", "未识别轴数"),
        ("stability_timeout", "称重不稳定超时"),
        ("from_rules_table", "from_rules_table"),
    ],
)
def test_record_page_shows_basis_and_flags_in_chinese(client, flag, label):
    record = make_record(flags=[flag])
    post(client, record)

    page = client.get(f"/records/{record['record_id']}").text

    assert label in page
    assert record["basis"] in page
    assert "超限" in page and "劝返卸载" in page


def test_changed_copy_of_a_stored_record_is_kept_out_and_logged(
    client, sessions, caplog
):
    record = make_record(seq=4)
    post(client, record)
    changed = dict(record, basis="a different basis")

    with caplog.at_level("WARNING", logger="zhichao.platform.services"):
        answer = post(client, changed)

    assert statuses(answer) == ["duplicate"]
    assert stored_rows(sessions)[0].basis == record["basis"]
    assert "different content" in caplog.text


def test_package_exports():
    import zhichao.platform as platform_package

    assert callable(platform_package.create_app)
    assert callable(platform_package.run_migrations)
    assert callable(platform_package.register_station)
