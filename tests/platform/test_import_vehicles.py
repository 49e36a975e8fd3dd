"""Importing a county's vehicle list, with trailers' tractors, from .xlsx."""

import re

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from vehicle_samples import BAD_ROW_REASONS, GOOD_ROWS, vehicle_list

from zhichao.cli import main
from zhichao.platform import audit, vehicles
from zhichao.platform.db import make_engine, make_sessionmaker
from zhichao.platform.importer import (
    VEHICLE_HEADERS,
    ImportFileError,
    import_vehicles,
    write_vehicles_xlsx,
)
from zhichao.platform.migrations import run_migrations
from zhichao.platform.models import Vehicle, VehiclePair

FIRST_BAD_ROW = 8
GOOD_PLATES = {"晋E11111", "晋E22222", "晋E33333", "晋E0001挂", "晋ED12345"}
PAIRS = {("晋E22222", "晋E0001挂"), ("晋E33333", "晋E0001挂")}


@pytest.fixture
def sessions(db_url):
    run_migrations(db_url)
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def stored(sessions) -> dict[str, Vehicle]:
    with sessions() as session:
        return {v.plate: v for v in session.scalars(sa.select(Vehicle))}


def pairs(sessions) -> set[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            sa.select(VehiclePair.tractor_plate, VehiclePair.trailer_plate)
        )
        return {tuple(row) for row in rows}


def assert_bad_rows(errors):
    assert [e.row for e in errors] == list(
        range(FIRST_BAD_ROW, FIRST_BAD_ROW + len(BAD_ROW_REASONS))
    )
    for error, (column, reason) in zip(errors, BAD_ROW_REASONS, strict=True):
        assert error.column == column, error
        assert reason in error.reason, error
        assert error.reason.startswith(column), error


def test_good_rows_in_bad_rows_reported_pairs_stored(sessions, tmp_path):
    path = vehicle_list(tmp_path / "vehicles.xlsx")
    calls = []

    with sessions() as session:
        report = import_vehicles(session, path, progress=calls.append)

    assert report.written
    assert report.rows == 12 and report.created == 5 and report.updated == 0
    assert report.pairs_added == 2 and report.pairs_removed == 0
    assert_bad_rows(report.errors)
    assert sum(calls) >= 12
    found = stored(sessions)
    assert set(found) == GOOD_PLATES
    truck = found["晋E11111"]
    assert (truck.plate_color, truck.axles, truck.axle_config) == ("yellow", 2, "1+1")
    assert truck.registered_mass_kg == 18000 and truck.owner == "王五"
    assert truck.transport_company == "晋城甲运输有限公司"
    assert truck.region_code == "140525"
    assert found["晋E33333"].plate_color == "yellow"  # written 晋e·33333
    assert found["晋ED12345"].plate_color == "green"
    assert found["晋ED12345"].region_code == "140581"
    assert pairs(sessions) == PAIRS
    with sessions() as session:
        regions = set(session.scalars(sa.select(VehiclePair.region_code)))
    assert regions == {"140525"}  # the trailer's


def test_importing_again_updates_and_replaces_a_trailers_tractors(sessions, tmp_path):
    with sessions() as session:
        import_vehicles(session, vehicle_list(tmp_path / "first.xlsx"))
    rows = [list(row) for row in GOOD_ROWS]
    rows[0][4] = 17500  # 晋E11111's registered mass
    rows[3][8] = "晋E33333；晋E11111"  # 晋E0001挂: 晋E22222 out, 晋E11111 in
    again = write_vehicles_xlsx(tmp_path / "again.xlsx", rows)

    with sessions() as session:
        report = import_vehicles(session, again)

    assert report.errors == []
    assert report.created == 0 and report.updated == 5
    assert report.pairs_added == 1 and report.pairs_removed == 1
    found = stored(sessions)
    assert len(found) == 5
    assert found["晋E11111"].registered_mass_kg == 17500
    assert pairs(sessions) == {("晋E33333", "晋E0001挂"), ("晋E11111", "晋E0001挂")}


def test_an_empty_tractor_cell_clears_and_a_missing_column_keeps(sessions, tmp_path):
    with sessions() as session:
        import_vehicles(session, vehicle_list(tmp_path / "first.xlsx"))
    headers = ["车牌号码", "车牌颜色", "所属区划"]
    plain = write_vehicles_xlsx(
        tmp_path / "plain.xlsx", [["晋E0001挂", "黄", "泽州县"]], headers=headers
    )
    with sessions() as session:
        report = import_vehicles(session, plain)

    assert report.updated == 1 and report.pairs_removed == 0
    assert pairs(sessions) == PAIRS  # no 牵引车车牌 column: pairs left alone
    trailer = stored(sessions)["晋E0001挂"]
    assert trailer.axles == 3 and trailer.registered_mass_kg == 40000
    assert trailer.owner == "赵六"  # no 所有人 column: kept

    cleared = write_vehicles_xlsx(
        tmp_path / "cleared.xlsx",
        [["晋E0001挂", "黄", "泽州县", None]],
        headers=[*headers, "牵引车车牌"],
    )
    with sessions() as session:
        report = import_vehicles(session, cleared)
    assert report.pairs_removed == 2
    assert pairs(sessions) == set()


def test_a_kept_axle_count_must_fit_a_new_configuration(sessions, tmp_path):
    with sessions() as session:
        import_vehicles(session, vehicle_list(tmp_path / "first.xlsx"))
    path = write_vehicles_xlsx(
        tmp_path / "config.xlsx",
        [["晋E11111", "黄", "泽州县", "1+2"]],
        headers=["车牌号码", "车牌颜色", "所属区划", "轴型"],
    )
    with sessions() as session:
        report = import_vehicles(session, path)

    [error] = report.errors
    assert (error.row, error.column) == (2, "轴型")
    assert "has 3 axles, not 2" in error.reason


def test_dry_run_and_strict_write_nothing(sessions, tmp_path):
    path = vehicle_list(tmp_path / "vehicles.xlsx")
    with sessions() as session:
        dry = import_vehicles(session, path, dry_run=True)
    with sessions() as session:
        strict = import_vehicles(session, path, strict=True)

    assert dry.created == 5 and dry.pairs_added == 2 and not dry.written
    assert_bad_rows(dry.errors)
    assert not strict.written
    assert stored(sessions) == {} and pairs(sessions) == set()


def test_failure_while_writing_leaves_nothing(sessions, tmp_path, monkeypatch):
    path = vehicle_list(tmp_path / "vehicles.xlsx")

    def fail(*_args):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(vehicles, "set_tractors", fail)  # the fourth row
    with sessions() as session, pytest.raises(RuntimeError):
        import_vehicles(session, path)

    assert stored(sessions) == {} and pairs(sessions) == set()


def test_english_headers_region_codes_and_empty_rows(sessions, tmp_path):
    headers = ["plate", "plate_color", "region", "axles", "tractors"]
    rows = [
        ["晋E12345", "blue", 140581, 2, None],
        [None, None, None, None, None],  # skipped, not an error
        ["晋E0009挂", "yellow", "1405KF", 3, "晋E12345 晋E54321"],
        ["晋E54321", "yellow", "140500", 2, None],  # a city, not a county
    ]
    path = write_vehicles_xlsx(tmp_path / "en.xlsx", rows, headers=headers)

    with sessions() as session:
        report = import_vehicles(session, path)

    assert report.rows == 3 and report.created == 2
    assert [(e.row, e.column) for e in report.errors] == [(5, "所属区划")]
    assert "is a city, not a county" in report.errors[0].reason
    assert stored(sessions)["晋E0009挂"].region_code == "1405KF"
    assert pairs(sessions) == {("晋E12345", "晋E0009挂"), ("晋E54321", "晋E0009挂")}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (["车牌号码", "所属区划"], "lacks columns 车牌颜色"),
        (
            ["车牌颜色", "所属区划"],
            "no header row (a row with 车牌号码, 车牌颜色 and 所属区划)",
        ),
    ],
)
def test_a_file_without_the_needed_columns_is_refused(
    sessions, tmp_path, headers, message
):
    path = write_vehicles_xlsx(tmp_path / "x.xlsx", [["晋E11111"]], headers=headers)
    with (
        sessions() as session,
        pytest.raises(ImportFileError, match=re.escape(message)),
    ):
        import_vehicles(session, path)


def test_template_headers():
    assert VEHICLE_HEADERS == (
        "车牌号码",
        "车牌颜色",
        "轴数",
        "轴型",
        "核定总质量(kg)",
        "所有人",
        "运输企业",
        "所属区划",
        "牵引车车牌",
    )


def imports_in_audit(sessions) -> list:
    with sessions() as session:
        return [e for e in audit.search(session) if e.action == "import_vehicles"]


def test_cli_reports_rows_writes_the_report_and_audits(sessions, db_url, tmp_path):
    path = vehicle_list(tmp_path / "vehicles.xlsx")
    report = tmp_path / "bad.csv"

    answer = CliRunner().invoke(
        main,
        ["platform", "import-vehicles", str(path), "--database-url", db_url]
        + ["--report", str(report)],
    )

    assert answer.exit_code == 1, answer.output
    for row, (_column, reason) in enumerate(BAD_ROW_REASONS, start=FIRST_BAD_ROW):
        assert f"row {row}: " in answer.output
        assert reason in answer.output
    assert "12 rows: 5 good (5 new, 0 updated), 7 bad; written" in answer.output
    assert "tractor-trailer pairs: 2 added, 0 removed" in answer.output
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "行号 row,列 column,原因 reason"
    assert len(lines) == 8 and lines[1].startswith("8,车牌号码,")
    assert set(stored(sessions)) == GOOD_PLATES
    [entry] = imports_in_audit(sessions)
    assert entry.target == str(path)
    assert entry.detail == {
        "rows": 12,
        "created": 5,
        "updated": 0,
        "bad_rows": 7,
        "pairs_added": 2,
        "pairs_removed": 0,
    }


def test_cli_strict_and_dry_run_write_and_audit_nothing(sessions, db_url, tmp_path):
    path = vehicle_list(tmp_path / "vehicles.xlsx")
    runner = CliRunner()
    base = ["platform", "import-vehicles", str(path), "--database-url", db_url]

    strict = runner.invoke(main, [*base, "--strict"])
    dry = runner.invoke(main, [*base, "--dry-run"])

    assert strict.exit_code == 1
    assert "not written (--strict, bad rows)" in strict.output
    assert dry.exit_code == 1 and "not written (dry run)" in dry.output
    assert "2 added, 0 removed (not written)" in dry.output
    assert stored(sessions) == {} and imports_in_audit(sessions) == []


def test_cli_clean_file_exits_0(sessions, db_url, tmp_path):
    clean = write_vehicles_xlsx(tmp_path / "ok.xlsx", GOOD_ROWS, title="车辆")
    answer = CliRunner().invoke(
        main, ["platform", "import-vehicles", str(clean), "--database-url", db_url]
    )

    assert answer.exit_code == 0, answer.output
    assert "5 rows: 5 good (5 new, 0 updated), 0 bad; written" in answer.output
    assert len(imports_in_audit(sessions)) == 1


def test_cli_refuses_a_file_that_is_not_a_workbook(sessions, db_url, tmp_path):
    path = tmp_path / "vehicles.xlsx"
    path.write_text("车牌号码,车牌颜色\n")

    answer = CliRunner().invoke(
        main, ["platform", "import-vehicles", str(path), "--database-url", db_url]
    )

    assert answer.exit_code == 1
    assert "not a readable .xlsx workbook" in answer.output
