import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhichao.chain import (
    GENESIS_HASH,
    ChainError,
    Enrolment,
    StationKey,
    canonical_bytes,
    key_fingerprint,
    record_hash,
    verify_signature,
)
from zhichao.errors import ConfigError

RECORD = {
    "schema_version": 1,
    "record_id": "1405250001-01-20260617T220630Z-000123",
    "seq": 123,
    "prev_hash": GENESIS_HASH,
    "front_plate": "鲁A1234挂",
    "gross_kg": 52340,
    "over_rate_pct": 6.82,
    "overloaded": True,
    "axle_weights_kg": None,
    "flags": ["no_axle_count"],
    "photos": [{"sha256": "ab" * 32, "role": "plate"}],
    "signature": "ignored",
}


def test_canonical_form_is_sorted_compact_utf8_without_signature():
    text = canonical_bytes(RECORD).decode("utf-8")

    assert text.startswith('{"axle_weights_kg":null,"flags":["no_axle_count"],')
    assert '"front_plate":"鲁A1234挂"' in text  # UTF-8, not \\u escapes
    assert '"over_rate_pct":6.82' in text
    assert "signature" not in text
    assert " " not in text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (6.82, "6.82"),
        (12.0, "12"),
        (12.5, "12.5"),
        (0.0, "0"),
        (-0.0, "0"),
        (100, "100"),
    ],
)
def test_numbers_take_their_shortest_decimal_form(value, text):
    assert canonical_bytes({"n": value}) == f'{{"n":{text}}}'.encode()


def test_control_characters_and_quotes_are_escaped():
    assert canonical_bytes({"s": 'a"b\\c\n\x01'}) == b'{"s":"a\\"b\\\\c\\n\\u0001"}'


def test_key_order_and_signature_do_not_change_the_hash():
    shuffled = dict(reversed(list(RECORD.items())))
    assert record_hash(shuffled) == record_hash(RECORD)
    assert record_hash(RECORD | {"signature": "other"}) == record_hash(RECORD)
    assert record_hash(RECORD | {"gross_kg": 52360}) != record_hash(RECORD)
    assert record_hash(RECORD) == hashlib.sha256(canonical_bytes(RECORD)).hexdigest()


def test_unencodable_values_are_refused():
    with pytest.raises(ChainError):
        canonical_bytes({"t": object()})
    with pytest.raises(ChainError):
        canonical_bytes({"n": float("nan")})


def test_signature_verifies_and_any_edit_breaks_it():
    key = StationKey.generate()
    signed = RECORD | {"signature": key.sign(RECORD)}

    assert verify_signature(signed, key.public_key)
    assert not verify_signature(signed | {"gross_kg": 49000}, key.public_key)
    assert not verify_signature(signed, StationKey.generate().public_key)
    assert not verify_signature(signed | {"signature": None}, key.public_key)
    assert not verify_signature(signed | {"signature": "%%%"}, key.public_key)


def test_key_file_round_trip_and_refuses_to_overwrite(tmp_path):
    key = StationKey.generate()
    path = tmp_path / "keys" / "lane01.key"
    key.save(path)

    assert path.stat().st_mode & 0o777 == 0o600
    assert StationKey.load(path).public_key == key.public_key
    with pytest.raises(FileExistsError):
        key.save(path)


def test_missing_or_bad_key_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="station init"):
        StationKey.load(tmp_path / "absent.key")
    (tmp_path / "bad.key").write_text("not base64!")
    with pytest.raises(ConfigError, match="not a zhichao signing key"):
        StationKey.load(tmp_path / "bad.key")


def test_enrolment_code_round_trip_and_typo_detection():
    key = StationKey.generate()
    enrolment = Enrolment("1405250001", "01", key.public_key)
    code = enrolment.code

    assert code.startswith("ZC1.1405250001.01.")
    assert Enrolment.parse(code) == enrolment
    typo = code[:-8] + ("A" if code[-8] != "A" else "B") + code[-7:]
    with pytest.raises(ChainError, match="mistyped"):
        Enrolment.parse(typo)
    with pytest.raises(ChainError, match="five parts"):
        Enrolment.parse("ZC1.1405250001.01")


def test_fingerprint_is_short_and_stable():
    key = base64.b64encode(bytes(32)).decode()
    assert key_fingerprint(key) == key_fingerprint(key)
    assert len(key_fingerprint(key)) == 19


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda children: st.lists(children) | st.dictionaries(st.text(), children),
        max_leaves=20,
    )
)
def test_fuzz_canonical_form_is_valid_json_and_stable(value):
    import json

    record = {"v": value}
    encoded = canonical_bytes(record)
    assert json.loads(encoded) == record
    assert canonical_bytes(json.loads(encoded)) == encoded
