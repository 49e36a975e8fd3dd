"""Upload bodies decoded as json.loads decodes them, refused with a clear reason."""

import json

import pytest
from platform_factories import make_record

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


def test_a_record_with_nul_in_its_text_is_rejected_and_the_rest_stored(client):
    # PostgreSQL cannot store NUL in a text column: once this failed the batch
    bad = make_record(seq=1, basis="第三条\u0000")
    flagged = make_record(seq=2, flags=["a\u0000b"])  # a JSON column can hold it
    body = json.dumps({"records": [bad, flagged, make_record(seq=3)]})

    answer = client.post(
        "/api/v1/records", content=body, headers={"content-type": "application/json"}
    )

    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "stored", "stored"]
    assert results[0]["error"] == "basis: must not contain the NUL character (\\u0000)"


def test_a_record_with_a_lone_surrogate_is_rejected_and_the_rest_stored(client):
    # UTF-8 cannot carry it, so it can be neither hashed nor signed
    bad = make_record(seq=1, video={"clip": "x\ud800"})
    body = json.dumps({"records": [bad, make_record(seq=2)]}).encode()

    answer = client.post(
        "/api/v1/records", content=body, headers={"content-type": "application/json"}
    )

    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "stored"]
    assert results[0]["record_id"] == bad["record_id"]
    assert results[0]["error"].startswith("video.clip: holds a lone UTF-16 surrogate")


def test_a_record_sent_alone_with_a_lone_surrogate_is_rejected_with_where(client):
    bad = make_record(seq=1, video={"clip": "x\ud800"})

    answer = client.put(
        f"/api/v1/records/{bad['record_id']}",
        content=json.dumps(bad).encode(),
        headers={"content-type": "application/json"},
    )

    assert answer.status_code == 422, answer.text
    message = answer.json()["error"]["message"]
    assert "video.clip: holds a lone UTF-16 surrogate" in message
