"""Exporting records and units as CSV and xlsx, by date range and region."""

import csv
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from platform_factories import DETECTED, make_record

from zhichao.cli import main
from zhichao.platform import exporter
from zhichao.platform.services import register_station
from zhichao.platform.units import UnitData, UnitKind, save_unit
from zhichao.timeutil import SHANGHAI

# DETECTED is 2026-06-18 06:06 in Beijing
DAY = "2026-06-18"


@pytest.fixture
def loaded(client, sessions):
    """Three records on the day in two counties, one the next day."""
    with sessions() as session:
        register_station(
            session, "1405250001", "一号站", "泽州甲矿", "coal_mine", "140525"
        )
        session.commit()
    records = [
        make_record(1, station="1405250001"),
        make_record(2, station="1405250001", gross_kg=40_000),
        make_record(1, station="1405810001"),  # not registered: county from its code
        make_record(3, station="1405250001", detected=DETECTED + timedelta(days=1)),
    ]
    answer = client.post("/api/v1/records", json={"records": records})
    assert answer.status_code == 200, answer.text
    return records


def read_csv(path):
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


def read_xlsx(path):
    book = load_workbook(path, read_only=True)
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def day_range():
    start = datetime(2026, 6, 18, tzinfo=SHANGHAI)
    return start, start + timedelta(days=1)


@pytest.mark.parametrize(
    ("scope", "stations"),
    [
        (None, ["1405250001", "1405250001", "1405810001"]),
        ("1405", ["1405250001", "1405250001", "1405810001"]),
        ("140525", ["1405250001", "1405250001"]),
        ("140581", ["1405810001"]),
        ("140522", []),
    ],
)
def test_records_by_range_and_scope(loaded, sessions, tmp_path, scope, stations):
    start, end = day_range()
    path = tmp_path / "out.csv"
    with sessions() as session:
        assert exporter.count_records(session, start, end, scope) == len(stations)
        written = exporter.export_records(session, path, start, end, "csv", scope)

    rows = read_csv(path)
    assert written == len(stations)
    assert rows[0][:3] == ["记录编号", "检测时间", "行政区划"]
    assert sorted(row[4] for row in rows[1:]) == stations


def test_record_row_contents(loaded, sessions, tmp_path):
    start, end = day_range()
    path = tmp_path / "out.xlsx"
    with sessions() as session:
        exporter.export_records(session, path, start, end, "xlsx", "140525")

    header, first, second = read_xlsx(path)
    row = dict(zip(header, first, strict=True))
    assert row["记录编号"] == loaded[0]["record_id"]
    assert row["检测时间"] == "2026-06-18 06:06:31"
    assert row["源头单位"] == "泽州甲矿"
    assert row["行政区划"] == "140525"
    assert row["车牌"] == "晋E12345"
    assert row["车货总质量(kg)"] == 52000
    assert row["是否超限"] == "是"
    assert dict(zip(header, second, strict=True))["是否超限"] == "否"


def test_units_export(sessions, db_url, tmp_path):
    with sessions() as session:
        for name, county in (("泽州甲", "140525"), ("高平甲", "140581")):
            save_unit(session, UnitData(name, UnitKind.WASHERY, county))
        session.commit()
    path = tmp_path / "units.csv"

    answer = CliRunner().invoke(
        main,
        ["platform", "export", "units", "--region", "140581", "-o", str(path)]
        + ["--database-url", db_url],
    )

    assert answer.exit_code == 0, answer.output
    assert "1 units written" in answer.output
    rows = read_csv(path)
    assert rows[1][0] == "高平甲" and rows[1][2] == "洗煤厂"


def test_cli_records_whole_day_in_region(loaded, db_url, tmp_path):
    path = tmp_path / "r.xlsx"

    answer = CliRunner().invoke(
        main,
        ["platform", "export", "records", "--from", DAY, "--to", DAY]
        + ["--format", "xlsx", "--region", "140500", "-o", str(path)]
        + ["--database-url", db_url],
    )

    assert answer.exit_code == 0, answer.output
    assert "3 records written" in answer.output
    assert len(read_xlsx(path)) == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", DAY, "--to", "2026-06-17"], "after --from"),
        (["--from", DAY, "--to", DAY, "--region", "1405"], "not a region code"),
        (["--from", "18/06/2026", "--to", DAY], "--from"),
    ],
)
def test_cli_bad_arguments(db_url, tmp_path, args, message):
    answer = CliRunner().invoke(
        main, ["platform", "export", "records", *args, "--database-url", db_url]
    )

    assert answer.exit_code == 2
    assert message in answer.output


def test_export_of_nothing_has_a_header(sessions, tmp_path):
    start = datetime(2020, 1, 1, tzinfo=UTC)
    path = tmp_path / "none.csv"
    with sessions() as session:
        assert exporter.export_records(session, path, start, start, "csv") == 0

    assert len(read_csv(path)) == 1


def test_every_export_is_in_the_audit_log(loaded, sessions, db_url, tmp_path):
    from zhichao.platform import audit

    for args in (
        ["records", "--from", DAY, "--to", DAY, "-o", str(tmp_path / "r.csv")],
        ["units", "-o", str(tmp_path / "u.csv")],
    ):
        answer = CliRunner().invoke(
            main, ["platform", "export", *args, "--database-url", db_url]
        )
        assert answer.exit_code == 0, answer.output

    with sessions() as session:
        entries = audit.search(session, limit=50)
        report = audit.verify_chain(session)
    actions = [e.action for e in entries]
    assert "export_records" in actions and "export_units" in actions
    record_export = next(e for e in entries if e.action == "export_records")
    assert record_export.target.endswith("r.csv")
    assert record_export.detail["rows"] == 3
    assert report.intact
