"""Source units (源头单位): their kinds, the credit code check, the registry.

A unit is known by its unified social credit code (统一社会信用代码) when it has
one, else by its name within its region. The code is checked as GB 32100
defines it: 18 characters from the 31 allowed (digits and capital letters
without I, O, Z, S, V); characters 3 to 8 are the registering region's code
(digits); the last is a check character computed from the first 17.
"""

import logging
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from zhichao.errors import ZhichaoError
from zhichao.platform.models import Region, SourceUnit

logger = logging.getLogger(__name__)

CREDIT_CODE_LENGTH = 18
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# weight of position i (0-based) is 3**i mod 31
CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(CREDIT_CODE_LENGTH - 1))


class UnitKind(StrEnum):
    """What a source unit is (单位类型)."""

    COAL_MINE = "coal_mine"
    WASHERY = "washery"
    QUARRY = "quarry"
    SAND_GRAVEL = "sand_gravel"
    CEMENT = "cement"
    STEEL = "steel"
    FREIGHT_STATION = "freight_station"
    OTHER = "other"


KIND_LABELS: dict[UnitKind, tuple[str, str]] = {
    UnitKind.COAL_MINE: ("煤矿", "coal mine"),
    UnitKind.WASHERY: ("洗煤厂", "washery"),
    UnitKind.QUARRY: ("石料厂", "quarry"),
    UnitKind.SAND_GRAVEL: ("砂石料场", "sand and gravel"),
    UnitKind.CEMENT: ("水泥厂", "cement plant"),
    UnitKind.STEEL: ("钢铁厂", "steel works"),
    UnitKind.FREIGHT_STATION: ("货运站场", "freight station"),
    UnitKind.OTHER: ("其他", "other"),
}
# other names people write in a county's list
KIND_ALIASES: dict[str, UnitKind] = {
    "洗煤": UnitKind.WASHERY,
    "选煤厂": UnitKind.WASHERY,
    "采石场": UnitKind.QUARRY,
    "砂石厂": UnitKind.SAND_GRAVEL,
    "砂石场": UnitKind.SAND_GRAVEL,
    "钢厂": UnitKind.STEEL,
    "货运站": UnitKind.FREIGHT_STATION,
    "物流园": UnitKind.FREIGHT_STATION,
}


class SupervisionMethod(StrEnum):
    """How the unit is supervised (监管方式)."""

    ON_SITE = "on_site"  # 驻场监管
    REMOTE = "remote"  # 远程监控
    PATROL = "patrol"  # 巡查


METHOD_LABELS: dict[SupervisionMethod, tuple[str, str]] = {
    SupervisionMethod.ON_SITE: ("驻场监管", "on site"),
    SupervisionMethod.REMOTE: ("远程监控", "remote monitoring"),
    SupervisionMethod.PATROL: ("巡查", "patrols"),
}


class UnitError(ZhichaoError, ValueError):
    """A unit's data is not acceptable; the message says which field and why."""


def credit_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code."""
    total = sum(
        CREDIT_ALPHABET.index(char) * weight
        for char, weight in zip(first17, CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why ``code`` is not a unified social credit code, or None when it is."""
    if len(code) != CREDIT_CODE_LENGTH:
        return f"must be {CREDIT_CODE_LENGTH} characters, got {len(code)}"
    bad = [char for char in code if char not in CREDIT_ALPHABET]
    if bad:
        return f"character {bad[0]!r} is not allowed (0-9, A-Z without I O S V Z)"
    if not code[2:8].isdigit():
        return "characters 3 to 8 must be the region code (digits)"
    expected = credit_check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r}, should be {expected!r}"
    return None


def parse_kind(text: str) -> UnitKind:
    """A kind from its key (``coal_mine``) or a Chinese name (``煤矿``)."""
    value = text.strip()
    for kind, (zh, en) in KIND_LABELS.items():
        if value in (kind.value, zh, en):
            return kind
    if value in KIND_ALIASES:
        return KIND_ALIASES[value]
    raise UnitError(f"unknown kind {value!r}")


def parse_method(text: str) -> SupervisionMethod:
    value = text.strip()
    for method, (zh, en) in METHOD_LABELS.items():
        if value in (method.value, zh, en):
            return method
    raise UnitError(f"unknown supervision method {value!r}")


def kind_label(kind: str, lang: str = "zh") -> str:
    try:
        zh, en = KIND_LABELS[UnitKind(kind)]
    except ValueError:
        return kind
    return zh if lang == "zh" else en


def method_label(method: str | None, lang: str = "zh") -> str:
    if not method:
        return ""
    try:
        zh, en = METHOD_LABELS[SupervisionMethod(method)]
    except ValueError:
        return method
    return zh if lang == "zh" else en


@dataclass(frozen=True)
class UnitData:
    """A unit's fields as checked input, ready to store."""

    name: str
    kind: UnitKind
    county_code: str
    credit_code: str | None = None
    address: str | None = None
    longitude: float | None = None
    latitude: float | None = None
    person_in_charge: str | None = None
    contact_phone: str | None = None
    supervision_method: SupervisionMethod | None = None
    responsible_officer: str | None = None
    published: bool = True

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise UnitError("name is empty")
        if self.credit_code is not None:
            problem = credit_code_problem(self.credit_code)
            if problem:
                raise UnitError(f"credit code {self.credit_code}: {problem}")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise UnitError(f"longitude {self.longitude} is out of range")
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise UnitError(f"latitude {self.latitude} is out of range")


def find_unit(session: Session, data: UnitData) -> SourceUnit | None:
    """The stored unit ``data`` describes: by credit code, else name and region."""
    if data.credit_code:
        unit = session.scalar(
            sa.select(SourceUnit).where(SourceUnit.credit_code == data.credit_code)
        )
        if unit is not None:
            return unit
    return session.scalar(
        sa.select(SourceUnit).where(
            SourceUnit.name == data.name,
            SourceUnit.county_code == data.county_code,
        )
    )


def save_unit(session: Session, data: UnitData) -> tuple[SourceUnit, bool]:
    """Create or update the unit; returns it and whether it is new.

    The region must exist. Flushes, does not commit.
    """
    if session.get(Region, data.county_code) is None:
        raise UnitError(f"unknown region {data.county_code!r}")
    unit = find_unit(session, data)
    created = unit is None
    if unit is None:
        unit = SourceUnit()
        session.add(unit)
    for field in fields(data):
        value = getattr(data, field.name)
        setattr(unit, field.name, str(value) if isinstance(value, StrEnum) else value)
    unit.updated_at = datetime.now(UTC)
    session.flush()
    return unit, created


def list_units(
    session: Session,
    scope: str | None = None,
    *,
    kind: str | None = None,
    published_only: bool = False,
    search: str | None = None,
) -> list[SourceUnit]:
    """Units in ``scope`` (a region-code prefix; None = all), by region and name."""
    query = (
        sa.select(SourceUnit)
        .options(selectinload(SourceUnit.stations))
        .order_by(SourceUnit.county_code, SourceUnit.name, SourceUnit.id)
    )
    if scope is not None:
        query = query.where(SourceUnit.county_code.startswith(scope, autoescape=True))
    if kind:
        query = query.where(SourceUnit.kind == kind)
    if published_only:
        query = query.where(SourceUnit.published.is_(True))
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(
            sa.or_(SourceUnit.name.like(pattern), SourceUnit.credit_code == search)
        )
    return list(session.scalars(query))


def count_units(session: Session, scope: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(SourceUnit)
    if scope is not None:
        query = query.where(SourceUnit.county_code.startswith(scope, autoescape=True))
    return session.scalar(query) or 0
