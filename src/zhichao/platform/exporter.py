"""Export weighing records and source units as CSV or Excel (.xlsx).

Records are read in batches, oldest first, and written as they are read, so an
export of a year holds one batch in memory at a time. CSV is UTF-8 with a byte
order mark, which Excel needs to show Chinese text; times are Beijing time.
"""

import csv
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session

from zhichao.platform import units
from zhichao.platform.models import SourceUnit, Station, WeighingRecord
from zhichao.timeutil import show_local

logger = logging.getLogger(__name__)

BATCH = 2000

RECORD_COLUMNS = (
    ("record_id", "记录编号"),
    ("detected_at", "检测时间"),
    ("county_code", "行政区划"),
    ("unit", "源头单位"),
    ("station_code", "站点编码"),
    ("lane_no", "车道"),
    ("front_plate", "车牌"),
    ("front_plate_color", "车牌颜色"),
    ("rear_plate", "挂车车牌"),
    ("axles", "轴数"),
    ("gross_kg", "车货总质量(kg)"),
    ("limit_kg", "限值(kg)"),
    ("over_kg", "超限质量(kg)"),
    ("over_rate_pct", "超限率(%)"),
    ("overloaded", "是否超限"),
    ("verdict", "结论"),
    ("verification", "校验"),
)
UNIT_COLUMNS = (
    ("name", "单位名称"),
    ("credit_code", "统一社会信用代码"),
    ("kind", "单位类型"),
    ("county_code", "行政区划"),
    ("address", "地址"),
    ("longitude", "经度"),
    ("latitude", "纬度"),
    ("person_in_charge", "负责人"),
    ("contact_phone", "联系电话"),
    ("supervision_method", "监管方式"),
    ("responsible_officer", "包保责任人"),
    ("published", "是否公示"),
    ("stations", "站点"),
)


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


Progress = Callable[[int], None]


def stations_in_scope(session: Session, scope: str | None) -> dict[int, tuple]:
    """Station id -> (region code, unit name) for the stations in ``scope``.

    A station's region is its unit's; a station with no unit (not yet
    registered) counts by the county digits of its station code.
    """
    query = sa.select(
        Station.id, Station.station_code, SourceUnit.county_code, SourceUnit.name
    ).outerjoin(SourceUnit, Station.unit_id == SourceUnit.id)
    found = {}
    for station_id, code, county, name in session.execute(query):
        region = county or code[:6]
        if scope is None or region.startswith(scope):
            found[station_id] = (region, name or "")
    return found


def _records_query(stations, start: datetime, end: datetime):
    return (
        sa.select(WeighingRecord)
        .where(
            WeighingRecord.detected_at >= start,
            WeighingRecord.detected_at < end,
            WeighingRecord.station_id.in_(list(stations)),
        )
        .order_by(WeighingRecord.detected_at, WeighingRecord.id)
    )


def count_records(
    session: Session, start: datetime, end: datetime, scope: str | None = None
) -> int:
    stations = stations_in_scope(session, scope)
    query = _records_query(stations, start, end).order_by(None)
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def record_rows(
    session: Session, start: datetime, end: datetime, scope: str | None = None
) -> Iterator[list[Any]]:
    """The records detected in [start, end) in ``scope``, as export rows."""
    stations = stations_in_scope(session, scope)
    if not stations:
        return
    query = _records_query(stations, start, end).execution_options(yield_per=BATCH)
    for record in session.scalars(query):
        county, unit_name = stations[record.station_id]
        values = {
            "detected_at": show_local(record.detected_at),
            "county_code": county,
            "unit": unit_name,
            "overloaded": "是" if record.overloaded else "否",
        }
        yield [
            values[key] if key in values else getattr(record, key)
            for key, _ in RECORD_COLUMNS
        ]


def unit_rows(session: Session, scope: str | None = None) -> Iterator[list[Any]]:
    for unit in units.list_units(session, scope):
        values = {
            "kind": units.kind_label(unit.kind),
            "supervision_method": units.method_label(unit.supervision_method),
            "published": "是" if unit.published else "否",
            "stations": " ".join(s.station_code for s in unit.stations),
        }
        yield [
            values[key] if key in values else getattr(unit, key)
            for key, _ in UNIT_COLUMNS
        ]


def write_rows(
    path: Path | str,
    fmt: ExportFormat,
    columns: Sequence[tuple[str, str]],
    rows: Iterator[list[Any]],
    progress: Progress | None = None,
) -> int:
    """Write a header of the columns' Chinese names, then ``rows``; the count."""
    written = 0
    with _writer(Path(path), ExportFormat(fmt)) as append:
        append([zh for _key, zh in columns])
        for row in rows:
            append(row)
            written += 1
            if progress and written % 100 == 0:
                progress(100)
    if progress and written % 100:
        progress(written % 100)
    logger.info("exported %s rows to %s", written, path)
    return written


@contextmanager
def _writer(path: Path, fmt: ExportFormat):
    if fmt is ExportFormat.CSV:
        with path.open("w", encoding="utf-8-sig", newline="") as stream:
            writer = csv.writer(stream)
            yield lambda row: writer.writerow(
                ["" if value is None else value for value in row]
            )
        return
    book = Workbook(write_only=True)
    sheet = book.create_sheet("导出")
    yield sheet.append
    book.save(path)


def export_records(
    session: Session,
    path: Path | str,
    start: datetime,
    end: datetime,
    fmt: ExportFormat = ExportFormat.CSV,
    scope: str | None = None,
    progress: Progress | None = None,
) -> int:
    rows = record_rows(session, start, end, scope)
    return write_rows(path, fmt, RECORD_COLUMNS, rows, progress)


def export_units(
    session: Session,
    path: Path | str,
    fmt: ExportFormat = ExportFormat.CSV,
    scope: str | None = None,
    progress: Progress | None = None,
) -> int:
    return write_rows(path, fmt, UNIT_COLUMNS, unit_rows(session, scope), progress)
