"""Import a county's lists from Excel workbooks (.xlsx): source units and
vehicles.

The first sheet is read (or the one named). Its header row is found among the
first rows by the column names of the list's :class:`SheetLayout` (Chinese or
English); the rows below are units or vehicles, one per row. Each row is
checked on its own: a bad row is reported with its row number (as Excel shows
it) and the reason, and the good rows are written in one transaction, so a
failure while writing leaves nothing behind.

- Units (:func:`import_units`, :data:`COLUMNS`): matched to a stored one by
  credit code, else by name within its region, and updated; otherwise created.
- Vehicles (:func:`import_vehicles`, :data:`VEHICLE_COLUMNS`): matched by plate
  and plate colour; a trailer's row may list its tractors (牵引车车牌), which
  become the trailer's pairs in ``vehicle_pairs``.

The cell readers (:func:`cell_text`, :func:`cell_number`, :func:`cell_whole`,
:func:`cell_region`) raise :class:`CellError` with the column's name.
"""

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar
from zipfile import BadZipFile

from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session

from zhichao.errors import ZhichaoError
from zhichao.platform import units, vehicles
from zhichao.platform.models import Region
from zhichao.platform.regions import region_index

logger = logging.getLogger(__name__)

T = TypeVar("T")

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

# the vehicle list (车辆登记表); the keys are VehicleData's fields, but
# ``region`` (所属区划) and ``tractors`` (a trailer's 牵引车车牌)
VEHICLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "plate": ("车牌号码", "车牌号", "车牌", "plate"),
    "plate_color": ("车牌颜色", "颜色", "plate_color"),
    "axles": ("轴数", "axles"),
    "axle_config": ("轴型", "轴型配置", "axle_config"),
    "registered_mass_kg": (
        "核定总质量(kg)",
        "核定总质量（kg）",
        "核定总质量",
        "registered_mass_kg",
    ),
    "owner": ("所有人", "车辆所有人", "owner"),
    "transport_company": ("运输企业", "所属企业", "运输公司", "transport_company"),
    "region": ("所属区划", "行政区划", "所属区县", "region"),
    "tractors": ("牵引车车牌", "牵引车", "tractors"),
}
VEHICLE_REQUIRED = ("plate", "plate_color", "region")
VEHICLE_HEADERS = tuple(names[0] for names in VEHICLE_COLUMNS.values())
# columns that, when the file lacks them, leave a stored vehicle's value alone
VEHICLE_OPTIONAL = (
    "axles",
    "axle_config",
    "registered_mass_kg",
    "owner",
    "transport_company",
)


class ImportFileError(ZhichaoError):
    """The workbook as a whole cannot be imported (unreadable, no header row)."""


class CellError(ZhichaoError, ValueError):
    """One cell's value is not acceptable; ``column`` is its header."""

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class SheetLayout:
    """The columns of one kind of list: field -> the names that mean it (the
    first being the template's), those that must be there, and the field
    whose column marks the header row."""

    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    anchor: str

    def header(self, name: str) -> str:
        return self.columns[name][0]

    def required_text(self) -> str:
        names = [self.header(name) for name in self.required]
        return ", ".join(names[:-1]) + " and " + names[-1]


UNIT_LAYOUT = SheetLayout(COLUMNS, REQUIRED, "name")
VEHICLE_LAYOUT = SheetLayout(VEHICLE_COLUMNS, VEHICLE_REQUIRED, "plate")


@dataclass(frozen=True)
class RowError:
    row: int  # the row number Excel shows
    reason: str
    column: str | None = None  # the header of the cell at fault, when one is


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


@dataclass
class VehicleImportReport(ImportReport):
    pairs_added: int = 0
    pairs_removed: int = 0


@dataclass(frozen=True)
class _Row:
    number: int
    data: Any  # units.UnitData or _VehicleRow


@dataclass(frozen=True)
class _VehicleRow:
    data: vehicles.VehicleData
    # the trailer's tractors; None when the file has no such column
    tractors: list[str] | None


# -- source units ---------------------------------------------------------------


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
    index = region_index(session)
    seen: dict[tuple, int] = {}

    def check(number: int, values: dict[str, Any]) -> units.UnitData:
        data = _to_unit(values, index)
        _check_duplicate(data, number, seen)
        return data

    def fail(number: int, err: Exception) -> RowError:
        return RowError(number, str(err))

    rows = read_rows(path, sheet)
    good = _check_rows(rows, check, fail, report, progress)

    def save(row: _Row) -> bool:
        return units.save_unit(session, row.data)[1]

    hold = dry_run or (strict and bool(report.errors))
    _write(session, good, save, report, hold)
    return report


def _check_rows(
    rows: Iterable[tuple[int, dict[str, Any]]],
    check: Callable[[int, dict[str, Any]], T],
    fail: Callable[[int, Exception], RowError],
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> list[_Row]:
    """Each non-empty row through ``check``; a row it refuses is reported."""
    good: list[_Row] = []
    for number, values in rows:
        if progress:
            progress(1)
        if _empty(values):
            continue
        report.rows += 1
        try:
            data = check(number, values)
        except (units.UnitError, vehicles.VehicleError, CellError) as err:
            report.errors.append(fail(number, err))
            continue
        good.append(_Row(number, data))
    return good


def _write(
    session: Session,
    good: list[_Row],
    save: Callable[[_Row], bool],
    report: ImportReport,
    hold: bool,
) -> None:
    """Save the good rows in one transaction; roll back when ``hold``."""
    try:
        for row in good:
            if save(row):
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


# -- reading the sheet ------------------------------------------------------------


def read_rows(
    path: Path | str, sheet: str | None = None, layout: SheetLayout = UNIT_LAYOUT
) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows below the header as ``(row number, {field: cell value})``; a
    field whose column the sheet lacks is not in the dict."""
    try:
        book = load_workbook(Path(path), read_only=True, data_only=True)
    except (OSError, ValueError, KeyError, BadZipFile) as err:
        raise ImportFileError(f"{path}: not a readable .xlsx workbook ({err})") from err
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ImportFileError(f"{path}: no sheet {sheet!r}")
        table = book[sheet] if sheet else book.worksheets[0]
        cells = table.iter_rows(values_only=True)
        header_row, columns = _find_header(cells, path, layout)
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


def _find_header(cells, path, layout: SheetLayout) -> tuple[int, dict[str, int]]:
    aliases = {
        alias.lower(): name for name, names in layout.columns.items() for alias in names
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
        if layout.anchor in columns:
            missing = [name for name in layout.required if name not in columns]
            if missing:
                wanted = ", ".join(layout.header(name) for name in missing)
                raise ImportFileError(f"{path}: row {number} lacks columns {wanted}")
            return number, columns
    raise ImportFileError(
        f"{path}: no header row (a row with {layout.required_text()})"
        f" in the first {HEADER_SEARCH_ROWS} rows"
    )


def _empty(values: dict[str, Any]) -> bool:
    return all(cell_text(value) is None for value in values.values())


def cell_text(value: Any) -> str | None:
    """A cell as trimmed text (a whole float without its ``.0``); None when empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def cell_number(value: Any, column: str) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    text = cell_text(value)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise CellError(f"{column} {text!r} is not a number", column) from None


def cell_whole(value: Any, column: str) -> int | None:
    """A whole number (``6``, ``6.0``, ``"49,000"``); None when empty."""
    if isinstance(value, bool):
        raise CellError(f"{column} {value!r} is not a whole number", column)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = cell_text(value)
    if text is None:
        return None
    digits = text.replace(",", "").replace("，", "")
    if digits.isdecimal():
        return int(digits)
    raise CellError(f"{column} {text!r} is not a whole number", column)


def cell_region(value: Any, index: dict[str, Region], column: str) -> str:
    """The code of the county or zone a cell names, by code or by name."""
    text = cell_text(value)
    if text is None:
        raise CellError(f"{column} is empty", column)
    region = index.get(text)
    if region is None:
        raise CellError(f"unknown region {text!r}", column)
    if region.level in ("province", "city"):
        raise CellError(f"region {text!r} is a {region.level}, not a county", column)
    return region.code


# -- unit rows ----------------------------------------------------------------------


def _to_unit(values: dict[str, Any], index: dict[str, Region]) -> units.UnitData:
    name = cell_text(values.get("name"))
    if name is None:
        raise units.UnitError("单位名称 is empty")
    kind = cell_text(values.get("kind"))
    if kind is None:
        raise units.UnitError("单位类型 is empty")
    credit = cell_text(values.get("credit_code"))
    method = cell_text(values.get("supervision_method"))
    return units.UnitData(
        name=name,
        kind=units.parse_kind(kind),
        county_code=cell_region(values.get("region"), index, "行政区划"),
        credit_code=credit.upper() if credit else None,
        address=cell_text(values.get("address")),
        longitude=cell_number(values.get("longitude"), "经度"),
        latitude=cell_number(values.get("latitude"), "纬度"),
        person_in_charge=cell_text(values.get("person_in_charge")),
        contact_phone=cell_text(values.get("contact_phone")),
        supervision_method=units.parse_method(method) if method else None,
        responsible_officer=cell_text(values.get("responsible_officer")),
        published=_flag(values.get("published")),
    )


def _flag(value: Any) -> bool:
    text = cell_text(value)
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
    return _write_xlsx(path, "源头单位", rows, headers, title)


def _write_xlsx(path, sheet_name, rows, headers, title) -> Path:
    book = Workbook(write_only=True)
    table = book.create_sheet(sheet_name)
    if title:
        table.append([title])
    table.append(list(headers))
    for row in rows:
        table.append(list(row))
    path = Path(path)
    book.save(path)
    return path


# -- vehicles -------------------------------------------------------------------


def import_vehicles(
    session: Session,
    path: Path | str,
    *,
    dry_run: bool = False,
    strict: bool = False,
    sheet: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> VehicleImportReport:
    """Import the vehicles (and trailers' tractors) in the workbook at ``path``.

    As :func:`import_units`: good rows in one transaction, bad rows reported,
    nothing written on ``dry_run`` or on ``strict`` with a bad row. A stored
    vehicle (same plate and colour) is updated; a column the file does not
    have leaves the stored value alone. When the file has the 牵引车车牌
    column, a trailer's cell is its whole list of tractors (empty: none).
    """
    report = VehicleImportReport(dry_run=dry_run)
    index = region_index(session)
    seen: dict[tuple, int] = {}
    present: set[str] = set()

    def check(number: int, values: dict[str, Any]) -> _VehicleRow:
        present.update(values)
        row = _to_vehicle(values, index)
        _check_vehicle_duplicate(row, number, seen)
        return _keep_stored(session, row, present)

    rows = read_rows(path, sheet, VEHICLE_LAYOUT)
    good = _check_rows(rows, check, _vehicle_error, report, progress)

    def save(row: _Row) -> bool:
        return _save_vehicle_row(session, row.data, report)

    hold = dry_run or (strict and bool(report.errors))
    _write(session, good, save, report, hold)
    return report


def _vehicle_error(number: int, err: Exception) -> RowError:
    """The row's error with the header of the column at fault."""
    column = getattr(err, "column", None)
    name = getattr(err, "field", None)
    if column is None and name in VEHICLE_COLUMNS:
        column = VEHICLE_LAYOUT.header(name)
    reason = str(err)
    if column and not reason.startswith(column):
        reason = f"{column}: {reason}"
    return RowError(number, reason, column)


def _to_vehicle(values: dict[str, Any], index: dict[str, Region]) -> _VehicleRow:
    plate_text = cell_text(values.get("plate"))
    if plate_text is None:
        raise vehicles.VehicleError("车牌号码 is empty", "plate")
    color = cell_text(values.get("plate_color"))
    if color is None:
        raise vehicles.VehicleError("车牌颜色 is empty", "plate_color")
    mass_column = VEHICLE_LAYOUT.header("registered_mass_kg")
    mass = cell_whole(values.get("registered_mass_kg"), mass_column)
    vehicles.check_mass_unit(mass)
    data = vehicles.VehicleData(
        plate=vehicles.normalise_plate(plate_text),
        plate_color=vehicles.parse_color(color),
        axles=cell_whole(values.get("axles"), "轴数"),
        axle_config=_axle_config(values.get("axle_config")),
        registered_mass_kg=mass,
        owner=cell_text(values.get("owner")),
        transport_company=cell_text(values.get("transport_company")),
        region_code=cell_region(values.get("region"), index, "所属区划"),
    )
    tractors = None
    if "tractors" in values:
        tractors = vehicles.split_plates(cell_text(values["tractors"]))
        vehicles.check_tractors(data.plate, tractors)
    return _VehicleRow(data, tractors)


def _axle_config(value: Any) -> str | None:
    text = cell_text(value)
    # ``1+2+3`` may be typed with full-width signs or spaces
    return text.replace("＋", "+").replace("－", "-").replace(" ", "") if text else None


def _check_vehicle_duplicate(row: _VehicleRow, number: int, seen: dict[tuple, int]):
    data = row.data
    key = ("vehicle", data.plate, str(data.plate_color))
    if key in seen:
        raise vehicles.VehicleError(
            f"duplicate of row {seen[key]} (same plate and colour)", "plate"
        )
    # pairs are kept by plate: one list of tractors per trailer plate
    pairs_key = ("pairs", data.plate)
    if row.tractors and pairs_key in seen:
        raise vehicles.VehicleError(
            f"the tractors of {data.plate} are listed on row {seen[pairs_key]} too",
            "tractors",
        )
    seen[key] = number
    if row.tractors:
        seen[pairs_key] = number


def _keep_stored(session: Session, row: _VehicleRow, present: set[str]):
    """The row with the stored vehicle's values for the columns the file lacks
    (checked again as a whole, so a kept axle count still fits the new
    configuration)."""
    absent = [name for name in VEHICLE_OPTIONAL if name not in present]
    if not absent:
        return row
    stored = vehicles.get_vehicle(session, row.data.plate, str(row.data.plate_color))
    if stored is None:
        return row
    kept = {name: getattr(stored, name) for name in absent}
    return _VehicleRow(replace(row.data, **kept), row.tractors)


def _save_vehicle_row(
    session: Session, row: _VehicleRow, report: VehicleImportReport
) -> bool:
    _vehicle, created = vehicles.save_vehicle(session, row.data)
    if row.tractors is not None and vehicles.is_trailer(row.data.plate):
        added, removed = vehicles.set_tractors(
            session, row.data.plate, row.tractors, row.data.region_code
        )
        report.pairs_added += added
        report.pairs_removed += removed
    return created


def write_vehicles_xlsx(
    path: Path | str,
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str] = VEHICLE_HEADERS,
    title: str | None = None,
) -> Path:
    """Write a vehicle list in the import layout: an optional title row, the
    headers, then ``rows`` (for templates, samples and tests)."""
    return _write_xlsx(path, "车辆", rows, headers, title)
