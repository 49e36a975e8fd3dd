"""The vehicle register: colours and plates as people write them, tractor and
trailer pairs, search and paging, and the jurisdiction filter on both tables."""

import pytest

from zhichao.platform.auth import Scope, scope_session
from zhichao.platform.db import make_engine, make_sessionmaker
from zhichao.platform.migrations import run_migrations
from zhichao.platform.services import register_station
from zhichao.platform.vehicles import (
    VehicleData,
    VehicleError,
    count_vehicles,
    list_vehicles,
    normalise_plate,
    parse_color,
    partners_of,
    save_vehicle,
    set_tractors,
    split_plates,
)
from zhichao.protocols.readings import PlateColor

YELLOW = PlateColor.YELLOW


@pytest.fixture
def sessions(db_url):
    run_migrations(db_url)
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.mark.parametrize(
    ("text", "color"),
    [
        ("黄", YELLOW),
        ("黄色", YELLOW),
        (" 蓝 ", PlateColor.BLUE),
        ("黄绿", PlateColor.YELLOW_GREEN),
        ("渐变绿", PlateColor.GREEN),
        ("yellow_green", PlateColor.YELLOW_GREEN),
        ("Yellow-Green", PlateColor.YELLOW_GREEN),
        ("black", PlateColor.BLACK),
    ],
)
def test_colours_as_written(text, color):
    assert parse_color(text) == color


@pytest.mark.parametrize("text", ["红", "unknown", "", "黄蓝"])
def test_colours_refused(text):
    with pytest.raises(VehicleError, match="is not one of 黄/蓝/绿/黄绿/白/黑"):
        parse_color(text)


def test_plates_as_written():
    assert normalise_plate(" 晋ｅ·１2345 ") == "晋E12345"
    assert split_plates("晋E11111、晋e22222，晋E33333; 晋E44444  晋E11111") == [
        "晋E11111",
        "晋E22222",
        "晋E33333",
        "晋E44444",
    ]
    assert split_plates(None) == [] and split_plates(" ") == []


def _vehicle(session, plate, region, color=YELLOW):
    save_vehicle(session, VehicleData(plate, color, region_code=region))


def test_tractors_of_a_trailer_are_replaced_and_seen_from_both_sides(sessions):
    with sessions() as session:
        added = set_tractors(session, "晋E0001挂", ["晋E11111", "晋E22222"], "140525")
        session.commit()
        again = set_tractors(session, "晋E0001挂", ["晋E22222", "晋E33333"], "140525")
        session.commit()

        partners = partners_of(session, ["晋E0001挂", "晋E22222", "晋E11111"])

    assert added == (2, 0)
    assert again == (1, 1)
    assert partners == {
        "晋E0001挂": ["晋E22222", "晋E33333"],
        "晋E22222": ["晋E0001挂"],
    }


@pytest.mark.parametrize(
    ("trailer", "tractors", "reason"),
    [
        ("晋E12345", ["晋E11111"], "for a trailer"),
        ("晋E0001挂", ["晋E0002挂"], "is a trailer's plate"),
        ("晋E0001挂", ["E11111"], "tractor plate 'E11111' must be 7 or 8"),
    ],
)
def test_bad_pairs_refused(sessions, trailer, tractors, reason):
    with sessions() as session, pytest.raises(VehicleError, match=reason):
        set_tractors(session, trailer, tractors, "140525")


def test_search_and_pages(sessions):
    with sessions() as session:
        for n in range(1, 8):
            _vehicle(session, f"晋E1000{n}", "140525")
        _vehicle(session, "晋E20001", "140525")
        session.commit()

        first = list_vehicles(session, search="e1000", limit=3)
        third = list_vehicles(session, search="e1000", offset=6, limit=3)
        total = count_vehicles(session, search="晋E1000")
        everything = count_vehicles(session)

    assert [v.plate for v in first] == ["晋E10001", "晋E10002", "晋E10003"]
    assert [v.plate for v in third] == ["晋E10007"]
    assert total == 7 and everything == 8


@pytest.fixture
def register(sessions):
    """Vehicles and pairs in 泽州县 (140525), 高平市 (140581) and of no region."""
    with sessions() as session:
        _vehicle(session, "晋E11111", "140525")
        _vehicle(session, "晋E0001挂", "140525")
        _vehicle(session, "晋E22222", "140581")
        _vehicle(session, "晋E0002挂", "140581")
        _vehicle(session, "晋E99999", None)
        set_tractors(session, "晋E0001挂", ["晋E11111"], "140525")
        set_tractors(session, "晋E0002挂", ["晋E22222", "晋E11111"], "140581")
        register_station(
            session, "1405810001", "一号站", "高平某煤矿", "coal_mine", "140581"
        )
        session.commit()
    return sessions


@pytest.mark.parametrize(
    ("scope", "plates", "partners"),
    [
        (Scope("140525"), {"晋E11111", "晋E0001挂"}, {"晋E11111": ["晋E0001挂"]}),
        (
            Scope("140581"),
            {"晋E22222", "晋E0002挂"},
            {"晋E11111": ["晋E0002挂"], "晋E22222": ["晋E0002挂"]},
        ),
        (
            Scope("1405"),
            {"晋E11111", "晋E0001挂", "晋E22222", "晋E0002挂"},
            {"晋E11111": ["晋E0001挂", "晋E0002挂"], "晋E22222": ["晋E0002挂"]},
        ),
        (Scope("1401"), set(), {}),
        # an operator: the register of their unit's region
        (
            Scope(None, frozenset({"1405810001"})),
            {"晋E22222", "晋E0002挂"},
            {"晋E11111": ["晋E0002挂"], "晋E22222": ["晋E0002挂"]},
        ),
        # the whole country also sees the vehicle with no region
        (
            Scope(""),
            {"晋E11111", "晋E0001挂", "晋E22222", "晋E0002挂", "晋E99999"},
            {"晋E11111": ["晋E0001挂", "晋E0002挂"], "晋E22222": ["晋E0002挂"]},
        ),
    ],
)
def test_jurisdiction_filters_vehicles_and_pairs(register, scope, plates, partners):
    with register() as session:
        scope_session(session, scope)
        seen = {v.plate for v in list_vehicles(session)}
        count = count_vehicles(session)
        found = partners_of(session, ["晋E11111", "晋E22222"])

    assert seen == plates
    assert count == len(plates)
    assert found == partners


def test_a_pair_of_another_jurisdiction_is_not_taken_over(register):
    with register() as session:
        scope_session(session, Scope("140525"))
        with pytest.raises(VehicleError, match="another jurisdiction"):
            set_tractors(session, "晋E0002挂", ["晋E22222"], "140525")
