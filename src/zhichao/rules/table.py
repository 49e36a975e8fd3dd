"""The limits table (限值表): versioned data, loaded and checked once.

The figures and their citations live in a YAML file beside this module
(``limits_2016.yaml``). This module only reads that file, refuses one that is
malformed, and answers look-ups; it knows nothing of verdicts.
"""

import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from zhichao.errors import ConfigError

logger = logging.getLogger(__name__)

DEFAULT_TABLE = "limits_2016.yaml"
TABLE_KINDS = ("truck", "combination")


@dataclass(frozen=True)
class LimitRow:
    """One row of Art. 3: a configuration and its gross-mass limit."""

    kind: str
    axles: int
    limit_kg: int
    basis: str
    and_more: bool = False
    single_drive_axle: bool = False

    def matches(self, axles: int) -> bool:
        return axles == self.axles or (self.and_more and axles > self.axles)


@dataclass(frozen=True)
class RaiseRow:
    """A GB 1589 figure that may replace an Art. 3 limit when it is higher."""

    kind: str
    axles: int
    limit_kg: int
    basis: str
    flags: tuple[str, ...]


@dataclass(frozen=True)
class LimitTable:
    version: str
    rows: tuple[LimitRow, ...]
    single_tyre_reduction_kg: int
    single_tyre_basis: str
    low_speed_basis: str
    gb1589_basis: str
    gb1589_rows: tuple[RaiseRow, ...]

    def row(self, kind: str, axles: int, single_drive_axle: bool) -> LimitRow | None:
        """The Art. 3 row for a known configuration, or None when there is none."""
        for row in self.rows:
            if (
                row.kind == kind
                and row.single_drive_axle == single_drive_axle
                and row.matches(axles)
            ):
                return row
        return None

    def lowest_for(self, axles: int) -> LimitRow | None:
        """The lowest row any configuration with this axle count could fall under."""
        candidates = [row for row in self.rows if row.matches(axles)]
        return min(candidates, key=lambda row: row.limit_kg, default=None)

    def lowest(self) -> LimitRow:
        """The lowest row of the whole table."""
        return min(self.rows, key=lambda row: row.limit_kg)

    def axle_counts(self, kind: str) -> str:
        """The axle counts a kind has rows for, in words ("2 to 4", "3 or more")."""
        rows = [row for row in self.rows if row.kind == kind]
        low = min(row.axles for row in rows)
        high = max(row.axles for row in rows)
        if any(row.and_more for row in rows):
            return f"{low} or more"
        return f"{low} to {high}" if high > low else str(low)

    def raise_row(self, kind: str, axles: int) -> RaiseRow | None:
        for row in self.gb1589_rows:
            if row.kind == kind and row.axles == axles:
                return row
        return None


def load_table(text: str) -> LimitTable:
    """Build a table from YAML text; ConfigError names what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"limits table is not valid YAML: {err}") from err
    data = _mapping(data, "limits table")
    single_tyre = _mapping(data.get("single_tyre"), "single_tyre")
    low_speed = _mapping(data.get("low_speed"), "low_speed")
    gb1589 = _mapping(data.get("gb1589"), "gb1589")

    table = LimitTable(
        version=_text(data, "version"),
        rows=tuple(_limit_row(item, i) for i, item in enumerate(_list(data, "art3"))),
        single_tyre_reduction_kg=_mass(single_tyre, "reduction_kg", "single_tyre"),
        single_tyre_basis=_text(single_tyre, "basis", "single_tyre"),
        low_speed_basis=_text(low_speed, "basis", "low_speed"),
        gb1589_basis=_text(gb1589, "basis", "gb1589"),
        gb1589_rows=tuple(
            _raise_row(item, i)
            for i, item in enumerate(_list(gb1589, "rows", "gb1589"))
        ),
    )
    _check_unique(table)
    return table


@cache
def default_table() -> LimitTable:
    """The table shipped with the package, read once per process."""
    text = resources.files(__package__).joinpath(DEFAULT_TABLE).read_text("utf-8")
    table = load_table(text)
    logger.debug("limits table %s loaded, %s rows", table.version, len(table.rows))
    return table


def _limit_row(item: Any, index: int) -> LimitRow:
    where = f"art3[{index}]"
    item = _mapping(item, where)
    return LimitRow(
        kind=_kind(item, where),
        axles=_axles(item, where),
        limit_kg=_mass(item, "limit_kg", where),
        basis=_text(item, "basis", where),
        and_more=_flag(item, "and_more", where),
        single_drive_axle=_flag(item, "single_drive_axle", where),
    )


def _raise_row(item: Any, index: int) -> RaiseRow:
    where = f"gb1589.rows[{index}]"
    item = _mapping(item, where)
    if item.get("air_suspension") is not True:
        raise ConfigError(
            f"{where}.air_suspension: only air-suspension rows are supported"
        )
    flags = item.get("flags", [])
    if not isinstance(flags, list) or not all(isinstance(f, str) and f for f in flags):
        raise ConfigError(f"{where}.flags: expected a list of non-empty strings")
    return RaiseRow(
        kind=_kind(item, where),
        axles=_axles(item, where),
        limit_kg=_mass(item, "limit_kg", where),
        basis=_text(item, "basis", where),
        flags=tuple(flags),
    )


def _check_unique(table: LimitTable) -> None:
    keys = [
        (row.kind, row.axles, row.and_more, row.single_drive_axle) for row in table.rows
    ]
    if len(keys) != len(set(keys)):
        raise ConfigError("art3: two rows describe the same configuration")
    raises = [(row.kind, row.axles) for row in table.gb1589_rows]
    if len(raises) != len(set(raises)):
        raise ConfigError("gb1589.rows: two rows describe the same configuration")
    if not table.rows:
        raise ConfigError("art3: the table has no rows")


def _mapping(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping")
    return value


def _list(data: dict, key: str, where: str = "") -> list:
    value = data.get(key)
    if not isinstance(value, list):
        raise ConfigError(f"{_path(where, key)}: expected a list")
    return value


def _text(data: dict, key: str, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{_path(where, key)}: expected a non-empty string")
    return value.strip()


def _mass(data: dict, key: str, where: str = "") -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{_path(where, key)}: expected a positive integer (kg)")
    return value


def _flag(data: dict, key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{_path(where, key)}: expected true or false")
    return value


def _kind(data: dict, where: str) -> str:
    value = data.get("kind")
    if value not in TABLE_KINDS:
        raise ConfigError(f"{where}.kind: expected one of {', '.join(TABLE_KINDS)}")
    return value


def _axles(data: dict, where: str) -> int:
    value = data.get("axles")
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ConfigError(f"{where}.axles: expected an integer of at least 2")
    return value


def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
