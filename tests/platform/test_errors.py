"""One error envelope for every error answer, and the body and batch limits."""

import json

import pytest
from platform_factories import make_record

from zhichao.platform.auth import ROUTE_RULES, Action

RECORDS = "/api/v1/records"


def assert_envelope(answer, status, code):
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in answer.text
    return body["error"]["message"]


def _batch_of(count):
    return {"records": [make_record(seq=n) for n in range(1, count + 1)]}


CASES = [
    ("unknown path", "GET", "/api/v1/nothing", {}, 404, "not_found"),
    ("unknown page", "GET", "/nothing", {}, 404, "not_found"),
    ("unknown record page", "GET", "/records/1405250001-01-x", {}, 404, "not_found"),
    ("photo not stored", "GET", "/api/v1/photos/" + "a" * 64, {}, 404, "not_found"),
    ("wrong method", "DELETE", RECORDS, {}, 405, "method_not_allowed"),
    ("bad query", "GET", RECORDS + "?after=-1", {}, 422, "invalid_request"),
    ("bad query type", "GET", RECORDS + "?limit=many", {}, 422, "invalid_request"),
    (
        "malformed json",
        "POST",
        RECORDS,
        {"content": b'{"records": [}'},
        400,
        "invalid_json",
    ),
    ("not utf-8", "POST", RECORDS, {"content": b"\xff\xfe{}"}, 400, "invalid_json"),
    ("empty body", "POST", RECORDS, {"content": b""}, 400, "invalid_json"),
    ("not an object", "POST", RECORDS, {"json": [1, 2]}, 400, "invalid_batch"),
    ("no records key", "POST", RECORDS, {"json": {"rows": []}}, 400, "invalid_batch"),
    ("empty batch", "POST", RECORDS, {"json": {"records": []}}, 400, "invalid_batch"),
    ("501 records", "POST", RECORDS, {"json": _batch_of(501)}, 413, "too_many_records"),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_error_envelope(client, method, path, kwargs, status, code):
    answer = client.request(method, path, **kwargs)

    assert_envelope(answer, status, code)


def test_500_is_the_envelope_without_a_traceback(app, client, monkeypatch):
    # a route of this test only: it needs a permission rule like any other
    monkeypatch.setitem(ROUTE_RULES, ("GET", "/api/v1/boom"), Action.PUBLIC)

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    answer = client.get("/api/v1/boom")

    message = assert_envelope(answer, 500, "internal_error")
    assert "secret" not in message


def test_a_page_error_for_a_browser_is_html(client):
    answer = client.get("/records/none", headers={"accept": "text/html"})

    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "not_found" in answer.text


def test_500_records_are_accepted(client):
    answer = client.post(RECORDS, json=_batch_of(500))

    assert answer.status_code == 200
    assert {r["status"] for r in answer.json()["results"]} == {"stored"}


def test_body_over_4_mib_is_refused(client, settings):
    record = make_record(basis="x" * (settings.max_batch_bytes + 1))

    answer = client.post(RECORDS, json={"records": [record]})

    message = assert_envelope(answer, 413, "payload_too_large")
    assert str(settings.max_batch_bytes) in message


def test_body_over_4_mib_without_length_is_refused(client, settings):
    body = json.dumps({"records": [make_record(basis="x" * settings.max_batch_bytes)]})

    def chunks():
        yield body.encode()

    answer = client.post(RECORDS, content=chunks())

    assert_envelope(answer, 413, "payload_too_large")


def test_the_api_is_documented(client):
    spec = client.get("/openapi.json").json()
    page = client.get("/docs")

    assert {"/api/v1/records", "/api/v1/photos/{sha256}"} <= set(spec["paths"])
    assert (
        "records"
        in spec["paths"]["/api/v1/records"]["post"]["requestBody"]["content"][
            "application/json"
        ]["schema"]["properties"]
    )
    assert page.status_code == 200
    assert "POST /api/v1/records" in page.text
    assert "cdn" not in page.text.lower()
