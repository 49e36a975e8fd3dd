"""Pages of the source-unit registry: the officers' list (/units) and the
published list (公示名单, /public/units) that needs no sign-in."""

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from zhichao.platform import regions, units
from zhichao.platform.api.deps import get_session
from zhichao.platform.web.i18n import choose_lang
from zhichao.platform.web.pages import render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

TEXT: dict[str, tuple[str, str]] = {
    "units_title": ("源头单位", "Source units"),
    "public_title": ("源头单位公示名单", "Published list of source units"),
    "public_note": (
        "以下源头单位已纳入科技治超监管，货车装载请遵守限载规定。",
        "These source units are under technology-based overload supervision.",
    ),
    "name": ("单位名称", "Name"),
    "credit_code": ("统一社会信用代码", "Credit code"),
    "kind": ("单位类型", "Kind"),
    "region": ("行政区划", "Region"),
    "address": ("地址", "Address"),
    "coordinates": ("经纬度", "Coordinates"),
    "person_in_charge": ("负责人", "Person in charge"),
    "supervision_method": ("监管方式", "Supervision"),
    "responsible_officer": ("包保责任人", "Responsible officer"),
    "stations": ("站点", "Stations"),
    "published": ("公示", "Published"),
    "all": ("全部", "all"),
    "filter": ("筛选", "Filter"),
    "search": ("名称或信用代码", "Name or credit code"),
    "count": ("共 {n} 家", "{n} units"),
    "none": ("暂无源头单位", "No source units"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}


def page_scope(request: Request) -> str | None:
    """The region-code prefix the caller may see; None when nothing limits it.

    A signed-in person's jurisdiction, when the request carries one.
    """
    principal = getattr(request.state, "principal", None)
    code = getattr(principal, "region_code", None)
    return regions.scope_of(code) if code else None


def _context(request: Request, session: Session) -> dict:
    lang = choose_lang(request)
    index = 0 if lang == "zh" else 1
    names = {region.code: region.name for region in regions.list_regions(session)}
    return {
        "u": lambda key, **values: TEXT[key][index].format(**values),
        "kind_label": lambda kind: units.kind_label(kind, lang),
        "method_label": lambda method: units.method_label(method, lang),
        "region_name": lambda code: names.get(code, code),
        "kinds": [
            (kind.value, units.kind_label(kind, lang)) for kind in units.UnitKind
        ],
    }


@router.get("/units", response_class=HTMLResponse)
def units_page(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    kind: Annotated[str | None, Query(max_length=40)] = None,
    region: Annotated[str | None, Query(max_length=6)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    scope = page_scope(request)
    if region and regions.code_problem(region) is None:
        wanted = regions.scope_of(region)
        # a narrower region inside the caller's scope; never a wider one
        if scope is None or wanted.startswith(scope):
            scope = wanted
    found = units.list_units(session, scope, kind=kind or None, search=q or None)
    context = _context(request, session) | {
        "units": found,
        "regions": regions.list_regions(session, page_scope(request)),
        "chosen": {"kind": kind or "", "region": region or "", "q": q or ""},
    }
    return render(request, "units.html", context)


def public_session(request: Request) -> Iterator[Session]:
    """A session for a page anyone may read: no person, no jurisdiction."""
    with request.app.state.sessions() as session:
        yield session


@router.get("/public/units", response_class=HTMLResponse)
def public_units_page(
    request: Request, session: Annotated[Session, Depends(public_session)]
) -> Response:
    """The published units of every region on this platform; no private field."""
    found = units.list_units(session, None, published_only=True)
    context = _context(request, session) | {"units": found}
    return render(request, "public_units.html", context)
