"""The verifier's rules without a database: runs, signature counts, hashes."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from platform_factories import make_record, sign_chain

from zhichao.chain import StationKey, record_hash
from zhichao.platform.chain_store import content_hash, record_hashes
from zhichao.platform.verification import (
    Candidate,
    LaneKeyInfo,
    LaneState,
    seqs_to_load,
    verify_lane,
)

KEY = StationKey.generate()


def candidates(records):
    return [
        Candidate(
            r["record_id"],
            r["seq"],
            r["prev_hash"],
            r["signature"],
            datetime(2026, 6, 17, tzinfo=UTC),
            r,
            record_hash(r),
            content_hash(r),
        )
        for r in records
    ]


def state():
    return LaneState("1405250001-01", [LaneKeyInfo(KEY.public_key, None)], 0, None)


def test_an_unbroken_run_costs_one_signature_check():
    records = sign_chain(KEY, [make_record(seq=n) for n in range(1, 201)])

    outcome = verify_lane(state(), candidates(records))

    assert outcome.signature_checks == 1
    assert set(outcome.statuses.values()) == {"verified"}
    assert outcome.head_seq == 200 and outcome.head_hash == record_hash(records[-1])


def test_a_bad_newest_signature_checks_each_record_of_the_run():
    records = sign_chain(KEY, [make_record(seq=n) for n in range(1, 11)])
    records[-1]["signature"] = records[0]["signature"]

    outcome = verify_lane(state(), candidates(records))

    assert outcome.signature_checks == 10
    assert outcome.statuses[records[-1]["record_id"]] == "bad_signature"
    assert list(outcome.statuses.values()).count("verified") == 9


def test_a_batch_continuing_the_head_loads_nothing():
    records = sign_chain(KEY, [make_record(seq=n) for n in range(1, 6)])
    cands = candidates(records)

    assert seqs_to_load(2, record_hash(records[1]), cands[2:]) == set()
    assert seqs_to_load(3, record_hash(records[1]), cands[2:]) == {2, 3}


TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(TEXT, VALUES | st.floats(0, 1000).map(lambda f: round(f, 2))),
)
def test_fuzz_record_hashes_equal_the_reference(record):
    full, content = record_hashes(record)

    assert full == record_hash(record)
    body = {
        k: v
        for k, v in record.items()
        if k not in ("record_id", "seq", "prev_hash", "signature")
    }
    assert content == record_hash(body)
