"""The permission matrix: every route of the app × every role × own and other
jurisdiction, with zero leaks of another county's rows, counts or photos.

The route list comes from the app itself: a route with no rule in
``ROUTE_RULES`` or no case here fails ``test_every_route_has_a_rule_and_a_case``.
"""

from datetime import timedelta
from urllib.parse import unquote_plus

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from people import add_user, sign_in
from platform_factories import iso, jpeg_bytes, make_event, make_record, photo_ref
from test_user_permissions import CASES as USER_CASES
from test_vehicle_permissions import CASES as VEHICLE_CASES

from zhichao.chain import Enrolment, StationKey
from zhichao.platform import registry, services
from zhichao.platform.auth import PERMISSIONS, ROUTE_RULES, Action, Role
from zhichao.platform.models import Alarm, ApiToken, LaneDevice, Station, User
from zhichao.timeutil import utcnow

OWN, SIBLING, OTHER = "1405250001", "1405250002", "1405810001"
UNITS = {OWN: "甲煤业有限公司", SIBLING: "乙砂石厂", OTHER: "丙洗煤厂"}
COUNTIES = {OWN: "140525", SIBLING: "140525", OTHER: "140581"}
PLATES = {OWN: "晋E11111", SIBLING: "晋E22222", OTHER: "晋E33333"}
HOME = {
    Role.ADMIN: ("140525", None),
    Role.OFFICER: ("140525", None),
    Role.ENFORCEMENT: ("140525", None),
    Role.SUPERVISOR: ("140525", None),
    Role.OPERATOR: ("140525", OWN),
}


def _seed(app) -> dict[str, dict[str, str]]:
    """A record with a photo, an event, an alarm, a key and a heartbeat per
    station; the strings that identify each station's data."""
    markers: dict[str, dict[str, str]] = {}
    now = utcnow()
    with TestClient(app) as station:  # stations upload without any account
        for n, code in enumerate((OWN, SIBLING, OTHER)):
            photo = jpeg_bytes(3000 + n)
            ref = photo_ref(photo)
            assert station.put(f"/api/v1/photos/{ref['sha256']}", content=photo)
            record = make_record(
                seq=1,
                station=code,
                detected=now - timedelta(minutes=5 + n),
                front_plate=PLATES[code],
                photos=[ref],
            )
            event = make_event(seq=2, station=code)
            answer = station.post("/api/v1/records", json={"records": [record, event]})
            assert answer.status_code == 200, answer.text
            beat = {
                "station_code": code,
                "sent_at": iso(now),
                "software_version": f"9.9.{n}",
                "clock": iso(now),
                "queue": {"records": 0, "photos": 0},
                "disk_free_bytes": 10**9,
                "lanes": [
                    {
                        "lane_no": "01",
                        "devices": [
                            {
                                "name": "scale",
                                "kind": "xk3190",
                                "state": "fault",
                                "detail": f"scale detail {n}",
                            }
                        ],
                    }
                ],
            }
            assert station.post("/api/v1/heartbeats", json=beat).status_code == 200
            key = StationKey.generate()
            with app.state.sessions() as session, session.begin():
                services.register_station(
                    session, code, f"站{code}", UNITS[code], "coal_mine", COUNTIES[code]
                )
                done = registry.enrol_lane(
                    session, Enrolment(code, "01", key.public_key)
                )
                session.add(
                    Alarm(
                        kind="chain_gap",
                        station_code=code,
                        lane_no="01",
                        seq=1,
                        record_id=record["record_id"],
                        message=f"gap at {code}",
                        detail={},
                        raised_at=now,
                    )
                )
            markers[code] = {
                "code": code,
                "record": record["record_id"],
                "event": event["record_id"],
                "photo": ref["sha256"],
                "plate": PLATES[code],
                "unit": UNITS[code],
                "key": done.key.fingerprint,
                "software": f"9.9.{n}",
                "device": f"scale detail {n}",
                "enrolment": Enrolment(code, "01", key.public_key).code,
            }
    return markers


@pytest.fixture
def world(app):
    markers = _seed(app)
    users = {}
    for role, (region, unit) in HOME.items():
        users[role] = add_user(
            app.state.sessions, f"u_{role.value}", role, region, unit
        )
    add_user(app.state.sessions, "stranger", Role.ADMIN, "140581")
    return markers


def _all_today(app) -> int:
    """Passes today on the whole platform, unscoped: 3, or 0 once the Beijing
    day the records were made in has ended (the counts follow the clock)."""
    with app.state.sessions() as session:
        return services.today_counts(session).passes


def _token_of(sessions, username):
    """The newest token of ``username`` (0 when none)."""
    with sessions() as session:
        found = session.scalar(
            sa.select(ApiToken.id)
            .join(User, User.id == ApiToken.user_id)
            .where(User.username == username)
            .order_by(ApiToken.id.desc())
        )
    return found or 0


# each case: (method, path) → call(client, markers of the target station)
def _list(path):
    return lambda client, target: client.get(path, follow_redirects=False)


def _enrol(client, target):
    return client.post(
        "/enrol",
        data={
            "code": target["enrolment"],
            "action": "preview",
            "csrf_token": client.csrf,
        },
        follow_redirects=False,
    )


def _create_token(client, target):
    return client.post(
        "/tokens",
        data={
            "name": "matrix",
            "scopes": ["records:read"],
            "days": "1",
            "csrf_token": client.csrf,
        },
        follow_redirects=False,
    )


def _revoke(client, target):
    return client.post(
        f"/tokens/{target['token_id']}/revoke",
        data={"csrf_token": client.csrf},
        follow_redirects=False,
    )


def _device_id(client, target) -> int:
    with client.app.state.sessions() as session:
        return session.scalar(
            sa.select(LaneDevice.id)
            .join(Station, Station.id == LaneDevice.station_id)
            .where(Station.station_code == target["code"])
        )


def _device_form(client, target):
    return client.get(
        f"/stations/{target['code']}/devices/{_device_id(client, target)}",
        follow_redirects=False,
    )


def _device_save(client, target):
    return client.post(
        f"/stations/{target['code']}/devices/{_device_id(client, target)}",
        data={"make": "matrix", "csrf_token": client.csrf},
        follow_redirects=False,
    )


def _alarm_acknowledge(client, target):
    with client.app.state.sessions() as session:
        alarm_id = session.scalar(
            sa.select(Alarm.id).where(Alarm.station_code == target["code"])
        )
    return client.post(
        f"/alarms/{alarm_id}/acknowledge",
        data={"csrf_token": client.csrf},
        follow_redirects=False,
    )


DEVICES = "/stations/{station_code}/devices"
DEVICE = DEVICES + "/{device_id}"
ALARM_HANDLING = ("POST", "/alarms/{alarm_id}/{action}")
LOGOUT = ("POST", "/logout")
CASES = {
    ("GET", "/api/v1/records"): _list("/api/v1/records"),
    ("GET", "/api/v1/photos/{sha256}"): lambda c, t: c.get(
        f"/api/v1/photos/{t['photo']}", follow_redirects=False
    ),
    ("GET", "/"): _list("/"),
    ("GET", "/records/{record_id}"): lambda c, t: c.get(
        f"/records/{t['record']}", follow_redirects=False
    ),
    ("GET", "/alarms"): _list("/alarms"),
    ("GET", "/api/v1/statistics"): _list("/api/v1/statistics"),
    ("GET", "/statistics"): _list("/statistics"),
    ALARM_HANDLING: _alarm_acknowledge,
    ("GET", "/stations"): _list("/stations"),
    ("GET", DEVICES): lambda c, t: c.get(
        f"/stations/{t['code']}/devices", follow_redirects=False
    ),
    ("GET", DEVICE): _device_form,
    ("POST", DEVICE): _device_save,
    ("GET", "/enrol"): _list("/enrol"),
    ("POST", "/enrol"): _enrol,
    ("GET", "/audit"): _list("/audit"),
    ("GET", "/tokens"): _list("/tokens"),
    ("POST", "/tokens"): _create_token,
    ("POST", "/tokens/{token_id}/revoke"): _revoke,
    ("GET", "/login"): _list("/login"),
    ("POST", "/login"): lambda c, t: c.post(
        "/login", data={"username": "nobody", "password": "x"}, follow_redirects=False
    ),
    ("GET", "/docs"): _list("/docs"),
    ("GET", "/units"): _list("/units"),
    # the published list (公示名单) names every published unit on purpose
    ("GET", "/public/units"): _list("/public/units"),
    ("GET", "/openapi.json"): _list("/openapi.json"),
    ("POST", "/logout"): lambda c, t: c.post(
        "/logout", data={"csrf_token": c.csrf}, follow_redirects=False
    ),
}
# station uploads: no person involved; _seed uses each of them without an account
STATION_ROUTES = {key for key, action in ROUTE_RULES.items() if action == "station"}
# the event page shares the record route; checked as well
EXTRA_READS = [lambda c, t: c.get(f"/records/{t['event']}")]


def app_routes(app):
    """(method, path) of every route, through included routers at any depth."""

    def walk(routes, prefix):
        for route in routes:
            if isinstance(route, APIRoute):
                for method in route.methods:
                    yield method, prefix + route.path
            elif hasattr(route, "original_router"):
                inner = prefix + route.include_context.prefix
                yield from walk(route.original_router.routes, inner)
            elif getattr(route, "path", None) == "/openapi.json":
                yield "GET", "/openapi.json"

    return set(walk(app.routes, ""))


def test_every_route_has_a_rule_and_a_case(app):
    routes = set(app_routes(app))
    assert routes, "no routes found"
    assert routes - set(ROUTE_RULES) == set(), "routes without a permission rule"
    # the account and vehicle routes have matrices of their own
    elsewhere = set(USER_CASES) | set(VEHICLE_CASES)
    missing = routes - set(CASES) - STATION_ROUTES - elsewhere
    assert missing == set(), "routes the matrix does not exercise"
    assert set(ROUTE_RULES) - routes == set(), "rules for routes that do not exist"


def _visible_and_hidden(role):
    if role == Role.OPERATOR:
        return [OWN], [SIBLING, OTHER]
    return [OWN, SIBLING], [OTHER]


def _assert_no_leak(answer, hidden_markers, where):
    """No marker of hidden data in the answer, except what the request itself
    named (a 404 may repeat the identifier it was asked for)."""
    body = answer.content.decode("utf-8", "replace")
    request = answer.request
    sent = unquote_plus(str(request.url) + request.content.decode("utf-8", "replace"))
    for marker in hidden_markers:
        if marker in sent:
            continue
        assert marker not in body, f"{where}: leaks {marker!r}"


def _hidden_markers(world, hidden):
    return [
        value
        for code in hidden
        for name, value in world[code].items()
        if name != "enrolment"
    ]


@pytest.mark.parametrize("role", list(Role))
def test_matrix(app, world, role):
    visible, hidden = _visible_and_hidden(role)
    hidden_markers = _hidden_markers(world, hidden)
    allowed = PERMISSIONS[role]
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, f"u_{role.value}")
        # a token of this user and one of another's, for the revoke route
        with TestClient(app) as other_client:
            sign_in(other_client, "stranger")
            _create_token(other_client, None)
        _create_token(client, None)
        targets = {
            "own": world[visible[0]]
            | {"token_id": _token_of(app.state.sessions, f"u_{role.value}")},
            "other": world[hidden[0]]
            | {"token_id": _token_of(app.state.sessions, "stranger")},
        }
        last_logout = sorted(CASES.items(), key=lambda kv: kv[0] == LOGOUT)
        for key, call in last_logout:
            action = ROUTE_RULES[key]
            for side, target in targets.items():
                answer = call(client, target)
                where = f"{role.value} {key} {side}"
                if action in (Action.PUBLIC, Action.SIGNED_IN):
                    assert answer.status_code < 500, where
                    if key == LOGOUT:
                        sign_in(client, f"u_{role.value}")
                    if key != ("GET", "/public/units"):
                        _assert_no_leak(answer, hidden_markers, where)
                    continue
                if action not in allowed:
                    assert answer.status_code == 403, f"{where}: {answer.status_code}"
                    _assert_no_leak(answer, hidden_markers, where)
                    continue
                if side == "other" and key in {
                    ("GET", "/api/v1/photos/{sha256}"),
                    ("GET", "/records/{record_id}"),
                    ("GET", DEVICES),
                    ("GET", DEVICE),
                    ("POST", DEVICE),
                    ALARM_HANDLING,
                }:
                    assert answer.status_code == 404, where
                elif side == "other" and key == ("POST", "/enrol"):
                    assert answer.status_code == 403, where
                elif side == "other" and key == ("POST", "/tokens/{token_id}/revoke"):
                    assert answer.status_code == 404, where
                else:
                    assert answer.status_code in (200, 303), f"{where}: {answer.text}"
                _assert_no_leak(answer, hidden_markers, where)
            if key == ("GET", "/api/v1/records") and action in allowed:
                body = client.get("/api/v1/records").json()
                assert {r["station_code"] for r in body["records"]} == set(visible)
                assert body["today"]["passes"] == len(visible) * _all_today(app) // 3
                assert body["alarms"] == len(visible)
            if key == ("GET", "/api/v1/statistics") and action in allowed:
                body = client.get("/api/v1/statistics").json()
                assert {s["station_code"] for s in body["stations"]} == set(visible)
        if Action.VIEW_RECORDS in allowed:
            for call in EXTRA_READS:
                assert call(client, world[hidden[0]]).status_code == 404
                assert call(client, world[visible[0]]).status_code == 200
            page = client.get("/").text
            for code in visible:
                assert world[code]["plate"] in page, f"{role}: own data missing"


@pytest.mark.parametrize(
    "key",
    sorted(
        k
        for k, a in ROUTE_RULES.items()
        if a not in ("public", "station") and k in CASES  # the others: their files
    ),
)
def test_without_an_account_nothing_is_answered(app, world, key, anonymous):
    call = CASES[key]
    anonymous.csrf = ""
    answer = call(anonymous, world[OWN] | {"token_id": 1})
    if key[1].startswith("/api/"):
        assert answer.status_code == 401
    else:
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")
    _assert_no_leak(answer, _hidden_markers(world, [OWN, SIBLING, OTHER]), key)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("140500", {OWN, SIBLING, OTHER}),  # the city of Jincheng
        ("140000", {OWN, SIBLING, OTHER}),  # Shanxi province
        ("140581", {OTHER}),  # 高平市
        ("140100", set()),  # Taiyuan: another city
        ("110000", set()),  # another province
    ],
)
def test_city_and_province_see_their_prefix(app, world, region, expected):
    add_user(app.state.sessions, "tier", Role.SUPERVISOR, region)
    with TestClient(app) as client:
        sign_in(client, "tier")
        body = client.get("/api/v1/records").json()
        stations = client.get("/stations").text
    assert {r["station_code"] for r in body["records"]} == expected
    assert body["today"]["passes"] == len(expected) * _all_today(app) // 3
    assert body["alarms"] == len(expected)
    for code in {OWN, SIBLING, OTHER} - expected:
        assert world[code]["software"] not in stations
    for code in expected:
        assert world[code]["software"] in stations
