"""The officers' unit list (/units) and the published list (/public/units)."""

import pytest
from fastapi.testclient import TestClient
from registry_samples import credit_code

from zhichao.platform.services import register_station
from zhichao.platform.units import SupervisionMethod, UnitData, UnitKind, save_unit


@pytest.fixture
def units_in(sessions):
    with sessions() as session:
        save_unit(
            session,
            UnitData(
                "泽州甲煤矿",
                UnitKind.COAL_MINE,
                "140525",
                credit_code=credit_code(1),
                address="泽州县某镇",
                person_in_charge="张三",
                contact_phone="13800000000",
                supervision_method=SupervisionMethod.ON_SITE,
                responsible_officer="李四",
            ),
        )
        save_unit(session, UnitData("高平乙洗煤厂", UnitKind.WASHERY, "140581"))
        save_unit(
            session,
            UnitData("泽州丙石料厂", UnitKind.QUARRY, "140525", published=False),
        )
        register_station(
            session, "1405250001", "一号站", "泽州甲煤矿", "coal_mine", "140525"
        )
        session.commit()


def test_units_page_lists_every_unit(client, units_in):
    page = client.get("/units")

    assert page.status_code == 200
    text = page.text
    for name in ("泽州甲煤矿", "高平乙洗煤厂", "泽州丙石料厂"):
        assert name in text
    assert credit_code(1) in text
    assert "驻场监管" in text and "李四" in text and "1405250001" in text
    assert "泽州县" in text and "洗煤厂" in text


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ({"region": "140581"}, ["高平乙洗煤厂"], ["泽州甲煤矿"]),
        ({"kind": "quarry"}, ["泽州丙石料厂"], ["泽州甲煤矿", "高平乙洗煤厂"]),
        ({"q": "甲"}, ["泽州甲煤矿"], ["高平乙洗煤厂"]),
        ({"q": credit_code(1)}, ["泽州甲煤矿"], ["泽州丙石料厂"]),
    ],
)
def test_units_page_filters(client, units_in, query, shown, hidden):
    text = client.get("/units", params=query).text
    body = text.split('id="units"', 1)[1]

    for name in shown:
        assert name in body
    for name in hidden:
        assert name not in body


def test_units_page_in_english(client, units_in):
    text = client.get("/units", params={"lang": "en"}).text

    assert "Source units" in text and "coal mine" in text


def test_public_list_needs_no_sign_in_and_hides_private_fields(app, units_in):
    with TestClient(app) as anonymous:
        page = anonymous.get("/public/units")

    assert page.status_code == 200
    assert "源头单位公示名单" in page.text
    assert "泽州甲煤矿" in page.text and "高平乙洗煤厂" in page.text
    assert "泽州丙石料厂" not in page.text  # not published
    assert "13800000000" not in page.text  # no phone numbers
    assert "张三" not in page.text
    assert "（共 2 家）" in page.text or "(共 2 家)" in page.text


def test_public_list_when_empty(app):
    with TestClient(app) as anonymous:
        page = anonymous.get("/public/units")

    assert page.status_code == 200
    assert "暂无源头单位" in page.text
