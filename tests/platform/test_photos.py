"""Photo upload, checks and download; photos referenced before they arrive."""

import pytest
import sqlalchemy as sa
from platform_factories import jpeg_bytes, make_record, photo_ref, sha256

from zhichao.platform.models import Photo

BASE = "/api/v1/photos/"


def put(client, data, name=None, **headers):
    return client.put(BASE + (name or sha256(data)), content=data, headers=headers)


def test_upload_then_again(client, app, sessions):
    data = jpeg_bytes()

    first = put(client, data, **{"content-type": "image/jpeg"})
    second = put(client, data)

    assert (first.status_code, second.status_code) == (201, 200)
    path = app.state.evidence.path_for(sha256(data))
    assert path.read_bytes() == data
    assert path.parent.parent.name == sha256(data)[:2]
    with sessions() as session:
        photo = session.get(Photo, sha256(data))
    assert (photo.size, photo.content_type) == (len(data), "image/jpeg")
    assert list(app.state.evidence.incoming.iterdir()) == []


def test_head_and_get(client):
    data = jpeg_bytes(5000)
    name = sha256(data)

    assert client.head(BASE + name).status_code == 404
    put(client, data)
    head = client.head(BASE + name)
    got = client.get(BASE + name)

    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.content == data


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (jpeg_bytes(), "0" * 64, 400, "hash_mismatch"),
        (b"GIF89a" + bytes(100), None, 415, "unsupported_media_type"),
        (b"", None, 415, "unsupported_media_type"),
        (jpeg_bytes(), "NOT-A-HASH", 400, "invalid_sha256"),
        (jpeg_bytes(), "A" * 64, 400, "invalid_sha256"),
    ],
    ids=["hash mismatch", "not jpeg", "empty", "bad name", "upper case"],
)
def test_refused(client, app, sessions, data, name, status, code):
    answer = put(client, data, name)

    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0
    incoming = app.state.evidence.incoming
    assert not incoming.exists() or list(incoming.iterdir()) == []


def test_too_big_by_declared_length(client, settings):
    data = jpeg_bytes(settings.max_photo_bytes + 1)

    answer = put(client, data)

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
    assert str(settings.max_photo_bytes) in answer.json()["error"]["message"]


def test_too_big_while_streaming(client, settings, app):
    data = jpeg_bytes(settings.max_photo_bytes + 10)

    def chunks():
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    answer = client.put(BASE + sha256(data), content=chunks())

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
    assert list(app.state.evidence.incoming.iterdir()) == []


def test_photo_referenced_before_it_arrives(client):
    plate, scene = jpeg_bytes(), jpeg_bytes()
    record = make_record(photos=[photo_ref(plate), photo_ref(scene, "scene", "scene")])
    client.post("/api/v1/records", json={"records": [record]})
    page_url = f"/records/{record['record_id']}"

    before = client.get(page_url).text
    put(client, plate)
    after = client.get(page_url).text

    assert before.count("待上传") == 2
    assert f"/api/v1/photos/{sha256(plate)}" not in before
    assert after.count("待上传") == 1
    assert f'<img src="/api/v1/photos/{sha256(plate)}"' in after


def test_photo_arriving_first_shows_at_once(client):
    data = jpeg_bytes()
    put(client, data)
    record = make_record(photos=[photo_ref(data)])

    client.post("/api/v1/records", json={"records": [record]})
    page = client.get(f"/records/{record['record_id']}").text

    assert "待上传" not in page
    assert f'<img src="/api/v1/photos/{sha256(data)}"' in page
