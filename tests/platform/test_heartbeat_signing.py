"""Signed heartbeats: checked against the lane's enrolled key; unsigned ones
refused when the platform requires enrolment."""

from datetime import timedelta

import httpx
import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from platform_server import live_server
from test_heartbeats import heartbeat

from zhichao.chain import Enrolment, StationKey
from zhichao.platform import registry
from zhichao.platform.app import create_app
from zhichao.platform.migrations import run_migrations
from zhichao.platform.models import StationStatus
from zhichao.platform.settings import PlatformSettings
from zhichao.request_signing import sign_headers, signed_message
from zhichao.station.heartbeat import HeartbeatSender
from zhichao.timeutil import utcnow

STATION = "1405250001"
URL = "/api/v1/heartbeats"


@pytest.fixture(params=[False, True], ids=["open", "enrolment-required"])
def platform(request, db_url, tmp_path):
    run_migrations(db_url)
    settings = PlatformSettings(
        database_url=db_url,
        evidence_dir=tmp_path / "ev",
        require_enrolment=request.param,
    )
    app = create_app(settings)
    key = StationKey.generate()
    with app.state.sessions() as session, session.begin():
        registry.enrol_lane(session, Enrolment(STATION, "01", key.public_key))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, app.state.sessions, key, request.param


def _post(client, beat, headers=None, body=None):
    body = body if body is not None else orjson.dumps(beat)
    return client.post(
        URL,
        content=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _stored(sessions) -> int:
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(StationStatus))


def test_signed_heartbeat_is_stored(platform):
    client, sessions, key, _ = platform
    body = orjson.dumps(heartbeat(STATION))

    answer = _post(client, None, sign_headers(key, "01", "POST", URL, body), body)

    assert answer.status_code == 200, answer.text
    assert _stored(sessions) == 1


def test_unsigned_heartbeat_only_where_enrolment_is_not_required(platform):
    client, sessions, _, required = platform

    answer = _post(client, heartbeat(STATION))

    if required:
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unsigned_request"
        assert _stored(sessions) == 0
    else:
        assert answer.status_code == 200
        assert _stored(sessions) == 1


def test_a_changed_body_does_not_verify(platform):
    client, sessions, key, _ = platform
    body = orjson.dumps(heartbeat(STATION))
    headers = sign_headers(key, "01", "POST", URL, body)
    changed = body.replace(b'"records":3', b'"records":0')
    assert changed != body

    answer = _post(client, None, headers, changed)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"
    assert "SHA-256 of the body" in answer.json()["error"]["message"]
    assert _stored(sessions) == 0


def test_another_stations_key_does_not_verify(platform):
    client, sessions, _, _ = platform
    body = orjson.dumps(heartbeat(STATION))
    stranger = StationKey.generate()

    answer = _post(client, None, sign_headers(stranger, "01", "POST", URL, body), body)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"


def test_a_heartbeat_naming_a_lane_not_enrolled_is_refused(platform):
    client, sessions, key, _ = platform
    body = orjson.dumps(heartbeat("1405250002"))

    answer = _post(client, None, sign_headers(key, "01", "POST", URL, body), body)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "lane_not_enrolled"
    assert "1405250002-01" in answer.json()["error"]["message"]


def test_a_stale_signature_is_refused(platform):
    client, sessions, key, _ = platform
    body = orjson.dumps(heartbeat(STATION))
    old = utcnow() - timedelta(minutes=10)

    answer = _post(client, None, sign_headers(key, "01", "POST", URL, body, old), body)

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "clock_off"


def test_half_the_headers_is_an_error_that_names_the_missing_one(platform):
    client, _, key, _ = platform
    body = orjson.dumps(heartbeat(STATION))
    headers = sign_headers(key, "01", "POST", URL, body)
    del headers["X-Zhichao-Signature"]

    answer = _post(client, None, headers, body)

    assert answer.status_code == 401
    assert "missing: X-Zhichao-Signature" in answer.json()["error"]["message"]


def test_the_signed_bytes_are_as_documented():
    body = b'{"a":1}'
    message = signed_message("post", URL, "2026-06-17T22:06:30.499Z", body)

    assert message == (
        b"POST\n/api/v1/heartbeats\n2026-06-17T22:06:30.499Z\n"
        b"015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
    )


async def test_the_station_s_sender_signs_what_it_sends(db_url, tmp_path):
    run_migrations(db_url)
    settings = PlatformSettings(
        database_url=db_url, evidence_dir=tmp_path / "ev", require_enrolment=True
    )
    app = create_app(settings)
    key = StationKey.generate()
    with app.state.sessions() as session, session.begin():
        registry.enrol_lane(session, Enrolment(STATION, "01", key.public_key))
    with live_server(app) as url:
        signed = HeartbeatSender(url, lambda: heartbeat(STATION), key=key, lane_no="01")
        unsigned = HeartbeatSender(url, lambda: heartbeat(STATION))
        async with httpx.AsyncClient(timeout=10) as client:
            assert await signed.send_once(client) is True
            assert await unsigned.send_once(client) is False

    assert _stored(app.state.sessions) == 1
    assert signed.stats == {"sent": 1, "failed": 0}
    assert unsigned.stats == {"sent": 0, "failed": 1}
