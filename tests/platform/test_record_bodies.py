"""Upload bodies decoded as json.loads decodes them, refused with a clear reason."""

import json

import pytest

from zhichao.platform.api.errors import ApiError
from zhichao.platform.api.records import parse_batch, parse_json


def test_a_body_nested_too_deeply_is_refused_as_invalid_json():
    with pytest.raises(ApiError) as caught:
        parse_json(b'{"records": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert caught.value.status == 400
    assert caught.value.code == "invalid_json"
    assert "nested too deeply" in caught.value.message


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"records": [1,]}', "line 1 column 16"),
        (b'{"records": [NaN', "line 1 column 17"),
        (b'{"records": ["\\x"]}', "Invalid \\escape"),
        (b'{"records": "\xff"}', "utf-8"),
    ],
)
def test_a_body_that_is_not_json_says_where(body, where):
    with pytest.raises(ApiError) as caught:
        parse_batch(body, 500)
    assert caught.value.code == "invalid_json"
    assert caught.value.message.startswith("the body is not valid JSON: ")
    assert where in caught.value.message


def test_big_integers_and_non_finite_numbers_reach_validation_as_sent():
    body = b'{"records": [{"seq": 18446744073709551616, "over_rate_pct": NaN}]}'
    (record,) = parse_batch(body, 500)
    assert record["seq"] == 18446744073709551616
    assert type(record["seq"]) is int
    assert record["over_rate_pct"] != record["over_rate_pct"]  # NaN


def test_a_batch_body_is_what_json_loads_gives():
    record = {"record_id": "1405250001-01-20260617T220631Z-000001", "seq": 1}
    body = json.dumps({"records": [record, {"basis": "第三条", "x": 6.12}]})
    assert parse_batch(body.encode(), 500) == json.loads(body)["records"]
