"""Import a county's list of source units from an Excel workbook (.xlsx).

The first sheet is read (or the one named). Its header row is found among the
first rows by the column names in :data:`COLUMNS` (Chinese or English); the
rows below are units, one per row. Each row is checked on its own: a bad row is
reported with its row number (as Excel shows it) and the reason, and the good
rows are written in one transaction, so a failure while writing leaves nothing
behind. A unit is matched to a stored one by credit code, else by name within
its region, and updated; otherwise it is created.
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session

from zhichao.errors import ZhichaoError
from zhichao.platform import units
from zhichao.platform.models import Region
from zhichao.platform.regions import region_index

logger = logging.getLogger(__name__)

HEADER_SEARCH_ROWS = 10
# field -> the column names that mean it, the first being the template's
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("单位名称", "源头单位名称", "名称", "name"),
    "credit_code": ("统一社会信用代码", "信用代码", "credit_code"),
    "kind": ("单位类型", "类型", "kind"),
    "region": ("行政区划", "所属区县", "区县", "region"),
    "address": ("地址", "单位地址", "address"),
    "longitude": ("经度", "longitude"),
    "latitude": ("纬度", "latitude"),
    "person_in_charge": ("负责人", "单位负责人", "person_in_charge"),
    "contact_phone": ("联系电话", "电话", "contact_phone"),
    "supervision_method": ("监管方式", "supervision_method"),
    "responsible_officer": (
        "包保责任人",
        "监管责任人",
        "责任人",
        "responsible_officer",
    ),
    "published": ("是否公示", "公示", "published"),
}
REQUIRED = ("name", "kind", "region")
TEMPLATE_HEADERS = tuple(names[0] for names in COLUMNS.values())
YES = {"是", "yes", "y", "true", "1"}
NO = {"否", "no", "n", "false", "0"}


class ImportFileError(ZhichaoError):
    """The workbook as a whole cannot be imported (unreadable, no header row)."""


@dataclass(frozen=True)
class RowError:
    row: int  # the row number Excel shows
    reason: str


@dataclass
class ImportReport:
    rows: int = 0  # non-empty rows below the header
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False  # whether the good rows were committed

    @property
    def good(self) -> int:
        return self.rows - len(self.errors)


@dataclass(frozen=True)
class _Row:
    number: int
    data: units.UnitData


def import_units(
    session: Session,
    path: Path | str,
    *,
    dry_run: bool = False,
    strict: bool = False,
    sheet: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import the units in the workbook at ``path`` through ``session``.

    Commits the good rows unless ``dry_run`` (everything checked and matched,
    then rolled back) or ``strict`` with any bad row (nothing written).
    ``progress`` is called with the number of rows read since the last call.
    """
    report = ImportReport(dry_run=dry_run)
    rows = read_rows(path, sheet)
    index = region_index(session)
    good: list[_Row] = []
    seen: dict[tuple, int] = {}
    for number, values in rows:
        if progress:
            progress(1)
        if _empty(values):
            continue
        report.rows += 1
        try:
            data = _to_unit(values, index)
            _check_duplicate(data, number, seen)
        except units.UnitError as err:
            report.errors.append(RowError(number, str(err)))
            continue
        good.append(_Row(number, data))

    _write(session, good, report, hold=dry_run or (strict and bool(report.errors)))
    return report


def _write(session: Session, good: list[_Row], report: ImportReport, hold: bool):
    try:
        for row in good:
            _unit, created = units.save_unit(session, row.data)
            if created:
                report.created += 1
            else:
                report.updated += 1
    except Exception:
        session.rollback()
        raise
    if hold:
        session.rollback()
        logger.info("import checked, nothing written (%s good rows)", len(good))
        return
    session.commit()
    report.written = True
    logger.info(
        "import: %s created, %s updated, %s refused",
        report.created,
        report.updated,
        len(report.errors),
    )


def read_rows(
    path: Path | str, sheet: str | None = None
) -> Iterable[tuple[int, dict[str, Any]]]:
    """The rows below the header as ``(row number, {field: cell value})``."""
    try:
        book = load_workbook(Path(path), read_only=True, data_only=True)
    except (OSError, ValueError, KeyError, BadZipFile) as err:
        raise ImportFileError(f"{path}: not a readable .xlsx workbook ({err})") from err
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ImportFileError(f"{path}: no sheet {sheet!r}")
        table = book[sheet] if sheet else book.worksheets[0]
        cells = table.iter_rows(values_only=True)
        header_row, columns = _find_header(cells, path)
        for number, values in enumerate(cells, start=header_row + 1):
            yield (
                number,
                {
                    name: values[i] if i < len(values) else None
                    for name, i in columns.items()
                },
            )
    finally:
        book.close()


def row_count(path: Path | str, sheet: str | None = None) -> int | None:
    """Rows in the sheet as its dimensions say (None when it does not say)."""
    try:
        book = load_workbook(Path(path), read_only=True)
    except (OSError, ValueError, KeyError, BadZipFile):
        return None  # import_units says why
    try:
        table = book[sheet] if sheet in book.sheetnames else book.worksheets[0]
        return table.max_row
    finally:
        book.close()


def _find_header(cells, path) -> tuple[int, dict[str, int]]:
    aliases = {
        alias.lower(): name for name, names in COLUMNS.items() for alias in names
    }
    for number in range(1, HEADER_SEARCH_ROWS + 1):
        values = next(cells, None)
        if values is None:
            break
        columns: dict[str, int] = {}
        for i, value in enumerate(values):
            key = aliases.get(str(value).strip().lower()) if value else None
            if key and key not in columns:
                columns[key] = i
        if "name" in columns:
            missing = [name for name in REQUIRED if name not in columns]
            if missing:
                wanted = ", ".join(COLUMNS[name][0] for name in missing)
                raise ImportFileError(f"{path}: row {number} lacks columns {wanted}")
            return number, columns
    raise ImportFileError(
        f"{path}: no header row (a row with 单位名称, 单位类型 and 行政区划)"
        f" in the first {HEADER_SEARCH_ROWS} rows"
    )


def _empty(values: dict[str, Any]) -> bool:
    return all(_text(value) is None for value in values.values())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _to_unit(values: dict[str, Any], index: dict[str, Region]) -> units.UnitData:
    name = _text(values.get("name"))
    if name is None:
        raise units.UnitError("单位名称 is empty")
    kind = _text(values.get("kind"))
    if kind is None:
        raise units.UnitError("单位类型 is empty")
    credit = _text(values.get("credit_code"))
    method = _text(values.get("supervision_method"))
    return units.UnitData(
        name=name,
        kind=units.parse_kind(kind),
        county_code=_region(values.get("region"), index),
        credit_code=credit.upper() if credit else None,
        address=_text(values.get("address")),
        longitude=_number(values.get("longitude"), "经度"),
        latitude=_number(values.get("latitude"), "纬度"),
        person_in_charge=_text(values.get("person_in_charge")),
        contact_phone=_text(values.get("contact_phone")),
        supervision_method=units.parse_method(method) if method else None,
        responsible_officer=_text(values.get("responsible_officer")),
        published=_flag(values.get("published")),
    )


def _region(value: Any, index: dict[str, Region]) -> str:
    text = _text(value)
    if text is None:
        raise units.UnitError("行政区划 is empty")
    region = index.get(text)
    if region is None:
        raise units.UnitError(f"unknown region {text!r}")
    if region.level in ("province", "city"):
        raise units.UnitError(f"region {text!r} is a {region.level}, not a county")
    return region.code


def _number(value: Any, column: str) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    text = _text(value)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise units.UnitError(f"{column} {text!r} is not a number") from None


def _flag(value: Any) -> bool:
    text = _text(value)
    if text is None or text.lower() in YES:
        return True
    if text.lower() in NO:
        return False
    raise units.UnitError(f"是否公示 {text!r} is neither 是 nor 否")


def _check_duplicate(data: units.UnitData, number: int, seen: dict[tuple, int]):
    keys = [("name", data.name, data.county_code)]
    if data.credit_code:
        keys.append(("credit", data.credit_code))
    for key in keys:
        if key in seen:
            what = "credit code" if key[0] == "credit" else "name and region"
            raise units.UnitError(f"duplicate of row {seen[key]} (same {what})")
    for key in keys:
        seen[key] = number


def write_units_xlsx(
    path: Path | str,
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str] = TEMPLATE_HEADERS,
    title: str | None = None,
) -> Path:
    """Write a workbook in the import layout: an optional title row, the
    headers, then ``rows`` (for templates, samples and tests)."""
    book = Workbook(write_only=True)
    table = book.create_sheet("源头单位")
    if title:
        table.append([title])
    table.append(list(headers))
    for row in rows:
        table.append(list(row))
    path = Path(path)
    book.save(path)
    return path
