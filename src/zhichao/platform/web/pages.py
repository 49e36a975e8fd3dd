"""Page routes: the live list of passes and one record's page."""

import json
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhichao.platform import registry, services
from zhichao.platform.api.deps import get_session, get_settings
from zhichao.platform.api.errors import ApiError
from zhichao.platform.present import live_item
from zhichao.platform.settings import PlatformSettings
from zhichao.platform.web.i18n import LANG_COOKIE, LANGS, page_context
from zhichao.timeutil import show_local

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
LANG_COOKIE_SECONDS = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["kg"] = format_kg
    templates.env.filters["pct"] = format_pct
    templates.env.filters["local"] = lambda value: show_local(value) if value else ""
    templates.env.filters["readable_json"] = readable_json
    templates.env.filters["local_ms"] = lambda value: (
        show_local(value, "%Y-%m-%d %H:%M:%S.%f")[:-3] if value else ""
    )
    return templates


def readable_json(value) -> str:
    """JSON for a person to read on a page: Chinese as itself, not ``\\uXXXX``
    (``tojson`` escapes it); the template's autoescape makes it safe HTML."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def format_kg(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def format_pct(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}%"


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """Render a page; remember an explicit ``?lang=`` choice in a cookie."""
    templates: Jinja2Templates = request.app.state.templates
    principal = getattr(request.state, "principal", None)
    people = {
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else "",
        "can": (lambda action: principal is not None and principal.can(action)),
    }
    response = templates.TemplateResponse(
        request,
        name,
        page_context(request) | people | context,
        status_code=status_code,
    )
    wanted = request.query_params.get("lang")
    if wanted in LANGS:
        response.set_cookie(
            LANG_COOKIE, wanted, max_age=LANG_COOKIE_SECONDS, samesite="lax"
        )
    return response


@router.get("/", response_class=HTMLResponse)
def live_page(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    settings: Annotated[PlatformSettings, Depends(get_settings)],
) -> Response:
    records = services.latest_records(session, limit=settings.live_page_size)
    counts = services.today_counts(session)
    return render(
        request,
        "live.html",
        {
            "items": [live_item(record) for record in records],
            "counts": counts,
            "alarm_count": registry.alarm_count(session),
            "cursor": records[0].id if records else 0,
            "poll_interval_ms": settings.poll_interval_ms,
            "page_size": settings.live_page_size,
        },
    )


@router.get("/records/{record_id}", response_class=HTMLResponse)
def record_page(
    record_id: str,
    request: Request,
    session: Annotated[Session, Depends(get_session)],
) -> Response:
    record = services.get_record(session, record_id)
    if record is None:
        event = registry.get_event(session, record_id)
        if event is None:
            raise ApiError(404, "not_found", f"no record {record_id} on this platform")
        return render(
            request,
            "event.html",
            {"record": event, "alarms": registry.alarms_of(session, record_id)},
        )
    return render(
        request,
        "record.html",
        {
            "record": record,
            "alarms": registry.alarms_of(session, record_id),
            "item": live_item(record),
            "reweighed_by": services.reweighed_by(session, record_id),
            "reweigh_target_known": _known(session, record.reweigh_of),
        },
    )


def _known(session: Session, record_id: str | None) -> bool:
    if record_id is None:
        return False
    return bool(services.existing_ids(session, [record_id]))


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """The OpenAPI document as a plain page; the JSON is at /openapi.json."""
    spec = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, **operation}
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]
    return render(request, "docs.html", {"spec": spec, "operations": operations})
