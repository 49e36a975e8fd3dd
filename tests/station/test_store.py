import hashlib

import pytest

from zhichao.errors import StoreError
from zhichao.station.store import StationStore


def _record(seq: int, lane: str = "01") -> dict:
    return {
        "record_id": f"1405250001-{lane}-20260617T220630Z-{seq:06d}",
        "lane_no": lane,
        "seq": seq,
        "front_plate": "鲁A1234挂",
        "gross_kg": 49380,
    }


def test_records_queue_in_order_until_acknowledged(tmp_path):
    store = StationStore(tmp_path / "s.db")
    for seq in (1, 2, 3):
        store.add_record(_record(seq))

    assert [r["seq"] for r in store.pending_records()] == [1, 2, 3]
    assert store.last_seq("01") == 3

    store.apply_acknowledgement(
        [
            {"record_id": _record(1)["record_id"], "status": "stored"},
            {"record_id": _record(2)["record_id"], "status": "duplicate"},
        ]
    )
    assert [r["seq"] for r in store.pending_records()] == [3]
    assert store.queue_depth()["records"] == 1


def test_rejected_record_is_kept_but_not_retried(tmp_path):
    store = StationStore(tmp_path / "s.db")
    store.add_record(_record(1))
    rid = _record(1)["record_id"]
    store.apply_acknowledgement(
        [{"record_id": rid, "status": "rejected", "error": "x"}]
    )

    assert store.pending_records() == []
    assert store.record_status(rid) == "rejected"


def test_plate_survives_the_store_unchanged(tmp_path):
    store = StationStore(tmp_path / "s.db")
    store.add_record(_record(1) | {"front_plate": "粤B12345D"})
    assert store.pending_records()[0]["front_plate"] == "粤B12345D"


def test_records_survive_reopening(tmp_path):
    store = StationStore(tmp_path / "s.db")
    store.add_record(_record(1))
    store.close()

    again = StationStore(tmp_path / "s.db")
    assert again.last_seq("01") == 1
    assert again.last_seq("02") == 0
    assert len(again.pending_records()) == 1


def test_a_repeated_sequence_number_is_refused(tmp_path):
    store = StationStore(tmp_path / "s.db")
    store.add_record(_record(1))
    clash = _record(1) | {"record_id": "1405250001-01-20260617T220631Z-000001"}
    with pytest.raises(StoreError, match="does not follow"):
        store.add_record(clash)
    again = _record(2) | {"record_id": _record(1)["record_id"]}
    with pytest.raises(StoreError, match="already stored"):
        store.add_record(again)
    assert [r.seq for r in store.lane_records("01")] == [1]


def test_photos_are_content_addressed(tmp_path):
    store = StationStore(tmp_path / "s.db")
    data = b"\xff\xd8fake jpeg\xff\xd9"
    sha = store.add_photo(data)

    assert sha == hashlib.sha256(data).hexdigest()
    assert store.add_photo(data) == sha
    [pending] = store.pending_photos()
    assert pending.path.read_bytes() == data
    store.mark_photo(sha, "uploaded")
    assert store.pending_photos() == []


def test_unwritable_store_is_a_clear_error(tmp_path):
    target = tmp_path / "file"
    target.write_text("not a directory")
    with pytest.raises((StoreError, OSError)):
        StationStore(target / "s.db")
