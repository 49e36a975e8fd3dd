"""Pages of the vehicle register (车辆登记): the list with a plate search
(/vehicles), and for administrators and officers a form to add a vehicle
(/vehicles/new) or change one (/vehicles/{id}/edit), a trailer with the
tractors it runs with.

Everything is read through the caller's scoped session, so a vehicle of
another jurisdiction is neither listed nor found by its id.
"""

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from zhichao.platform import audit, auth, regions, vehicles
from zhichao.platform.api.deps import (
    client_address,
    current_principal,
    get_scoped_factory,
    get_session,
)
from zhichao.platform.api.errors import ApiError
from zhichao.platform.db import session_scope
from zhichao.platform.importer import CellError, cell_whole
from zhichao.platform.models import Vehicle
from zhichao.platform.web.i18n import choose_lang
from zhichao.platform.web.pages import render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_FIELD = 200
EDITABLE_LEVELS = (regions.RegionLevel.COUNTY, regions.RegionLevel.ZONE)

Factory = Annotated[Callable[[], Session], Depends(get_scoped_factory)]
Caller = Annotated[auth.Principal, Depends(current_principal)]

TEXT: dict[str, tuple[str, str]] = {
    "title": ("车辆登记", "Vehicle register"),
    "new_title": ("新增车辆", "Add a vehicle"),
    "edit_title": ("修改车辆", "Change a vehicle"),
    "plate": ("车牌号码", "Plate"),
    "plate_color": ("车牌颜色", "Plate colour"),
    "axles": ("轴数", "Axles"),
    "axle_config": ("轴型", "Axle configuration"),
    "axle_config_help": ("前后各轴组轴数，如 1+2+3", "axles per group, e.g. 1+2+3"),
    "mass": ("核定总质量(kg)", "Registered mass (kg)"),
    "owner": ("所有人", "Owner"),
    "company": ("运输企业", "Transport company"),
    "region": ("所属区划", "Region"),
    "partners": ("牵引车 / 挂车", "Tractors / trailers"),
    "tractors": ("牵引车车牌", "Tractor plates"),
    "tractors_help": (
        "挂车（车牌以“挂”结尾）所配牵引车，多个用 、 , ; 或空格分隔",
        "for a trailer (plate ending 挂): its tractors, separated by 、 , ; or spaces",
    ),
    "trailers_of": ("所挂挂车（在挂车一方登记）", "Trailers (recorded on the trailer)"),
    "search": ("车牌号码", "Plate"),
    "search_button": ("查询", "Search"),
    "add": ("新增车辆", "Add a vehicle"),
    "edit": ("修改", "Edit"),
    "save": ("保存", "Save"),
    "cancel": ("返回列表", "Back to the list"),
    "count": ("共 {n} 辆", "{n} vehicles"),
    "none": ("暂无车辆", "No vehicles"),
    "page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "saved": ("已保存：{plate}", "Saved: {plate}"),
    "not_saved": ("未保存", "Not saved"),
    "choose": ("请选择", "choose"),
    "import_note": (
        "批量导入：zhichao platform import-vehicles 车辆.xlsx",
        "Import a list: zhichao platform import-vehicles vehicles.xlsx",
    ),
}
COLORS = list(vehicles.REGISTER_COLORS)


@dataclass
class VehicleForm:
    """The form's fields as typed, for showing them again."""

    plate: str = ""
    plate_color: str = "yellow"
    axles: str = ""
    axle_config: str = ""
    registered_mass_kg: str = ""
    owner: str = ""
    transport_company: str = ""
    region_code: str = ""
    tractors: str = ""

    @classmethod
    def of(cls, vehicle: Vehicle, tractors: list[str]) -> "VehicleForm":
        def text(value: Any) -> str:
            return "" if value is None else str(value)

        return cls(
            plate=vehicle.plate,
            plate_color=vehicle.plate_color,
            axles=text(vehicle.axles),
            axle_config=text(vehicle.axle_config),
            registered_mass_kg=text(vehicle.registered_mass_kg),
            owner=text(vehicle.owner),
            transport_company=text(vehicle.transport_company),
            region_code=text(vehicle.region_code),
            tractors="、".join(tractors),
        )

    @classmethod
    def parse(cls, form: dict[str, str]) -> "VehicleForm":
        names = {field: form.get(field, "").strip() for field in asdict(cls())}
        return cls(**names)


def _texts(request: Request, session: Session) -> dict[str, Any]:
    index = 0 if choose_lang(request) == "zh" else 1
    names = {region.code: region.name for region in regions.list_regions(session)}
    return {
        "v": lambda key, **values: TEXT[key][index].format(**values),
        "region_name": lambda code: names.get(code, code) if code else "—",
        "colors": COLORS,
    }


# -- the list -------------------------------------------------------------------


@router.get("/vehicles", response_class=HTMLResponse)
def vehicles_page(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    q: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    search = (q or "").strip() or None
    total = vehicles.count_vehicles(session, search=search)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(page, pages)
    found = vehicles.list_vehicles(
        session, search=search, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    context = _texts(request, session) | {
        "vehicles": found,
        "partners": vehicles.partners_of(session, [v.plate for v in found]),
        "total": total,
        "page": page,
        "pages": pages,
        "q": search or "",
        "saved": request.query_params.get("saved", "")[:20],
    }
    return render(request, "vehicles.html", context)


# -- adding and changing one ----------------------------------------------------


def _region_options(session: Session, principal: auth.Principal) -> list:
    """The counties and zones inside the caller's jurisdiction."""
    prefix = principal.scope.prefix
    if prefix is None:
        return []  # an operator's scope has no region of its own to write in
    return [
        region
        for region in regions.list_regions(session, prefix)
        if region.level in EDITABLE_LEVELS
    ]


def _form_context(
    request: Request,
    session: Session,
    principal: auth.Principal,
    form: VehicleForm,
    vehicle: Vehicle | None,
    error: str | None = None,
) -> dict[str, Any]:
    trailers: list[str] = []
    if vehicle is not None and not vehicles.is_trailer(vehicle.plate):
        trailers = vehicles.partners_of(session, [vehicle.plate]).get(vehicle.plate, [])
    return _texts(request, session) | {
        "form": form,
        "vehicle": vehicle,
        "trailers": trailers,
        "region_options": _region_options(session, principal),
        "error": error,
    }


def _visible_vehicle(session: Session, vehicle_id: int) -> Vehicle:
    vehicle = session.scalar(sa.select(Vehicle).where(Vehicle.id == vehicle_id))
    if vehicle is None:
        raise ApiError(404, "not_found", f"no vehicle {vehicle_id} on this platform")
    return vehicle


@router.get("/vehicles/new", response_class=HTMLResponse)
def vehicle_new(request: Request, factory: Factory, principal: Caller) -> Response:
    with session_scope(factory) as session:
        form = VehicleForm(region_code=principal.region_code)
        context = _form_context(request, session, principal, form, None)
        return render(request, "vehicle_form.html", context)


@router.get("/vehicles/{vehicle_id}/edit", response_class=HTMLResponse)
def vehicle_edit(
    vehicle_id: int, request: Request, factory: Factory, principal: Caller
) -> Response:
    with session_scope(factory) as session:
        vehicle = _visible_vehicle(session, vehicle_id)
        tractors = vehicles.partners_of(session, [vehicle.plate]).get(vehicle.plate, [])
        form = VehicleForm.of(
            vehicle, tractors if vehicles.is_trailer(vehicle.plate) else []
        )
        context = _form_context(request, session, principal, form, vehicle)
        return render(request, "vehicle_form.html", context)


@router.post("/vehicles", response_class=HTMLResponse)
async def vehicle_create(
    request: Request, factory: Factory, principal: Caller
) -> Response:
    return await _submit(request, factory, principal, None)


@router.post("/vehicles/{vehicle_id}", response_class=HTMLResponse)
async def vehicle_update(
    vehicle_id: int, request: Request, factory: Factory, principal: Caller
) -> Response:
    return await _submit(request, factory, principal, vehicle_id)


async def _submit(
    request: Request,
    factory: Callable[[], Session],
    principal: auth.Principal,
    vehicle_id: int | None,
) -> Response:
    """Save the form; the form again with the reason when it is refused."""
    raw = await request.form()
    form = VehicleForm.parse({k: str(v)[:MAX_FIELD] for k, v in raw.items()})
    address = client_address(request)

    def work() -> tuple[dict | None, str]:
        with session_scope(factory) as session:
            vehicle = None
            if vehicle_id is not None:
                vehicle = _visible_vehicle(session, vehicle_id)
            try:
                saved = _save(session, principal, form, vehicle, address)
            except (vehicles.VehicleError, CellError) as err:
                session.rollback()
                context = _form_context(
                    request, session, principal, form, vehicle, _reason(err)
                )
                return context, ""
            return None, saved

    context, plate = await run_in_threadpool(work)
    if context is not None:
        return render(request, "vehicle_form.html", context, 400)
    query = urlencode({"q": plate, "saved": plate})
    return RedirectResponse(f"/vehicles?{query}", status_code=303)


def _reason(err: Exception) -> str:
    column = getattr(err, "column", None)
    field = getattr(err, "field", None)
    if column is None and field in FIELD_LABELS:
        column = TEXT[FIELD_LABELS[field]][0]
    reason = str(err)
    return reason if not column or reason.startswith(column) else f"{column}: {reason}"


FIELD_LABELS = {
    "plate": "plate",
    "plate_color": "plate_color",
    "axles": "axles",
    "axle_config": "axle_config",
    "registered_mass_kg": "mass",
    "tractors": "tractors",
}


def _save(
    session: Session,
    principal: auth.Principal,
    form: VehicleForm,
    vehicle: Vehicle | None,
    address: str,
) -> str:
    """Check and store one vehicle (and a trailer's tractors), audited; the
    plate. VehicleError or CellError names what is wrong."""
    data = _checked(session, principal, form, vehicle)
    if vehicle is None:
        _refuse_stored(session, data)
    stored, created = vehicles.save_vehicle(session, data)
    tractors: list[str] = []
    if vehicles.is_trailer(data.plate):
        tractors = vehicles.split_plates(form.tractors)
        vehicles.set_tractors(session, data.plate, tractors, data.region_code)
    audit.append(
        session,
        username=principal.username,
        role=principal.role.value,
        region=principal.scope.label,
        action="vehicle_create" if created else "vehicle_update",
        target=f"{data.plate} {data.plate_color}",
        detail=_detail(stored) | {"tractors": tractors},
        address=address,
    )
    return data.plate


def _checked(
    session: Session,
    principal: auth.Principal,
    form: VehicleForm,
    vehicle: Vehicle | None,
) -> vehicles.VehicleData:
    # a stored vehicle keeps its plate and colour: they are what it is known by
    plate = vehicle.plate if vehicle else vehicles.normalise_plate(form.plate)
    color = vehicle.plate_color if vehicle else form.plate_color
    if not plate:
        raise vehicles.VehicleError("请填写车牌号码 (the plate is empty)", "plate")
    allowed = {region.code for region in _region_options(session, principal)}
    if form.region_code not in allowed:
        raise vehicles.VehicleError(
            f"所属区划须为您辖区内的县区 (region {form.region_code or '—'} is not"
            " a county or zone of your jurisdiction)",
            "region_code",
        )
    data = vehicles.VehicleData(
        plate=plate,
        plate_color=vehicles.parse_color(color),
        axles=cell_whole(form.axles, TEXT["axles"][0]),
        axle_config=form.axle_config.replace(" ", "") or None,
        registered_mass_kg=cell_whole(form.registered_mass_kg, TEXT["mass"][0]),
        owner=form.owner or None,
        transport_company=form.transport_company or None,
        region_code=form.region_code,
    )
    vehicles.check_mass_unit(data.registered_mass_kg)
    vehicles.check_tractors(plate, vehicles.split_plates(form.tractors))
    return data


def _refuse_stored(session: Session, data: vehicles.VehicleData) -> None:
    """A new vehicle must not be one stored already, here or elsewhere."""
    visible = vehicles.get_vehicle(session, data.plate, str(data.plate_color))
    if visible is not None:
        raise vehicles.VehicleError(
            f"{data.plate} 已登记，请在列表中修改 (already registered: edit it)",
            "plate",
        )
    elsewhere = session.scalar(
        sa.select(Vehicle.id)
        .where(Vehicle.plate == data.plate, Vehicle.plate_color == data.plate_color)
        .execution_options(zhichao_unscoped=True)
    )
    if elsewhere is not None:
        raise vehicles.VehicleError(
            f"{data.plate} 已在其他辖区登记 (registered in another jurisdiction)",
            "plate",
        )


def _detail(vehicle: Vehicle) -> dict[str, Any]:
    return {
        "axles": vehicle.axles,
        "axle_config": vehicle.axle_config,
        "registered_mass_kg": vehicle.registered_mass_kg,
        "owner": vehicle.owner,
        "transport_company": vehicle.transport_company,
        "region_code": vehicle.region_code,
    }
