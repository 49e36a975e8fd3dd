"""The vehicle register's pages (/vehicles, the add and edit form) through the
app, on SQLite and PostgreSQL."""

import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from people import add_user, sign_in
from vehicle_samples import GOOD_ROWS

from zhichao.platform import audit
from zhichao.platform.importer import import_vehicles, write_vehicles_xlsx
from zhichao.platform.models import Vehicle, VehiclePair
from zhichao.platform.vehicles import VehicleData, save_vehicle
from zhichao.protocols.readings import PlateColor

ERROR_RE = re.compile(r'id="vehicle-error"[^>]*>([^<]*)<')


@pytest.fixture
def listed(sessions, tmp_path):
    path = write_vehicles_xlsx(tmp_path / "vehicles.xlsx", GOOD_ROWS)
    with sessions() as session:
        report = import_vehicles(session, path)
    assert report.errors == []


def rows(page_text: str) -> list[str]:
    """The plates of the list's rows, in order."""
    return re.findall(r'<tr class="vehicle" data-plate="([^"]+)"', page_text)


def row_of(page_text: str, plate: str) -> str:
    start = page_text.index(f'data-plate="{plate}"')
    return page_text[start : page_text.index("</tr>", start)]


def vehicle_id(sessions, plate: str) -> int:
    with sessions() as session:
        return session.scalar(sa.select(Vehicle.id).where(Vehicle.plate == plate))


def stored_pairs(sessions) -> set[tuple[str, str]]:
    with sessions() as session:
        found = session.execute(
            sa.select(VehiclePair.tractor_plate, VehiclePair.trailer_plate)
        )
        return {tuple(row) for row in found}


def test_list_with_partners_and_search(client, listed):
    page = client.get("/vehicles")

    assert page.status_code == 200
    assert set(rows(page.text)) == {
        "晋E11111",
        "晋E22222",
        "晋E33333",
        "晋E0001挂",
        "晋ED12345",
    }
    assert "共 5 辆" in page.text
    trailer = row_of(page.text, "晋E0001挂")
    assert "晋E22222" in trailer and "晋E33333" in trailer
    assert "40,000" in trailer and "泽州县" in trailer and "赵六" in trailer
    assert "晋E0001挂" in row_of(page.text, "晋E33333")
    assert "绿" in row_of(page.text, "晋ED12345")

    found = client.get("/vehicles", params={"q": "e333"}).text
    assert rows(found) == ["晋E33333"]
    assert rows(client.get("/vehicles", params={"q": "鲁A"}).text) == []
    assert "暂无车辆" in client.get("/vehicles", params={"q": "鲁A"}).text


def test_list_in_english(client, listed):
    text = client.get("/vehicles", params={"lang": "en"}).text

    assert "Vehicle register" in text and "5 vehicles" in text
    assert "yellow" in row_of(text, "晋E11111")


def test_pages_of_fifty(client, sessions):
    with sessions() as session:
        for n in range(120):
            save_vehicle(
                session,
                VehicleData(f"晋E{n:05d}", PlateColor.YELLOW, region_code="140525"),
            )
        session.commit()

    first = client.get("/vehicles").text
    second = client.get("/vehicles", params={"page": 2}).text
    beyond = client.get("/vehicles", params={"page": 99}).text

    assert rows(first)[:2] == ["晋E00000", "晋E00001"] and len(rows(first)) == 50
    assert rows(second)[0] == "晋E00050" and len(rows(second)) == 50
    assert "第 2 / 3 页" in second
    assert len(rows(beyond)) == 20 and "第 3 / 3 页" in beyond
    assert client.get("/vehicles", params={"page": 0}).status_code == 422


def _form(client, **fields) -> dict[str, str]:
    values = {
        "csrf_token": client.csrf,
        "plate": "晋E0002挂",
        "plate_color": "yellow",
        "axles": "3",
        "axle_config": "3",
        "registered_mass_kg": "40000",
        "owner": "钱八",
        "transport_company": "晋城乙物流有限公司",
        "region_code": "140525",
        "tractors": "晋E11111、晋E22222",
    }
    return values | fields


def test_add_then_edit_a_trailer_audited(client, sessions):
    added = client.post("/vehicles", data=_form(client), follow_redirects=False)

    assert added.status_code == 303
    assert "saved=" in added.headers["location"]
    page = client.get(added.headers["location"]).text
    assert "已保存：晋E0002挂" in page and rows(page) == ["晋E0002挂"]
    assert stored_pairs(sessions) == {
        ("晋E11111", "晋E0002挂"),
        ("晋E22222", "晋E0002挂"),
    }

    number = vehicle_id(sessions, "晋E0002挂")
    form = client.get(f"/vehicles/{number}/edit").text
    assert 'value="晋E11111、晋E22222"' in form
    changed = client.post(
        f"/vehicles/{number}",
        data=_form(client, registered_mass_kg="39000", tractors="晋E33333"),
        follow_redirects=False,
    )

    assert changed.status_code == 303
    with sessions() as session:
        trailer = session.scalar(sa.select(Vehicle).where(Vehicle.id == number))
        entries = [e for e in audit.search(session) if e.action.startswith("vehicle_")]
    assert trailer.registered_mass_kg == 39000
    assert stored_pairs(sessions) == {("晋E33333", "晋E0002挂")}
    assert [e.action for e in entries] == ["vehicle_update", "vehicle_create"]
    assert entries[0].target == "晋E0002挂 yellow"
    assert entries[0].username == "root"
    assert entries[0].detail["registered_mass_kg"] == 39000
    assert entries[0].detail["tractors"] == ["晋E33333"]


def test_editing_keeps_plate_and_colour(client, sessions, listed):
    number = vehicle_id(sessions, "晋E11111")
    answer = client.post(
        f"/vehicles/{number}",
        data=_form(client, plate="晋E99999", plate_color="blue", axle_config="1+1")
        | {"axles": "2", "tractors": ""},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    with sessions() as session:
        truck = session.scalar(sa.select(Vehicle).where(Vehicle.id == number))
    assert (truck.plate, truck.plate_color, truck.owner) == (
        "晋E11111",
        "yellow",
        "钱八",
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"plate": "晋E1"}, "车牌号码: plate '晋E1' must be 7 or 8 characters"),
        ({"plate": ""}, "the plate is empty"),
        ({"plate_color": "unknown"}, "is not one of 黄/蓝/绿/黄绿/白/黑"),
        ({"axles": "14", "axle_config": ""}, "轴数: axles must be 2 to 12, got 14"),
        ({"axles": "三"}, "轴数 '三' is not a whole number"),
        ({"axle_config": "1+1"}, "轴型: axle configuration '1+1' has 2 axles, not 3"),
        ({"registered_mass_kg": "40"}, "in kg, not tonnes"),
        ({"region_code": "140500"}, "is not a county or zone of your jurisdiction"),
        ({"region_code": ""}, "region — is not a county"),
        ({"plate": "晋E12345"}, "晋E12345 is not a trailer"),
        ({"tractors": "晋E0003挂"}, "tractor plate 晋E0003挂 is a trailer's plate"),
    ],
)
def test_form_errors_are_shown_and_nothing_is_stored(client, sessions, fields, reason):
    answer = client.post("/vehicles", data=_form(client, **fields))

    assert answer.status_code == 400
    shown = ERROR_RE.search(answer.text)
    assert shown, answer.text
    assert reason.replace("'", "&#39;") in shown.group(1)
    assert 'id="vehicle-form"' in answer.text  # the form again, as typed
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Vehicle)) == 0
    assert stored_pairs(sessions) == set()


def test_a_vehicle_added_twice_is_refused(client, listed):
    answer = client.post(
        "/vehicles",
        data=_form(client, plate="晋E11111", axles="2", axle_config="", tractors=""),
    )

    assert answer.status_code == 400
    assert "晋E11111 已登记" in ERROR_RE.search(answer.text).group(1)


def test_another_countys_vehicle_is_not_found_nor_taken_over(app, sessions, listed):
    number = vehicle_id(sessions, "晋E11111")  # 泽州县 140525
    add_user(sessions, "gaoping", "officer", "140581")
    with TestClient(app, raise_server_exceptions=False) as other:
        sign_in(other, "gaoping")
        edit = other.get(f"/vehicles/{number}/edit")
        change = other.post(
            f"/vehicles/{number}",
            data=_form(other, region_code="140581", axles="2", axle_config=""),
        )
        again = other.post(
            "/vehicles",
            data=_form(
                other,
                plate="晋E11111",
                region_code="140581",
                axles="2",
                axle_config="",
                tractors="",
            ),
        )
        pair = other.post(
            "/vehicles",
            data=_form(
                other, plate="晋E0001挂", plate_color="black", region_code="140581"
            )
            | {"tractors": "晋E22222"},
        )

    assert edit.status_code == 404 and change.status_code == 404
    assert "王五" not in edit.text + change.text
    assert again.status_code == 400
    assert "已在其他辖区登记" in ERROR_RE.search(again.text).group(1)
    assert pair.status_code == 400
    assert "another jurisdiction" in ERROR_RE.search(pair.text).group(1)
    with sessions() as session:
        truck = session.scalar(sa.select(Vehicle).where(Vehicle.id == number))
    assert truck.region_code == "140525" and truck.owner == "王五"


def test_a_form_without_its_csrf_token_is_refused(client, sessions):
    answer = client.post("/vehicles", data=_form(client, csrf_token="forged"))

    assert answer.status_code == 403
    with sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Vehicle)) == 0
