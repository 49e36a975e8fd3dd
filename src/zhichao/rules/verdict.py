"""Verdicts: a vehicle's gross-mass limit, over-limit mass and overload rate.

A vehicle is over the limit (超限) when its gross mass (车货总质量) exceeds the
limit the table gives its configuration. Over-limit mass (超限质量) is counted
from the limit; the overload rate (超限率) is that mass over the limit. A
configured tolerance only decides whether the vehicle counts as overloaded.

The limit is worked out in a fixed order, each step recorded in ``basis`` and,
where it is not plain Art. 3, in ``flags``:

1. the base figure: the Art. 3 row, the registered mass of a low-speed vehicle,
   or the lowest row that could apply when the configuration or axle count is
   unknown;
2. a GB 1589 figure replaces it where the vehicle has air suspension and the
   figure is higher;
3. each single-tyred axle under Art. 3 para. 2 item (2) lowers the result by
   the table's reduction, unless the tyres are standard wide tyres.
"""

import logging
from dataclasses import dataclass, fields
from decimal import Decimal

from zhichao.errors import RulesInputError
from zhichao.rules.table import LimitRow, LimitTable, default_table

logger = logging.getLogger(__name__)

KINDS = ("truck", "combination", "low_speed")
BASIS_SEPARATOR = "；"

_KIND_HINTS = {
    "truck": 'more axles make a combination (汽车列车), kind "combination"',
    "combination": 'fewer axles make a truck (货车), kind "truck"',
}

_JSON_TYPE_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


@dataclass(frozen=True)
class VehicleInput:
    """What the lane knows of a vehicle when it decides (车辆信息)."""

    axles: int | None  # None: the axle identifier gave no count
    gross_kg: int
    kind: str | None = None  # "truck" | "combination" | "low_speed" | None
    single_drive_axle: bool = False
    single_tyre_axles: int = 0
    wide_tyres: bool = False
    air_suspension: bool = False
    registered_gross_kg: int | None = None
    tolerance_kg: int = 0


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check (超限判定)."""

    limit_kg: int
    over_kg: int  # max(0, gross - limit), whatever the tolerance
    over_rate_pct: Decimal  # over_kg / limit * 100, half up to 0.01
    overloaded: bool  # gross > limit + tolerance
    basis: str  # citations of the steps applied, in order
    flags: tuple[str, ...]
    rules_version: str


@dataclass
class _Limit:
    """A limit being worked out: the figure so far and how it was reached."""

    kg: int
    steps: list[str]
    flags: list[str]


# field -> (accepted types, what a person should be told is expected)
_FIELD_TYPES = {
    "axles": ((int, type(None)), "an integer or null"),
    "gross_kg": ((int,), "an integer (kg)"),
    "kind": ((str, type(None)), 'one of "truck", "combination", "low_speed" or null'),
    "single_drive_axle": ((bool,), "a boolean"),
    "single_tyre_axles": ((int,), "an integer"),
    "wide_tyres": ((bool,), "a boolean"),
    "air_suspension": ((bool,), "a boolean"),
    "registered_gross_kg": ((int, type(None)), "an integer (kg) or null"),
    "tolerance_kg": ((int,), "an integer (kg)"),
}


def check(vehicle: VehicleInput, table: LimitTable | None = None) -> Verdict:
    """Apply the limits table to one vehicle; RulesInputError if it cannot apply."""
    if table is None:
        table = default_table()
    _check_types(vehicle)
    _check_values(vehicle)

    limit = _base_limit(vehicle, table)
    if vehicle.kind != "low_speed" and vehicle.axles is not None:
        _raise_by_gb1589(vehicle, table, limit)
        _reduce_for_single_tyres(vehicle, table, limit)

    return _verdict(vehicle, limit, table.version)


def json_type_name(value: object) -> str:
    """The JSON name of a value's type, as error messages speak of it."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _check_types(vehicle: VehicleInput) -> None:
    for field in fields(vehicle):
        value = getattr(vehicle, field.name)
        accepted, expected = _FIELD_TYPES[field.name]
        # bool is an int in Python, but true is not a number of axles or kilograms
        if type(value) not in accepted:
            raise RulesInputError(
                f"{field.name}: expected {expected}, got {json_type_name(value)}"
            )
    if vehicle.kind is not None and vehicle.kind not in KINDS:
        raise RulesInputError(
            f'kind: expected {_FIELD_TYPES["kind"][1]}, got "{vehicle.kind}"'
        )


def _check_values(vehicle: VehicleInput) -> None:
    if vehicle.gross_kg < 0:
        raise RulesInputError(f"gross_kg: must not be negative, got {vehicle.gross_kg}")
    if vehicle.tolerance_kg < 0:
        raise RulesInputError(
            f"tolerance_kg: must not be negative, got {vehicle.tolerance_kg}"
        )
    if vehicle.registered_gross_kg is not None and vehicle.registered_gross_kg <= 0:
        raise RulesInputError(
            "registered_gross_kg: the registered gross mass on the vehicle licence "
            f"must be positive, got {vehicle.registered_gross_kg}"
        )
    if vehicle.single_tyre_axles < 0:
        raise RulesInputError(
            f"single_tyre_axles: must not be negative, got {vehicle.single_tyre_axles}"
        )
    _check_axles(vehicle)
    _check_single_drive_axle(vehicle)


def _check_axles(vehicle: VehicleInput) -> None:
    axles = vehicle.axles
    if axles is None:
        return
    if axles < 2:
        raise RulesInputError(
            f"axles: a goods vehicle has at least 2 axles, got {axles}"
        )
    # only axles of a group or a trailer count, drive axles excepted, and
    # every vehicle has a steering axle and a drive axle
    if vehicle.single_tyre_axles > axles - 2:
        raise RulesInputError(
            f"single_tyre_axles: at most {axles - 2} on a {axles}-axle vehicle "
            "(only group and trailer axles count: the steering axle and the "
            f"drive axle never do), got {vehicle.single_tyre_axles}"
        )


def _check_single_drive_axle(vehicle: VehicleInput) -> None:
    if not vehicle.single_drive_axle:
        return
    if vehicle.kind not in ("combination", None) or (
        vehicle.axles is not None and vehicle.axles < 6
    ):
        raise RulesInputError(
            "single_drive_axle: applies only to a combination with 6 or more axles, "
            f"got kind {_describe_kind(vehicle.kind)} with {vehicle.axles} axles"
        )


def _base_limit(vehicle: VehicleInput, table: LimitTable) -> _Limit:
    if vehicle.kind == "low_speed":
        return _low_speed_limit(vehicle, table)
    if vehicle.axles is None:
        return _no_axle_count_limit(table)
    if vehicle.kind is None:
        return _unknown_configuration_limit(vehicle.axles, table)
    return _row_limit(vehicle, table)


def _row_limit(vehicle: VehicleInput, table: LimitTable) -> _Limit:
    row = table.row(vehicle.kind, vehicle.axles, vehicle.single_drive_axle)
    if row is None:
        raise RulesInputError(
            f"axles: Art. 3 has no {vehicle.axles}-axle {vehicle.kind}; a "
            f"{vehicle.kind} has {table.axle_counts(vehicle.kind)} axles; "
            + _KIND_HINTS[vehicle.kind]
        )
    return _Limit(row.limit_kg, [_cite(row.basis, row.limit_kg)], [])


def _unknown_configuration_limit(axles: int, table: LimitTable) -> _Limit:
    row = _lowest_row(axles, table)
    step = "车型未知，按该轴数最低限值：" + _cite(row.basis, row.limit_kg)
    return _Limit(row.limit_kg, [step], ["unknown_configuration"])


def _no_axle_count_limit(table: LimitTable) -> _Limit:
    row = table.lowest()
    step = "轴数未知，按全表最低限值：" + _cite(row.basis, row.limit_kg)
    return _Limit(row.limit_kg, [step], ["no_axle_count"])


def _low_speed_limit(vehicle: VehicleInput, table: LimitTable) -> _Limit:
    flags = [] if vehicle.axles is not None else ["no_axle_count"]
    if vehicle.single_tyre_axles:
        flags.append("single_tyre_not_applicable")
    if vehicle.registered_gross_kg is not None:
        step = _cite(table.low_speed_basis, vehicle.registered_gross_kg)
        return _Limit(vehicle.registered_gross_kg, [step], flags)

    if vehicle.axles is None:
        row, scope = table.lowest(), "全表"
    else:
        row, scope = _lowest_row(vehicle.axles, table), "该轴数"
    step = (
        f"{table.low_speed_basis}；行驶证核定总质量缺失，按{scope}最低限值："
        + _cite(row.basis, row.limit_kg)
    )
    return _Limit(row.limit_kg, [step], [*flags, "registered_mass_missing"])


def _lowest_row(axles: int, table: LimitTable) -> LimitRow:
    row = table.lowest_for(axles)
    if row is None:
        raise RulesInputError(f"axles: the limits table has no row for {axles} axles")
    return row


def _raise_by_gb1589(vehicle: VehicleInput, table: LimitTable, limit: _Limit) -> None:
    if not vehicle.air_suspension or vehicle.kind is None:
        return
    row = table.raise_row(vehicle.kind, vehicle.axles)
    if row is None or row.limit_kg <= limit.kg:
        return
    limit.kg = row.limit_kg
    limit.steps.append(f"{table.gb1589_basis}：{_cite(row.basis, row.limit_kg)}")
    limit.flags.extend(["gb1589_air_suspension", *row.flags])


def _reduce_for_single_tyres(
    vehicle: VehicleInput, table: LimitTable, limit: _Limit
) -> None:
    count = vehicle.single_tyre_axles
    if count == 0:
        return
    if vehicle.wide_tyres:
        limit.steps.append(f"{table.single_tyre_basis}：{count}轴为加宽轮胎，不减")
        limit.flags.append("wide_tyres")
        return

    reduction = count * table.single_tyre_reduction_kg
    if reduction >= limit.kg:
        raise RulesInputError(
            f"single_tyre_axles: {count} single-tyred axles would take the whole "
            f"{limit.kg} kg limit away; check the count"
        )
    limit.kg -= reduction
    limit.steps.append(
        f"{table.single_tyre_basis}：{count}轴，减{reduction}千克，为{limit.kg}千克"
    )
    limit.flags.append("single_tyre_reduction")


def _verdict(vehicle: VehicleInput, limit: _Limit, version: str) -> Verdict:
    over_kg = max(0, vehicle.gross_kg - limit.kg)
    overloaded = vehicle.gross_kg > limit.kg + vehicle.tolerance_kg
    steps, flags = list(limit.steps), list(limit.flags)
    if vehicle.tolerance_kg:
        steps.append(f"容差{vehicle.tolerance_kg}千克，仅用于判定是否超限")
    if over_kg and not overloaded:
        flags.append("within_tolerance")

    verdict = Verdict(
        limit_kg=limit.kg,
        over_kg=over_kg,
        over_rate_pct=over_rate_pct(over_kg, limit.kg),
        overloaded=overloaded,
        basis=BASIS_SEPARATOR.join(steps),
        flags=tuple(flags),
        rules_version=version,
    )
    logger.debug("verdict %s for %s", verdict, vehicle)
    return verdict


def over_rate_pct(over_kg: int, limit_kg: int) -> Decimal:
    """Overload rate (超限率) in percent, rounded half up to 0.01.

    Integer arithmetic, so no precision is lost however large the masses.
    """
    hundredths = (over_kg * 10000 * 2 + limit_kg) // (limit_kg * 2)
    whole, cents = divmod(hundredths, 100)
    return Decimal(f"{whole}.{cents:02d}")


def _cite(basis: str, limit_kg: int) -> str:
    return f"{basis}，{limit_kg}千克"


def _describe_kind(kind: str | None) -> str:
    return "unknown" if kind is None else f'"{kind}"'
