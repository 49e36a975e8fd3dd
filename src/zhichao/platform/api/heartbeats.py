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
from zhichao.platform.db import session_scope
from zhichao.platform.schemas import validate_heartbeat
from zhichao.platform.settings import PlatformSettings
from zhichao.timeutil import iso_utc, utcnow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["heartbeats"])
MAX_HEARTBEAT_BYTES = 256 * 1024


@router.post("/heartbeats", summary="A station's heartbeat")
async def post_heartbeat(
    request: Request,
    settings: Annotated[PlatformSettings, Depends(get_settings)],
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> dict[str, Any]:
    """Keep the latest heartbeat per station and a bounded history."""
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

    def store() -> None:
        with session_scope(factory) as session:
            registry.store_heartbeat(session, beat, data, settings.heartbeat_history)

    await run_in_threadpool(store)
    return {"server_time": iso_utc(utcnow())}
