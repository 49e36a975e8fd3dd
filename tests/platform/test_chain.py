"""Chain verification on arrival: verified, gap, fork, bad signature, replay.

Every case runs on SQLite and PostgreSQL, through the real HTTP API.
"""

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from platform_factories import make_event, make_record, sign_chain

from zhichao.chain import Enrolment, StationKey, record_hash
from zhichao.platform import registry
from zhichao.platform.app import create_app
from zhichao.platform.models import Alarm, LaneEvent, WeighingRecord

URL = "/api/v1/records"
LANE = ("1405250001", "01")


@pytest.fixture
def key():
    return StationKey.generate()


@pytest.fixture
def enrolled(sessions, key):
    with sessions() as session, session.begin():
        registry.enrol_lane(session, Enrolment(*LANE, key.public_key))
    return key


def post(client, *records):
    response = client.post(URL, json={"records": list(records)})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def chain(key, count, start=1):
    return sign_chain(key, [make_record(seq=n) for n in range(start, start + count)])


def verification(sessions):
    with sessions() as session:
        rows = session.execute(
            sa.union_all(
                sa.select(WeighingRecord.seq, WeighingRecord.verification),
                sa.select(LaneEvent.seq, LaneEvent.verification),
            )
        )
        return dict(sorted(rows.all()))


def alarms(sessions):
    with sessions() as session:
        return list(session.scalars(sa.select(Alarm).order_by(Alarm.id)))


def edit_weight(record, gross_kg):
    """What an edit of the station's database does: the fields, not the signature."""
    record.update(
        gross_kg=gross_kg,
        over_kg=max(0, gross_kg - record["limit_kg"]),
        over_rate_pct=0.0 if gross_kg <= record["limit_kg"] else 1.0,
        overloaded=gross_kg > record["limit_kg"],
        verdict="released",
    )


def test_run_in_one_batch_is_verified(client, sessions, enrolled):
    results = post(client, *chain(enrolled, 20))

    assert {r["status"] for r in results} == {"stored"}
    assert {r["verification"] for r in results} == {"verified"}
    assert set(verification(sessions).values()) == {"verified"}
    assert alarms(sessions) == []


def test_run_over_several_batches_is_verified(client, sessions, enrolled):
    records = chain(enrolled, 12)

    for start, end in ((0, 5), (5, 6), (6, 11), (11, 12)):
        post(client, *records[start:end])
    post(client, *records)  # a full retry: every one a duplicate

    assert verification(sessions) == {n: "verified" for n in range(1, 13)}
    assert alarms(sessions) == []


def test_deleted_record_is_a_gap_naming_the_seq(client, sessions, enrolled):
    records = chain(enrolled, 5)
    del records[2]  # seq 3 deleted at the station

    results = post(client, *records)

    assert [r["verification"] for r in results] == [
        "verified",
        "verified",
        "gap",
        "verified",
    ]
    (alarm,) = alarms(sessions)
    assert alarm.kind == "chain_gap"
    assert alarm.seq == 4 and "seq 3 missing" in alarm.message
    assert alarm.detail == {"missing_from": 3, "missing_to": 3}


def test_late_predecessor_rechecks_the_gap(client, sessions, enrolled):
    records = chain(enrolled, 6)
    post(client, *records[:2], *records[4:])  # 3 and 4 delayed

    assert verification(sessions)[5] == "gap"
    assert "seqs 3–4 missing" in alarms(sessions)[0].message

    post(client, records[3])
    assert verification(sessions)[4] == "gap"  # its own predecessor is missing
    assert len(alarms(sessions)) == 1  # the range was reported once

    post(client, records[2])
    assert verification(sessions) == {n: "verified" for n in range(1, 7)}


def test_edited_weight_is_a_bad_signature(client, sessions, enrolled):
    records = chain(enrolled, 4)
    edit_weight(records[1], 48_000)

    results = post(client, *records)

    assert [r["verification"] for r in results] == [
        "verified",
        "bad_signature",
        "verified",
        "verified",
    ]
    (alarm,) = alarms(sessions)
    assert alarm.kind == "bad_signature" and alarm.record_id == records[1]["record_id"]
    with sessions() as session:
        kept = session.scalar(sa.select(WeighingRecord).where(WeighingRecord.seq == 2))
    assert kept.gross_kg == 48_000  # kept as sent, with its status


def test_edited_weight_in_the_middle_of_a_long_run(client, sessions, enrolled):
    records = chain(enrolled, 30)
    edit_weight(records[29], 30_000)  # the newest: the one checked first

    post(client, *records)

    statuses = verification(sessions)
    assert statuses[30] == "bad_signature"
    assert {statuses[n] for n in range(1, 30)} == {"verified"}


def test_two_records_with_the_same_seq_are_a_fork(client, sessions, enrolled, key):
    records = chain(enrolled, 2)
    post(client, *records)
    rival = make_record(seq=2, gross_kg=31_000, detected=None)
    rival["detected_at"] = "2026-06-17T22:09:00.000Z"
    rival["record_id"] = "1405250001-01-20260617T220900Z-000002"
    sign_chain(key, [rival], prev_hash=record_hash(records[0]))

    (result,) = post(client, rival)

    assert result == {
        "record_id": rival["record_id"],
        "status": "stored",
        "verification": "fork",
    }
    (alarm,) = alarms(sessions)
    assert alarm.kind == "chain_fork"
    assert alarm.detail["stored_record_id"] == records[1]["record_id"]
    nxt = sign_chain(key, [make_record(seq=3)], prev_hash=record_hash(records[1]))
    assert post(client, *nxt)[0]["verification"] == "verified"


def test_changed_copy_signed_by_the_lane_is_a_fork(client, sessions, enrolled):
    records = chain(enrolled, 2)
    post(client, *records)
    changed = dict(records[1])
    edit_weight(changed, 40_000)
    changed["signature"] = enrolled.sign(changed)  # the lane signed both

    (result,) = post(client, changed)

    assert result["status"] == "duplicate" and result["verification"] == "fork"
    (alarm,) = alarms(sessions)
    assert alarm.kind == "chain_fork"
    assert alarm.detail["sent_copy"]["gross_kg"] == 40_000  # kept in the alarm


def test_changed_copy_not_signed_by_the_lane_is_a_bad_signature(
    client, sessions, enrolled
):
    """A forged copy (the old signature, or another key's) is not the lane's:
    no fork alarm against the station; the stored copy is untouched."""
    records = chain(enrolled, 2)
    post(client, *records)
    edited = dict(records[1])
    edit_weight(edited, 23_800)  # the signature of the original kept
    other = dict(records[1])
    edit_weight(other, 23_700)
    other["signature"] = StationKey.generate().sign(other)

    results = post(client, edited) + post(client, other)

    assert [(r["status"], r["verification"]) for r in results] == [
        ("duplicate", "bad_signature"),
        ("duplicate", "bad_signature"),
    ]
    assert [a.kind for a in alarms(sessions)] == ["bad_signature", "bad_signature"]
    assert "does not verify" in alarms(sessions)[0].message
    assert verification(sessions) == {1: "verified", 2: "verified"}
    with sessions() as session:
        stored = session.scalar(
            sa.select(WeighingRecord.gross_kg).where(WeighingRecord.seq == 2)
        )
    assert stored == records[1]["gross_kg"]


def test_old_record_under_a_new_id_is_a_replay(client, sessions, enrolled, key):
    records = chain(enrolled, 3)
    post(client, *records)
    replay = dict(records[0], seq=4)
    replay["record_id"] = records[0]["record_id"][:-6] + "000004"
    sign_chain(key, [replay], prev_hash=record_hash(records[2]))

    (result,) = post(client, replay)

    assert result["status"] == "stored" and result["verification"] == "replay"
    (alarm,) = alarms(sessions)
    assert alarm.kind == "replay"
    assert alarm.detail["original_record_id"] == records[0]["record_id"]


def test_wrong_key_is_a_bad_signature(client, sessions, enrolled):
    records = chain(StationKey.generate(), 3)

    results = post(client, *records)

    assert {r["verification"] for r in results} == {"bad_signature"}
    assert [a.kind for a in alarms(sessions)] == ["bad_signature"] * 3


def test_unsigned_record_of_an_enrolled_lane_is_a_bad_signature(
    client, sessions, enrolled
):
    (result,) = post(client, make_record(seq=1))

    assert result["verification"] == "bad_signature"
    assert "carries no signature" in alarms(sessions)[0].message


def test_events_share_the_lane_chain(client, sessions, enrolled):
    records = sign_chain(
        enrolled,
        [make_record(seq=1), make_event(seq=2), make_record(seq=3)],
    )

    results = post(client, *records)

    assert [r["status"] for r in results] == ["stored"] * 3
    assert verification(sessions) == {1: "verified", 2: "verified", 3: "verified"}
    page = client.get(f"/records/{records[1]['record_id']}")
    assert page.status_code == 200
    assert "device_fault" in page.text and "校验通过" in page.text


def test_rejected_event_names_the_field(client):
    event = make_event(seq=1, event_type="Bad Type")

    (result,) = post(client, event)

    assert result["status"] == "rejected"
    assert result["error"].startswith("event_type: ")


def test_without_enrolment_records_are_stored_unsigned_or_unenrolled(
    client, sessions, key
):
    signed = chain(key, 1)[0]
    plain = make_record(seq=2)

    results = post(client, signed, plain)

    assert [r["status"] for r in results] == ["stored", "stored"]
    assert [r["verification"] for r in results] == ["unenrolled", "unsigned"]
    assert alarms(sessions) == []


def test_unenrolled_lane_is_refused_when_enrolment_is_required(settings, key):
    app = create_app(settings.model_copy(update={"require_enrolment": True}))
    with TestClient(app) as client:
        results = post(client, *chain(key, 2))

        assert [r["status"] for r in results] == ["refused", "refused"]
        assert results[0]["error"] == "lane 1405250001-01 is not enrolled"
        assert verification(app.state.sessions) == {}

        with app.state.sessions() as session, session.begin():
            registry.enrol_lane(session, Enrolment(*LANE, key.public_key))
        again = post(client, *chain(key, 2))
        assert [r["verification"] for r in again] == ["verified", "verified"]


def test_replaced_key_still_verifies_its_older_records(client, sessions, enrolled):
    old = chain(enrolled, 2)
    post(client, old[0])
    new_key = StationKey.generate()
    with sessions() as session, session.begin():
        result = registry.enrol_lane(
            session, Enrolment(*LANE, new_key.public_key), replace=True
        )
        assert result.replaced is not None
    later = make_record(seq=3, detected=None)
    later["detected_at"] = "2099-01-01T00:00:00.000Z"
    later["record_id"] = "1405250001-01-20990101T000000Z-000003"
    sign_chain(new_key, [later], prev_hash=record_hash(old[1]))

    results = post(client, old[1], later)

    assert [r["verification"] for r in results] == ["verified", "verified"]
    stolen = sign_chain(
        enrolled,
        [make_record(seq=4, detected=None)],
        prev_hash=record_hash(later),
    )
    stolen[0]["detected_at"] = "2099-01-02T00:00:00.000Z"
    stolen[0]["record_id"] = "1405250001-01-20990102T000000Z-000004"
    sign_chain(enrolled, stolen, prev_hash=record_hash(later))
    assert post(client, *stolen)[0]["verification"] == "bad_signature"
