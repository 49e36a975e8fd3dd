"""Valid records for the benchmarks: per docs/protocol.md, chained and signed.

Each lane gets its own Ed25519 key (``zhichao.chain.StationKey``); record
``seq`` n carries the record hash of ``seq`` n-1 (``GENESIS_HASH`` for the
first) and the lane's signature, so the figures hold once the platform checks
chains and signatures on arrival.
"""

import base64
import hashlib
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from zhichao.chain import GENESIS_HASH, StationKey, canonical_bytes
from zhichao.sim.traffic import next_vehicle
from zhichao.timeutil import iso_utc, utcnow

BASIS = "《超限运输车辆行驶公路管理规定》第三条 六轴及以上汽车列车 49000 kg"
LIMITS = {6: 49_000, 5: 43_000, 4: 31_000, 3: 25_000}
RULES_VERSION = "2016-gb1589-1"
JPEG_HEAD = b"\xff\xd8\xff\xe0"


@dataclass
class LaneChain:
    """One lane's key, and the records it has produced so far."""

    station_code: str
    lane_no: str
    key: StationKey = field(default_factory=StationKey.generate)
    records: list[dict] = field(default_factory=list)
    last_hash: str = GENESIS_HASH

    @property
    def name(self) -> str:
        return f"{self.station_code}-{self.lane_no}"


def station_code(index: int, county: str = "140525") -> str:
    return f"{county}{index + 1:04d}"


def make_lanes(count: int, lanes_per_station: int = 2, first: int = 0) -> list:
    """``count`` lanes spread over stations of ``lanes_per_station`` lanes."""
    return [
        LaneChain(
            station_code(first + i // lanes_per_station),
            f"{i % lanes_per_station + 1:02d}",
        )
        for i in range(count)
    ]


def fill_chain(
    lane: LaneChain,
    count: int,
    *,
    end: datetime | None = None,
    interval_s: float = 97.0,
    photos_per_record: int = 0,
    photo_bytes: int = 200_000,
    rng: random.Random | None = None,
) -> list[bytes]:
    """Append ``count`` signed records to the lane; returns the photo bytes made.

    Records are ``interval_s`` apart and the last one is at ``end`` (now).
    """
    rng = rng or random.Random(lane.name)
    end = end or utcnow()
    start = end - timedelta(seconds=interval_s * count)
    photos: list[bytes] = []
    for i in range(count):
        detected = start + timedelta(seconds=interval_s * (i + 1))
        pictures = [_jpeg(photo_bytes) for _ in range(photos_per_record)]
        photos.extend(pictures)
        record = pass_record(lane, detected, rng, pictures)
        lane.records.append(record)
    return photos


def pass_record(
    lane: LaneChain, detected: datetime, rng: random.Random, pictures=()
) -> dict:
    """The lane's next record, chained to its last and signed."""
    seq = len(lane.records) + 1
    prev = lane.last_hash
    vehicle = next_vehicle(rng)
    limit = LIMITS[vehicle.axles]
    gross = vehicle.gross_kg
    over = max(0, gross - limit)
    rate = (Decimal(over) * 100 / Decimal(limit)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    overloaded = gross > limit
    stamp = detected.strftime("%Y%m%dT%H%M%SZ")
    record = {
        "schema_version": 1,
        "record_id": f"{lane.station_code}-{lane.lane_no}-{stamp}-{seq:06d}",
        "kind": "pass",
        "station_code": lane.station_code,
        "lane_no": lane.lane_no,
        "seq": seq,
        "prev_hash": prev,
        "signature": None,
        "detected_at": iso_utc(detected),
        "entered_at": iso_utc(detected - timedelta(seconds=25)),
        "front_plate": vehicle.front_plate,
        "front_plate_color": "yellow",
        "rear_plate": vehicle.rear_plate,
        "rear_plate_color": "yellow",
        "vehicle_kind": vehicle.kind,
        "axles": vehicle.axles,
        "axle_weights_kg": None,
        "gross_kg": gross,
        "limit_kg": limit,
        "tolerance_kg": 0,
        "over_kg": over,
        "over_rate_pct": float(rate),
        "overloaded": overloaded,
        "verdict": "held" if overloaded else "released",
        "basis": BASIS,
        "rules_version": RULES_VERSION,
        "flags": [],
        "reweigh_of": None,
        "photos": [_photo_ref(data, i, detected) for i, data in enumerate(pictures)],
        "left_without_weighing": False,
        "video": None,
    }
    # StationKey.sign and record_hash would each encode the record again; the
    # canonical encoding is the costly part, so it is made once for both.
    body = canonical_bytes(record)
    signature = lane.key.signing_key.sign(body).signature
    record["signature"] = base64.b64encode(signature).decode()
    lane.last_hash = hashlib.sha256(body).hexdigest()
    return record


def _jpeg(size: int) -> bytes:
    """JPEG-headed random bytes: the platform checks the SOI marker and the hash."""
    return JPEG_HEAD + os.urandom(size - len(JPEG_HEAD) - 2) + b"\xff\xd9"


def _photo_ref(data: bytes, index: int, detected: datetime) -> dict:
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "role": "plate" if index % 2 == 0 else "scene",
        "camera": "front" if index < 2 else "rear",
        "captured_at": iso_utc(detected - timedelta(milliseconds=300)),
        "size": len(data),
    }
