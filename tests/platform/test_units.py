"""Source units: the GB 32100 check, kinds, the registry and its scopes;
vehicles."""

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from registry_samples import bad_check, credit_code

from zhichao.platform.db import make_engine, make_sessionmaker
from zhichao.platform.migrations import run_migrations
from zhichao.platform.models import SourceUnit
from zhichao.platform.services import register_station
from zhichao.platform.units import (
    CREDIT_ALPHABET,
    SupervisionMethod,
    UnitData,
    UnitError,
    UnitKind,
    count_units,
    credit_check_char,
    credit_code_problem,
    list_units,
    parse_kind,
    save_unit,
)
from zhichao.platform.vehicles import (
    VehicleData,
    VehicleError,
    get_vehicle,
    list_vehicles,
    save_vehicle,
)
from zhichao.protocols.readings import PlateColor

# a widely published example of a unified social credit code
PUBLISHED_EXAMPLE = "91350100M000100Y43"


@pytest.fixture
def session(db_url):
    run_migrations(db_url)
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def test_published_example_passes():
    assert credit_code_problem(PUBLISHED_EXAMPLE) is None
    assert credit_check_char(PUBLISHED_EXAMPLE[:17]) == "3"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y434", "18 characters"),
        ("91350100M000100Y4I", "not allowed"),
        ("91350100M000100O43", "not allowed"),
        ("9135010aM000100Y43", "not allowed"),
        ("91A50100M000100Y43", "region code"),
        ("91350100M000100Y44", "should be '3'"),
    ],
)
def test_bad_credit_codes(code, reason):
    problem = credit_code_problem(code)

    assert problem is not None
    assert reason in problem


codes = st.text(alphabet=CREDIT_ALPHABET, min_size=17, max_size=17).map(
    lambda first: first[:2] + "140525" + first[8:]
)


@given(first=codes, position=st.integers(0, 17), shift=st.integers(1, 30))
def test_fuzz_any_single_substitution_is_caught(first, position, shift):
    code = first + credit_check_char(first)
    assert credit_code_problem(code) is None

    index = (CREDIT_ALPHABET.index(code[position]) + shift) % 31
    changed = code[:position] + CREDIT_ALPHABET[index] + code[position + 1 :]

    assert credit_code_problem(changed) is not None


@given(first=codes, position=st.integers(8, 16))
def test_fuzz_adjacent_swap_is_caught(first, position):
    code = first + credit_check_char(first)
    swapped = (
        code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    )

    assert (swapped == code) or credit_code_problem(swapped) is not None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("coal_mine", UnitKind.COAL_MINE),
        ("煤矿", UnitKind.COAL_MINE),
        ("洗煤厂", UnitKind.WASHERY),
        (" 砂石料场 ", UnitKind.SAND_GRAVEL),
        ("货运站", UnitKind.FREIGHT_STATION),
        ("steel works", UnitKind.STEEL),
        ("其他", UnitKind.OTHER),
    ],
)
def test_parse_kind(text, kind):
    assert parse_kind(text) is kind


def test_unknown_kind_is_refused():
    with pytest.raises(UnitError, match="unknown kind"):
        parse_kind("养猪场")


def unit(name, county="140525", serial=None, **fields):
    code = credit_code(serial, county) if serial is not None else None
    return UnitData(
        name=name,
        kind=UnitKind.COAL_MINE,
        county_code=county,
        credit_code=code,
        **fields,
    )


def test_unit_data_checks_its_fields():
    with pytest.raises(UnitError, match="name is empty"):
        unit(" ")
    with pytest.raises(UnitError, match="check character"):
        UnitData("甲", UnitKind.QUARRY, "140525", credit_code=bad_check(credit_code(1)))
    with pytest.raises(UnitError, match="latitude"):
        unit("甲", latitude=95.0)


def test_save_unit_creates_then_updates(session):
    first, created = save_unit(
        session,
        unit("甲煤矿", serial=7, supervision_method=SupervisionMethod.ON_SITE),
    )
    again, created_again = save_unit(
        session, unit("甲煤矿（更名）", serial=7, address="泽州县")
    )
    session.commit()

    assert created and not created_again
    assert again.id == first.id
    stored = session.scalar(sa.select(SourceUnit))
    assert stored.name == "甲煤矿（更名）"
    assert stored.address == "泽州县"
    assert stored.kind == "coal_mine"
    assert session.scalar(sa.select(sa.func.count()).select_from(SourceUnit)) == 1


def test_save_unit_without_code_matches_name_in_region(session):
    save_unit(session, unit("乙石料厂"))
    _unit, created = save_unit(session, unit("乙石料厂", county="140581"))
    _unit, created_again = save_unit(session, unit("乙石料厂"))

    assert created and not created_again
    assert count_units(session) == 2


def test_save_unit_refuses_unknown_region(session):
    with pytest.raises(UnitError, match="unknown region"):
        save_unit(session, unit("丙", county="140601"))


def test_list_units_by_scope(session):
    save_unit(session, unit("泽州甲", "140525"))
    save_unit(session, unit("高平甲", "140581"))
    save_unit(session, unit("开发区甲", "1405KF"))
    save_unit(session, unit("泽州乙（不公示）", "140525", published=False))

    def names(scope, **kw):
        return [u.name for u in list_units(session, scope, **kw)]

    assert len(names(None)) == 4
    assert len(names("1405")) == 4
    assert names("140581") == ["高平甲"]
    assert names("1405KF") == ["开发区甲"]
    assert names("140525", published_only=True) == ["泽州甲"]
    assert names("1406") == []
    assert count_units(session, "140525") == 2


def test_stations_link_to_their_unit(session):
    register_station(session, "1405250001", "一号站", "泽州甲", "coal_mine", "140525")
    save_unit(session, unit("泽州甲", address="某镇"))
    session.commit()

    [found] = list_units(session, "140525")
    assert found.address == "某镇"
    assert [s.station_code for s in found.stations] == ["1405250001"]


def test_vehicles_by_plate_and_colour(session):
    yellow = VehicleData(
        "晋E12345",
        PlateColor.YELLOW,
        axles=6,
        axle_config="1+2+3",
        registered_mass_kg=49000,
        owner="王五",
        transport_company="晋城某运输有限公司",
        region_code="140525",
    )
    save_vehicle(session, yellow)
    save_vehicle(session, VehicleData("晋E12345", PlateColor.BLUE, axles=2))
    _vehicle, created = save_vehicle(session, yellow)

    assert not created
    assert get_vehicle(session, "晋E12345", "yellow").registered_mass_kg == 49000
    assert get_vehicle(session, "晋E12345", "blue").axles == 2
    assert [v.plate_color for v in list_vehicles(session, "1405")] == ["yellow"]
    assert len(list_vehicles(session)) == 2


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"plate": "E12345"}, "plate"),
        ({"axles": 1}, "axles"),
        ({"axles": 6, "axle_config": "1+2+2"}, "has 5 axles"),
        ({"axle_config": "1+x"}, "axle configuration"),
        ({"registered_mass_kg": 0}, "registered mass"),
    ],
)
def test_bad_vehicle_data(fields, reason):
    values = {"plate": "晋E12345", "plate_color": PlateColor.YELLOW} | fields
    with pytest.raises(VehicleError, match=reason):
        VehicleData(**values)
