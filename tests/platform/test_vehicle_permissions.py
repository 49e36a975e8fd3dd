"""The vehicle register's permissions: every route under /vehicles × every
role × a vehicle of the caller's own county and one of another county, with
no plate, owner, company or pair of the other county in any answer; city and
province see their prefix; without an account; with an API token.

The routes come from the app: a route under /vehicles with no case here fails
``test_every_vehicle_route_has_a_rule_and_a_case``.
"""

from urllib.parse import unquote_plus

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from people import add_user, sign_in

from zhichao.platform import auth
from zhichao.platform.auth import PERMISSIONS, ROUTE_RULES, Action, Role
from zhichao.platform.models import User, Vehicle, VehiclePair
from zhichao.platform.services import register_station
from zhichao.platform.vehicles import VehicleData, save_vehicle, set_tractors
from zhichao.protocols.readings import PlateColor

OWN_STATION = "1405250001"
HOME = {
    Role.ADMIN: ("140525", None),
    Role.OFFICER: ("140525", None),
    Role.ENFORCEMENT: ("140525", None),
    Role.SUPERVISOR: ("140525", None),
    Role.OPERATOR: ("140525", OWN_STATION),
}
# each county's vehicles: a tractor and a trailer pulled by it, and the
# strings that identify them
COUNTIES = {
    "own": {
        "region": "140525",
        "tractor": "晋E11111",
        "trailer": "晋E0001挂",
        "owner": "泽州甲车主",
        "company": "泽州甲运输有限公司",
    },
    "other": {
        "region": "140581",
        "tractor": "晋E33333",
        "trailer": "晋E0003挂",
        "owner": "高平丙车主",
        "company": "高平丙运输有限公司",
    },
}
# a vehicle with no region: only the whole country sees it
NO_REGION = {"tractor": "晋E99999", "owner": "无区划车主"}
EDITORS = {Role.ADMIN, Role.OFFICER}


def _seed(session, county: dict[str, str]) -> None:
    for plate, axles in ((county["tractor"], 2), (county["trailer"], 3)):
        save_vehicle(
            session,
            VehicleData(
                plate,
                PlateColor.YELLOW,
                axles=axles,
                owner=county["owner"],
                transport_company=county["company"],
                region_code=county["region"],
            ),
        )
    set_tractors(session, county["trailer"], [county["tractor"]], county["region"])


@pytest.fixture
def world(app):
    sessions = app.state.sessions
    with sessions() as session, session.begin():
        register_station(
            session, OWN_STATION, "一号站", "泽州甲煤矿", "coal_mine", "140525"
        )
        for county in COUNTIES.values():
            _seed(session, county)
        save_vehicle(
            session,
            VehicleData(
                NO_REGION["tractor"], PlateColor.BLUE, owner=NO_REGION["owner"]
            ),
        )
    for role, (region, unit) in HOME.items():
        add_user(sessions, f"u_{role.value}", role, region, unit)
    add_user(sessions, "gaoping", Role.OFFICER, "140581")
    with sessions() as session:
        ids = dict(session.execute(sa.select(Vehicle.plate, Vehicle.id)).all())
    return {side: ids[county["tractor"]] for side, county in COUNTIES.items()}


def _markers(*sides: str) -> list[str]:
    return [
        COUNTIES[side][name]
        for side in sides
        for name in ("tractor", "trailer", "owner", "company")
    ]


HIDDEN = _markers("other") + list(NO_REGION.values())


def _form(client, side: str, **fields) -> dict[str, str]:
    return {
        "csrf_token": client.csrf,
        "plate_color": "yellow",
        "axles": "2",
        "region_code": COUNTIES[side]["region"],
        "owner": "新车主",
    } | fields


def _create(client, target, side):
    return client.post(
        "/vehicles", data=_form(client, side, plate="晋E40000"), follow_redirects=False
    )


def _update(client, target, side):
    return client.post(
        f"/vehicles/{target}", data=_form(client, "own"), follow_redirects=False
    )


def _get(path):
    return lambda client, target, side: client.get(
        path.format(id=target), follow_redirects=False
    )


CASES = {
    ("GET", "/vehicles"): _get("/vehicles"),
    ("GET", "/vehicles/new"): _get("/vehicles/new"),
    ("POST", "/vehicles"): _create,
    ("GET", "/vehicles/{vehicle_id}/edit"): _get("/vehicles/{id}/edit"),
    ("POST", "/vehicles/{vehicle_id}"): _update,
}


def _routes(routes, prefix=""):
    """(method, path) of every route, through included routers at any depth."""
    for route in routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                yield method, prefix + route.path
        elif hasattr(route, "original_router"):
            inner = prefix + route.include_context.prefix
            yield from _routes(route.original_router.routes, inner)


def test_every_vehicle_route_has_a_rule_and_a_case(app):
    routes = {key for key in _routes(app.routes) if key[1].startswith("/vehicles")}

    assert routes == set(CASES)
    assert routes <= set(ROUTE_RULES)
    assert ROUTE_RULES[("GET", "/vehicles")] == Action.VIEW_RECORDS
    assert {ROUTE_RULES[key] for key in routes - {("GET", "/vehicles")}} == {
        Action.EDIT_VEHICLES
    }
    assert {r for r in Role if Action.EDIT_VEHICLES in PERMISSIONS[r]} == EDITORS


def _expected(role, key, side) -> set[int]:
    if ROUTE_RULES[key] not in PERMISSIONS[role]:
        return {403}
    if key[0] == "GET" and "{vehicle_id}" not in key[1]:
        return {200}
    if key == ("POST", "/vehicles"):
        return {303} if side == "own" else {400}  # a region outside theirs
    return {200, 303} if side == "own" else {404}


def _assert_no_leak(answer, hidden, where):
    """No marker of hidden data in the answer, unless the request named it."""
    body = answer.content.decode("utf-8", "replace")
    request = answer.request
    sent = unquote_plus(str(request.url) + request.content.decode("utf-8", "replace"))
    for marker in hidden:
        if marker not in sent:
            assert marker not in body, f"{where}: leaks {marker!r}"


def _stored(app) -> dict[str, Vehicle]:
    with app.state.sessions() as session:
        return {v.plate: v for v in session.scalars(sa.select(Vehicle))}


@pytest.mark.parametrize("role", list(Role))
def test_vehicle_routes_by_role_and_jurisdiction(app, world, role):
    username = f"u_{role.value}"
    with TestClient(app, raise_server_exceptions=False) as client:
        sign_in(client, username)
        client.username = username
        for key, call in CASES.items():
            for side in ("own", "other"):
                answer = call(client, world[side], side)
                where = f"{role.value} {key} {side}"
                assert answer.status_code in _expected(role, key, side), (
                    f"{where}: {answer.status_code} {answer.text[:300]}"
                )
                _assert_no_leak(answer, HIDDEN, where)

        page = client.get("/vehicles").text
        for marker in _markers("own"):
            assert marker in page, f"{role.value}: own vehicle {marker} missing"
        assert ('href="/vehicles/new"' in page) == (role in EDITORS)
        assert ('id="nav-vehicles"' in page) is True

    stored = _stored(app)
    other = stored[COUNTIES["other"]["tractor"]]
    # nothing of the other county was changed or added, whoever asked
    assert (other.owner, other.region_code) == ("高平丙车主", "140581")
    assert not any(
        v.region_code == "140581" and v.owner == "新车主" for v in stored.values()
    )
    own = stored[COUNTIES["own"]["tractor"]]
    assert (own.owner == "新车主") == (role in EDITORS)


def test_an_officer_of_another_county_sees_none_of_this_countys(app, world):
    with TestClient(app) as client:
        sign_in(client, "gaoping")
        page = client.get("/vehicles").text
        search = client.get("/vehicles", params={"q": "晋E1"}).text
        edit = client.get(f"/vehicles/{world['own']}/edit")

    for marker in _markers("own"):
        assert marker not in page and marker not in search
    for marker in _markers("other"):
        assert marker in page
    assert "共 2 辆" in page
    assert edit.status_code == 404


@pytest.mark.parametrize(
    ("region", "sides", "no_region"),
    [
        ("140500", ["own", "other"], False),  # the city of Jincheng
        ("140000", ["own", "other"], False),  # Shanxi
        ("140581", ["other"], False),
        ("140100", [], False),  # Taiyuan, another city
        ("000000", ["own", "other"], True),  # the whole country
    ],
)
def test_city_province_and_country(app, world, region, sides, no_region):
    add_user(app.state.sessions, "tier", Role.SUPERVISOR, region)
    with TestClient(app) as client:
        sign_in(client, "tier")
        page = client.get("/vehicles").text

    for side in COUNTIES:
        for marker in _markers(side):
            assert (marker in page) == (side in sides), (region, marker)
    assert (NO_REGION["owner"] in page) == no_region


def test_pairs_are_filtered_like_vehicles(app, world):
    """A pair is shown by the region it is recorded in, not by its plates."""
    with app.state.sessions() as session, session.begin():
        # the other county's trailer also runs with this county's tractor
        set_tractors(
            session,
            COUNTIES["other"]["trailer"],
            [COUNTIES["other"]["tractor"], COUNTIES["own"]["tractor"]],
            "140581",
        )
        pairs = session.scalar(sa.select(sa.func.count()).select_from(VehiclePair))
    assert pairs == 3
    with TestClient(app) as client:
        sign_in(client, "u_officer")
        page = client.get("/vehicles").text

    assert COUNTIES["own"]["trailer"] in page
    assert COUNTIES["other"]["trailer"] not in page


@pytest.mark.parametrize("key", sorted(CASES))
def test_without_an_account_the_pages_ask_for_a_sign_in(app, world, key, anonymous):
    anonymous.csrf, anonymous.username = "", "nobody"

    answer = CASES[key](anonymous, world["own"], "own")

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    _assert_no_leak(answer, _markers("own", "other"), key)


@pytest.mark.parametrize("key", sorted(CASES))
def test_a_token_reaches_no_vehicle_route(app, world, key):
    with app.state.sessions() as session, session.begin():
        admin = session.scalar(sa.select(User).where(User.username == "u_admin"))
        secret, _ = auth.issue_token(
            session, admin.id, "all", sorted(auth.TOKEN_SCOPES), 1
        )
    with TestClient(app, raise_server_exceptions=False) as remote:
        remote.headers["authorization"] = f"Bearer {secret}"
        remote.csrf, remote.username = "", "token"

        answer = CASES[key](remote, world["own"], "own")

    # records:read reads the list, as it reads the live page; no token writes
    if key == ("GET", "/vehicles"):
        assert answer.status_code == 200
        assert COUNTIES["own"]["owner"] in answer.text
    else:
        assert answer.status_code == 403
    _assert_no_leak(answer, HIDDEN, key)
