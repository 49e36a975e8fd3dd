"""The device register (设备台账): every device of every lane as a row.

A station's heartbeat reports each lane's devices (name, kind, state, since,
detail); ``record_heartbeat`` keeps one ``LaneDevice`` row per device and
updates what the heartbeat says. The officer who accepts a unit's equipment
(验收) records the rest: make, model, serial number, the scale's verification
certificate (检定证书) number and expiry date, and the installed date
(``parse_register`` and ``update_register``). A heartbeat never changes those,
and a device that stops being reported keeps its row and its last-seen time.
"""

import enum
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhichao.errors import ZhichaoError
from zhichao.platform.models import Lane, LaneDevice, Station
from zhichao.timeutil import SHANGHAI, to_utc, utcnow

logger = logging.getLogger(__name__)

# a certificate this close to its expiry date is marked 即将到期
EXPIRY_WARNING_DAYS = 30
# dates outside these years are taken for typing mistakes
FIRST_YEAR, LAST_YEAR = 1980, 2100
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)

# the register fields an officer edits: name → (maximum length, 中文, English)
TEXT_FIELDS: dict[str, tuple[int, str, str]] = {
    "make": (100, "生产厂家", "make"),
    "model": (100, "型号", "model"),
    "serial_no": (64, "出厂编号", "serial number"),
    "certificate_no": (64, "检定证书编号", "certificate number"),
}
DATE_FIELDS: dict[str, tuple[str, str]] = {
    "certificate_expires": ("检定证书有效期至", "certificate valid until"),
    "installed_on": ("安装日期", "installed on"),
}


class DeviceRegisterError(ZhichaoError):
    """A register field an officer entered that cannot be saved as it is.

    ``zh`` and ``en`` say what is wrong and how to put it right; ``field`` is
    the form field at fault.
    """

    def __init__(self, field: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.field = field
        self.zh = zh
        self.en = en

    def message(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class CertificateState(enum.StrEnum):
    VALID = "valid"
    EXPIRING = "expiring"  # 即将到期: within EXPIRY_WARNING_DAYS
    EXPIRED = "expired"  # 已过期


@dataclass(frozen=True)
class RegisterFields:
    """What an officer records about one device; None = not recorded."""

    make: str | None = None
    model: str | None = None
    serial_no: str | None = None
    certificate_no: str | None = None
    certificate_expires: date | None = None
    installed_on: date | None = None


REGISTER_FIELDS = tuple(f.name for f in fields(RegisterFields))


@dataclass(frozen=True)
class DeviceView:
    device: LaneDevice
    certificate: CertificateState | None


@dataclass(frozen=True)
class LaneDevices:
    lane_no: str
    devices: list[DeviceView]


# -- from heartbeats --------------------------------------------------------


def record_heartbeat(
    session: Session, station_id: int, lanes: Iterable[Any], seen_at: datetime
) -> None:
    """Upsert the devices of a heartbeat's ``lanes`` (``LaneHealth`` items).

    State, detail and the last-seen time follow the heartbeat. ``state_since``
    is the station's ``since`` when it sends one; otherwise it is kept while
    the state stays the same, and is ``seen_at`` when the state changes (the
    platform saw the new state first then). Flushes, does not commit.
    """
    reported = {
        (lane.lane_no, device.name): device for lane in lanes for device in lane.devices
    }
    if not reported:
        return
    known = {
        (row.lane_no, row.name): row
        for row in session.scalars(
            sa.select(LaneDevice).where(LaneDevice.station_id == station_id)
        )
    }

    for (lane_no, name), device in reported.items():
        row = known.get((lane_no, name))
        since = to_utc(device.since) if device.since is not None else None
        if row is None:
            session.add(
                LaneDevice(
                    station_id=station_id,
                    lane_no=lane_no,
                    name=name,
                    kind=device.kind,
                    state=device.state,
                    state_since=since or seen_at,
                    detail=device.detail,
                    last_seen_at=seen_at,
                )
            )
            continue
        if since is None:
            since = row.state_since if row.state == device.state else seen_at
        if row.state != device.state:
            logger.info(
                "station %s lane %s device %s: %s -> %s",
                station_id,
                lane_no,
                name,
                row.state,
                device.state,
            )
        row.kind = device.kind
        row.state = device.state
        row.state_since = since
        row.detail = device.detail
        row.last_seen_at = seen_at
    session.flush()


# -- reading ----------------------------------------------------------------


def beijing_today(now: datetime | None = None) -> date:
    return to_utc(now or utcnow()).astimezone(SHANGHAI).date()


def certificate_state(
    expires: date | None, today: date, warn_days: int = EXPIRY_WARNING_DAYS
) -> CertificateState | None:
    """Whether a certificate valid until ``expires`` (inclusive) has expired
    by ``today``, expires within ``warn_days``, or is valid; None without one."""
    if expires is None:
        return None
    if expires < today:
        return CertificateState.EXPIRED
    if expires <= today + timedelta(days=warn_days):
        return CertificateState.EXPIRING
    return CertificateState.VALID


def find_station(session: Session, station_code: str) -> Station | None:
    """The station, when it exists and the session's scope shows it."""
    return session.scalar(
        sa.select(Station).where(Station.station_code == station_code)
    )


def station_devices(
    session: Session, station: Station, today: date
) -> list[LaneDevices]:
    """Every lane of the station, each with its devices by name; a lane known
    only from its records comes with no device."""
    rows = session.scalars(
        sa.select(LaneDevice)
        .where(LaneDevice.station_id == station.id)
        .order_by(LaneDevice.lane_no, LaneDevice.name)
    )
    by_lane: dict[str, list[DeviceView]] = {
        lane_no: []
        for lane_no in session.scalars(
            sa.select(Lane.lane_no).where(Lane.station_id == station.id)
        )
    }
    for row in rows:
        view = DeviceView(row, certificate_state(row.certificate_expires, today))
        by_lane.setdefault(row.lane_no, []).append(view)
    return [LaneDevices(lane_no, by_lane[lane_no]) for lane_no in sorted(by_lane)]


def get_device(session: Session, station: Station, device_id: int) -> LaneDevice | None:
    """The device ``device_id`` when it belongs to ``station``."""
    return session.scalar(
        sa.select(LaneDevice).where(
            LaneDevice.id == device_id, LaneDevice.station_id == station.id
        )
    )


# -- the officer's fields ------------------------------------------------------


def parse_register(form: Mapping[str, Any], today: date) -> RegisterFields:
    """Check the register fields of a form; an empty field clears the value.

    Raises ``DeviceRegisterError`` for a value too long, a date that is not
    a calendar date written 年-月-日, and an installed date after ``today``.
    """
    values: dict[str, Any] = {}
    for name, (limit, zh, en) in TEXT_FIELDS.items():
        text = str(form.get(name) or "").strip()
        if len(text) > limit:
            raise DeviceRegisterError(
                name,
                f"{zh}最多 {limit} 个字符，现有 {len(text)} 个",
                f"{en}: at most {limit} characters, not {len(text)}",
            )
        values[name] = text or None
    for name in DATE_FIELDS:
        values[name] = _parse_date(name, str(form.get(name) or "").strip())

    installed = values["installed_on"]
    if installed is not None and installed > today:
        raise DeviceRegisterError(
            "installed_on",
            f"安装日期 {installed.isoformat()} 晚于今天（{today.isoformat()}），"
            "请填写实际安装日期",
            f"installed on {installed.isoformat()} is after today "
            f"({today.isoformat()}); enter the day it was installed",
        )
    return RegisterFields(**values)


def _parse_date(name: str, text: str) -> date | None:
    if not text:
        return None
    zh, en = DATE_FIELDS[name]
    try:
        value = date.fromisoformat(text) if DATE_RE.match(text) else None
    except ValueError:
        value = None
    if value is None:
        raise DeviceRegisterError(
            name,
            f"{zh}“{text}”不是有效日期，请按 年-月-日 填写，如 2027-06-30",
            f"{en} {text!r} is not a date; write it as year-month-day, e.g. 2027-06-30",
        )
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise DeviceRegisterError(
            name,
            f"{zh}“{text}”的年份应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间",
            f"{en} {text!r}: the year must be between {FIRST_YEAR} and {LAST_YEAR}",
        )
    return value


def register_of(device: LaneDevice) -> RegisterFields:
    return RegisterFields(**{name: getattr(device, name) for name in REGISTER_FIELDS})


def update_register(
    session: Session,
    device: LaneDevice,
    wanted: RegisterFields,
    now: datetime | None = None,
) -> dict[str, list[str | None]]:
    """Set the register fields; returns what changed as name → [old, new]
    (dates as 年-月-日), empty when nothing did. Flushes, does not commit."""
    changes: dict[str, list[str | None]] = {}
    for name in REGISTER_FIELDS:
        old, new = getattr(device, name), getattr(wanted, name)
        if old != new:
            changes[name] = [_text(old), _text(new)]
            setattr(device, name, new)
    if changes:
        device.updated_at = now or utcnow()
        session.flush()
    return changes


def _text(value: str | date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value
