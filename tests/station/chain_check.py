"""Check a lane's chain as the platform would: seq, prev_hash and signatures."""

from zhichao.chain import GENESIS_HASH, record_hash, verify_signature


def assert_chain_intact(records: list[dict], public_key: str, first_seq: int = 1):
    """Records of one lane in seq order: continuous, linked, each signature valid."""
    assert records, "no records"
    previous = None
    for offset, record in enumerate(records):
        assert record["seq"] == first_seq + offset, (
            f"seq {record['seq']} where {first_seq + offset} was due"
        )
        expected = GENESIS_HASH if previous is None else record_hash(previous)
        if previous is not None or first_seq == 1:
            assert record["prev_hash"] == expected, f"seq {record['seq']}: bad link"
        assert verify_signature(record, public_key), f"seq {record['seq']}: bad sig"
        previous = record
