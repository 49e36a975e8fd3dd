"""Pages of the device register (设备台账): a station's lanes and their devices
(/stations/{station_code}/devices), and the form on which an officer records a
device's make, model, serial number, verification certificate and installed
date (/stations/{station_code}/devices/{device_id})."""

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from zhichao.platform import audit, devices
from zhichao.platform.api.deps import (
    client_address,
    current_principal,
    get_scoped_factory,
    get_session,
)
from zhichao.platform.api.errors import ApiError
from zhichao.platform.auth import Principal
from zhichao.platform.db import session_scope
from zhichao.platform.models import LaneDevice, Station, StationStatus
from zhichao.platform.web.i18n import choose_lang
from zhichao.platform.web.pages import render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
MAX_FORM_FIELD = 200

TEXT: dict[str, tuple[str, str]] = {
    "title": ("设备台账", "Device register"),
    "note": (
        "设备状态来自磅站心跳；厂家、型号、编号、检定证书与安装日期由验收人员登记。",
        "States come from the station's heartbeats; make, model, numbers, the"
        " verification certificate and the installed date are recorded at"
        " acceptance.",
    ),
    "lane": ("车道", "Lane"),
    "name": ("设备", "Device"),
    "kind": ("类型", "Kind"),
    "state": ("状态", "State"),
    "since": ("状态起始", "Since"),
    "detail": ("说明", "Detail"),
    "last_seen": ("最近上报", "Last seen"),
    "make": ("生产厂家", "Make"),
    "model": ("型号", "Model"),
    "serial_no": ("出厂编号", "Serial number"),
    "certificate_no": ("检定证书编号", "Certificate number"),
    "certificate_expires": ("检定证书有效期至", "Certificate valid until"),
    "installed_on": ("安装日期", "Installed on"),
    "updated_at": ("台账更新", "Register updated"),
    "edit": ("登记", "Edit"),
    "save": ("保存", "Save"),
    "cancel": ("返回设备台账", "Back to the register"),
    "saved": ("已保存", "Saved"),
    "unchanged": ("未作修改", "Nothing changed"),
    "no_devices": ("该车道心跳中尚未报告设备", "No device reported for this lane"),
    "no_lanes": ("该磅站尚未报告任何车道或设备", "No lane or device reported yet"),
    "not_in_latest": ("最近一次心跳未报告", "not in the latest heartbeat"),
    "cert_expired": ("检定证书已过期", "certificate expired"),
    "cert_expiring": ("检定证书即将到期", "certificate expiring"),
    "expiry_rule": (
        "有效期在 {days} 天内到期的标为即将到期；日期按北京时间计。",
        "A certificate ending within {days} days is marked expiring; dates are"
        " Beijing dates.",
    ),
    "date_rule": ("留空表示未登记", "leave empty if not known"),
    "error": ("无法保存", "Not saved"),
    "edit_title": ("登记设备", "Device record"),
}


def _texts(request: Request) -> Callable[..., str]:
    index = 0 if choose_lang(request) == "zh" else 1
    return lambda key, **values: TEXT[key][index].format(**values)


def _station_or_404(session: Session, station_code: str) -> Station:
    station = devices.find_station(session, station_code)
    if station is None:
        raise ApiError(
            404, "not_found", f"no station {station_code} on this platform (无此磅站)"
        )
    return station


def _device_or_404(session: Session, station: Station, device_id: int) -> LaneDevice:
    device = devices.get_device(session, station, device_id)
    if device is None:
        raise ApiError(
            404,
            "not_found",
            f"no device {device_id} at station {station.station_code} (无此设备)",
        )
    return device


@router.get("/stations/{station_code}/devices", response_class=HTMLResponse)
def devices_page(
    station_code: str,
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    saved: int | None = None,
    unchanged: int | None = None,
) -> Response:
    """Every lane's devices with their states and register fields."""
    station = _station_or_404(session, station_code)
    today = devices.beijing_today()
    status = session.get(StationStatus, station.id)
    context = {
        "d": _texts(request),
        "station": station,
        "lanes": devices.station_devices(session, station, today),
        "latest_beat": status.received_at if status else None,
        "today": today,
        "warn_days": devices.EXPIRY_WARNING_DAYS,
        "saved": saved,
        "unchanged": unchanged,
    }
    return render(request, "devices.html", context)


@router.get("/stations/{station_code}/devices/{device_id}", response_class=HTMLResponse)
def device_form(
    station_code: str,
    device_id: int,
    request: Request,
    session: Annotated[Session, Depends(get_session)],
) -> Response:
    station = _station_or_404(session, station_code)
    device = _device_or_404(session, station, device_id)
    values = _form_values(devices.register_of(device))
    return render(request, "device.html", _form_context(request, device, values))


@router.post(
    "/stations/{station_code}/devices/{device_id}", response_class=HTMLResponse
)
async def device_save(
    station_code: str,
    device_id: int,
    request: Request,
    factory: Annotated[Callable[[], Session], Depends(get_scoped_factory)],
    principal: Annotated[Principal, Depends(current_principal)],
) -> Response:
    """Save the register fields; a bad value shows the form again with why."""
    form = await request.form()
    entered = {
        name: str(form.get(name, ""))[:MAX_FORM_FIELD]
        for name in devices.REGISTER_FIELDS
    }
    address = client_address(request)
    lang = choose_lang(request)

    def save() -> tuple[str, Any]:
        with session_scope(factory) as session:
            station = _station_or_404(session, station_code)
            device = _device_or_404(session, station, device_id)
            try:
                wanted = devices.parse_register(entered, devices.beijing_today())
            except devices.DeviceRegisterError as err:
                context = _form_context(request, device, entered)
                return "error", context | {
                    "error": err.message(lang),
                    "error_field": err.field,
                }
            changes = devices.update_register(session, device, wanted)
            if changes:
                audit.append(
                    session,
                    username=principal.username,
                    role=principal.role.value,
                    region=principal.scope.label,
                    action="device_register",
                    target=f"{station.station_code}-{device.lane_no} {device.name}",
                    detail={"device_id": device.id, "changes": changes},
                    address=address,
                )
            return "done", bool(changes)

    outcome, value = await run_in_threadpool(save)
    if outcome == "error":
        return render(request, "device.html", value, 400)
    query = "saved" if value else "unchanged"
    return RedirectResponse(
        f"/stations/{station_code}/devices?{query}={device_id}#device-{device_id}",
        status_code=303,
    )


def _form_values(fields: devices.RegisterFields) -> dict[str, str]:
    values = {}
    for name in devices.REGISTER_FIELDS:
        value = getattr(fields, name)
        values[name] = "" if value is None else str(value)
    return values


def _form_context(
    request: Request, device: LaneDevice, values: dict[str, str]
) -> dict[str, Any]:
    return {
        "d": _texts(request),
        "station": device.station,
        "device": device,
        "values": values,
        "text_fields": devices.TEXT_FIELDS,
        "date_fields": list(devices.DATE_FIELDS),
        "error": None,
        "error_field": None,
    }
