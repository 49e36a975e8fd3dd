"""Ingest keeps lane ids per process but reads keys with every batch.

A key replaced or a lane enrolled by another process (the enrolment command,
run as its own process here) counts from the next batch; a kept lane id that
no longer names its lane (a database made anew under a running platform) is
looked up again. SQLite and PostgreSQL, through the real HTTP API.
"""

import subprocess
import sys

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from platform_factories import make_record, sign_chain

from zhichao.chain import Enrolment, StationKey, record_hash
from zhichao.platform import chain_store, registry
from zhichao.platform.app import create_app
from zhichao.platform.models import Lane, Station, WeighingRecord

URL = "/api/v1/records"
STATION = "1405250001"
AFTER_REPLACEMENT = "2099-01-01T00:00:%02d.000Z"  # detected after any replacement


def post(client, *records):
    response = client.post(URL, json={"records": list(records)})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def enrol_elsewhere(db_url, lane_no, key, *args):
    """Enrol through the command in a process of its own."""
    code = Enrolment(STATION, lane_no, key.public_key).code
    done = subprocess.run(
        [sys.executable, "-m", "zhichao", "platform", "enroll-station", code]
        + [*args, "--database-url", db_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def later(seq, key, prev):
    """Record ``seq`` of lane 01, detected after the replacement, signed by key."""
    record = make_record(seq=seq)
    record["detected_at"] = AFTER_REPLACEMENT % seq
    record["entered_at"] = None
    record["record_id"] = f"{STATION}-01-20990101T0000{seq:02d}Z-{seq:06d}"
    return sign_chain(key, [record], prev_hash=record_hash(prev))[0]


def lane_ids(sessions):
    with sessions() as session:
        rows = session.execute(
            sa.select(Lane.lane_no, Lane.id)
            .join(Station, Station.id == Lane.station_id)
            .where(Station.station_code == STATION)
        )
        return dict(rows.all())


def test_key_replaced_by_another_process_stops_verifying_at_once(
    db_url, client, sessions
):
    old, new = StationKey.generate(), StationKey.generate()
    with sessions() as session, session.begin():
        registry.enrol_lane(session, Enrolment(STATION, "01", old.public_key))
    first = sign_chain(old, [make_record(seq=1)])[0]
    assert post(client, first)[0]["verification"] == "verified"

    enrol_elsewhere(db_url, "01", new, "--replace")
    second = later(2, new, first)
    stolen = later(3, old, second)

    results = post(client, second) + post(client, stolen)
    assert [r["verification"] for r in results] == ["verified", "bad_signature"]


@pytest.mark.parametrize("require_enrolment", [True, False])
def test_lane_enrolled_by_another_process_after_its_station_was_seen(
    db_url, settings, require_enrolment
):
    app = create_app(
        settings.model_copy(update={"require_enrolment": require_enrolment})
    )
    key_1, key_2 = StationKey.generate(), StationKey.generate()
    with app.state.sessions() as session, session.begin():
        registry.enrol_lane(session, Enrolment(STATION, "01", key_1.public_key))
    lane_2 = sign_chain(key_2, [make_record(seq=n, lane="02") for n in (1, 2)])

    with TestClient(app) as client:
        first = post(client, sign_chain(key_1, [make_record(seq=1)])[0])
        before = post(client, lane_2[0])
        enrol_elsewhere(db_url, "02", key_2)
        after = post(client, *lane_2)

    assert first[0]["verification"] == "verified"
    if require_enrolment:
        assert before[0]["status"] == "refused"
        assert [r["status"] for r in after] == ["stored", "stored"]
    else:
        assert before[0]["verification"] == "unenrolled"
        assert [r["status"] for r in after] == ["duplicate", "stored"]
    assert after[1]["verification"] == "verified"


def test_stale_kept_lane_ids_are_looked_up_again(client, sessions, app):
    for seq in (1, 2):  # the lanes are created, then their ids kept
        post(client, make_record(seq=seq), make_record(seq=seq, lane="02"))
    ids = lane_ids(sessions)
    engine = app.state.sessions.kw["bind"]
    kept = chain_store._LANE_IDS[engine]
    one, two = kept[(STATION, "01")], kept[(STATION, "02")]
    kept[(STATION, "01")], kept[(STATION, "02")] = two, one

    results = post(client, make_record(seq=3), make_record(seq=3, lane="02"))

    assert [r["status"] for r in results] == ["stored", "stored"]
    with sessions() as session:
        rows = session.execute(
            sa.select(WeighingRecord.lane_no, WeighingRecord.lane_id).where(
                WeighingRecord.seq == 3
            )
        )
        assert dict(rows.all()) == ids
