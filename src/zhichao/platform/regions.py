"""Administrative regions (行政区划) by GB/T 2260 codes, and jurisdiction scopes.

A region code is six characters. GB/T 2260 codes are six digits: two for the
province, two for the city, two for the county (``140525`` 泽州县 in ``140500``
晋城市 in ``140000`` 山西省). An area that GB/T 2260 does not list, such as a
development zone's administrative committee (开发区管委会), gets a local code:
the city's four digits followed by two capital letters (``1405KF``). A code
with a letter is never a GB/T 2260 code, so a local code cannot collide with a
present or future official one, and it still starts with its city's prefix.

A *scope* is a region-code prefix: ``"14"`` the province, ``"1405"`` the city,
``"140525"`` one county, None everything. :func:`scope_of` derives it from a
region code; list queries elsewhere take it as their ``scope`` argument.
"""

import logging
import re
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhichao.platform.models import Region

logger = logging.getLogger(__name__)

GB_CODE = re.compile(r"^[1-9]\d{5}$")
LOCAL_CODE = re.compile(r"^[1-9]\d{3}[A-Z]{2}$")
NATION = "000000"  # the whole country, as a jurisdiction


class RegionLevel(StrEnum):
    PROVINCE = "province"  # 省级
    CITY = "city"  # 地级
    COUNTY = "county"  # 县级
    ZONE = "zone"  # 开发区等非 GB/T 2260 区域（县级管理）


@dataclass(frozen=True)
class RegionSeed:
    code: str
    name: str
    level: RegionLevel
    parent: str | None
    gb: bool = True


# Shanxi, Jincheng and the areas of Jincheng; the zone's code is local (see above)
SEED_REGIONS: tuple[RegionSeed, ...] = (
    RegionSeed("140000", "山西省", RegionLevel.PROVINCE, None),
    RegionSeed("140500", "晋城市", RegionLevel.CITY, "140000"),
    RegionSeed("140502", "城区", RegionLevel.COUNTY, "140500"),
    RegionSeed("140521", "沁水县", RegionLevel.COUNTY, "140500"),
    RegionSeed("140522", "阳城县", RegionLevel.COUNTY, "140500"),
    RegionSeed("140524", "陵川县", RegionLevel.COUNTY, "140500"),
    RegionSeed("140525", "泽州县", RegionLevel.COUNTY, "140500"),
    RegionSeed("140581", "高平市", RegionLevel.COUNTY, "140500"),
    RegionSeed("1405KF", "开发区管委会", RegionLevel.ZONE, "140500", gb=False),
)


def code_problem(code: str) -> str | None:
    """Why ``code`` is not a region code (GB/T 2260 or local), or None."""
    if GB_CODE.match(code) or LOCAL_CODE.match(code):
        return None
    return (
        "is not a region code: six digits (GB/T 2260), or four digits and two"
        " capital letters (a local code)"
    )


def is_gb_code(code: str) -> bool:
    return bool(GB_CODE.match(code))


def scope_of(code: str) -> str:
    """The code prefix that covers ``code`` and everything below it
    (``000000``, the whole country, gives the empty prefix)."""
    if code == NATION:
        return ""
    if not is_gb_code(code):
        return code
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def in_scope(code: str, scope: str | None) -> bool:
    return scope is None or code.startswith(scope)


def seed_regions(session: Session) -> int:
    """Add the seed regions that are missing; returns how many were added."""
    have = set(session.scalars(sa.select(Region.code)))
    added = 0
    for seed in SEED_REGIONS:
        if seed.code in have:
            continue
        session.add(
            Region(
                code=seed.code,
                name=seed.name,
                level=str(seed.level),
                parent_code=seed.parent,
                gb_code=seed.gb,
            )
        )
        added += 1
    session.flush()
    return added


def list_regions(session: Session, scope: str | None = None) -> list[Region]:
    """Regions in ``scope`` (a code prefix; None = all), by code."""
    query = sa.select(Region).order_by(Region.code)
    if scope is not None:
        query = query.where(Region.code.startswith(scope, autoescape=True))
    return list(session.scalars(query))


def get_region(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def region_index(session: Session) -> dict[str, Region]:
    """Every region by code and by name, for matching what people type.

    A name shared by two regions (two 城区 in different cities) is left out of
    the name keys, so only its code matches it.
    """
    regions = list(session.scalars(sa.select(Region)))
    index: dict[str, Region] = {}
    names: dict[str, list[Region]] = {}
    for region in regions:
        index[region.code] = region
        names.setdefault(region.name, []).append(region)
    for name, found in names.items():
        if len(found) == 1 and name not in index:
            index[name] = found[0]
    return index
