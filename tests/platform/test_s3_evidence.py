"""Evidence backends: the file store and the S3 store against moto's server.

moto's standalone server (``moto_server``) is an S3 emulator; it runs here as a
real process on a free port of 127.0.0.1 and is spoken to over HTTP by boto3,
exactly as a deployment speaks to its store. It is not AWS S3 or MinIO.
"""

import base64
import hashlib
import logging
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from people import add_user, sign_in
from platform_factories import jpeg_bytes, sha256
from platform_server import live_server

from zhichao.errors import ConfigError
from zhichao.platform.app import create_app
from zhichao.platform.evidence import (
    EvidenceStore,
    EvidenceUnavailableError,
    NotJpegError,
    PhotoHashError,
    PhotoMissingError,
    PhotoTooLargeError,
    open_evidence_store,
)
from zhichao.platform.evidence_s3 import S3EvidenceStore, make_client
from zhichao.platform.migrations import run_migrations
from zhichao.platform.models import Photo
from zhichao.platform.settings import PlatformSettings
from zhichao.sim.demo import free_port

BASE = "/api/v1/photos/"
KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            if httpx.get(url + "/moto-api/", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not answer")


@pytest.fixture(scope="module")
def s3_url():
    """The address of a moto S3 server started for this module."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def bucket(s3_url):
    """A new, empty bucket on the moto server."""
    name = f"evidence-{uuid.uuid4().hex[:12]}"
    client = make_client(s3_url, "us-east-1", **KEYS)
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def raw(s3_url):
    """A plain boto3 client, to look at the bucket behind the store's back."""
    return make_client(s3_url, "us-east-1", **KEYS)


def s3_store(s3_url, bucket, prefix="", **kwargs) -> S3EvidenceStore:
    client = make_client(s3_url, "us-east-1", **KEYS)
    return S3EvidenceStore(client, bucket, prefix, endpoint_url=s3_url, **kwargs)


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        return EvidenceStore(tmp_path / "evidence")
    s3_url = request.getfixturevalue("s3_url")
    return s3_store(s3_url, request.getfixturevalue("bucket"), "county/140525")


def keys_in(raw, bucket) -> list[str]:
    answer = raw.list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in answer.get("Contents", []))


# --- the interface, on both backends -----------------------------------------


def test_put_has_read(store):
    data = jpeg_bytes(5000)

    name = store.put(data)

    assert name == sha256(data)
    assert store.has(name)
    assert store.read(name) == data
    assert not store.has(sha256(b"other"))


def test_put_twice_is_one_photo(store):
    data = jpeg_bytes()

    assert store.put(data) == store.put(data)
    assert store.read(sha256(data)) == data


def test_streamed_in_chunks(store):
    data = jpeg_bytes(10_000)
    store.put(data)

    chunks = list(store.open_chunks(sha256(data), chunk_size=4096))

    assert b"".join(chunks) == data
    assert len(chunks) >= 3
    assert max(len(chunk) for chunk in chunks) <= 4096


@pytest.mark.parametrize(
    ("data", "name", "error"),
    [
        (jpeg_bytes(), "0" * 64, PhotoHashError),
        (b"GIF89a" + bytes(100), None, NotJpegError),
        (b"", None, NotJpegError),
    ],
    ids=["hash mismatch", "not jpeg", "empty"],
)
def test_refused_upload_stores_nothing(store, data, name, error):
    name = name or sha256(data)
    upload = store.writer(name, 1024 * 1024)
    upload.write(data)

    with pytest.raises(error):
        upload.commit()
    upload.discard()
    upload.discard()

    assert not store.has(name)
    assert not store.has(sha256(data))


def test_too_large_while_writing(store):
    data = jpeg_bytes(3000)
    upload = store.writer(sha256(data), 2048)

    with pytest.raises(PhotoTooLargeError):
        upload.write(data[:1500])
        upload.write(data[1500:])
    upload.discard()

    assert not store.has(sha256(data))


def test_missing_photo(store):
    with pytest.raises(PhotoMissingError):
        store.open_chunks(sha256(b"never stored"))


def test_bad_name(store):
    with pytest.raises(ValueError):
        store.has("A" * 64)
    with pytest.raises(ValueError):
        store.writer("../etc/passwd", 1024)


# --- the S3 backend ------------------------------------------------------------


def test_s3_key_layout_under_prefix(s3_url, bucket, raw):
    store = s3_store(s3_url, bucket, "county/140525")
    data = jpeg_bytes()
    name = store.put(data)

    head = raw.head_object(
        Bucket=bucket, Key=f"county/140525/{name[:2]}/{name[2:4]}/{name}"
    )

    assert keys_in(raw, bucket) == [f"county/140525/{name[:2]}/{name[2:4]}/{name}"]
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(data)


def test_s3_second_upload_sends_nothing(s3_url, bucket):
    store = s3_store(s3_url, bucket)
    puts = []
    store.client.meta.events.register(
        "before-call.s3.PutObject", lambda **kwargs: puts.append(kwargs)
    )
    data = jpeg_bytes()

    store.put(data)
    store.put(data)

    assert len(puts) == 1
    assert store.read(sha256(data)) == data


def test_s3_upload_spooled_to_disk(s3_url, bucket):
    store = s3_store(s3_url, bucket, spool_bytes=1024)
    data = jpeg_bytes(200_000)
    upload = store.writer(sha256(data), len(data))
    for start in range(0, len(data), 7000):
        upload.write(data[start : start + 7000])

    assert upload._spool._rolled  # past spool_bytes the bytes are in a file
    upload.commit()

    assert store.read(sha256(data)) == data


def test_s3_upload_sends_content_md5(s3_url, bucket):
    store = s3_store(s3_url, bucket)
    sent = []
    store.client.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **kwargs: sent.append(request.headers.get("Content-MD5")),
    )
    data = jpeg_bytes()

    store.put(data)

    expected = base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
    assert [
        str(value, "ascii") if isinstance(value, bytes) else value for value in sent
    ] == [expected]


def test_s3_object_not_matching_its_name_is_logged(s3_url, bucket, raw, caplog):
    store = s3_store(s3_url, bucket)
    data, other = jpeg_bytes(), jpeg_bytes()
    raw.put_object(Bucket=bucket, Key=store.key_for(sha256(data)), Body=other)

    with caplog.at_level(logging.ERROR, "zhichao.platform.evidence_s3"):
        got = store.read(sha256(data))

    assert got == other
    assert "does not hash to its name" in caplog.text


def test_s3_check(s3_url, bucket):
    s3_store(s3_url, bucket).check()

    with pytest.raises(ConfigError, match="s3_bucket: no bucket 'nowhere-bucket'"):
        s3_store(s3_url, "nowhere-bucket").check()
    with pytest.raises(ConfigError, match="s3_endpoint_url"):
        s3_store(dead_url(), bucket).check()


def test_s3_unreachable_store(bucket):
    store = s3_store(dead_url(), bucket)
    data = jpeg_bytes()

    with pytest.raises(EvidenceUnavailableError):
        store.has(sha256(data))
    with pytest.raises(EvidenceUnavailableError):
        store.open_chunks(sha256(data))
    upload = store.writer(sha256(data), len(data))
    upload.write(data)
    with pytest.raises(EvidenceUnavailableError):
        upload.commit()


def test_open_evidence_store_from_settings(s3_url, bucket, tmp_path):
    settings = PlatformSettings(
        evidence_backend="s3",
        s3_endpoint_url=s3_url,
        s3_bucket=bucket,
        s3_region="us-east-1",
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        s3_prefix="p",
    )

    store = open_evidence_store(settings)
    file_store = open_evidence_store(PlatformSettings(evidence_dir=tmp_path / "ev"))

    assert isinstance(store, S3EvidenceStore)
    assert (store.bucket, store.prefix) == (bucket, "p/")
    assert isinstance(file_store, EvidenceStore)
    assert (tmp_path / "ev").is_dir()
    with pytest.raises(ConfigError, match="s3_bucket"):
        open_evidence_store(settings.model_copy(update={"s3_bucket": "absent-bucket"}))


# --- the photo API end to end on the S3 backend -------------------------------


@pytest.fixture
def s3_settings(db_url, s3_url, bucket):
    run_migrations(db_url)
    return PlatformSettings(
        database_url=db_url,
        evidence_backend="s3",
        s3_endpoint_url=s3_url,
        s3_bucket=bucket,
        s3_region="us-east-1",
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        s3_prefix="evidence/",
    )


@pytest.fixture
def s3_app(s3_settings):
    return create_app(s3_settings)


@pytest.fixture
def s3_client(s3_app):
    with TestClient(s3_app, raise_server_exceptions=False) as client:
        yield sign_in(client, add_user(s3_app.state.sessions, "root"))


def photo_count(app) -> int:
    with app.state.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Photo))


def test_api_put_head_get(s3_client, s3_app, raw, bucket):
    data = jpeg_bytes(100_000)
    name = sha256(data)

    assert s3_client.head(BASE + name).status_code == 404
    first = s3_client.put(BASE + name, content=data)
    second = s3_client.put(BASE + name, content=data)
    head = s3_client.head(BASE + name)
    got = s3_client.get(BASE + name)

    assert (first.status_code, second.status_code) == (201, 200)
    assert keys_in(raw, bucket) == [f"evidence/{name[:2]}/{name[2:4]}/{name}"]
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-length"] == str(len(data))
    assert "immutable" in got.headers["cache-control"]
    assert got.content == data
    assert photo_count(s3_app) == 1


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (jpeg_bytes(), "0" * 64, 400, "hash_mismatch"),
        (b"GIF89a" + bytes(100), None, 415, "unsupported_media_type"),
    ],
    ids=["hash mismatch", "not jpeg"],
)
def test_api_refused_leaves_bucket_empty(
    s3_client, s3_app, raw, bucket, data, name, status, code
):
    answer = s3_client.put(BASE + (name or sha256(data)), content=data)

    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code
    assert keys_in(raw, bucket) == []
    assert photo_count(s3_app) == 0


def test_api_too_big_while_streaming(s3_client, s3_settings, raw, bucket):
    data = jpeg_bytes(s3_settings.max_photo_bytes + 10)

    def chunks():
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    answer = s3_client.put(BASE + sha256(data), content=chunks())

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
    assert keys_in(raw, bucket) == []


def test_api_object_gone_from_bucket(s3_client, s3_app, raw, bucket):
    data = jpeg_bytes()
    s3_client.put(BASE + sha256(data), content=data)
    raw.delete_object(Bucket=bucket, Key=s3_app.state.evidence.key_for(sha256(data)))

    assert s3_client.head(BASE + sha256(data)).status_code == 404
    assert s3_client.get(BASE + sha256(data)).json()["error"]["code"] == "not_found"


def test_api_store_unreachable_is_503(s3_client, s3_app, bucket):
    data = jpeg_bytes()
    s3_client.put(BASE + sha256(data), content=data)
    s3_app.state.evidence = s3_store(dead_url(), bucket, "evidence/")

    other = jpeg_bytes()
    put = s3_client.put(BASE + sha256(other), content=other)
    head = s3_client.head(BASE + sha256(data))
    get = s3_client.get(BASE + sha256(data))

    assert put.status_code == 503
    assert put.json()["error"]["code"] == "evidence_store_unavailable"
    assert head.status_code == 503
    assert get.status_code == 503
    assert get.json()["error"]["code"] == "evidence_store_unavailable"
    assert photo_count(s3_app) == 1


def test_api_streams_over_http(s3_app):
    data = jpeg_bytes(1_000_000)
    with live_server(s3_app) as url, httpx.Client(base_url=url) as client:
        sign_in(client, add_user(s3_app.state.sessions, "root"))
        assert client.put(BASE + sha256(data), content=data).status_code == 201
        with client.stream("GET", BASE + sha256(data)) as answer:
            body = b"".join(answer.iter_bytes())
            status = answer.status_code

    assert status == 200
    assert body == data


def test_app_refuses_to_start_without_its_bucket(s3_settings):
    settings = s3_settings.model_copy(update={"s3_bucket": "missing-bucket"})

    with pytest.raises(ConfigError, match="s3_bucket"):
        create_app(settings)
