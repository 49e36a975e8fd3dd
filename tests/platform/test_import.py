"""Importing a county's list of source units from .xlsx."""

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from registry_samples import county_list, credit_code, good_row

from zhichao.cli import main
from zhichao.platform import units
from zhichao.platform.db import make_engine, make_sessionmaker
from zhichao.platform.importer import ImportFileError, import_units, write_units_xlsx
from zhichao.platform.migrations import run_migrations
from zhichao.platform.models import SourceUnit

# county_list(): title row 1, header row 2, good rows 3-7, then the bad rows
EXPECTED_ERRORS = [
    (8, "check character"),
    (9, "unknown kind '养猪场'"),
    (10, "unknown region '太原市小店区'"),
    (11, "duplicate of row 3"),
    (12, "单位名称 is empty"),
]


@pytest.fixture
def sessions(db_url):
    run_migrations(db_url)
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def stored(sessions) -> list[SourceUnit]:
    with sessions() as session:
        return list(session.scalars(sa.select(SourceUnit).order_by(SourceUnit.name)))


def assert_errors(errors):
    assert [error.row for error in errors] == [row for row, _ in EXPECTED_ERRORS]
    for error, (_row, reason) in zip(errors, EXPECTED_ERRORS, strict=True):
        assert reason in error.reason


def test_good_rows_in_bad_rows_reported(sessions, tmp_path):
    path = county_list(tmp_path / "list.xlsx")
    calls = []

    with sessions() as session:
        report = import_units(session, path, progress=calls.append)

    assert report.rows == 10
    assert report.created == 5 and report.updated == 0
    assert report.written
    assert_errors(report.errors)
    assert sum(calls) >= 10
    units_in = stored(sessions)
    assert len(units_in) == 5
    first = next(u for u in units_in if u.name == "泽州县第1煤矿")
    assert first.credit_code == credit_code(1)
    assert first.kind == "coal_mine"
    assert first.county_code == "140525"
    assert first.supervision_method == "on_site"
    assert first.responsible_officer == "李四"
    assert first.longitude == pytest.approx(112.851)


def test_importing_again_updates(sessions, tmp_path):
    path = county_list(tmp_path / "list.xlsx")
    with sessions() as session:
        import_units(session, path)
    with sessions() as session:
        report = import_units(session, path)

    assert report.created == 0 and report.updated == 5
    assert len(stored(sessions)) == 5


def test_dry_run_writes_nothing(sessions, tmp_path):
    path = county_list(tmp_path / "list.xlsx")
    with sessions() as session:
        report = import_units(session, path, dry_run=True)

    assert report.created == 5 and not report.written
    assert_errors(report.errors)
    assert stored(sessions) == []


def test_strict_writes_nothing_when_a_row_is_bad(sessions, tmp_path):
    path = county_list(tmp_path / "list.xlsx")
    with sessions() as session:
        report = import_units(session, path, strict=True)

    assert not report.written
    assert stored(sessions) == []


def test_failure_while_writing_leaves_nothing(sessions, tmp_path, monkeypatch):
    path = county_list(tmp_path / "list.xlsx")
    real = units.save_unit
    saved = []

    def fail_on_third(session, data):
        if len(saved) == 2:
            raise RuntimeError("disk gone")
        saved.append(data)
        return real(session, data)

    monkeypatch.setattr(units, "save_unit", fail_on_third)
    with sessions() as session, pytest.raises(RuntimeError):
        import_units(session, path)

    assert len(saved) == 2
    assert stored(sessions) == []


def test_header_in_first_row_english_names_and_region_codes(sessions, tmp_path):
    headers = ["name", "kind", "region", "credit_code"]
    rows = [
        ["甲", "quarry", 140581, None],
        ["乙", "cement", "1405KF", credit_code(9, "140500")],
        [None, None, None, None],  # an empty row is skipped, not an error
        ["丙", "steel", "140500", None],
    ]
    path = write_units_xlsx(tmp_path / "en.xlsx", rows, headers=headers)

    with sessions() as session:
        report = import_units(session, path)

    assert report.rows == 3 and report.created == 2
    assert [(e.row, "a city" in e.reason) for e in report.errors] == [(5, True)]
    assert {u.county_code for u in stored(sessions)} == {"140581", "1405KF"}


def test_file_without_the_needed_columns_is_refused(sessions, tmp_path):
    path = write_units_xlsx(tmp_path / "x.xlsx", [["甲"]], headers=["单位名称"])
    with sessions() as session, pytest.raises(ImportFileError, match="单位类型"):
        import_units(session, path)

    other = write_units_xlsx(tmp_path / "y.xlsx", [["a"]], headers=["foo"])
    with sessions() as session, pytest.raises(ImportFileError, match="no header"):
        import_units(session, other)


def test_not_a_workbook(sessions, tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_text("单位名称,类型\n")
    with sessions() as session, pytest.raises(ImportFileError, match="not a readable"):
        import_units(session, path)


def test_cli_reports_rows_and_exits_1(sessions, db_url, tmp_path):
    path = county_list(tmp_path / "list.xlsx")
    report = tmp_path / "bad.csv"

    answer = CliRunner().invoke(
        main,
        ["platform", "import-units", str(path), "--database-url", db_url]
        + ["--report", str(report)],
    )

    assert answer.exit_code == 1, answer.output
    for row, reason in EXPECTED_ERRORS:
        assert f"row {row}: " in answer.output
        assert reason in answer.output
    assert "10 rows: 5 good (5 new, 0 updated), 5 bad; written" in answer.output
    lines = report.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 6 and lines[1].startswith("8,")
    assert len(stored(sessions)) == 5


def test_cli_dry_run_and_clean_file(sessions, db_url, tmp_path):
    clean = write_units_xlsx(tmp_path / "ok.xlsx", [good_row(i) for i in range(3)])
    runner = CliRunner()

    dry = runner.invoke(
        main,
        ["platform", "import-units", str(clean), "--dry-run", "--database-url", db_url],
    )
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output
    assert stored(sessions) == []

    real = runner.invoke(
        main, ["platform", "import-units", str(clean), "--database-url", db_url]
    )
    assert real.exit_code == 0, real.output
    assert len(stored(sessions)) == 3

    from zhichao.platform import audit

    with sessions() as session:
        imports = [e for e in audit.search(session) if e.action == "import_units"]
    assert len(imports) == 1, "the dry run is not an import; the real one is"
    assert imports[0].detail["created"] == 3


def test_cli_refuses_a_file_that_is_not_a_workbook(sessions, db_url, tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_text("not a workbook")

    answer = CliRunner().invoke(
        main, ["platform", "import-units", str(path), "--database-url", db_url]
    )

    assert answer.exit_code == 1
    assert "not a readable .xlsx workbook" in answer.output
