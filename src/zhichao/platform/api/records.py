"""Weighing records: batch upload from stations, and the live feed for pages."""

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from zhichao.platform import registry, services
from zhichao.platform.api.deps import (
    get_session,
    get_settings,
    read_body,
)
from zhichao.platform.api.errors import ApiError
from zhichao.platform.json_body import decode_body, lone_surrogate_path
from zhichao.platform.present import live_item
from zhichao.platform.schemas import RecordIn, UnencodableRecord
from zhichao.platform.settings import PlatformSettings
from zhichao.timeutil import iso_utc, utcnow

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["records"])


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its ``$defs`` inlined, to embed in OpenAPI."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


BATCH_SCHEMA = {
    "type": "object",
    "required": ["records"],
    "properties": {
        "records": {
            "type": "array",
            "minItems": 1,
            "maxItems": 500,
            "items": RecordIn.model_json_schema(
                ref_template="#/components/schemas/{model}"
            ),
        }
    },
}


@router.post(
    "/records",
    summary="Upload a batch of weighing records",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BATCH_SCHEMA}},
        }
    },
)
async def post_records(request: Request) -> JSONResponse:
    """Store each record or say why not; see docs/protocol.md."""
    settings, factory = _ingest_context(request)
    with _ingest_slot(request, settings):
        body = await read_body(request, settings.max_batch_bytes)
        items = parse_batch(body, settings.max_batch_records)
        results = await run_in_threadpool(
            services.ingest_batch,
            factory,
            items,
            require_enrolment=settings.require_enrolment,
        )

    return JSONResponse(
        {
            "server_time": iso_utc(utcnow()),
            "results": [result.as_json() for result in results],
        }
    )


@router.put(
    "/records/{record_id}",
    summary="Upload one weighing record",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": BATCH_SCHEMA["properties"]["records"]["items"]
                }
            },
        }
    },
    responses={
        201: {"description": "stored"},
        200: {"description": "already stored (a retry)"},
        403: {"description": "the lane is not enrolled"},
        422: {"description": "the record is rejected; the message says why"},
        503: {"description": "busy: retry after the Retry-After seconds"},
    },
)
async def put_record(record_id: str, request: Request) -> JSONResponse:
    """One record, for stations that send as they weigh; same rules as a batch."""
    settings, factory = _ingest_context(request)
    with _ingest_slot(request, settings):
        body = await read_body(request, settings.max_batch_bytes)
        item = parse_json(body)
        result = await _ingest_one(record_id, item, factory, settings)
    if result.status is services.IngestStatus.REJECTED:
        raise ApiError(422, "record_rejected", result.error or "record rejected")
    if result.status is services.IngestStatus.REFUSED:
        raise ApiError(403, "lane_not_enrolled", result.error or "lane not enrolled")
    answer = {"server_time": iso_utc(utcnow()), **result.as_json()}
    stored = result.status is services.IngestStatus.STORED
    return JSONResponse(answer, status_code=201 if stored else 200)


async def _ingest_one(record_id, item, factory, settings) -> services.IngestResult:
    sent_id = item.get("record_id") if isinstance(item, dict) else None
    if sent_id != record_id:
        raise ApiError(
            400,
            "record_id_mismatch",
            f"record_id: the body says {sent_id!r}, the path {record_id!r}",
        )
    (result,) = await run_in_threadpool(
        services.ingest_batch,
        factory,
        [item],
        require_enrolment=settings.require_enrolment,
    )
    return result


def _ingest_context(
    request: Request,
) -> tuple[PlatformSettings, sessionmaker[Session]]:
    """The settings and session factory, read here rather than as dependencies.

    FastAPI runs a plain-function dependency in the thread pool: two thread
    hops per upload, more than a one-record upload's own Python work.
    """
    state = request.app.state
    return state.settings, state.sessions


@contextlib.contextmanager
def _ingest_slot(request: Request, settings: PlatformSettings) -> Iterator[None]:
    """Hold one of the process's ingest slots, or answer 503 with Retry-After.

    Uploads beyond ``max_concurrent_ingest`` would only wait for a database
    connection until the station's request timed out and it sent the same
    batch again; a quick 503 tells it when to come back instead. The counter
    lives on the app and is touched only from the event loop.
    """
    state = request.app.state
    busy = getattr(state, "ingest_in_flight", 0)
    if busy >= settings.max_concurrent_ingest:
        raise ApiError(
            503,
            "busy",
            f"the platform is handling {busy} uploads; retry in "
            f"{settings.busy_retry_after_s} s (nothing of this request was stored)",
            headers={"Retry-After": str(settings.busy_retry_after_s)},
        )
    state.ingest_in_flight = busy + 1
    try:
        yield
    finally:
        state.ingest_in_flight -= 1


def parse_json(body: bytes) -> Any:
    """The body as JSON; ApiError ``invalid_json`` when it is not.

    The value is ``json.loads(body)``'s, decoded by orjson when that gives the
    same (``json_body.loads_body``). A record holding a lone surrogate comes
    back marked, for validation to reject with where it is.
    """
    data, by_reference = _decode(body)
    return _unencodable_marked(data) if by_reference else data


def _decode(body: bytes) -> tuple[Any, bool]:
    """``json_body.decode_body``, its errors as ApiError ``invalid_json``."""
    try:
        return decode_body(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ApiError(
            400, "invalid_json", f"the body is not valid JSON: {err}"
        ) from err
    except RecursionError as err:
        raise ApiError(
            400,
            "invalid_json",
            "the body cannot be read: its arrays and objects are nested too "
            "deeply (a record needs only a few levels)",
        ) from err


def parse_batch(body: bytes, max_records: int) -> list[Any]:
    """The ``records`` list of a batch body; ApiError when the body is unusable."""
    data, by_reference = _decode(body)

    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise ApiError(
            400,
            "invalid_batch",
            'the body must be an object {"records": [record, ...]}',
        )
    records = data["records"]
    if not records:
        raise ApiError(
            400, "invalid_batch", "records: a batch holds at least one record"
        )
    if len(records) > max_records:
        raise ApiError(
            413,
            "too_many_records",
            f"records: the batch holds {len(records)} records; "
            f"the limit is {max_records}",
        )
    if by_reference:  # only then can a string hold a lone surrogate
        records = [_unencodable_marked(record) for record in records]
    return records


def _unencodable_marked(record: Any) -> Any:
    """The record, or an ``UnencodableRecord`` that validation will reject."""
    where = lone_surrogate_path(record) if isinstance(record, dict) else None
    return record if where is None else UnencodableRecord(record, where)


@router.get("/records", summary="Newest records for the live list")
def list_records(
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[PlatformSettings, Depends(get_settings)],
    after: Annotated[
        int | None, Query(ge=0, description="cursor of the newest seen")
    ] = None,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
) -> dict[str, Any]:
    """Records that arrived after ``after`` (all newest when absent), newest first.

    ``cursor`` in the answer is what to pass as ``after`` next time. When more
    than ``limit`` arrived, only the newest ``limit`` are returned.
    """
    records = services.latest_records(
        session, after=after, limit=limit or settings.live_page_size
    )
    counts = services.today_counts(session)

    cursor = records[0].id if records else (after or 0)
    return {
        "cursor": cursor,
        "records": [live_item(record) for record in records],
        "today": {"passes": counts.passes, "overloaded": counts.overloaded},
        "alarms": registry.alarm_count(session),
        "server_time": iso_utc(utcnow()),
    }
