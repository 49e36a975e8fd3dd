"""Builders of valid records and photos for the platform tests."""

import hashlib
import os
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

STATION = "1405250001"
DETECTED = datetime(2026, 6, 17, 22, 6, 30, 499000, tzinfo=UTC)


def jpeg_bytes(size: int = 2048) -> bytes:
    """Bytes that start like a JPEG (SOI + APP0 marker) and end with EOI."""
    body = os.urandom(max(0, size - 6))
    return b"\xff\xd8\xff\xe0" + body + b"\xff\xd9"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_id(station: str, lane: str, detected: datetime, seq: int) -> str:
    stamp = detected.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{station}-{lane}-{stamp}-{seq:06d}"


def iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_record(
    seq: int = 1,
    gross_kg: int = 52_000,
    limit_kg: int = 49_000,
    tolerance_kg: int = 0,
    station: str = STATION,
    lane: str = "01",
    detected: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A valid pass record; keyword fields override anything after it is built."""
    detected = detected or DETECTED + timedelta(seconds=seq)
    over = max(0, gross_kg - limit_kg)
    rate = (Decimal(over) * 100 / Decimal(limit_kg)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    overloaded = gross_kg > limit_kg + tolerance_kg
    record = {
        "schema_version": 1,
        "record_id": record_id(station, lane, detected, seq),
        "kind": "pass",
        "station_code": station,
        "lane_no": lane,
        "seq": seq,
        "prev_hash": None,
        "signature": None,
        "detected_at": iso(detected),
        "entered_at": iso(detected - timedelta(seconds=20)),
        "front_plate": "晋E12345",
        "front_plate_color": "yellow",
        "rear_plate": "晋E6789挂",
        "rear_plate_color": "yellow",
        "vehicle_kind": "combination",
        "axles": 6,
        "axle_weights_kg": None,
        "gross_kg": gross_kg,
        "limit_kg": limit_kg,
        "tolerance_kg": tolerance_kg,
        "over_kg": over,
        "over_rate_pct": float(rate),
        "overloaded": overloaded,
        "verdict": "held" if overloaded else "released",
        "basis": "《超限运输车辆行驶公路管理规定》第三条 六轴及以上汽车列车 49000 kg",
        "rules_version": "2016-gb1589-1",
        "flags": [],
        "reweigh_of": None,
        "photos": [],
        "left_without_weighing": False,
        "video": None,
    }
    record.update(fields)
    return record


def photo_ref(
    data: bytes, role: str = "plate", camera: str = "front"
) -> dict[str, Any]:
    return {
        "sha256": sha256(data),
        "role": role,
        "camera": camera,
        "captured_at": "2026-06-18T06:06:30.520+08:00",
        "size": len(data),
    }


def sign_chain(key, records: list[dict[str, Any]], prev_hash: str | None = None):
    """Chain ``records`` (in order) from ``prev_hash`` and sign each with ``key``."""
    from zhichao.chain import GENESIS_HASH, record_hash

    prev = prev_hash or GENESIS_HASH
    for record in records:
        record["prev_hash"] = prev
        record["signature"] = key.sign(record)
        prev = record_hash(record)
    return records


def make_event(
    seq: int,
    event_type: str = "device_fault",
    station: str = STATION,
    lane: str = "01",
    **fields: Any,
) -> dict[str, Any]:
    detected = DETECTED + timedelta(seconds=seq)
    event = {
        "schema_version": 1,
        "record_id": record_id(station, lane, detected, seq),
        "kind": "event",
        "station_code": station,
        "lane_no": lane,
        "seq": seq,
        "prev_hash": None,
        "signature": None,
        "event_type": event_type,
        "detected_at": iso(detected),
        "detail": {"device": "scale", "state": "fault"},
        "flags": [],
    }
    event.update(fields)
    return event
