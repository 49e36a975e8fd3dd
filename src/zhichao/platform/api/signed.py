"""Checking a request signed by a lane's enrolled key (zhichao.request_signing).

Used by the routes whose requests carry no signature of their own: the vehicle
register and heartbeats. Every refusal is a 401 with a code a program can test
and a message that says what to fix.
"""

import base64
import logging
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey
from sqlalchemy.orm import Session

from zhichao.platform import registry
from zhichao.platform.api.errors import ApiError
from zhichao.request_signing import HEADERS, MAX_CLOCK_OFF_S, signed_message
from zhichao.timeutil import parse_instant, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignedRequest:
    lane_no: str
    sent_at: str
    signature: str


def unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message)


def signed_request(request: Request, what: str) -> SignedRequest | None:
    """The signing headers, None when none is sent; 401 when only some are.

    ``what`` names the request in messages ("the register", "a heartbeat").
    """
    values = {name: request.headers.get(name, "").strip() for name in HEADERS}
    missing = [name for name, value in values.items() if not value]
    if len(missing) == len(HEADERS):
        return None
    if missing:
        raise unauthorized(
            "unsigned_request",
            f"{what} must be signed by an enrolled lane: send the headers "
            + ", ".join(HEADERS)
            + " (missing: "
            + ", ".join(missing)
            + ")",
        )
    lane, sent_at, signature = (values[name] for name in HEADERS)
    return SignedRequest(lane, sent_at, signature)


def require_signed(request: Request, what: str) -> SignedRequest:
    signed = signed_request(request, what)
    if signed is None:
        raise unauthorized(
            "unsigned_request",
            f"{what} is given only to an enrolled lane: send the headers "
            + ", ".join(HEADERS),
        )
    return signed


def check_signature(
    session: Session,
    station_code: str,
    signed: SignedRequest,
    method: str,
    path: str,
    body: bytes | None = None,
) -> None:
    """401 unless ``signed`` verifies with the lane's current enrolled key."""
    key = registry.active_key(session, station_code, signed.lane_no)
    if key is None:
        raise unauthorized(
            "lane_not_enrolled",
            f"lane {station_code}-{signed.lane_no} is not enrolled (or its key "
            "was replaced): have the county enrol the lane's code first",
        )
    message = signed_message(method, path, signed.sent_at, body)
    try:
        raw = base64.b64decode(signed.signature, validate=True)
        VerifyKey(base64.b64decode(key.public_key)).verify(message, raw)
    except (BadSignatureError, CryptoError, ValueError) as err:
        logger.warning(
            "%s %s from %s-%s: bad signature",
            method,
            path,
            station_code,
            signed.lane_no,
        )
        shape = f'"{method}\\n{path}\\n" followed by the X-Zhichao-Time value'
        if body is not None:
            shape += ', "\\n" and the hex SHA-256 of the body'
        raise unauthorized(
            "bad_signature",
            f"the signature does not verify with the key enrolled for lane "
            f"{station_code}-{signed.lane_no} (fingerprint {key.fingerprint}); "
            f"it must be base64 of the Ed25519 signature of {shape}",
        ) from err


def check_clock(sent_at: str, now: datetime | None = None) -> None:
    """401 when the signed time is unreadable or too far from the platform's."""
    try:
        sent: datetime = parse_instant(sent_at)
    except ValueError as err:
        raise unauthorized(
            "bad_time",
            f"X-Zhichao-Time {sent_at!r} is not an RFC 3339 instant with an offset "
            "(e.g. 2026-06-17T22:06:30.499Z)",
        ) from err
    off = (sent - (now or utcnow())).total_seconds()
    if abs(off) > MAX_CLOCK_OFF_S:
        raise unauthorized(
            "clock_off",
            f"the station's clock is off: its time is {off:+.0f} s from the "
            f"platform's (the limit is {MAX_CLOCK_OFF_S} s); set the station's "
            "clock (NTP) and ask again",
        )
