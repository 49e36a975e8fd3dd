"""PUT /api/v1/records/{record_id}: one record per request, same rules as a batch."""

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from platform_factories import make_record

from zhichao.platform.app import create_app
from zhichao.platform.models import WeighingRecord
from zhichao.platform.settings import PlatformSettings


def put(client, record, record_id=None):
    return client.put(
        f"/api/v1/records/{record_id or record['record_id']}", json=record
    )


def count(sessions):
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(WeighingRecord))


def test_stored_then_duplicate(anonymous, sessions):
    record = make_record(seq=1)

    first = put(anonymous, record)
    again = put(anonymous, record)

    assert first.status_code == 201, first.text
    assert first.json()["status"] == "stored"
    assert first.json()["record_id"] == record["record_id"]
    assert first.json()["server_time"].endswith("Z")
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert count(sessions) == 1


def test_path_and_body_must_name_the_same_record(anonymous, sessions):
    record = make_record(seq=1)

    answer = put(anonymous, record, record_id=make_record(seq=2)["record_id"])

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "record_id_mismatch"
    assert count(sessions) == 0


def test_rejected_record_says_why(anonymous, sessions):
    record = make_record(seq=1)
    record["gross_kg"] = "heavy"

    answer = put(anonymous, record)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "record_rejected"
    assert "gross_kg" in answer.json()["error"]["message"]
    assert count(sessions) == 0


def test_body_that_is_not_json(anonymous):
    answer = anonymous.put(
        "/api/v1/records/x",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_json"


def test_oversized_body_is_refused(db_url, tmp_path):
    from zhichao.platform.migrations import run_migrations

    run_migrations(db_url)
    settings = PlatformSettings(
        database_url=db_url, evidence_dir=tmp_path / "ev", max_batch_bytes=2048
    )
    record = make_record(seq=1, basis="x" * 4096)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        answer = put(client, record)

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


def test_unenrolled_lane_is_refused_when_enrolment_is_required(db_url, tmp_path):
    from zhichao.platform.migrations import run_migrations

    run_migrations(db_url)
    settings = PlatformSettings(
        database_url=db_url, evidence_dir=tmp_path / "ev", require_enrolment=True
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = put(client, make_record(seq=1))

    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "lane_not_enrolled"
    assert count(app.state.sessions) == 0


def test_endpoint_is_in_openapi(anonymous):
    paths = anonymous.get("/openapi.json").json()["paths"]

    assert "put" in paths["/api/v1/records/{record_id}"]


@pytest.mark.parametrize("method", ["batch", "single"])
def test_busy_platform_answers_503_with_retry_after_and_stores_nothing(
    db_url, tmp_path, method
):
    from zhichao.platform.migrations import run_migrations

    run_migrations(db_url)
    settings = PlatformSettings(
        database_url=db_url,
        evidence_dir=tmp_path / "ev",
        max_concurrent_ingest=2,
        busy_retry_after_s=7,
    )
    app = create_app(settings)
    record = make_record(seq=1)
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.ingest_in_flight = 2  # two uploads being handled
        if method == "batch":
            answer = client.post("/api/v1/records", json={"records": [record]})
        else:
            answer = put(client, record)
        app.state.ingest_in_flight = 1  # one slot free again
        after = put(client, record)

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "7"
    assert answer.json()["error"]["code"] == "busy"
    assert "nothing of this request was stored" in answer.json()["error"]["message"]
    assert after.status_code == 201
    assert app.state.ingest_in_flight == 1  # the slot was given back
    assert count(app.state.sessions) == 1
