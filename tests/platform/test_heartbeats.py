"""Heartbeats: stored, bounded history, the stations page's online state."""

from datetime import timedelta

import sqlalchemy as sa

from zhichao.platform import registry
from zhichao.platform.models import StationHeartbeat, StationStatus
from zhichao.platform.schemas import validate_heartbeat
from zhichao.timeutil import iso_utc, utcnow

URL = "/api/v1/heartbeats"


def heartbeat(station="1405250001", skew_s=0.0, **fields):
    now = utcnow()
    beat = {
        "station_code": station,
        "sent_at": iso_utc(now),
        "software_version": "0.4.0",
        "clock": iso_utc(now + timedelta(seconds=skew_s)),
        "queue": {"records": 3, "photos": 7},
        "disk_free_bytes": 50 * 1024**3,
        "lanes": [
            {
                "lane_no": "01",
                "devices": [
                    {"name": "scale", "kind": "xk3190", "state": "ok"},
                    {
                        "name": "front_camera",
                        "kind": "hikvision",
                        "state": "fault",
                        "since": iso_utc(now),
                        "detail": "no answer",
                    },
                ],
            }
        ],
    }
    beat.update(fields)
    return beat


def test_heartbeat_is_stored_and_shown_online(client, sessions):
    answer = client.post(URL, json=heartbeat(skew_s=300))

    assert answer.status_code == 200, answer.text
    assert "server_time" in answer.json()
    with sessions() as session:
        status = session.scalar(sa.select(StationStatus))
    assert status.queue_records == 3 and status.queue_photos == 7
    assert 299_000 < status.skew_ms < 301_000
    page = client.get("/stations")
    assert page.status_code == 200
    row = page.text.split('data-station="1405250001"')[1]
    assert "在线" in row and "故障" in row and "+300" in row


def test_silent_station_is_offline(client, sessions):
    beat, _ = validate_heartbeat(heartbeat(station="1405250002"))
    with sessions() as session, session.begin():
        registry.store_heartbeat(
            session, beat, {}, 10, received_at=utcnow() - timedelta(minutes=10)
        )

    page = client.get("/stations")

    row = page.text.split('data-station="1405250002"')[1].split("</tr>")[0]
    assert "离线" in row and "在线" not in row


def test_history_is_bounded(client, sessions):
    beat, _ = validate_heartbeat(heartbeat())
    with sessions() as session, session.begin():
        for _ in range(12):
            registry.store_heartbeat(session, beat, {}, 5)

    with sessions() as session:
        kept = session.scalar(sa.select(sa.func.count()).select_from(StationHeartbeat))
    assert kept == 5


def test_bad_heartbeat_names_the_field(client):
    answer = client.post(URL, json=heartbeat(queue={"records": -1, "photos": 0}))

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_heartbeat"
    assert error["message"].startswith("queue.records: ")


def test_stations_page_names_the_unit_and_shows_no_negative_zero(client, sessions):
    from zhichao.platform import services

    with sessions() as session, session.begin():
        services.register_station(
            session, "1405250003", "出场称重站", "晋城市某砂石厂", "quarry", "140525"
        )
    beat = heartbeat(station="1405250003", skew_s=-0.02)

    assert client.post(URL, json=beat).status_code == 200
    row = client.get("/stations").text.split('data-station="1405250003"')[1]
    row = row.split("</tr>")[0]

    assert "晋城市某砂石厂" in row
    assert "-0.0" not in row and ">0.0 s<" in row
