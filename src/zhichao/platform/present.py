"""Records as the live list shows them: one shape for the page and the JSON feed."""

from typing import Any

from zhichao.platform.models import WeighingRecord
from zhichao.timeutil import iso_utc, show_local


def live_item(record: WeighingRecord) -> dict[str, Any]:
    """A record as one row of the live list, times already in Beijing time."""
    station = record.station
    unit = station.unit if station else None
    return {
        "cursor": record.id,
        "record_id": record.record_id,
        "url": f"/records/{record.record_id}",
        "detected_at": iso_utc(record.detected_at),
        "detected_at_local": show_local(record.detected_at),
        "station_code": record.station_code,
        "station_name": station.name if station else record.station_code,
        "station_registered": bool(station and station.registered),
        "unit_name": unit.name if unit else None,
        "lane_no": record.lane_no,
        "front_plate": record.front_plate,
        "front_plate_color": record.front_plate_color,
        "rear_plate": record.rear_plate,
        "rear_plate_color": record.rear_plate_color,
        "vehicle_kind": record.vehicle_kind,
        "axles": record.axles,
        "gross_kg": record.gross_kg,
        "limit_kg": record.limit_kg,
        "over_kg": record.over_kg,
        "over_rate_pct": record.over_rate_pct,
        "overloaded": record.overloaded,
        "verdict": record.verdict,
        "flags": list(record.flags or []),
        "verification": record.verification,
    }
