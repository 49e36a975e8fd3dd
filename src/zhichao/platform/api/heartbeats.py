"""Station heartbeats: telemetry every 30 s (docs/protocol.md "Heartbeats")."""

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from zhichao.platform import registry
from zhichao.platform.api.deps import get_session_factory, get_settings, read_body
from zhichao.platform.api.errors import ApiError
from zhichao.platform.api.signed import (
    check_clock,
    check_signature,
    require_signed,
    signed_request,
)
from zhichao.platform.db import session_scope
from zhichao.platform.schemas import validate_heartbeat
from zhichao.platform.settings import PlatformSettings
from zhichao.timeutil import iso_utc, utcnow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["heartbeats"])
PATH = "/api/v1/heartbeats"
MAX_HEARTBEAT_BYTES = 256 * 1024


@router.post(
    "/heartbeats",
    summary="A station's heartbeat",
    responses={401: {"description": "the signature does not verify"}},
)
async def post_heartbeat(
    request: Request,
    settings: Annotated[PlatformSettings, Depends(get_settings)],
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> dict[str, Any]:
    """Keep the latest heartbeat per station and a bounded history.

    A heartbeat signed by a lane (docs/protocol.md, "Signed requests") must
    verify with a key enrolled for a lane of the station it names. An
    unsigned one is refused when the platform requires enrolment, and
    accepted otherwise.
    """
    signed = signed_request(request, "a heartbeat")
    if signed is None and settings.require_enrolment:
        require_signed(request, "a heartbeat")  # raises the 401
    body = await read_body(request, MAX_HEARTBEAT_BYTES)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ApiError(
            400, "invalid_json", f"the body is not valid JSON: {err}"
        ) from err
    beat, error = validate_heartbeat(data)
    if beat is None:
        raise ApiError(400, "invalid_heartbeat", error or "invalid heartbeat")

    if signed is not None:
        check_clock(signed.sent_at)

    def store() -> None:
        with session_scope(factory) as session:
            if signed is not None:
                check_signature(session, beat.station_code, signed, "POST", PATH, body)
            registry.store_heartbeat(session, beat, data, settings.heartbeat_history)

    await run_in_threadpool(store)
    return {"server_time": iso_utc(utcnow())}
