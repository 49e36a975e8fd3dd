"""The vehicle register endpoint through a real uvicorn server, on SQLite and
PostgreSQL: the lane's signature, the clock, the ETag, the city filter."""

import base64
from datetime import timedelta

import httpx
import pytest

from zhichao.chain import Enrolment, StationKey
from zhichao.platform import registry, services
from zhichao.platform.models import VehiclePair
from zhichao.platform.vehicles import VehicleData, save_vehicle
from zhichao.protocols.readings import PlateColor
from zhichao.timeutil import iso_utc, parse_instant, utcnow

ZEZHOU = "1405250001"  # 泽州县, city of Jincheng (1405)
GAOPING = "1405810001"  # 高平市, the same city
TAIYUAN = "1401050001"  # 太原市小店区, another city
NO_UNIT = "1405259999"  # enrolled, but no unit registered

VEHICLES = [
    # plate, colour, axles, region
    ("晋E12345", PlateColor.YELLOW, 6, "140525"),
    ("晋E12345", PlateColor.BLUE, 2, "140581"),
    ("晋A11111", PlateColor.YELLOW, 5, "140105"),
    ("晋E22222", PlateColor.YELLOW, 3, None),
    ("晋E33333", PlateColor.YELLOW, None, "140525"),  # no axle count: left out
]
PAIRS = [
    ("晋E12345", "鲁A1234挂", "140525"),
    ("晋A11111", "晋A1111挂", "140105"),
    ("晋E22222", "晋E2222挂", None),
]
JINCHENG_VEHICLES = [
    {"plate": "晋E12345", "plate_color": "blue", "axles": 2},
    {"plate": "晋E12345", "plate_color": "yellow", "axles": 6},
    {"plate": "晋E22222", "plate_color": "yellow", "axles": 3},
]
JINCHENG_PAIRS = [
    {"tractor_plate": "晋E12345", "trailer_plate": "鲁A1234挂"},
    {"tractor_plate": "晋E22222", "trailer_plate": "晋E2222挂"},
]


def _path(station_code: str) -> str:
    return f"/api/v1/stations/{station_code}/register"


def _sign(key: StationKey, path: str, sent_at: str) -> str:
    """The signature as docs/protocol.md describes it, made by hand here."""
    message = f"GET\n{path}\n{sent_at}".encode()
    return base64.b64encode(key.signing_key.sign(message).signature).decode()


def _headers(key, station_code, lane="01", sent_at=None, path=None) -> dict:
    sent_at = sent_at or iso_utc(utcnow())
    return {
        "X-Zhichao-Lane": lane,
        "X-Zhichao-Time": sent_at,
        "X-Zhichao-Signature": _sign(key, path or _path(station_code), sent_at),
    }


@pytest.fixture
def keys(sessions):
    """A registered, enrolled lane 01 per station; the register's rows."""
    made = {}
    with sessions() as session, session.begin():
        for code, county in ((ZEZHOU, "140525"), (GAOPING, "140581")):
            services.register_station(
                session, code, "出场称重站", f"单位{code}", "coal_mine", county
            )
        services.register_station(
            session, TAIYUAN, "出场称重站", "太原单位", "coal_mine", "140105"
        )
        for code in (ZEZHOU, GAOPING, TAIYUAN, NO_UNIT):
            made[code] = StationKey.generate()
            registry.enrol_lane(session, Enrolment(code, "01", made[code].public_key))
        for plate, color, axles, region in VEHICLES:
            save_vehicle(
                session, VehicleData(plate, color, axles=axles, region_code=region)
            )
        for tractor, trailer, region in PAIRS:
            session.add(
                VehiclePair(
                    tractor_plate=tractor,
                    trailer_plate=trailer,
                    region_code=region,
                    updated_at=utcnow(),
                )
            )
    return made


def _get(server_url, station_code, headers):
    return httpx.get(server_url + _path(station_code), headers=headers, timeout=10)


def test_a_signed_request_gets_the_city_s_register(server_url, keys):
    answer = _get(server_url, ZEZHOU, _headers(keys[ZEZHOU], ZEZHOU))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["station_code"] == ZEZHOU
    assert body["region_code"] == "140500"
    assert body["vehicles"] == JINCHENG_VEHICLES
    assert body["pairs"] == JINCHENG_PAIRS
    assert abs(parse_instant(body["generated_at"]) - utcnow()) < timedelta(hours=1)
    assert answer.headers["etag"].startswith('"')


def test_another_county_of_the_city_gets_the_same_register(server_url, keys):
    zezhou = _get(server_url, ZEZHOU, _headers(keys[ZEZHOU], ZEZHOU))
    gaoping = _get(server_url, GAOPING, _headers(keys[GAOPING], GAOPING))

    assert gaoping.json()["vehicles"] == JINCHENG_VEHICLES
    # the ETag covers the station code too: each station its own
    assert gaoping.headers["etag"] != zezhou.headers["etag"]


def test_another_city_gets_its_own_vehicles_and_those_with_no_region(server_url, keys):
    body = _get(server_url, TAIYUAN, _headers(keys[TAIYUAN], TAIYUAN)).json()

    assert body["region_code"] == "140100"
    assert [(v["plate"], v["axles"]) for v in body["vehicles"]] == [
        ("晋A11111", 5),
        ("晋E22222", 3),
    ]
    assert [p["trailer_plate"] for p in body["pairs"]] == ["晋A1111挂", "晋E2222挂"]


def test_a_station_without_a_unit_gets_an_empty_register(server_url, keys):
    answer = _get(server_url, NO_UNIT, _headers(keys[NO_UNIT], NO_UNIT))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["region_code"] is None
    assert body["vehicles"] == [] and body["pairs"] == []


def test_the_same_etag_is_answered_304_until_the_register_changes(
    server_url, keys, sessions
):
    first = _get(server_url, ZEZHOU, _headers(keys[ZEZHOU], ZEZHOU))
    etag = first.headers["etag"]

    again = _get(
        server_url, ZEZHOU, _headers(keys[ZEZHOU], ZEZHOU) | {"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    with sessions() as session, session.begin():
        save_vehicle(
            session, VehicleData("晋E44444", PlateColor.YELLOW, 4, region_code="140525")
        )
    changed = _get(
        server_url, ZEZHOU, _headers(keys[ZEZHOU], ZEZHOU) | {"If-None-Match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert {"plate": "晋E44444", "plate_color": "yellow", "axles": 4} in changed.json()[
        "vehicles"
    ]


def _refused(answer, code: str) -> str:
    assert answer.status_code == 401, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    return error["message"]


def test_a_signature_by_another_key_is_refused(server_url, keys):
    message = _refused(
        _get(server_url, ZEZHOU, _headers(StationKey.generate(), ZEZHOU)),
        "bad_signature",
    )
    assert f"lane {ZEZHOU}-01" in message


def test_a_signature_of_another_station_s_path_is_refused(server_url, keys):
    headers = _headers(keys[ZEZHOU], ZEZHOU, path=_path(GAOPING))
    _refused(_get(server_url, ZEZHOU, headers), "bad_signature")


def test_a_signature_over_another_time_is_refused(server_url, keys):
    headers = _headers(keys[ZEZHOU], ZEZHOU)
    headers["X-Zhichao-Time"] = iso_utc(utcnow() - timedelta(seconds=5))
    _refused(_get(server_url, ZEZHOU, headers), "bad_signature")


def test_a_signature_that_is_not_base64_is_refused(server_url, keys):
    headers = _headers(keys[ZEZHOU], ZEZHOU) | {"X-Zhichao-Signature": "not base64!"}
    _refused(_get(server_url, ZEZHOU, headers), "bad_signature")


def test_an_unknown_lane_is_refused(server_url, keys):
    message = _refused(
        _get(server_url, ZEZHOU, _headers(keys[ZEZHOU], ZEZHOU, lane="02")),
        "lane_not_enrolled",
    )
    assert "not enrolled" in message


def test_a_replaced_key_is_refused(server_url, keys, sessions):
    with sessions() as session, session.begin():
        new = StationKey.generate()
        registry.enrol_lane(
            session, Enrolment(ZEZHOU, "01", new.public_key), replace=True
        )

    _refused(_get(server_url, ZEZHOU, _headers(keys[ZEZHOU], ZEZHOU)), "bad_signature")
    assert _get(server_url, ZEZHOU, _headers(new, ZEZHOU)).status_code == 200


@pytest.mark.parametrize("off_s", [-301, 301, -3600, 86400])
def test_a_time_far_off_the_platform_s_clock_is_refused(server_url, keys, off_s):
    sent_at = iso_utc(utcnow() + timedelta(seconds=off_s))
    message = _refused(
        _get(server_url, ZEZHOU, _headers(keys[ZEZHOU], ZEZHOU, sent_at=sent_at)),
        "clock_off",
    )
    assert "the station's clock is off" in message


@pytest.mark.parametrize("off_s", [-120, 120])
def test_a_time_within_the_limit_is_taken(server_url, keys, off_s):
    sent_at = iso_utc(utcnow() + timedelta(seconds=off_s))
    answer = _get(server_url, ZEZHOU, _headers(keys[ZEZHOU], ZEZHOU, sent_at=sent_at))
    assert answer.status_code == 200, answer.text


def test_a_time_without_an_offset_is_refused(server_url, keys):
    sent_at = utcnow().replace(tzinfo=None).isoformat()
    headers = _headers(keys[ZEZHOU], ZEZHOU, sent_at=sent_at)
    assert "RFC 3339" in _refused(_get(server_url, ZEZHOU, headers), "bad_time")


@pytest.mark.parametrize(
    "header", ["X-Zhichao-Lane", "X-Zhichao-Time", "X-Zhichao-Signature"]
)
def test_a_missing_header_is_named(server_url, keys, header):
    headers = _headers(keys[ZEZHOU], ZEZHOU)
    del headers[header]
    assert header in _refused(_get(server_url, ZEZHOU, headers), "unsigned_request")


def test_a_bad_station_code_is_a_bad_request(server_url, keys):
    answer = _get(server_url, "14052", _headers(keys[ZEZHOU], "14052"))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"
