"""The store chains and signs every record in the transaction that stores it,
and a full disk refuses new records without harming the stored ones."""

import errno
import os
import sqlite3
import subprocess
import uuid

import pytest
from chain_check import assert_chain_intact

from zhichao.chain import GENESIS_HASH, StationKey, record_hash, verify_signature
from zhichao.errors import StoreError, StoreFullError
from zhichao.station.store import StationStore


def _record(seq: int, lane: str = "01", kind: str = "pass", **extra) -> dict:
    base = {
        "schema_version": 1,
        "record_id": f"1405250001-{lane}-20260617T220630Z-{seq:06d}",
        "kind": kind,
        "station_code": "1405250001",
        "lane_no": lane,
        "seq": seq,
        "prev_hash": None,
        "signature": None,
        "front_plate": "鲁A1234挂",
        "gross_kg": 49380,
        "over_rate_pct": 0.78,
    }
    return base | extra


@pytest.fixture
def key():
    return StationKey.generate()


def test_records_are_chained_and_signed_as_stored(tmp_path, key):
    store = StationStore(tmp_path / "s.db")
    stored = [store.add_record(_record(seq), key) for seq in (1, 2, 3)]

    assert stored[0]["prev_hash"] == GENESIS_HASH
    assert stored[1]["prev_hash"] == record_hash(stored[0])
    assert all(verify_signature(r, key.public_key) for r in stored)
    rows = store.lane_records("01")
    assert [row.hash for row in rows] == [record_hash(r) for r in stored]
    assert [row.record for row in rows] == stored
    assert_chain_intact(store.pending_records(), key.public_key)


def test_the_chain_continues_across_a_reopened_store(tmp_path, key):
    store = StationStore(tmp_path / "s.db")
    store.add_record(_record(1), key)
    store.add_record(_record(2, kind="event", event_type="station_started"), key)
    store.close()

    again = StationStore(tmp_path / "s.db")
    again.add_record(_record(3), key)
    assert_chain_intact([r.record for r in again.lane_records("01")], key.public_key)


def test_each_lane_has_its_own_chain(tmp_path):
    keys = {"01": StationKey.generate(), "02": StationKey.generate()}
    store = StationStore(tmp_path / "s.db")
    for seq in (1, 2):
        for lane, k in keys.items():
            store.add_record(_record(seq, lane), k)
    for lane, k in keys.items():
        records = [r.record for r in store.lane_records(lane)]
        assert_chain_intact(records, k.public_key)


@pytest.mark.parametrize("seq", [0, 2, 5])
def test_a_seq_that_does_not_follow_is_refused(tmp_path, key, seq):
    store = StationStore(tmp_path / "s.db")
    if seq != 0:
        store.add_record(_record(1), key)
        seq = seq + 1
    with pytest.raises(StoreError, match="does not follow"):
        store.add_record(_record(seq or 2), key)


def test_an_edited_stored_record_no_longer_verifies(tmp_path, key):
    store = StationStore(tmp_path / "s.db")
    store.add_record(_record(1), key)
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("UPDATE records SET body = replace(body, '49380', '39380')")
    db.commit()
    [record] = store.pending_records()
    assert record["gross_kg"] == 39380
    assert not verify_signature(record, key.public_key)


def test_a_full_database_refuses_the_record_and_keeps_the_rest(tmp_path, key):
    store = StationStore(tmp_path / "s.db")
    store.add_record(_record(1), key)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")

    big = "x" * 4000
    stored, refused = 1, None
    for seq in range(2, 200):
        try:
            store.add_record(_record(seq, note=big * (seq % 3 + 1)), key)
        except StoreFullError as err:
            refused = err
            break
        stored = seq

    assert refused is not None, "the store never filled"
    assert "disk full" in str(refused)
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    records = [r.record for r in store.lane_records("01")]
    assert len(records) == stored
    assert_chain_intact(records, key.public_key)

    store._db.execute("PRAGMA max_page_count = 1000000")
    store.add_record(_record(stored + 1), key)
    assert_chain_intact([r.record for r in store.lane_records("01")], key.public_key)


def test_under_the_free_space_reserve_passes_are_refused_events_not(tmp_path, key):
    store = StationStore(tmp_path / "s.db", min_free_bytes=1 << 62)
    with pytest.raises(StoreFullError, match="reserve"):
        store.add_record(_record(1), key)
    event = _record(1, kind="event", event_type="store_full")
    assert store.add_record(event, key)["seq"] == 1
    assert store.last_seq("01") == 1


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MiB tmpfs, where mounting is allowed; else the test is skipped."""
    mount = tmp_path / f"full-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_really_full_disk_refuses_records_and_photos_without_damage(small_tmpfs, key):
    store = StationStore(small_tmpfs / "s.db")
    seq, photo_error, record_error = 0, None, None
    for n in range(4000):
        try:
            store.add_photo(os.urandom(64 * 1024) + n.to_bytes(4, "big"), "01")
        except StoreError as err:
            photo_error = err
            break
    for _ in range(100000):
        try:
            store.add_record(_record(seq + 1, note="y" * 2000), key)
        except StoreError as err:
            record_error = err
            break
        seq += 1

    assert isinstance(photo_error, StoreFullError)
    assert isinstance(record_error, StoreError)
    assert not list(store.photo_dir.glob("*.tmp")), "a half-written photo was left"
    store.close()
    # reopening needs no room, and everything stored is intact
    with sqlite3.connect(small_tmpfs / "s.db") as db:
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    again = StationStore(small_tmpfs / "s.db")
    records = [r.record for r in again.lane_records("01")]
    assert len(records) == seq
    if records:
        assert_chain_intact(records, key.public_key)


def test_enospc_is_recognised():
    from zhichao.station.store import _is_full

    assert _is_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not _is_full(OSError(errno.EACCES, "Permission denied"))
