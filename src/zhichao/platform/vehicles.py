"""Vehicles (车辆): plate and plate colour, axles, registered mass, owner.

A vehicle is known by its plate together with the plate's colour: a yellow
晋E12345 and a blue 晋E12345 are two vehicles.

A tractor and a trailer known to run together (牵引车与挂车) are a pair in
``vehicle_pairs``, by plate. Pairs are recorded under the trailer: the trailer's
entry lists its tractors, and the pair takes the trailer's region.
"""

import logging
import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhichao.errors import ZhichaoError
from zhichao.platform.models import Vehicle, VehiclePair
from zhichao.platform.plates import plate_problem
from zhichao.protocols.readings import PlateColor

logger = logging.getLogger(__name__)

MAX_AXLES = 12
MAX_REGISTERED_MASS_KG = 200_000
# below this a mass on a list or form is taken for tonnes written by mistake
MIN_REGISTERED_MASS_KG = 1_000


class VehicleError(ZhichaoError, ValueError):
    """A vehicle's data is not acceptable; the message names the field.

    ``field`` is the field's name in :class:`VehicleData` (``tractors`` for a
    trailer's tractors) when one field is at fault.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class VehicleData:
    """A vehicle's fields as checked input.

    ``axle_config`` is the axle groups front to rear, such as ``1+1+3`` or
    ``1-2-3``; ``registered_mass_kg`` the total mass on its licence (核定总质量).
    """

    plate: str
    plate_color: PlateColor
    axles: int | None = None
    axle_config: str | None = None
    registered_mass_kg: int | None = None
    owner: str | None = None
    transport_company: str | None = None
    region_code: str | None = None

    def __post_init__(self) -> None:
        problem = plate_problem(self.plate)
        if problem:
            raise VehicleError(f"plate {self.plate!r} {problem}", "plate")
        if self.axles is not None and not 2 <= self.axles <= MAX_AXLES:
            raise VehicleError(
                f"axles must be 2 to {MAX_AXLES}, got {self.axles}", "axles"
            )
        if self.axle_config is not None:
            self._check_config(self.axle_config)
        mass = self.registered_mass_kg
        if mass is not None and not 0 < mass <= MAX_REGISTERED_MASS_KG:
            raise VehicleError(
                f"registered mass {mass} kg is out of range", "registered_mass_kg"
            )

    def _check_config(self, config: str) -> None:
        groups = config.replace("-", "+").split("+")
        if not all(group.isdigit() and int(group) > 0 for group in groups):
            raise VehicleError(
                f"axle configuration {config!r}: axle counts joined by + or -",
                "axle_config",
            )
        total = sum(int(group) for group in groups)
        if self.axles is not None and total != self.axles:
            raise VehicleError(
                f"axle configuration {config!r} has {total} axles, not {self.axles}",
                "axle_config",
            )


def get_vehicle(session: Session, plate: str, color: str) -> Vehicle | None:
    return session.scalar(
        sa.select(Vehicle).where(Vehicle.plate == plate, Vehicle.plate_color == color)
    )


def save_vehicle(session: Session, data: VehicleData) -> tuple[Vehicle, bool]:
    """Create or update the vehicle; returns it and whether it is new. Flushes."""
    vehicle = get_vehicle(session, data.plate, str(data.plate_color))
    created = vehicle is None
    if vehicle is None:
        vehicle = Vehicle()
        session.add(vehicle)
    for field in fields(data):
        setattr(vehicle, field.name, getattr(data, field.name))
    vehicle.plate_color = str(data.plate_color)
    vehicle.updated_at = datetime.now(UTC)
    session.flush()
    return vehicle, created


def list_vehicles(
    session: Session,
    scope: str | None = None,
    *,
    company: str | None = None,
    search: str | None = None,
    offset: int = 0,
    limit: int = 500,
) -> list[Vehicle]:
    """Vehicles registered in ``scope`` (a region-code prefix; None = all), by
    plate; ``search`` keeps those whose plate contains it.

    With a scope, a vehicle with no region is left out.
    """
    query = sa.select(Vehicle).order_by(Vehicle.plate, Vehicle.plate_color)
    query = _filtered(query, scope, company, search)
    return list(session.scalars(query.offset(offset).limit(limit)))


def _filtered(query, scope: str | None, company: str | None, search: str | None):
    if scope is not None:
        query = query.where(Vehicle.region_code.startswith(scope, autoescape=True))
    if company:
        query = query.where(Vehicle.transport_company == company)
    if search and normalise_plate(search):
        query = query.where(
            Vehicle.plate.contains(normalise_plate(search), autoescape=True)
        )
    return query


# -- reading what people write ----------------------------------------------

# what a county's list or a form says for a plate colour (车牌颜色)
COLOR_NAMES: dict[str, PlateColor] = {
    "黄": PlateColor.YELLOW,
    "蓝": PlateColor.BLUE,
    "绿": PlateColor.GREEN,
    "渐变绿": PlateColor.GREEN,
    "黄绿": PlateColor.YELLOW_GREEN,
    "黄绿双拼": PlateColor.YELLOW_GREEN,
    "白": PlateColor.WHITE,
    "黑": PlateColor.BLACK,
}
# a register entry needs a known colour: the plate and colour name the vehicle
REGISTER_COLORS = tuple(color for color in PlateColor if color != PlateColor.UNKNOWN)
TRAILER_SUFFIX = "挂"
_PLATE_NOISE = re.compile(r"[\s·•\-]")
PLATE_SEPARATORS = re.compile(r"[、,，;；\s]+")


def parse_color(text: str) -> PlateColor:
    """A plate colour from a Chinese name (黄, 黄色, 黄绿 …) or its value."""
    value = unicodedata.normalize("NFKC", text).strip()
    name = value.removesuffix("色")
    if name in COLOR_NAMES:
        return COLOR_NAMES[name]
    key = value.lower().replace("-", "_").replace(" ", "_")
    if key in {str(color) for color in REGISTER_COLORS}:
        return PlateColor(key)
    known = "/".join(("黄", "蓝", "绿", "黄绿", "白", "黑"))
    raise VehicleError(f"plate colour {text!r} is not one of {known}", "plate_color")


def check_mass_unit(mass_kg: int | None) -> None:
    """VehicleError for a registered mass that reads as tonnes, not kg."""
    if mass_kg is not None and 0 < mass_kg < MIN_REGISTERED_MASS_KG:
        raise VehicleError(
            f"registered mass {mass_kg} kg is under {MIN_REGISTERED_MASS_KG:,} kg:"
            " give it in kg, not tonnes",
            "registered_mass_kg",
        )


def normalise_plate(text: str) -> str:
    """A plate as typed (full-width letters, lower case, ``晋E·12345``) in the
    form the register keeps (``晋E12345``)."""
    return _PLATE_NOISE.sub("", unicodedata.normalize("NFKC", text)).upper()


def is_trailer(plate: str) -> bool:
    return plate.endswith(TRAILER_SUFFIX)


def split_plates(text: str | None) -> list[str]:
    """The plates in a list written with 、 , ; or spaces, normalised, in order,
    each once."""
    if not text:
        return []
    plates = [normalise_plate(part) for part in PLATE_SEPARATORS.split(text)]
    return list(dict.fromkeys(plate for plate in plates if plate))


def check_tractors(trailer: str, tractors: list[str]) -> None:
    """VehicleError unless ``trailer`` is a trailer and each tractor a plate
    that is not one."""
    if tractors and not is_trailer(trailer):
        raise VehicleError(
            f"牵引车车牌 is for a trailer (挂) only; {trailer} is not a trailer",
            "tractors",
        )
    for tractor in tractors:
        problem = plate_problem(tractor)
        if problem:
            raise VehicleError(f"tractor plate {tractor!r} {problem}", "tractors")
        if is_trailer(tractor):
            raise VehicleError(
                f"tractor plate {tractor} is a trailer's plate", "tractors"
            )


# -- tractor and trailer pairs ------------------------------------------------


def set_tractors(
    session: Session, trailer: str, tractors: list[str], region_code: str | None
) -> tuple[int, int]:
    """Make ``tractors`` the tractors known to pull ``trailer`` (pairs recorded
    under the trailer, in its region); returns (pairs added, pairs removed).

    Reads through the session's scope: a pair of the same two plates that the
    session cannot see (another jurisdiction's) is refused, not taken over.
    Flushes.
    """
    check_tractors(trailer, tractors)
    stored = {
        pair.tractor_plate: pair
        for pair in session.scalars(
            sa.select(VehiclePair).where(VehiclePair.trailer_plate == trailer)
        )
    }
    now = datetime.now(UTC)
    removed = 0
    for plate, pair in stored.items():
        if plate not in tractors:
            session.delete(pair)
            removed += 1
        elif pair.region_code != region_code:
            pair.region_code = region_code
            pair.updated_at = now
    added = [plate for plate in tractors if plate not in stored]
    _refuse_hidden_pairs(session, trailer, added)
    for plate in added:
        session.add(
            VehiclePair(
                tractor_plate=plate,
                trailer_plate=trailer,
                region_code=region_code,
                updated_at=now,
            )
        )
    session.flush()
    return len(added), removed


def _refuse_hidden_pairs(session: Session, trailer: str, tractors: list[str]):
    if not tractors:
        return
    hidden = session.scalar(
        sa.select(VehiclePair.tractor_plate)
        .where(
            VehiclePair.trailer_plate == trailer,
            VehiclePair.tractor_plate.in_(tractors),
        )
        .limit(1)
        .execution_options(zhichao_unscoped=True)
    )
    if hidden is not None:
        raise VehicleError(
            f"the pair {hidden} + {trailer} is registered in another jurisdiction",
            "tractors",
        )


def partners_of(session: Session, plates: list[str]) -> dict[str, list[str]]:
    """For each plate, the plates it is paired with: a trailer's tractors, a
    tractor's trailers (the pairs the session may see), sorted."""
    if not plates:
        return {}
    wanted = set(plates)
    pairs = session.scalars(
        sa.select(VehiclePair).where(
            sa.or_(
                VehiclePair.trailer_plate.in_(wanted),
                VehiclePair.tractor_plate.in_(wanted),
            )
        )
    )
    found: dict[str, set[str]] = {}
    for pair in pairs:
        if pair.trailer_plate in wanted:
            found.setdefault(pair.trailer_plate, set()).add(pair.tractor_plate)
        if pair.tractor_plate in wanted:
            found.setdefault(pair.tractor_plate, set()).add(pair.trailer_plate)
    return {plate: sorted(partners) for plate, partners in found.items()}


def count_vehicles(
    session: Session, scope: str | None = None, *, search: str | None = None
) -> int:
    query = sa.select(sa.func.count()).select_from(Vehicle)
    return session.scalar(_filtered(query, scope, None, search)) or 0
