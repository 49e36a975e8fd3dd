"""The pass record (称重记录) a lane gives the station, as in docs/protocol.md."""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from zhichao.lane.events import ENTRY, FRONT, REAR
from zhichao.lane.tyres import axle_config
from zhichao.protocols.readings import AxleReading, Picture, PlateColor, PlateRead
from zhichao.rules import Verdict
from zhichao.timeutil import iso_utc, to_utc

SCHEMA_VERSION = 1
TRAILER_SUFFIX = "挂"
CAMERA_CLOCK_SKEW = "camera_clock_skew"
EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class PassFacts:
    """What the lane knows of one pass at the moment it decides."""

    station_code: str
    lane_no: str
    seq: int
    detected_at: datetime
    reads: dict[str, PlateRead]  # position -> the read used
    axles: AxleReading | None
    gross_kg: int
    tolerance_kg: int
    reweigh_of: str | None = None


def make_record_id(station_code: str, lane_no: str, detected_at: datetime, seq: int):
    stamp = to_utc(detected_at).strftime("%Y%m%dT%H%M%SZ")
    return f"{station_code}-{lane_no}-{stamp}-{seq:06d}"


def vehicle_kind(front: str | None, rear: str | None) -> str | None:
    """A trailer plate at the rear means a combination; the same plate, a truck."""
    if rear is not None and rear.endswith(TRAILER_SUFFIX):
        return "combination"
    if rear is not None and rear == front:
        return "truck"
    return None


def merge_flags(*groups) -> list[str]:
    """All flags once each, in the order first seen."""
    return list(dict.fromkeys(flag for group in groups for flag in group))


def build_record(facts: PassFacts, verdict: Verdict, flags: list[str]) -> dict:
    front, rear = facts.reads.get(FRONT), facts.reads.get(REAR)
    entry = facts.reads.get(ENTRY)
    photos, _ = collect_photos(facts.reads)
    return {
        "schema_version": SCHEMA_VERSION,
        "record_id": make_record_id(
            facts.station_code, facts.lane_no, facts.detected_at, facts.seq
        ),
        "kind": "pass",
        "station_code": facts.station_code,
        "lane_no": facts.lane_no,
        "seq": facts.seq,
        "prev_hash": None,
        "signature": None,
        "detected_at": iso_utc(facts.detected_at),
        "entered_at": iso_utc(entry.camera_time) if entry else None,
        "front_plate": _plate(front),
        "front_plate_color": _color(front),
        "rear_plate": _plate(rear),
        "rear_plate_color": _color(rear),
        "vehicle_kind": vehicle_kind(_plate(front), _plate(rear)),
        "axles": facts.axles.axles if facts.axles else None,
        "axle_weights_kg": None,
        "gross_kg": facts.gross_kg,
        "limit_kg": verdict.limit_kg,
        "tolerance_kg": facts.tolerance_kg,
        "over_kg": verdict.over_kg,
        "over_rate_pct": json_rate(verdict.over_rate_pct),
        "overloaded": verdict.overloaded,
        "verdict": "held" if verdict.overloaded else "released",
        "basis": verdict.basis,
        "rules_version": verdict.rules_version,
        "flags": flags,
        "reweigh_of": facts.reweigh_of,
        "photos": photos,
        "left_without_weighing": False,
        "video": None,
        **axle_config(facts.axles),
    }


def collect_photos(
    reads: dict[str, PlateRead],
) -> tuple[list[dict], tuple[Picture, ...]]:
    """Photo references for the record, and the pictures themselves, each once."""
    refs: list[dict] = []
    pictures: list[Picture] = []
    seen: set[str] = set()
    for read in reads.values():
        for picture in read.pictures:
            digest = hashlib.sha256(picture.data).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            pictures.append(picture)
            refs.append(
                {
                    "sha256": digest,
                    "role": picture.role,
                    "camera": read.camera,
                    "captured_at": iso_utc(read.camera_time),
                    "size": len(picture.data),
                }
            )
    return refs, tuple(pictures)


def json_rate(rate: Decimal) -> float:
    """The overload rate as a JSON number with two decimals."""
    return float(rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _plate(read: PlateRead | None) -> str | None:
    return read.plate if read else None


def _color(read: PlateRead | None) -> str:
    if read is None or read.plate is None:
        return PlateColor.UNKNOWN.value
    return PlateColor(read.color).value


def build_event_record(
    station_code: str,
    lane_no: str,
    seq: int,
    detected_at: datetime,
    event_type: str,
    detail: dict,
    flags=(),
) -> dict:
    """An event record (``kind`` = ``event``) in the lane's chain.

    ``prev_hash`` and ``signature`` are left for the store, which fills them in
    the transaction that stores the record.
    """
    if not EVENT_TYPE_PATTERN.match(event_type):
        raise ValueError(f"event type {event_type!r} is not a lowercase word")
    return {
        "schema_version": SCHEMA_VERSION,
        "record_id": make_record_id(station_code, lane_no, detected_at, seq),
        "kind": "event",
        "station_code": station_code,
        "lane_no": lane_no,
        "seq": seq,
        "prev_hash": None,
        "signature": None,
        "event_type": event_type,
        "detected_at": iso_utc(detected_at),
        "detail": dict(detail),
        "flags": list(flags),
    }


def camera_clock_skewed(read: PlateRead, arrived_at: datetime, limit_s: float) -> bool:
    """True when the camera's time is more than ``limit_s`` off the lane's clock.

    ``arrived_at`` is the lane's time when the read came in, so a read that
    waited before the decision is not mistaken for a slow camera clock.
    """
    offset = to_utc(read.camera_time) - to_utc(arrived_at)
    return abs(offset) > timedelta(seconds=limit_s)
