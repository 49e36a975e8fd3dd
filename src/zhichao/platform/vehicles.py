"""Vehicles (车辆): plate and plate colour, axles, registered mass, owner.

A vehicle is known by its plate together with the plate's colour: a yellow
晋E12345 and a blue 晋E12345 are two vehicles.
"""

import logging
from dataclasses import dataclass, fields
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhichao.errors import ZhichaoError
from zhichao.platform.models import Vehicle
from zhichao.platform.plates import plate_problem
from zhichao.protocols.readings import PlateColor

logger = logging.getLogger(__name__)

MAX_AXLES = 12
MAX_REGISTERED_MASS_KG = 200_000


class VehicleError(ZhichaoError, ValueError):
    """A vehicle's data is not acceptable; the message names the field."""


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
            raise VehicleError(f"plate {self.plate!r} {problem}")
        if self.axles is not None and not 2 <= self.axles <= MAX_AXLES:
            raise VehicleError(f"axles must be 2 to {MAX_AXLES}, got {self.axles}")
        if self.axle_config is not None:
            self._check_config(self.axle_config)
        mass = self.registered_mass_kg
        if mass is not None and not 0 < mass <= MAX_REGISTERED_MASS_KG:
            raise VehicleError(f"registered mass {mass} kg is out of range")

    def _check_config(self, config: str) -> None:
        groups = config.replace("-", "+").split("+")
        if not all(group.isdigit() and int(group) > 0 for group in groups):
            raise VehicleError(
                f"axle configuration {config!r}: axle counts joined by + or -"
            )
        total = sum(int(group) for group in groups)
        if self.axles is not None and total != self.axles:
            raise VehicleError(
                f"axle configuration {config!r} has {total} axles, not {self.axles}"
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
    limit: int = 500,
) -> list[Vehicle]:
    """Vehicles registered in ``scope`` (a region-code prefix; None = all).

    With a scope, a vehicle with no region is left out.
    """
    query = sa.select(Vehicle).order_by(Vehicle.plate, Vehicle.plate_color)
    if scope is not None:
        query = query.where(Vehicle.region_code.startswith(scope, autoescape=True))
    if company:
        query = query.where(Vehicle.transport_company == company)
    return list(session.scalars(query.limit(limit)))
