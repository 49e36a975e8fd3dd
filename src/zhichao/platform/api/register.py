"""The vehicle register for a station (车辆登记), asked for by one of its lanes.

``GET /api/v1/stations/{station_code}/register`` (docs/protocol.md, "The
vehicle register"): the vehicles with their axle counts and the known tractor
and trailer pairs of the station's city, for the lanes' ``axle_mismatch`` and
``unknown_pair`` checks. The request is signed with the lane's enrolled
Ed25519 key over ``GET``, the path and the time; the answer carries an ETag so
a station that polls gets ``304`` while nothing changed.
"""

import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from zhichao.chain import canonical_text
from zhichao.platform import registry
from zhichao.platform.api.deps import get_session_factory
from zhichao.platform.api.errors import ApiError
from zhichao.platform.models import Station, Vehicle, VehiclePair
from zhichao.timeutil import iso_utc, parse_instant, utcnow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["register"])

LANE_HEADER = "x-zhichao-lane"
TIME_HEADER = "x-zhichao-time"
SIGNATURE_HEADER = "x-zhichao-signature"
MAX_CLOCK_OFF_S = 300
PATH_TEMPLATE = "/api/v1/stations/{station_code}/register"
STATION_CODE = re.compile(r"^\d{10}$")


def signed_bytes(method: str, path: str, sent_at: str) -> bytes:
    """What a lane signs: ``METHOD\\npath\\ntime`` in UTF-8 (docs/protocol.md)."""
    return f"{method}\n{path}\n{sent_at}".encode()


@dataclass(frozen=True)
class SignedRequest:
    lane_no: str
    sent_at: str
    signature: str


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
    signed = _signed_request(request)

    def answer() -> dict[str, Any]:
        with factory() as session:
            _check_signature(session, station_code, signed)
            return build_register(session, station_code)

    register = await run_in_threadpool(answer)
    _check_clock(signed.sent_at)

    etag = register_etag(register)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    asked = _etags(request.headers.get("if-none-match", ""))
    if etag in asked or "*" in asked:
        return Response(status_code=304, headers=headers)
    register["generated_at"] = iso_utc(utcnow())
    return JSONResponse(register, headers=headers)


# -- the request's signature ------------------------------------------------


def _unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message)


def _signed_request(request: Request) -> SignedRequest:
    values = {
        name: request.headers.get(name, "").strip()
        for name in (LANE_HEADER, TIME_HEADER, SIGNATURE_HEADER)
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise _unauthorized(
            "unsigned_request",
            "the register is given only to an enrolled lane: send the headers "
            "X-Zhichao-Lane, X-Zhichao-Time and X-Zhichao-Signature (missing: "
            + ", ".join(_title(name) for name in missing)
            + ")",
        )
    return SignedRequest(
        values[LANE_HEADER], values[TIME_HEADER], values[SIGNATURE_HEADER]
    )


def _title(header: str) -> str:
    return "-".join(part.capitalize() for part in header.split("-"))


def _check_signature(
    session: Session, station_code: str, signed: SignedRequest
) -> None:
    key = registry.active_key(session, station_code, signed.lane_no)
    if key is None:
        raise _unauthorized(
            "lane_not_enrolled",
            f"lane {station_code}-{signed.lane_no} is not enrolled (or its key "
            "was replaced): have the county enrol the lane's code first",
        )
    path = PATH_TEMPLATE.format(station_code=station_code)
    try:
        raw = base64.b64decode(signed.signature, validate=True)
        VerifyKey(base64.b64decode(key.public_key)).verify(
            signed_bytes("GET", path, signed.sent_at), raw
        )
    except (BadSignatureError, CryptoError, ValueError) as err:
        logger.warning(
            "register request for %s-%s: bad signature", station_code, signed.lane_no
        )
        raise _unauthorized(
            "bad_signature",
            f"the signature does not verify with the key enrolled for lane "
            f"{station_code}-{signed.lane_no} (fingerprint {key.fingerprint}); "
            "it must be base64 of the Ed25519 signature of "
            f'"GET\\n{path}\\n" followed by the X-Zhichao-Time value',
        ) from err


def _check_clock(sent_at: str) -> None:
    try:
        sent: datetime = parse_instant(sent_at)
    except ValueError as err:
        raise _unauthorized(
            "bad_time",
            f"X-Zhichao-Time {sent_at!r} is not an RFC 3339 instant with an offset "
            "(e.g. 2026-06-17T22:06:30.499Z)",
        ) from err
    off = (sent - utcnow()).total_seconds()
    if abs(off) > MAX_CLOCK_OFF_S:
        raise _unauthorized(
            "clock_off",
            f"the station's clock is off: its time is {off:+.0f} s from the "
            f"platform's (the limit is {MAX_CLOCK_OFF_S} s); set the station's "
            "clock (NTP) and ask again",
        )


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
