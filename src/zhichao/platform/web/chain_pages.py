"""Pages of the evidence chain: lane enrolment, alarms, stations, event records."""

import logging
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from zhichao.chain import ChainError, Enrolment, key_fingerprint
from zhichao.platform import audit, registry
from zhichao.platform.api.deps import (
    client_address,
    current_principal,
    get_scoped_factory,
    get_session,
    get_settings,
)
from zhichao.platform.api.errors import ApiError
from zhichao.platform.auth import Principal
from zhichao.platform.db import session_scope
from zhichao.platform.settings import PlatformSettings
from zhichao.platform.web.pages import render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
MAX_CODE_LENGTH = 200


@router.get("/enrol", response_class=HTMLResponse)
def enrol_page(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> Response:
    return render(request, "enrol.html", _enrol_context(session))


@router.post("/enrol", response_class=HTMLResponse)
async def enrol_submit(
    request: Request,
    factory: Annotated[Callable[[], Session], Depends(get_scoped_factory)],
    principal: Annotated[Principal, Depends(current_principal)],
) -> Response:
    """Step 1 (``action=preview``): parse and show; step 2 (``confirm``): enrol."""
    form = await request.form()
    code = str(form.get("code", "")).strip()[:MAX_CODE_LENGTH]
    action = form.get("action", "preview")
    replace = form.get("replace") == "1"
    with session_scope(factory) as session:
        context = _enrol_context(session) | {"code": code}
        try:
            enrolment = Enrolment.parse(code)
        except ChainError as err:
            return render(request, "enrol.html", context | {"error": str(err)}, 400)
        current = registry.active_key(
            session, enrolment.station_code, enrolment.lane_no
        )
        context |= {
            "enrolment": enrolment,
            "fingerprint": key_fingerprint(enrolment.public_key),
            "current": current,
        }
        if not principal.scope.allows(enrolment.station_code):
            message = f"station {enrolment.station_code} is outside your jurisdiction"
            return render(request, "enrol.html", context | {"error": message}, 403)
        if action != "confirm":
            return render(request, "enrol.html", context)
        try:
            result = registry.enrol_lane(session, enrolment, replace=replace, via="web")
        except registry.EnrolmentError as err:
            return render(request, "enrol.html", context | {"error": str(err)}, 409)
        if not result.already:
            audit.append(
                session,
                username=principal.username,
                role=principal.role.value,
                region=principal.scope.label,
                action="enrol_lane",
                target=f"{enrolment.station_code}-{enrolment.lane_no}",
                detail={
                    "fingerprint": result.key.fingerprint,
                    "replaced": result.replaced and result.replaced.fingerprint,
                },
                address=client_address(request),
            )
        context |= {"done": result, "keys": registry.lane_keys(session)}
        return render(request, "enrol.html", context)


def _enrol_context(session: Session) -> dict:
    return {"keys": registry.lane_keys(session), "code": ""}


def _alarms_context(session: Session, settings: PlatformSettings, view: str) -> dict:
    return {
        "alarms": registry.latest_alarms(session, settings.alarm_page_size, view),
        "total": registry.alarm_count(session, view),
        "view": view,
        "views": registry.ALARM_VIEWS,
    }


@router.get("/alarms", response_class=HTMLResponse)
def alarms_page(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[PlatformSettings, Depends(get_settings)],
    view: str = "unresolved",
) -> Response:
    """Alarms not closed yet (``view=closed`` or ``all`` for the others)."""
    if view not in registry.ALARM_VIEWS:
        view = "unresolved"
    return render(request, "alarms.html", _alarms_context(session, settings, view))


@router.post("/alarms/{alarm_id}/{action}", response_class=HTMLResponse)
async def alarm_handle(
    alarm_id: int,
    action: Literal["acknowledge", "close"],
    request: Request,
    factory: Annotated[Callable[[], Session], Depends(get_scoped_factory)],
    settings: Annotated[PlatformSettings, Depends(get_settings)],
    principal: Annotated[Principal, Depends(current_principal)],
) -> Response:
    """Acknowledge or close one alarm (with a note); audited."""
    form = await request.form()
    note = str(form.get("note", ""))
    view = str(form.get("view", "unresolved"))
    view = view if view in registry.ALARM_VIEWS else "unresolved"
    with session_scope(factory) as session:
        try:
            alarm = registry.handle_alarm(
                session, alarm_id, action, principal.username, note
            )
        except registry.AlarmError as err:
            context = _alarms_context(session, settings, view) | {"error": str(err)}
            return render(request, "alarms.html", context, 400)
        if alarm is None:
            raise ApiError(404, "not_found", f"no alarm {alarm_id}")
        audit.append(
            session,
            username=principal.username,
            role=principal.role.value,
            region=principal.scope.label,
            action=f"alarm_{action}",
            target=f"alarm {alarm_id}",
            detail={
                "kind": alarm.kind,
                "station": f"{alarm.station_code}-{alarm.lane_no}",
                "record_id": alarm.record_id,
                "note": alarm.note,
            },
            address=client_address(request),
        )
    return RedirectResponse(f"/alarms?view={view}#alarm-{alarm_id}", status_code=303)


@router.get("/stations", response_class=HTMLResponse)
def stations_page(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[PlatformSettings, Depends(get_settings)],
) -> Response:
    views = registry.station_views(session, settings.heartbeat_offline_s)
    return render(
        request,
        "stations.html",
        {"views": views, "offline_after_s": settings.heartbeat_offline_s},
    )
