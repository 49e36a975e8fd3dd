"""The station's vehicle register: the lanes' lookups, what is kept in the
store, and the download from a real platform (uvicorn, SQLite) with its
signature, ETag, refusals and back-off."""

import asyncio
import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from zhichao.chain import Enrolment, StationKey
from zhichao.errors import ConfigError
from zhichao.platform.db import make_engine, make_sessionmaker, session_scope
from zhichao.platform.models import VehiclePair
from zhichao.platform.registry import enrol_lane
from zhichao.platform.services import register_station
from zhichao.platform.vehicles import VehicleData, save_vehicle
from zhichao.protocols.readings import PlateColor
from zhichao.sim.demo import PlatformThread, free_port
from zhichao.station.config import parse_settings
from zhichao.station.register import (
    ETAG_KEY,
    RegisterData,
    RegisterError,
    RegisterIndex,
    RegisterSync,
    VehicleRegister,
    parse_register,
    request_headers,
)
from zhichao.station.store import StationStore

STATION = "1405250001"
TRACTOR, TRAILER = "晋E12345", "鲁A1234挂"
INDEX = RegisterIndex(
    [
        ("晋E12345", "yellow", 6),
        ("晋E22222", "yellow", 3),
        ("晋E22222", "blue", 2),  # the same plate text, another vehicle
        ("晋E33333", "yellow", 4),
        ("晋E33333", "yellow_green", 4),
    ],
    [(TRACTOR, TRAILER), ("晋E44444", "晋E4444挂"), ("晋E44444", "晋E5555挂")],
)


@pytest.mark.parametrize(
    ("plate", "color", "axles"),
    [
        ("晋E12345", None, 6),
        ("晋E12345", "yellow", 6),
        ("晋E12345", "blue", 6),  # one vehicle of that text: its count
        ("晋E99999", "yellow", None),  # not registered
        ("晋E22222", "yellow", 3),  # the camera's colour picks the vehicle
        ("晋E22222", "blue", 2),
        ("晋E22222", None, None),  # no colour, and the counts disagree
        ("晋E22222", "green", None),
        ("晋E33333", None, 4),  # several colours that agree
        ("晋E33333", "white", 4),
    ],
)
def test_known_axles(plate, color, axles):
    assert INDEX.known_axles(plate, color) == axles


@pytest.mark.parametrize(
    ("tractor", "trailer", "known"),
    [
        (TRACTOR, TRAILER, True),
        ("晋E44444", "晋E5555挂", True),  # a tractor may pull several trailers
        ("晋E77777", TRAILER, False),  # the trailer is listed with another
        (TRACTOR, "晋E4444挂", False),  # the tractor is listed with others
        ("晋E77777", "晋E7777挂", None),  # neither in any pair: no evidence
    ],
)
def test_known_pairs(tractor, trailer, known):
    assert INDEX.known_pairs(tractor, trailer) is known


def test_an_empty_register_knows_nothing():
    empty = RegisterIndex()
    assert empty.known_axles("晋E12345") is None
    assert empty.known_pairs(TRACTOR, TRAILER) is None


@pytest.fixture
def store(tmp_path):
    kept = StationStore(tmp_path / "station.db")
    yield kept
    kept.close()


def _data(vehicles=(("晋E12345", "yellow", 6),), pairs=((TRACTOR, TRAILER),)):
    return RegisterData(tuple(vehicles), tuple(pairs), '"e1"', "2026-06-17T22:00:00Z")


def test_a_lane_asks_with_the_colour_its_camera_read(store):
    register = VehicleRegister(store)
    register.replace(_data([("晋E22222", "yellow", 3), ("晋E22222", "blue", 2)]))
    lane, other = register.for_lane(), register.for_lane()

    assert lane.known_axles("晋E22222") is None
    lane.note_read("晋E22222", PlateColor.BLUE)
    assert lane.known_axles("晋E22222") == 2
    lane.note_read("晋E22222", PlateColor.UNKNOWN)  # an unknown colour says nothing
    assert lane.known_axles("晋E22222") == 2
    lane.note_read("晋E22222", PlateColor.YELLOW)
    assert lane.known_axles("晋E22222") == 3
    assert other.known_axles("晋E22222") is None  # each lane its own reads


def test_the_register_survives_reopening_the_store(tmp_path):
    path = tmp_path / "station.db"
    first = StationStore(path)
    VehicleRegister(first).replace(_data())
    first.close()

    again = StationStore(path)
    register = VehicleRegister(again)
    assert register.index.known_axles("晋E12345") == 6
    assert register.index.known_pairs(TRACTOR, TRAILER) is True
    assert register.etag == '"e1"'
    again.close()


def test_a_new_register_replaces_the_old_one_whole(store):
    register = VehicleRegister(store)
    register.replace(_data())
    register.replace(
        _data(
            [("晋E22222", "yellow", 3)],
            [],
        )
    )

    reopened = VehicleRegister(store)
    assert reopened.index.known_axles("晋E12345") is None
    assert reopened.index.known_axles("晋E22222") == 3
    assert reopened.index.known_pairs(TRACTOR, TRAILER) is None


def _body(**fields) -> bytes:
    body = {"station_code": STATION, "vehicles": [], "pairs": []} | fields
    return json.dumps(body, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<html>", "not JSON"),
        (b"[]", "not a JSON object"),
        (_body(station_code="1405810001"), "for station '1405810001'"),
        (_body(vehicles=None), "'vehicles' and 'pairs'"),
    ],
)
def test_an_answer_that_is_not_a_register_is_refused(body, words):
    with pytest.raises(RegisterError, match=words):
        parse_register(body, STATION)


def test_unusable_entries_are_left_out_and_the_rest_kept():
    data = parse_register(
        _body(
            vehicles=[
                {"plate": "晋e12345", "plate_color": "Yellow", "axles": 6},
                {"plate": "晋E22222", "plate_color": "yellow", "axles": "3"},
                {"plate": "晋E33333", "plate_color": "yellow", "axles": 0},
                {"plate": "", "plate_color": "yellow", "axles": 2},
                {"plate": "晋E44444", "axles": 2},
                "晋E55555",
            ],
            pairs=[
                {"tractor_plate": TRACTOR, "trailer_plate": TRAILER},
                {"tractor_plate": TRACTOR},
            ],
        ),
        STATION,
    )
    assert data.vehicles == (("晋E12345", "yellow", 6), ("晋E44444", "unknown", 2))
    assert data.pairs == ((TRACTOR, TRAILER),)


def test_the_refresh_setting_is_validated_and_documented():
    good = {
        "station_code": STATION,
        "platform_url": "http://127.0.0.1:8000",
        "lanes": [{"lane_no": "01", "scale": {"port": "/dev/pts/9"}}],
    }
    assert parse_settings(good).register_refresh_s == 600
    assert parse_settings(good | {"register_refresh_s": 30}).register_refresh_s == 30
    for bad in (0, -5, "often"):
        with pytest.raises(ConfigError, match="register_refresh_s"):
            parse_settings(good | {"register_refresh_s": bad})
    docs = Path(__file__).parents[2] / "docs"
    assert "`register_refresh_s`" in (docs / "station.md").read_text()
    assert "register_refresh_s" in (docs / "station.example.toml").read_text()


def test_the_request_is_signed_as_the_protocol_says():
    key = StationKey.generate()
    when = datetime(2026, 6, 17, 22, 6, 30, 499000, tzinfo=UTC)

    headers = request_headers(key, STATION, "01", when)

    assert headers["X-Zhichao-Lane"] == "01"
    assert headers["X-Zhichao-Time"] == "2026-06-17T22:06:30.499Z"
    signed = b"GET\n/api/v1/stations/1405250001/register\n2026-06-17T22:06:30.499Z"
    signature = base64.b64decode(headers["X-Zhichao-Signature"], validate=True)
    assert len(headers["X-Zhichao-Signature"]) == 88
    key.signing_key.verify_key.verify(signed, signature)  # raises if not


# -- against a real platform ---------------------------------------------------


class Platform:
    """A platform on SQLite under uvicorn, with a station and its lane 01."""

    def __init__(self, tmp_path) -> None:
        self.db_url = f"sqlite:///{tmp_path / 'platform.db'}"
        self.thread = PlatformThread(
            self.db_url, tmp_path / "evidence", "127.0.0.1", free_port()
        )
        self.key = StationKey.generate()
        self.engine = make_engine(self.db_url)
        with self.session() as session:
            register_station(
                session, STATION, "出场称重站", "甲煤矿", "coal_mine", "140525"
            )
            enrol_lane(session, Enrolment(STATION, "01", self.key.public_key))

    def session(self):
        return session_scope(make_sessionmaker(self.engine))

    def add_vehicle(self, plate, axles, color=PlateColor.YELLOW) -> None:
        with self.session() as session:
            save_vehicle(
                session, VehicleData(plate, color, axles, region_code="140525")
            )

    def add_pair(self, tractor, trailer) -> None:
        with self.session() as session:
            session.add(VehiclePair(tractor_plate=tractor, trailer_plate=trailer))


@pytest.fixture
async def platform(tmp_path):
    made = Platform(tmp_path)
    made.add_vehicle("晋E12345", 6)
    made.add_pair(TRACTOR, TRAILER)
    await made.thread.start()
    yield made
    await made.thread.stop()
    made.engine.dispose()


def _sync(register, url, key, **options) -> RegisterSync:
    options = {"backoff_initial_s": 0.05, "backoff_max_s": 0.2} | options
    return RegisterSync(register, url, STATION, "01", key, **options)


async def test_the_register_is_fetched_kept_and_then_not_modified(platform, store):
    register = VehicleRegister(store)
    sync = _sync(register, platform.thread.url, platform.key)

    async with httpx.AsyncClient() as client:
        assert await sync.fetch_once(client) is True
        etag = store.get_meta(ETAG_KEY)
        assert etag and etag.startswith('"')
        assert register.index.known_axles("晋E12345") == 6
        assert register.index.known_pairs(TRACTOR, TRAILER) is True

        assert await sync.fetch_once(client) is False  # 304: nothing changed
        assert sync.stats == {"updated": 1, "not_modified": 1, "failures": 0}

        platform.add_vehicle("晋E22222", 3)
        assert await sync.fetch_once(client) is True
    assert register.index.known_axles("晋E22222") == 3
    assert store.get_meta(ETAG_KEY) != etag


async def test_a_refusal_keeps_the_last_register(platform, store):
    register = VehicleRegister(store)
    register.replace(_data([("晋E77777", "yellow", 2)], []))
    sync = _sync(register, platform.thread.url, StationKey.generate())

    async with httpx.AsyncClient() as client:
        with pytest.raises(RegisterError) as err:
            await sync.fetch_once(client)
    assert err.value.status == 401
    assert "signature does not verify" in str(err.value)
    assert register.index.known_axles("晋E77777") == 2


async def _until(predicate, what: str, timeout_s: float = 20.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_the_sync_refreshes_until_it_is_stopped(platform, store):
    register = VehicleRegister(store)
    sync = _sync(register, platform.thread.url, platform.key, refresh_s=0.2)
    task = asyncio.create_task(sync.run())
    try:
        await _until(lambda: register.index.known_axles("晋E12345") == 6, "register")
        platform.add_vehicle("晋E22222", 3)
        await _until(lambda: register.index.known_axles("晋E22222") == 3, "refresh")
        await _until(lambda: sync.stats["not_modified"] >= 1, "a 304")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert sync.stats["failures"] == 0


async def test_an_unreachable_platform_is_retried_and_the_lanes_keep_theirs(
    store, caplog
):
    register = VehicleRegister(store)
    register.replace(_data())
    sync = _sync(register, f"http://127.0.0.1:{free_port()}", StationKey.generate())
    task = asyncio.create_task(sync.run())
    try:
        await _until(lambda: sync.stats["failures"] >= 3, "retries")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert register.index.known_axles("晋E12345") == 6
    assert register.etag == '"e1"'
    warnings = [r for r in caplog.records if "not refreshed" in r.getMessage()]
    assert len(warnings) == 1  # logged once when the outage starts
