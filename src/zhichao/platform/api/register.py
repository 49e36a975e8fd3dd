"""The vehicle register for a station (车辆登记), asked for by one of its lanes.

``GET /api/v1/stations/{station_code}/register`` (docs/protocol.md, "The
vehicle register"): the vehicles with their axle counts and the known tractor
and trailer pairs of the station's city, for the lanes' ``axle_mismatch`` and
``unknown_pair`` checks. The request is signed with the lane's enrolled
Ed25519 key over ``GET``, the path and the time; the answer carries an ETag so
a station that polls gets ``304`` while nothing changed.
"""

import hashlib
import logging
import re
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from zhichao.chain import canonical_text
from zhichao.platform.api.deps import get_session_factory
from zhichao.platform.api.errors import ApiError
from zhichao.platform.api.signed import check_clock, check_signature, require_signed
from zhichao.platform.models import Station, Vehicle, VehiclePair
from zhichao.timeutil import iso_utc, utcnow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["register"])

PATH_TEMPLATE = "/api/v1/stations/{station_code}/register"
STATION_CODE = re.compile(r"^\d{10}$")


@router.get(
    "/stations/{station_code}/register",
    summary="The vehicle register of a station's city, for its lanes' checks",
    responses={
        304: {"description": "not modified since the ETag in If-None-Match"},
        401: {"description": "the request is not signed by an enrolled lane"},
    },
)
async def get_register(
    station_code: str,
    request: Request,
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Response:
    """Vehicles and pairs of the station's city and those with no region."""
    if not STATION_CODE.match(station_code):
        raise ApiError(
            400, "bad_request", f"station code {station_code!r} is not 10 digits"
        )
    signed = require_signed(request, "the register")
    path = PATH_TEMPLATE.format(station_code=station_code)

    def answer() -> dict[str, Any]:
        with factory() as session:
            check_signature(session, station_code, signed, "GET", path)
            return build_register(session, station_code)

    register = await run_in_threadpool(answer)
    check_clock(signed.sent_at)

    etag = register_etag(register)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    asked = _etags(request.headers.get("if-none-match", ""))
    if etag in asked or "*" in asked:
        return Response(status_code=304, headers=headers)
    register["generated_at"] = iso_utc(utcnow())
    return JSONResponse(register, headers=headers)


# -- the register -------------------------------------------------------------


def city_code(county_code: str | None) -> str | None:
    """The city (地级市) of a six-digit region code: its first four digits, 00."""
    if not county_code or not re.fullmatch(r"\d{6}", county_code):
        return None
    return county_code[:4] + "00"


def build_register(session: Session, station_code: str) -> dict[str, Any]:
    """The register a station gets, without ``generated_at``; empty when the
    station has no unit or its unit no region."""
    station = session.scalar(
        sa.select(Station).where(Station.station_code == station_code)
    )
    unit = station.unit if station is not None else None
    city = city_code(unit.county_code if unit is not None else None)
    register: dict[str, Any] = {
        "station_code": station_code,
        "region_code": city,
        "vehicles": [],
        "pairs": [],
    }
    if city is None:
        return register
    register["vehicles"] = [
        {"plate": plate, "plate_color": color, "axles": axles}
        for plate, color, axles in session.execute(
            sa.select(Vehicle.plate, Vehicle.plate_color, Vehicle.axles)
            .where(Vehicle.axles.is_not(None), _in_city(Vehicle.region_code, city))
            .order_by(Vehicle.plate, Vehicle.plate_color)
        )
    ]
    register["pairs"] = [
        {"tractor_plate": tractor, "trailer_plate": trailer}
        for tractor, trailer in session.execute(
            sa.select(VehiclePair.tractor_plate, VehiclePair.trailer_plate)
            .where(_in_city(VehiclePair.region_code, city))
            .order_by(VehiclePair.tractor_plate, VehiclePair.trailer_plate)
        )
    ]
    return register


def _in_city(column, city: str):
    """The row's region is in the city, or it has none."""
    return sa.or_(
        column.startswith(city[:4], autoescape=True),
        column.is_(None),
        column == "",
    )


def register_etag(register: dict[str, Any]) -> str:
    """A strong ETag: the SHA-256 of the register's canonical JSON."""
    content = {k: v for k, v in register.items() if k != "generated_at"}
    digest = hashlib.sha256(canonical_text(content).encode()).hexdigest()
    return f'"{digest[:40]}"'


def _etags(header: str) -> set[str]:
    """The tags of an If-None-Match header (weak ones compared as strong)."""
    tags = set()
    for part in header.split(","):
        tag = part.strip()
        tags.add(tag.removeprefix("W/"))
    return tags - {""}
