"""Regions: the seed from the migration, local codes, scopes; migration 0003."""

import pytest
import sqlalchemy as sa

from zhichao.platform.db import make_engine, make_sessionmaker
from zhichao.platform.migrations import downgrade, run_migrations
from zhichao.platform.models import SourceUnit
from zhichao.platform.regions import (
    SEED_REGIONS,
    code_problem,
    in_scope,
    is_gb_code,
    list_regions,
    region_index,
    scope_of,
    seed_regions,
)


@pytest.fixture
def session(db_url):
    run_migrations(db_url)
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def test_migration_seeds_every_region(session):
    regions = {region.code: region for region in list_regions(session)}

    assert set(regions) == {seed.code for seed in SEED_REGIONS}
    assert regions["140525"].name == "泽州县"
    assert regions["140525"].parent_code == "140500"
    assert regions["140500"].parent_code == "140000"
    assert regions["1405KF"].gb_code is False
    assert regions["1405KF"].level == "zone"
    assert all(r.gb_code for code, r in regions.items() if code != "1405KF")


def test_seed_regions_adds_only_what_is_missing(session):
    assert seed_regions(session) == 0
    session.execute(sa.text("DELETE FROM regions WHERE code = '1405KF'"))
    assert seed_regions(session) == 1


@pytest.mark.parametrize(
    ("scope", "codes"),
    [
        (None, 9),
        ("14", 9),
        ("1405", 8),
        ("140525", 1),
        ("1406", 0),
    ],
)
def test_list_regions_by_scope(session, scope, codes):
    assert len(list_regions(session, scope)) == codes


def test_region_index_matches_code_and_name(session):
    index = region_index(session)

    assert index["高平市"].code == "140581"
    assert index["140581"].name == "高平市"
    assert index["开发区管委会"].code == "1405KF"


@pytest.mark.parametrize(
    ("code", "scope"),
    [
        ("140000", "14"),
        ("140500", "1405"),
        ("140525", "140525"),
        ("1405KF", "1405KF"),
        ("000000", ""),
    ],
)
def test_scope_of(code, scope):
    assert scope_of(code) == scope


def test_local_code_never_collides_with_gb_codes():
    local = [seed for seed in SEED_REGIONS if not seed.gb]

    assert [seed.code for seed in local] == ["1405KF"]
    assert not is_gb_code("1405KF")
    assert code_problem("1405KF") is None
    assert in_scope("1405KF", scope_of("140500"))
    assert not in_scope("1405KF", scope_of("140525"))


@pytest.mark.parametrize("code", ["14052", "1405255", "040525", "1405kf", "14A525", ""])
def test_bad_region_codes(code):
    assert code_problem(code) is not None


def _tables(url):
    engine = make_engine(url)
    try:
        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("source_units")}
        return set(inspector.get_table_names()), columns
    finally:
        engine.dispose()


def test_migration_0003_up_and_down_keeps_units(db_url):
    run_migrations(db_url, "0002")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO source_units (name, kind, county_code)"
                " VALUES ('甲煤矿', 'coal_mine', '140525')"
            )
        )

    run_migrations(db_url, "0003")
    tables, columns = _tables(db_url)
    assert {"regions", "vehicles"} <= tables
    assert {"address", "responsible_officer", "published"} <= columns
    with make_sessionmaker(engine)() as session:
        unit = session.scalar(sa.select(SourceUnit))
        assert unit.name == "甲煤矿"
        assert unit.published is True

    downgrade(db_url, "0002")
    tables, columns = _tables(db_url)
    assert not {"regions", "vehicles"} & tables
    assert "address" not in columns
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM source_units")).scalar() == (
            "甲煤矿"
        )
    engine.dispose()

    run_migrations(db_url, "0003")
    assert len(SEED_REGIONS) == 9
